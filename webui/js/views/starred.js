// Starred messages (/starred): the ones I starred, latest starred first, each opening its chat
// at that message. Loaded when first opened.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { listTime } from '../format.js';
import { messageHref, preview } from '../text.js';
import { paneHeader } from '../components/pane-header.js';

export function starredView(ctx) {
  const { store, me, people, chats } = ctx;
  const list = h('ul', { id: 'starred-list', class: 'search-hit-list', 'aria-busy': 'true' });
  const status = h('p', { class: 'hint', role: 'status' });
  let alive = true;

  function item(m) {
    const chat = chats.get(m.chat_id);
    return h('li', {},
      h('a', { href: messageHref(m), class: 'search-hit', 'data-message-id': m.id, 'data-chat-id': m.chat_id },
        h('span', { class: 'chat-item-row' },
          h('span', { class: 'chat-item-title' }, chat ? chats.title(chat) : 'Chat'),
          h('time', { class: 'chat-item-time', datetime: m.created_at }, listTime(m.created_at))),
        h('span', { class: 'chat-item-preview' }, `${m.sender_id === me.id ? 'You' : people.nameOf(m.sender_id)}: ${preview(m.body, 140)}`)));
  }

  async function refresh() {
    try {
      const { messages } = await api.get('/starred');
      if (!alive) return;
      list.replaceChildren(...messages.map(item));
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
