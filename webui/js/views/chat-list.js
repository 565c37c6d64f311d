// The sidebar's chats: search box (chat names here; message text through search/results.js,
// loaded with the first words), the #new-chat button, and the list with previews, times,
// presence, unread and mention badges.
import { h, morph, reconcile } from '../dom.js';
import { listTime, typingText } from '../format.js';
import { preview } from '../text.js';
import { filesText } from '../files/format.js';
import { callLogText } from '../call/log.js';
import { chatAvatar } from '../components/chat-avatar.js';
import { icon } from '../components/icons.js';

const SEARCH_DELAY_MS = 250;

function previewText(ctx, chat) {
  const { me, people } = ctx;
  const typers = ctx.typing.users(chat.id);
  if (typers.length) return chat.kind === 'direct' ? 'typing…' : typingText(typers.map((id) => people.nameOf(id)));
  const m = chat.last_message;
  if (!m) return chat.topic || 'No messages yet';
  if (m.kind === 'system') return m.body;
  if (m.kind === 'call') return callLogText(m.call || {}, me.id);
  const text = m.deleted ? 'This message was deleted' : m.body ? preview(m.body, 80)
    : m.attachments?.length ? filesText(m.attachments) : 'Forwarded message';
  if (m.sender_id === me.id) return `You: ${text}`;
  if (chat.kind === 'direct') return text;
  return `${people.nameOf(m.sender_id).split(' ')[0]}: ${text}`;
}

function chatItem(ctx, chat, current) {
  const last = chat.last_message;
  const typing = ctx.typing.users(chat.id).length > 0;
  return h('a', {
    href: `/chats/${chat.id}`, class: 'chat-item', 'data-chat-id': chat.id, 'data-kind': chat.kind,
    'aria-current': current ? 'page' : null,
  },
  chatAvatar(ctx, chat),
  h('span', { class: 'chat-item-main' },
    h('span', { class: 'chat-item-row' },
      h('span', { class: 'chat-item-title' }, ctx.chats.title(chat)),
      last && h('time', { class: 'chat-item-time', datetime: last.created_at }, listTime(last.created_at))),
    h('span', { class: 'chat-item-row' },
      h('span', { class: `chat-item-preview${typing ? ' is-typing' : ''}` }, previewText(ctx, chat)),
      ctx.chats.isMuted(chat) && h('span', { class: 'muted-mark', title: 'Muted: no notifications' }, 'muted'),
      chat.mention_count > 0 && h('span', { class: 'mention-badge', title: 'You were mentioned' }, '@', h('span', { class: 'vh' }, ' mentioned you')),
      chat.unread_count > 0 && h('span', { class: 'unread-badge' }, String(chat.unread_count)),
      chat.unread_count > 0 && h('span', { class: 'vh' }, ' unread'))));
}

export function createChatList(ctx) {
  const { store, chats, people } = ctx;
  const search = h('input', { id: 'chat-search', type: 'search', placeholder: 'Search', autocomplete: 'off', 'aria-controls': 'chat-list search-results' });
  const newChat = h('button', {
    id: 'new-chat', type: 'button', class: 'icon-btn', 'aria-label': 'New chat', title: 'New chat', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    onclick: () => import('./new-chat.js').then((m) => m.openNewChatMenu(ctx, newChat), () => ctx.announce("Couldn't open the menu.")),
  }, icon('plus'));
  const tools = h('div', { class: 'sidebar-tools' },
    h('div', { class: 'search' }, h('label', { for: 'chat-search', class: 'vh' }, 'Search chats and messages'), icon('search'), search),
    newChat);
  const list = h('div', { id: 'chat-list', class: 'chat-list' });
  const results = h('section', { id: 'search-results', class: 'search-results', hidden: true });
  // Archived chats stay out of the list (until a new message) behind an "Archived" entry.
  let showArchived = false;
  const archivedToggle = h('button', {
    type: 'button', id: 'archived-toggle', class: 'archived-toggle', hidden: true, 'aria-pressed': 'false',
    onclick: () => { showArchived = !showArchived; render(); },
  });

  const body = h('div', { class: 'sidebar-body' }, archivedToggle, list, results);
  const cache = new Map();
  let activeId = null;
  let timer = 0;
  let found = null;

  function render() {
    const q = search.value.trim().toLowerCase();
    const archivedCount = chats.list().filter((c) => c.archived).length;
    if (!archivedCount) showArchived = false;
    archivedToggle.hidden = !archivedCount && !showArchived;
    archivedToggle.setAttribute('aria-pressed', String(showArchived));
    archivedToggle.textContent = showArchived ? '‹ Back to chats' : `Archived (${archivedCount})`;
    const shown = chats.list().filter((c) => Boolean(c.archived) === showArchived)
      .filter((c) => !q || chats.title(c).toLowerCase().includes(q) || (c.peer && c.peer.username.includes(q)));
    if (!shown.length) {
      // While searching, the message results below say enough.
      list.replaceChildren(...(q ? [] : [h('p', { class: 'empty' }, 'No chats yet')]));
      cache.clear();
      return;
    }
    const nodes = shown.map((chat) => {
      const sig = JSON.stringify([chat, chat.id === activeId, previewText(ctx, chat), chats.title(chat),
        chat.peer && people.presenceOf(chat.peer.id).status]);
      const hit = cache.get(chat.id);
      if (hit && hit.sig === sig) return hit.node;
      const fresh = chatItem(ctx, chat, chat.id === activeId);
      // An item changing (typing, presence, a new message) stays the same element.
      const node = hit ? morph(hit.node, fresh) : fresh;
      cache.set(chat.id, { sig, node });
      return node;
    });
    reconcile(list, nodes);
    for (const id of cache.keys()) if (!shown.some((c) => c.id === id)) cache.delete(id);
  }

  function searchMessages() {
    const q = search.value.trim();
    results.hidden = !q;
    if (!q && !found) return;
    found ||= import('../search/results.js').then((m) => m.messageSearch(ctx, results));
    found.then((s) => s.run(q), () => { found = null; ctx.announce("Couldn't search messages."); });
  }

  search.addEventListener('input', () => {
    render();
    clearTimeout(timer);
    timer = setTimeout(searchMessages, SEARCH_DELAY_MS);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !search.value) return;
    search.value = '';
    render();
    searchMessages();
  });

  const offs = ['chats', 'typing', 'presence', 'users'].map((topic) => store.subscribe(topic, render));
  render();
  return {
    tools,
    body,
    setActive(id) {
      activeId = id;
      render();
    },
    destroy() {
      clearTimeout(timer);
      for (const off of offs) off();
      found?.then((s) => s.destroy(), () => {});
    },
  };
}
