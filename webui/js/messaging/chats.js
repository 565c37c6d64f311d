// The chats I am in, their members with their receipt cursors, and my own read and delivered
// cursors: the 'chats' slice. Topics: 'chats', 'chat:ID', 'members:ID'; and, at once,
// 'incoming' (message, chat) for a new message from someone else, 'removed' (chat id).
import { api } from '../api.js';
import { asDeleted, newestId } from '../timeline.js';

const CHAT_FIELDS = ['id', 'kind', 'title', 'topic', 'is_public', 'created_by', 'created_at', 'avatar_url'];

const noop = () => {};

export function createChats(store, { me, connection, people, history }) {
  const state = store.slice('chats', {
    byId: new Map(),
    members: new Map(), // chat id -> Map(user id -> Member)
    loads: new Map(), // chat id -> the GET /chats/{id} on its way
    readSent: new Map(), // chat id -> the newest message we said we read
    active: null, // the chat on screen
    starred: new Set(), // ids of the messages I starred (GET /starred, then events)
  });
  const { byId, members } = state;

  function title(chat) {
    if (!chat) return '';
    if (chat.kind === 'direct') return chat.peer ? chat.peer.display_name || chat.peer.username : 'Direct chat';
    return chat.title || 'Untitled';
  }

  // A Chat as REST answered it (with or without members); fields it lacks are kept.
  function put(chat) {
    const { members: list, ...fields } = chat;
    byId.set(chat.id, { ...byId.get(chat.id), ...fields });
    if (chat.peer) people.remember(chat.peer);
    if (list) {
      members.set(chat.id, new Map(list.map((m) => [m.user.id, { ...m }])));
      for (const m of list) people.remember(m.user);
      store.changed(`members:${chat.id}`);
    }
    store.changed(`chat:${chat.id}`);
    store.changed('chats');
  }

  function list() {
    const when = (c) => c.last_message?.created_at || c.last_activity_at || c.created_at || '';
    return [...byId.values()].sort((a, b) => (when(a) < when(b) ? 1 : when(a) > when(b) ? -1 : b.id - a.id));
  }

  async function loadAll() {
    const fresh = [];
    let cursor = null;
    do { // the server pages the list; a person in many chats takes a few requests
      const page = await api.get(cursor ? `/chats?cursor=${encodeURIComponent(cursor)}` : '/chats');
      fresh.push(...page.chats);
      cursor = page.next;
    } while (cursor);
    const ids = new Set(fresh.map((c) => c.id));
    for (const id of [...byId.keys()]) if (!ids.has(id)) byId.delete(id);
    for (const chat of fresh) put(chat);
    store.changed('chats');
    for (const chat of fresh) {
      const last = chat.last_message;
      if (last && last.sender_id !== me.id && last.id > (chat.last_delivered_id || 0)) sendCursor('delivered', chat.id, last.id);
    }
  }

  // GET /chats/{id}: the chat with its members. Concurrent asks share one request.
  function load(id) {
    if (!state.loads.has(id)) {
      const loading = api.get(`/chats/${id}`).then((chat) => {
        put(chat);
        return byId.get(id);
      }).finally(() => state.loads.delete(id));
      state.loads.set(id, loading);
    }
    return state.loads.get(id);
  }

  // Someone's profile changed (their picture): the chats and member lists that show them.
  function onUserUpdated(user) {
    for (const chat of byId.values()) {
      if (chat.peer?.id === user.id) put({ id: chat.id, peer: { ...chat.peer, ...user } });
    }
    for (const [chatId, list] of members) {
      const member = list.get(user.id);
      if (!member) continue;
      list.set(user.id, { ...member, user: { ...member.user, ...user } });
      store.changed(`members:${chatId}`);
    }
  }

  function drop(id) {
    const existed = byId.delete(id);
    members.delete(id);
    store.changed('chats');
    if (existed) store.emit('removed', id);
  }

  function membersOf(chatId) {
    return [...(members.get(chatId)?.values() || [])];
  }

  function totalUnread() {
    let total = 0;
    for (const chat of byId.values()) total += chat.unread_count || 0;
    return total;
  }

  // ---- cursors
  function isWatching(chatId) {
    return chatId === state.active && document.visibilityState === 'visible';
  }

  function sendCursor(kind, chatId, messageId) {
    const data = { chat_id: chatId, message_id: messageId };
    connection.call(kind === 'read' ? 'chat.read' : 'chat.delivered', data)
      .catch(() => api.post(`/chats/${chatId}/${kind}`, { message_id: messageId }))
      .catch(noop);
  }

  // The open, visible chat showing its newest messages is read up to the newest one.
  function markRead(chatId) {
    const chat = byId.get(chatId);
    const t = history.latest(chatId);
    if (!chat || !t || !isWatching(chatId)) return;
    if (chat.unread_count || chat.mention_count) {
      chat.unread_count = 0;
      chat.mention_count = 0;
      store.changed('chats');
    }
    const newest = newestId(t);
    if (!newest || newest <= Math.max(chat.last_read_id || 0, state.readSent.get(chatId) || 0)) return;
    state.readSent.set(chatId, newest);
    chat.last_read_id = newest;
    chat.last_delivered_id = Math.max(chat.last_delivered_id || 0, newest);
    sendCursor('read', chatId, newest);
  }

  // ---- events (after history's: a timeline already holds the change)
  function onMessageCreated(message) {
    const chat = byId.get(message.chat_id);
    if (!chat) {
      // A chat new to this page (its first message): the server's counts include the
      // message; it still notifies and is read out once the chat is known.
      load(message.chat_id).then((known) => {
        if (!known) return;
        // Loaded before this message was stored: count it now, as for a known chat.
        if (!known.last_message || known.last_message.id < message.id) onMessageCreated(message);
        else if (known.last_message.id === message.id && countsAsUnread(message)) store.emit('incoming', message, known);
      }, noop);
      return;
    }
    const isNew = !chat.last_message || chat.last_message.id < message.id;
    if (isNew || chat.last_message.id === message.id) chat.last_message = message;
    if (isNew) chat.last_activity_at = message.created_at;
    if (isNew && chat.archived) chat.archived = false; // archived until a new message
    store.changed('chats');
    if (!isNew || !countsAsUnread(message)) return;
    if (isWatching(chat.id) && history.latest(chat.id)) {
      markRead(chat.id);
    } else {
      chat.unread_count = (chat.unread_count || 0) + 1;
      if (message.mentions?.includes(me.id)) chat.mention_count = (chat.mention_count || 0) + 1;
      sendCursor('delivered', chat.id, message.id);
    }
    store.emit('incoming', message, chat);
  }

  // The server's rule (store/chats.py unread_counts): other people's messages and the logs of
  // calls I was not in; never system lines.
  function countsAsUnread(message) {
    if (message.sender_id === me.id || message.kind === 'system') return false;
    return message.kind !== 'call' || !message.call?.participants?.includes(me.id);
  }

  function onMessageUpdated(message) {
    const chat = byId.get(message.chat_id);
    if (chat?.last_message?.id !== message.id) return;
    chat.last_message = message;
    store.changed('chats');
  }

  function onMessageDeleted({ id, chat_id: chatId, for: scope }) {
    const chat = byId.get(chatId);
    if (chat?.last_message?.id !== id) return;
    const t = history.latest(chatId);
    if (scope !== 'me') chat.last_message = asDeleted(chat.last_message);
    else if (t) chat.last_message = t.messages[t.messages.length - 1] || null;
    else load(chatId).catch(noop);
    store.changed('chats');
  }

  function onReceipt({ chat_id: chatId, user_id: userId, last_read_id: read, last_delivered_id: delivered }) {
    const member = members.get(chatId)?.get(userId);
    if (member) {
      member.last_read_id = Math.max(member.last_read_id || 0, read || 0);
      member.last_delivered_id = Math.max(member.last_delivered_id || 0, delivered || 0);
      store.changed(`members:${chatId}`);
    }
    const chat = byId.get(chatId);
    if (userId !== me.id || !chat) return;
    // Read on another device of mine.
    chat.last_read_id = Math.max(chat.last_read_id || 0, read || 0);
    chat.last_delivered_id = Math.max(chat.last_delivered_id || 0, delivered || 0);
    if (chat.unread_count && chat.last_message && chat.last_read_id >= chat.last_message.id) {
      chat.unread_count = 0;
      chat.mention_count = 0;
    } else if (chat.unread_count) {
      load(chatId).catch(noop);
    }
    store.changed('chats');
  }

  function onMemberAdded({ chat_id: chatId, user: added, role }) {
    people.remember(added);
    if (added.id === me.id) {
      load(chatId).catch(noop);
      return;
    }
    const map = members.get(chatId);
    if (map && !map.has(added.id)) {
      map.set(added.id, { user: added, role, joined_at: new Date().toISOString(), last_read_id: 0, last_delivered_id: 0 });
      store.changed(`members:${chatId}`);
    }
    const chat = byId.get(chatId);
    if (chat) {
      chat.member_count = map ? map.size : (chat.member_count || 0) + 1;
      store.changed(`chat:${chatId}`);
    }
  }

  function onMemberUpdated({ chat_id: chatId, user_id: userId, role }) {
    const member = members.get(chatId)?.get(userId);
    if (member) member.role = role;
    const chat = byId.get(chatId);
    if (chat && userId === me.id) chat.role = role;
    store.changed(`members:${chatId}`);
    store.changed(`chat:${chatId}`);
  }

  function onMemberRemoved({ chat_id: chatId, user_id: userId }) {
    if (userId === me.id) {
      drop(chatId);
      return;
    }
    const map = members.get(chatId);
    if (map?.delete(userId)) store.changed(`members:${chatId}`);
    const chat = byId.get(chatId);
    if (chat) {
      chat.member_count = map ? map.size : Math.max(0, (chat.member_count || 1) - 1);
      store.changed(`chat:${chatId}`);
    }
  }

  // My own view of a chat (mute, archive, clear, delete for me), told to all my tabs.
  function isMuted(chat) {
    return Boolean(chat?.muted_until) && Date.parse(chat.muted_until) > Date.now();
  }

  function onPrefs({ chat_id: chatId, muted_until: mutedUntil, archived, hidden, cleared_through: cleared }) {
    const chat = byId.get(chatId);
    if (!chat) return;
    if (hidden) {
      drop(chatId);
      return;
    }
    Object.assign(chat, { muted_until: mutedUntil, archived });
    if (cleared && chat.last_message && chat.last_message.id <= cleared) {
      chat.last_message = null;
      chat.unread_count = 0;
      chat.mention_count = 0;
    }
    store.changed(`chat:${chatId}`);
    store.changed('chats');
  }

  async function loadStarred() {
    const { messages } = await api.get('/starred');
    state.starred = new Set(messages.map((m) => m.id));
    store.changed('starred');
    return messages;
  }

  function onStar(messageId, on) {
    if (on) state.starred.add(messageId);
    else state.starred.delete(messageId);
    store.changed('starred');
  }

  const prefs = {
    change: (chatId, body) => api.patch(`/chats/${chatId}/prefs`, body).then((d) => { onPrefs(d); return d; }),
    clear: (chatId) => api.post(`/chats/${chatId}/clear`).then((d) => { onPrefs(d); return d; }),
    deleteForMe: (chatId) => api.post(`/chats/${chatId}/delete-for-me`).then((d) => { onPrefs(d); return d; }),
    star: (messageId, on) => (on ? api.put(`/messages/${messageId}/star`) : api.del(`/messages/${messageId}/star`))
      .then(() => onStar(messageId, on)),
    isStarred: (messageId) => state.starred.has(messageId),
    loadStarred,
  };

  return {
    get: (id) => byId.get(id) || null,
    list, title, put, load, loadAll, membersOf, totalUnread, markRead, isMuted, prefs,
    othersIn: (chatId) => membersOf(chatId).filter((m) => m.user.id !== me.id),
    setActive(chatId) {
      state.active = chatId;
    },
    markActiveRead() {
      if (state.active != null) markRead(state.active);
    },
    events: {
      'message.created': onMessageCreated,
      'message.updated': onMessageUpdated,
      'message.deleted': onMessageDeleted,
      'receipt.updated': onReceipt,
      'chat.created': (d) => load(d.id).catch(noop),
      'chat.updated': (d) => {
        if (byId.has(d.id)) put(Object.fromEntries(CHAT_FIELDS.filter((k) => k in d).map((k) => [k, d[k]])));
      },
      'chat.deleted': (d) => drop(d.chat_id),
      'user.updated': onUserUpdated,
      'member.added': onMemberAdded,
      'member.updated': onMemberUpdated,
      'member.removed': onMemberRemoved,
      'chat.prefs': onPrefs,
      'message.starred': (d) => onStar(d.message_id, true),
      'message.unstarred': (d) => onStar(d.message_id, false),
    },
    destroy: () => store.release('chats'),
  };
}
