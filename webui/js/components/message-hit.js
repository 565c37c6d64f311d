// A message shown away from its chat (a search hit, a starred message): its chat, time, sender
// and text, a link opening the chat at it.
import { h } from '../dom.js';
import { listTime } from '../format.js';
import { messageHref, preview } from '../text.js';

export function messageHit(ctx, m, max) {
  const { chats, people } = ctx;
  const chat = chats.get(m.chat_id);
  return h('li', {},
    h('a', { href: messageHref(m), class: 'search-hit', 'data-message-id': m.id, 'data-chat-id': m.chat_id },
      h('span', { class: 'chat-item-row' },
        h('span', { class: 'chat-item-title' }, chat ? chats.title(chat) : 'Chat'),
        h('time', { class: 'chat-item-time', datetime: m.created_at }, listTime(m.created_at))),
      h('span', { class: 'chat-item-preview' }, `${m.sender_id === ctx.me.id ? 'You' : people.nameOf(m.sender_id)}: ${preview(m.body, max)}`)));
}
