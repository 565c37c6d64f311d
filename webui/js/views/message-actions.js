// What you can do with one message: the menu (#message-menu), the reaction picker, the info
// dialog with "seen by", forwarding to another chat, and deleting for you or for everyone.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { dateTime } from '../format.js';
import { preview } from '../text.js';
import { deliveredTo, seenBy, tickState } from '../receipts.js';
import { chatAvatar } from '../components/chat-avatar.js';
import { confirmDialog, openDialog } from '../components/dialog.js';
import { openMenu } from '../components/menu.js';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏', '🎉', '👀'];

function menuItems(me, chat, m, starred) {
  const own = m.sender_id === me.id;
  const admin = chat.role === 'owner' || chat.role === 'admin';
  const live = !m.deleted;
  return [
    live && { action: 'react', label: 'React…' },
    live && { action: 'reply', label: 'Reply' },
    live && chat.kind !== 'direct' && m.kind === 'text' && !m.thread_root_id && { action: 'thread', label: 'Reply in thread' },
    live && own && m.kind === 'text' && { action: 'edit', label: 'Edit' },
    live && { action: 'forward', label: 'Forward…' },
    live && m.body && { action: 'copy', label: 'Copy text' },
    live && (chat.kind === 'direct' || admin) && { action: 'pin', label: m.pinned ? 'Unpin' : 'Pin' },
    live && { action: 'star', label: starred ? 'Unstar' : 'Star' },
    { action: 'info', label: 'Info' },
    { action: 'delete-me', label: 'Delete for me', danger: true },
    live && (own || (admin && chat.kind !== 'direct')) && { action: 'delete-everyone', label: 'Delete for everyone', danger: true },
  ].filter(Boolean);
}

let starsLoaded = null; // which messages I starred: asked once, then kept by events

/** where: {anchor} or {point}, plus reply(m) and edit(m) from the composer. */
export async function openMessageActions(ctx, message, where) {
  starsLoaded ||= ctx.chats.prefs.loadStarred().catch(() => { starsLoaded = null; });
  await starsLoaded;
  const { outbox } = ctx;
  const chat = ctx.chats.get(message.chat_id);
  if (!chat) return;
  const fail = (what) => (err) => ctx.announce(`Couldn't ${what}: ${errorText(err)}`);
  const actions = {
    react: () => openReactionPicker(ctx, message, where),
    reply: () => where.reply(message),
    // The thread panel (./thread.js) loads when first opened.
    thread: () => import('./thread.js').then((m) => m.openThread(ctx, message.chat_id, message.id), fail('open the thread')),
    edit: () => where.edit(message),
    forward: () => openForwardDialog(ctx, message),
    copy: () => navigator.clipboard?.writeText(message.body).then(() => ctx.announce('Copied.'), fail('copy')),
    pin: () => outbox.setPinned(message, !message.pinned).then(
      () => ctx.announce(message.pinned ? 'Unpinned.' : 'Pinned.'), fail(message.pinned ? 'unpin' : 'pin')),
    info: () => openMessageInfo(ctx, message),
    star: () => {
      const on = !ctx.chats.prefs.isStarred(message.id);
      ctx.chats.prefs.star(message.id, on).then(() => ctx.announce(on ? 'Starred.' : 'Unstarred.'), fail(on ? 'star' : 'unstar'));
    },
    'delete-me': async () => {
      const ok = await confirmDialog({ title: 'Delete message?', text: 'It will disappear for you only.', confirmLabel: 'Delete for me' });
      if (ok) outbox.remove(message, 'me').catch(fail('delete'));
    },
    'delete-everyone': async () => {
      const ok = await confirmDialog({
        title: 'Delete for everyone?', text: 'Everyone in the chat will see "This message was deleted" instead.', confirmLabel: 'Delete for everyone',
      });
      if (ok) outbox.remove(message, 'everyone').catch(fail('delete'));
    },
  };
  openMenu({
    id: 'message-menu', label: 'Message actions', items: menuItems(ctx.me, chat, message, ctx.chats.prefs.isStarred(message.id)),
    anchor: where.anchor, point: where.point, onPick: (item) => actions[item.action](),
  });
}

