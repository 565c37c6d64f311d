// One message as DOM. Pure rendering: the conversation view handles clicks by delegation
// (.menu-btn, .reactions button, .quote, .retry, .discard) and knows the message by its
// data-message-id (data-client-id while it is being sent).
import { h } from '../dom.js';
import { clockTime, dateTime } from '../format.js';
import { preview, richText } from '../text.js';
import { callLogElement } from '../call/log.js';
import { attachmentsElement } from './attachments.js';
import { avatar } from './avatar.js';
import { icon } from './icons.js';

const TICKS = {
  sent: ['✓', 'Sent'],
  delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'],
};

function ticks(state) {
  const [marks, label] = TICKS[state];
  return h('span', { class: 'ticks', 'data-state': state, title: label },
    h('span', { 'aria-hidden': 'true' }, marks), h('span', { class: 'vh' }, label));
}

function sendState(m, tick) {
  if (m.state === 'pending') return h('span', { class: 'sending' }, 'Sending…');
  if (m.state === 'failed') return null;
  return tick ? ticks(tick) : null;
}

function quote(m, view) {
  const reply = m.reply_to;
  return h('button', { type: 'button', class: 'quote', 'data-reply-to': reply.id },
    h('span', { class: 'vh' }, 'Reply to '),
    h('span', { class: 'quote-name' }, view.nameOf(reply.sender_id)),
    h('span', { class: 'quote-text' }, reply.deleted ? 'This message was deleted' : preview(reply.body, 160)));
}

function reactions(m, view) {
  if (!m.reactions?.length || m.deleted) return null;
  return h('div', { class: 'reactions' }, m.reactions.map((r) => {
    const mine = r.user_ids.includes(view.me.id);
    const names = r.user_ids.map((id) => (id === view.me.id ? 'You' : view.nameOf(id))).join(', ');
    return h('button', {
      type: 'button', class: 'reaction', 'data-emoji': r.emoji, 'aria-pressed': String(mine),
      title: names, 'aria-label': `${r.emoji} ${r.user_ids.length}: ${names}. ${mine ? 'Remove yours' : 'Add yours'}`,
    }, h('span', { class: 'reaction-emoji' }, r.emoji), h('span', { class: 'count' }, String(r.user_ids.length)));
  }));
}

function body(m, view) {
  if (m.deleted) return h('p', { class: 'body deleted-text' }, 'This message was deleted');
  if (!m.body && (m.forwarded_from || m.attachments?.length)) return null;
  return h('p', { class: 'body' }, richText(m.body, view.mentionKind));
}

/**
 * view: {me, group (show names and avatars), first (first of a run by one sender), tick
 * ('sent'|'delivered'|'read'|null), nameOf(id), sender (User|null), mentionKind(username)}.
 */
export function messageElement(m, view) {
  if (m.kind === 'call') return callLogElement(m, view.me);
  if (m.kind === 'system') {
    return h('div', { class: 'message system', 'data-message-id': m.id },
      h('p', { class: 'body' }, m.body));
  }
  const own = m.sender_id === view.me.id;
  const name = own ? 'You' : view.nameOf(m.sender_id);
  const classes = ['message', own ? 'own' : 'other'];
  if (view.first) classes.push('first');
  if (m.state) classes.push(m.state);
  if (m.deleted) classes.push('deleted');
  if (m.mentions?.includes(view.me.id)) classes.push('mentions-me');
  if (m.attachments?.length && !m.deleted) classes.push('has-files');
  const showName = view.group && !own && view.first;
  const meta = h('p', { class: 'meta' },
    m.pinned && h('span', { class: 'pinned-mark', title: 'Pinned' }, icon('pin'), h('span', { class: 'vh' }, 'Pinned')),
    m.edited_at && !m.deleted && h('span', { class: 'edited' }, 'edited'),
    h('time', { datetime: m.created_at, title: dateTime(m.created_at) }, clockTime(m.created_at)),
    own && sendState(m, view.tick));
  const bubble = h('div', { class: 'bubble' },
    showName ? h('p', { class: 'sender', 'data-color': Math.abs(m.sender_id) % 8 }, name) : h('span', { class: 'vh' }, `${name}: `),
    m.forwarded_from && !m.deleted && h('p', { class: 'forwarded' }, `Forwarded from ${m.forwarded_from.sender_name}`),
    m.reply_to && !m.deleted && quote(m, view),
    !m.deleted && attachmentsElement(m.attachments),
    body(m, view),
    meta,
    m.state === 'failed' && h('p', { class: 'send-error', role: 'alert' },
      h('span', {}, m.error ? `Not sent: ${m.error}` : 'Not sent.'),
      m.code === 'contacts_only' && h('button', { type: 'button', class: 'link-btn ask-contact' }, 'Send a contact request'),
      h('button', { type: 'button', class: 'link-btn retry' }, 'Retry'),
      h('button', { type: 'button', class: 'link-btn discard' }, 'Delete')));
  const side = view.group && !own
    ? (view.first ? avatar(view.sender || { id: m.sender_id, display_name: name }, { size: 'sm' }) : h('span', { class: 'avatar-spacer' }))
    : null;
  return h('div', {
    class: classes.join(' '), tabindex: -1,
    'data-message-id': m.id, 'data-client-id': m.id == null ? m.client_id : null, 'data-sender-id': m.sender_id,
  },
  side,
  h('div', { class: 'message-main' }, bubble, reactions(m, view), m.thread && h('div', { class: 'thread-sum' })),
  m.id != null && h('button', {
    type: 'button', class: 'icon-btn menu-btn', 'aria-label': 'Message actions', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
  }, icon('more')));
}
