// Threads in groups and channels, loaded when first needed: the summary under a root message
// (how many replies, who took part, when the last came, how many you have not read), the side
// panel (full screen on a phone) with the root, its replies and a composer that can also send
// to the chat, and the thread events (messaging/index.js hands them over as 'thread'): replies
// you follow notify you like mentions (not in a muted chat) and count as unread on the root.
import { append, h, useStylesheet } from '../dom.js';
import { api, errorText } from '../api.js';
import { listTime } from '../format.js';
import { preview } from '../text.js';
import { notifyNewMessage } from '../notify.js';
import * as tl from '../timeline.js';
import { avatar } from '../components/avatar.js';
import { icon } from '../components/icons.js';
import { messageElement } from '../components/message.js';

const SHOWN_PEOPLE = 3;
const PAGE = 100;
const REMEMBERED = 50; // recent replies kept for the text of a notification

let open = null; // the panel: { ctx, chatId, rootId, el, log, input, also, status }
const recent = new Map(); // reply id -> reply, newest last

const useStyles = () => useStylesheet(new URL('../../css/thread.css', import.meta.url));

const replies = (n) => `${n} ${n === 1 ? 'reply' : 'replies'}`;

// Fills the empty summaries of a rendered conversation (components/message.js leaves a slot).
export function fill(ctx, list, chatId) {
  useStyles();
  for (const slot of list.querySelectorAll('.thread-sum:empty')) {
    const node = slot.closest('.message');
    const m = tl.findMessage(ctx.history.timeline(chatId), Number(node?.dataset.messageId));
    if (!m?.thread) continue;
    const s = m.thread;
    const unread = m.thread_unread || 0;
    slot.append(h('button', {
      type: 'button', class: 'thread-open', 'data-root-id': m.id, tabindex: node.tabIndex,
      onclick: () => openThread(ctx, chatId, m.id),
    },
    h('span', { class: 'thread-people' }, s.participants.slice(0, SHOWN_PEOPLE)
      .map((id) => avatar(ctx.people.user(id) || { id, display_name: ctx.people.nameOf(id) }, { size: 'sm' }))),
    h('span', { class: 'vh' }, 'Open the thread: '),
    h('span', { class: 'thread-count' }, replies(s.reply_count)),
    unread > 0 && h('span', { class: 'thread-unread' }, String(unread), h('span', { class: 'vh' }, ' unread')),
    s.last_reply_at && h('time', { class: 'thread-last', datetime: s.last_reply_at }, `Last reply ${listTime(s.last_reply_at)}`)));
  }
}

function setRoot(ctx, chatId, rootId, change) {
  const t = ctx.history.timeline(chatId);
  if (tl.update(t, rootId, change)) ctx.store.changed(`timeline:${chatId}`);
}

function watching(chatId, rootId) {
  return open?.chatId === chatId && open.rootId === rootId && document.visibilityState === 'visible';
}

export function onEvent(ctx, event, data) {
  if (event === 'message.created' || event === 'message.updated') {
    recent.delete(data.id);
    recent.set(data.id, data);
    if (recent.size > REMEMBERED) recent.delete(recent.keys().next().value);
    if (open?.rootId === data.thread_root_id) refresh();
  } else if (event === 'thread.updated') {
    onUpdated(ctx, data);
  } else if (event === 'thread.read') {
    setRoot(ctx, data.chat_id, data.root_id, (m) => ({ ...m, thread_unread: 0 }));
  }
}

function onUpdated(ctx, s) {
  const { me, chats, people } = ctx;
  const seen = watching(s.chat_id, s.root_id);
  // A new reply from someone else in a thread I take part in (started or replied in).
  const before = tl.findMessage(ctx.history.timeline(s.chat_id), s.root_id)?.thread?.reply_count;
  const news = s.last_reply_sender_id !== me.id && s.participants.includes(me.id) &&
    (before === undefined || s.reply_count > before);
  setRoot(ctx, s.chat_id, s.root_id, (m) => ({
    ...m, thread: s.reply_count ? s : null,
    thread_unread: seen ? 0 : (m.thread_unread || 0) + (news ? 1 : 0),
  }));
  if (open?.rootId === s.root_id) refresh();
  const chat = chats.get(s.chat_id);
  if (!news || seen || !chat || chats.isMuted(chat)) return;
  const sender = people.nameOf(s.last_reply_sender_id);
  notifyNewMessage({
    title: `${sender} replied in a thread in ${chats.title(chat)}`,
    body: preview(recent.get(s.last_reply_id)?.body || '', 140),
    tag: `thread-${s.root_id}`, url: `/chats/${s.chat_id}`,
    onClick: () => ctx.navigate(`/chats/${s.chat_id}`),
  });
}