// The quick row, then "+" for any emoji from the full picker (../emoji/picker.js, loaded then).
export function openReactionPicker(ctx, message, where) {
  const react = (emoji) => {
    const mine = message.reactions.some((r) => r.emoji === emoji && r.user_ids.includes(ctx.me.id));
    // Picking one you already gave from the picker keeps it; click the reaction itself to take it back.
    if (!mine) ctx.outbox.toggleReaction(message, emoji).catch((err) => ctx.announce(errorText(err)));
  };
  const more = () => import('../emoji/picker.js')
    .then(({ pickEmoji }) => pickEmoji({ title: 'React with…' }))
    .then((emoji) => emoji && react(emoji), () => ctx.announce("Couldn't load the emoji picker."));
  openMenu({
    id: 'reaction-picker', label: 'Pick a reaction', className: 'menu-row', anchor: where.anchor, point: where.point,
    items: [...QUICK_REACTIONS.map((emoji) => ({ emoji, label: emoji, ariaLabel: `React with ${emoji}` })),
      { id: 'reaction-more', action: 'more', label: '+', ariaLabel: 'More emoji…' }],
    onPick: (item) => (item.action === 'more' ? more() : react(item.emoji)),
  });
}

function nameList(members) {
  return members.length ? members.map((m) => m.user.display_name || m.user.username).join(', ') : 'Nobody yet';
}

export function openMessageInfo(ctx, message) {
  const chat = ctx.chats.get(message.chat_id);
  const own = message.sender_id === ctx.me.id;
  const others = ctx.chats.othersIn(message.chat_id);
  const rows = [
    ['From', own ? 'You' : ctx.people.nameOf(message.sender_id)],
    ['Sent', dateTime(message.created_at)],
    message.edited_at && ['Edited', dateTime(message.edited_at)],
  ];
  if (own && chat?.kind === 'direct') {
    const state = tickState(message.id, others);
    rows.push(['Status', { sent: 'Sent', delivered: 'Delivered', read: 'Read' }[state]]);
  } else if (own) {
    const delivered = deliveredTo(message.id, others);
    rows.push(['Seen by', nameList(seenBy(message.id, others))]);
    if (delivered.length) rows.push(['Delivered to', nameList(delivered)]);
  }
  const history = h('div', { class: 'edit-history' });
  openDialog({
    id: 'message-info', title: 'Message info', className: 'dialog-small',
    content: [
      h('p', { class: 'info-preview' }, message.deleted ? 'This message was deleted' : preview(message.body, 300)),
      h('dl', { class: 'info-list' }, rows.filter(Boolean).map(([term, value]) => [
        h('dt', {}, term), h('dd', { 'data-info': term.toLowerCase().replace(/\s+/g, '-') }, value)])),
      history,
    ],
  });
  if (message.edited_at && !message.deleted) {
    api.get(`/messages/${message.id}/edits`).then(({ edits }) => {
      if (!edits.length) return;
      history.replaceChildren(h('h3', {}, 'Earlier versions'),
        h('ol', {}, edits.map((e) => h('li', {}, h('span', {}, e.body), ' ', h('time', { class: 'hint' }, dateTime(e.edited_at))))));
    }, () => {});
  }
}

export function openForwardDialog(ctx, message) {
  const { chats } = ctx;
  const filter = h('input', { id: 'forward-search', type: 'search', placeholder: 'Search chats', autocomplete: 'off', 'aria-label': 'Search chats' });
  const list = h('ul', { id: 'forward-list', class: 'pick-list' });
  const status = h('p', { class: 'hint', role: 'status' });
  const dialog = openDialog({ id: 'forward-dialog', title: 'Forward to…', content: [filter, status, list] });

  function render() {
    const q = filter.value.trim().toLowerCase();
    const shown = chats.list().filter((c) => chats.title(c).toLowerCase().includes(q));
    list.replaceChildren(...shown.map((chat) => h('li', {},
      h('button', { type: 'button', class: 'pick', 'data-chat-id': chat.id, onclick: (e) => send(chat, e.currentTarget) },
        chatAvatar(ctx, chat), h('span', { class: 'user-text' }, h('span', { class: 'user-name' }, chats.title(chat)))))));
    status.textContent = shown.length ? '' : 'No chats match.';
  }

  async function send(chat, button) {
    button.disabled = true;
    try {
      await ctx.outbox.forward(message, chat.id);
      dialog.close();
      ctx.announce(`Forwarded to ${chats.title(chat)}.`);
    } catch (err) {
      button.disabled = false;
      status.textContent = errorText(err);
    }
  }

  filter.addEventListener('input', render);
  render();
  filter.focus();
}
