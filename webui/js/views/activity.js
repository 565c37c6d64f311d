// Activity (/activity): what concerns me across my chats, newest first: mentions of me,
// replies to my messages, reactions to them, replies in threads I follow, calls I missed. Each opens its chat at that
// message; what came since I last looked is marked new, and opening the view marks it seen
// (on every device of mine). Loaded when first opened.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { listTime } from '../format.js';
import { messageHref, preview } from '../text.js';
import { paneHeader } from '../components/pane-header.js';

const WHAT = {
  mention: (who) => `${who} mentioned you`,
  reply: (who) => `${who} replied to you`,
  reaction: (who, item) => `${who} reacted ${item.emoji} to your message`,
  thread_reply: (who) => `${who} replied in a thread`,
  missed_call: (who) => `Missed call from ${who}`,
};

export function activityView(ctx) {
  const { store, people, chats, activity } = ctx;
  const list = h('ul', { id: 'activity-list', class: 'search-hit-list', 'aria-busy': 'true' });
  const status = h('p', { class: 'hint', role: 'status' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'activity-more', hidden: true, onclick: () => load(cursor) }, 'Show older');
  let cursor = null;
  let alive = true;
  let seenUnread = -1;

  function item(entry) {
    const chat = chats.get(entry.chat_id);
    const m = entry.message;
    const who = entry.actor_id ? people.nameOf(entry.actor_id) : 'Someone';
    const text = entry.kind === 'missed_call' ? `${m.call?.kind === 'video' ? 'Video' : 'Audio'} call` : preview(m.body, 140);
    return h('li', {},
      h('a', {
        href: messageHref(m),
        class: `search-hit activity-item${entry.unread ? ' is-new' : ''}`,
        'data-kind': entry.kind, 'data-message-id': m.id, 'data-chat-id': entry.chat_id,
      },
      h('span', { class: 'chat-item-row' },
        h('span', { class: 'chat-item-title' }, WHAT[entry.kind](who, entry)),
        entry.unread ? h('span', { class: 'badge' }, 'New') : null,
        h('time', { class: 'chat-item-time', datetime: entry.at }, listTime(entry.at))),
      h('span', { class: 'chat-item-preview' }, `${chat ? chats.title(chat) : 'Chat'}: ${text}`)));
  }

  async function load(from = null) {
    try {
      const page = await api.get(from ? `/activity?cursor=${encodeURIComponent(from)}` : '/activity');
      if (!alive) return;
      const rows = page.items.map(item);
      if (from) list.append(...rows);
      else list.replaceChildren(...rows);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      status.textContent = list.childElementCount ? '' : 'Nothing yet. Mentions of you, replies and reactions to your messages and missed calls show here.';
      // Seen now: up to the newest item shown, so one that arrives meanwhile stays new.
      if (!from && page.items.length && page.unread) {
        seenUnread = 0;
        activity.read(page.items[0].at).catch(() => {});
      }
    } catch (err) {
      if (alive) status.textContent = errorText(err);
    }
    list.removeAttribute('aria-busy');
  }

  // Something new while the view is open: show it (once per change of the count).
  ctx.cleanup(store.subscribe('activity', () => {
    const { unread } = store.get().activity;
    if (alive && unread && unread !== seenUnread) { seenUnread = unread; load(); }
  }));
  ctx.cleanup(() => { alive = false; });
  load();
  return h('div', { class: 'pane', id: 'activity-page' },
    paneHeader(ctx, 'Activity'),
    h('div', { class: 'pane-body' }, status, list, more));
}