export async function openThread(ctx, chatId, rootId) {
  const pane = document.getElementById('chat');
  if (!pane) return;
  await useStyles();
  close();
  const log = h('div', { id: 'thread-messages', class: 'thread-messages', role: 'log', 'aria-label': 'Thread', 'aria-busy': 'true' });
  const input = h('textarea', { id: 'thread-composer', rows: 2, maxlength: 4000, placeholder: 'Reply in thread', 'aria-label': 'Reply in thread' });
  const also = h('input', { id: 'thread-also', type: 'checkbox' });
  const status = h('p', { class: 'hint', role: 'status' });
  const form = h('form', { id: 'thread-form', class: 'thread-form', onsubmit: (e) => { e.preventDefault(); send(); } },
    input,
    h('div', { class: 'thread-form-row' },
      h('label', { class: 'thread-also' }, also, ' Also send to the chat'),
      h('button', { id: 'thread-send', type: 'submit', class: 'icon-btn send', 'aria-label': 'Send reply' }, icon('send'))),
    status);
  const el = h('aside', { id: 'thread-panel', class: 'thread-panel', 'aria-labelledby': 'thread-title', 'data-root-id': rootId },
    h('header', { class: 'pane-header thread-head' },
      h('h2', { id: 'thread-title' }, 'Thread'),
      h('span', { class: 'thread-chat' }, ctx.chats.title(ctx.chats.get(chatId) || {})),
      h('button', { type: 'button', id: 'thread-close', class: 'icon-btn', 'aria-label': 'Close the thread', onclick: close }, icon('close'))),
    log, form);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      close();
    }
  });
  open = { ctx, chatId, rootId, el, log, input, also, status };
  ctx.cleanup?.(close);
  pane.append(el);
  pane.classList.add('with-thread');
  input.focus();
  await refresh();
}

export function close() {
  if (!open) return;
  const { el } = open;
  open = null;
  el.closest('.chat-pane')?.classList.remove('with-thread');
  el.remove();
}

let asking = null;

// Loads the thread anew (the newest page) and marks it read; one request at a time, and one
// more if something changed meanwhile.
async function refresh() {
  if (asking) {
    asking.again = true;
    return;
  }
  const o = open;
  if (!o) return;
  asking = { again: false };
  try {
    const page = await api.get(`/chats/${o.chatId}/threads/${o.rootId}?limit=${PAGE}`);
    if (open === o) render(o, page);
  } catch (err) {
    if (open === o) o.status.textContent = `Couldn't load the thread: ${errorText(err)}`;
  } finally {
    const again = asking.again;
    asking = null;
    if (again) refresh();
  }
}

function render(o, page) {
  const { me, people } = o.ctx;
  const view = (m) => ({ me, group: true, first: true, tick: null, sender: people.user(m.sender_id), nameOf: people.nameOf, mentionKind: () => null });
  const count = page.replies.length;
  const atBottom = o.log.scrollHeight - o.log.scrollTop - o.log.clientHeight < 80;
  o.log.replaceChildren();
  append(o.log, [
    messageElement(page.root, view(page.root)),
    h('div', { class: 'day-separator', role: 'separator' }, h('span', {}, count ? replies(page.root.thread?.reply_count ?? count) : 'No replies yet')),
    page.has_more_before && h('p', { class: 'history-edge' }, 'Earlier replies are not shown.'),
    page.replies.map((m) => messageElement(m, view(m))),
  ]);
  o.log.removeAttribute('aria-busy');
  if (atBottom || !o.log.dataset.shown) o.log.scrollTop = o.log.scrollHeight;
  o.log.dataset.shown = 'yes';
  const last = page.replies[count - 1];
  if (last && last.id > page.last_read_id && document.visibilityState === 'visible') {
    api.post(`/chats/${o.chatId}/threads/${o.rootId}/read`, { message_id: last.id }).catch(() => {});
  }
  setRoot(o.ctx, o.chatId, o.rootId, (m) => ({ ...m, thread_unread: 0 }));
}

async function send() {
  const o = open;
  const body = o?.input.value.trim();
  if (!body) return;
  o.status.textContent = '';
  try {
    await api.post(`/chats/${o.chatId}/messages`, {
      client_id: crypto.randomUUID(), body, thread_root_id: o.rootId, also_to_chat: o.also.checked,
    });
    o.input.value = '';
    o.also.checked = false;
    o.log.dataset.shown = '';
    refresh();
  } catch (err) {
    o.status.textContent = `Not sent: ${errorText(err)}`;
  }
  o.input.focus();
}
