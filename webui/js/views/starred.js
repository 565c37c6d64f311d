// Starred messages (/starred): the ones I starred, latest starred first, each opening its chat
// at that message. Loaded when first opened.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { messageHit } from '../components/message-hit.js';
import { paneHeader } from '../components/pane-header.js';

export function starredView(ctx) {
  const { store } = ctx;
  const list = h('ul', { id: 'starred-list', class: 'search-hit-list', 'aria-busy': 'true' });
  const status = h('p', { class: 'hint', role: 'status' });
  let alive = true;

  async function refresh() {
    try {
      const { messages } = await api.get('/starred');
      if (!alive) return;
      list.replaceChildren(...messages.map((m) => messageHit(ctx, m, 140)));
      status.textContent = messages.length ? '' : 'No starred messages. Star one from its menu.';
    } catch (err) {
      if (alive) status.textContent = errorText(err);
    }
    list.removeAttribute('aria-busy');
  }

  let pending = false;
  ctx.cleanup(store.subscribe('starred', () => {
    // Starring elsewhere changes the list: ask again (once per burst).
    if (pending) return;
    pending = true;
    queueMicrotask(() => { pending = false; if (alive) refresh(); });
  }));
  ctx.cleanup(() => { alive = false; });
  refresh();
  return h('div', { class: 'pane', id: 'starred-page' },
    paneHeader(ctx, 'Starred messages'),
    h('div', { class: 'pane-body' }, status, list));
}
