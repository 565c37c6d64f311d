// Messaging state for the signed-in person: chats, the loaded part of each chat's history,
// members and their receipt cursors, presence and typing. Filled over REST and kept current by
// WebSocket events (realtime.js). Views subscribe to topics, emitted once per microtask:
//   'chats', 'chat:ID', 'timeline:ID', 'members:ID', 'pins:ID', 'typing:ID', 'presence',
//   'users', 'contacts', 'connection'; and, unbatched, 'incoming' (message, chat) for a new
//   message from someone else, 'removed' (chat id), 'reset' (history reloaded).
import { api, errorText } from './api.js';
import { createEmitter } from './emitter.js';
import { createRealtime } from './realtime.js';
import * as tl from './timeline.js';

const TYPING_EVERY_MS = 3000;
const TYPING_EXPIRE_MS = 8000;
const PAGE_SIZE = 50;

const noop = () => {};

export function createChatsStore(me) {
  const emitter = createEmitter();
  const realtime = createRealtime();
  const chats = new Map();
  const timelines = new Map();
  const members = new Map(); // chat id -> Map(user id -> Member)
  const pins = new Map(); // chat id -> [Message], newest pin first
  const users = new Map([[me.id, me]]);
  const askedUsers = new Set();
  const presence = new Map();
  const typing = new Map(); // chat id -> Map(user id -> expiry timer)
  const typingSent = new Map(); // chat id -> when we last sent typing.start
  const readSent = new Map();
  const chatLoads = new Map();
  const queued = new Set();
  let activeChatId = null;
  let connected = false;

  // Many changes in one task (a page of events, a chat list) make one notification per topic.
  function notify(topic) {
    if (!queued.size) {
      queueMicrotask(() => {
        const topics = [...queued];
        queued.clear();
        for (const t of topics) emitter.emit(t);
      });
    }
    queued.add(topic);
  }

  // ---- people
  function remember(user) {
    if (user && user.id != null) users.set(user.id, { ...users.get(user.id), ...user });
  }

  function user(id) {
    if (users.has(id)) return users.get(id);
    if (id != null && !askedUsers.has(id)) {
      askedUsers.add(id);
      api.get(`/users/${id}`).then((u) => { remember(u); notify('users'); }, noop);
    }
    return null;
  }

  function nameOf(id) {
    const u = user(id);
    return u ? u.display_name || u.username : 'Someone';
  }

  // ---- chats
  function chatTitle(chat) {
    if (!chat) return '';
    if (chat.kind === 'direct') return chat.peer ? chat.peer.display_name || chat.peer.username : 'Direct chat';
    return chat.title || 'Untitled';
  }

  function setChat(chat) {
    const { members: list, ...fields } = chat;
    chats.set(chat.id, { ...chats.get(chat.id), ...fields });
    if (chat.peer) remember(chat.peer);
    if (list) {
      members.set(chat.id, new Map(list.map((m) => [m.user.id, { ...m }])));
      for (const m of list) remember(m.user);
      notify(`members:${chat.id}`);
    }
    notify(`chat:${chat.id}`);
    notify('chats');
  }

  function list() {
    const when = (c) => c.last_message?.created_at || c.last_activity_at || c.created_at || '';
    return [...chats.values()].sort((a, b) => (when(a) < when(b) ? 1 : when(a) > when(b) ? -1 : b.id - a.id));
  }

  async function loadChats() {
    const { chats: fresh } = await api.get('/chats');
    const ids = new Set(fresh.map((c) => c.id));
    for (const id of [...chats.keys()]) if (!ids.has(id)) chats.delete(id);
    for (const chat of fresh) setChat(chat);
    notify('chats');
    for (const chat of fresh) {
      const last = chat.last_message;
      if (last && last.sender_id !== me.id && last.id > (chat.last_delivered_id || 0)) sendCursor('delivered', chat.id, last.id);
    }
  }

  // GET /chats/{id}: the chat with its members. Concurrent asks share one request.
  function loadChat(id) {
    if (!chatLoads.has(id)) {
      const load = api.get(`/chats/${id}`).then((chat) => {
        setChat(chat);
        return chats.get(id);
      }).finally(() => chatLoads.delete(id));
      chatLoads.set(id, load);
    }
    return chatLoads.get(id);
  }

  function dropChat(id) {
    const existed = chats.delete(id);
    timelines.delete(id);
    members.delete(id);
    pins.delete(id);
    notify('chats');
    if (existed) emitter.emit('removed', id);
  }

  function membersOf(chatId) {
    return [...(members.get(chatId)?.values() || [])];
  }

  function othersIn(chatId) {
    return membersOf(chatId).filter((m) => m.user.id !== me.id);
  }

  function totalUnread() {
    let total = 0;
    for (const chat of chats.values()) total += chat.unread_count || 0;
    return total;
  }

  // ---- cursors
  function isWatching(chatId) {
    return chatId === activeChatId && document.visibilityState === 'visible';
  }

  function sendCursor(kind, chatId, messageId) {
    const data = { chat_id: chatId, message_id: messageId };
    realtime.call(kind === 'read' ? 'chat.read' : 'chat.delivered', data)
      .catch(() => api.post(`/chats/${chatId}/${kind}`, { message_id: messageId }))
      .catch(noop);
  }

  // The open, visible chat showing its newest messages is read up to the newest one.
  function markRead(chatId) {
    const chat = chats.get(chatId);
    const t = timelines.get(chatId);
    if (!chat || !t?.loaded || t.hasMoreAfter || !isWatching(chatId)) return;
    if (chat.unread_count || chat.mention_count) {
      chat.unread_count = 0;
      chat.mention_count = 0;
      notify('chats');
    }
    const newest = tl.newestId(t);
    if (!newest || newest <= Math.max(chat.last_read_id || 0, readSent.get(chatId) || 0)) return;
    readSent.set(chatId, newest);
    chat.last_read_id = newest;
    chat.last_delivered_id = Math.max(chat.last_delivered_id || 0, newest);
    sendCursor('read', chatId, newest);
  }

  // ---- history
  function timeline(chatId) {
    if (!timelines.has(chatId)) timelines.set(chatId, tl.emptyTimeline());
    return timelines.get(chatId);
  }

  function fetchPage(chatId, query) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE), ...query });
    return api.get(`/chats/${chatId}/messages?${params}`);
  }

  async function loadLatest(chatId) {
    const page = await fetchPage(chatId, {});
    const t = timeline(chatId);
    const newest = page.messages.length ? page.messages[page.messages.length - 1].id : 0;
    // Keep what arrived over the socket while the page was on its way.
    const arrived = t.hasMoreAfter ? [] : t.messages.filter((m) => m.id > newest);
    Object.assign(t, {
      messages: tl.mergeMessages(page.messages, arrived),
      hasMoreBefore: page.has_more_before, hasMoreAfter: false, loaded: true,
    });
    notify(`timeline:${chatId}`);
  }

  async function loadAround(chatId, messageId) {
    const page = await fetchPage(chatId, { around: String(messageId) });
    Object.assign(timeline(chatId), {
      messages: page.messages, hasMoreBefore: page.has_more_before, hasMoreAfter: page.has_more_after, loaded: true,
    });
    notify(`timeline:${chatId}`);
  }

  // One more page at an end of the loaded window; returns how many messages came.
  async function loadMore(chatId, direction) {
    const t = timeline(chatId);
    const key = direction === 'before' ? 'hasMoreBefore' : 'hasMoreAfter';
    const busy = `busy_${direction}`;
    if (!t.loaded || !t[key] || t[busy] || !t.messages.length) return 0;
    t[busy] = true;
    try {
      const edge = direction === 'before' ? t.messages[0].id : tl.newestId(t);
      const page = await fetchPage(chatId, { [direction]: String(edge) });
      t.messages = tl.mergeMessages(t.messages, page.messages);
      t[key] = direction === 'before' ? page.has_more_before : page.has_more_after;
      notify(`timeline:${chatId}`);
      return page.messages.length;
    } finally {
      t[busy] = false;
    }
  }

  async function loadPins(chatId) {
    const { messages } = await api.get(`/chats/${chatId}/pins`);
    pins.set(chatId, messages);
    notify(`pins:${chatId}`);
  }

  function trackPin(message) {
    const current = pins.get(message.chat_id);
    if (!current) return;
    const others = current.filter((m) => m.id !== message.id);
    const next = message.pinned && !message.deleted ? [message, ...others] : others;
    if (next.length !== current.length || message.pinned) {
      pins.set(message.chat_id, next);
      notify(`pins:${message.chat_id}`);
    }
  }

  // ---- events
  function onMessageCreated(message) {
    // Also into a timeline still loading its first page: that page may be older than this.
    const t = timelines.get(message.chat_id);
    if (t) {
      tl.upsert(t, message, me.id);
      notify(`timeline:${message.chat_id}`);
    }
    setTyping(message.chat_id, message.sender_id, false);
    const chat = chats.get(message.chat_id);
    if (!chat) {
      loadChat(message.chat_id).catch(noop);
      return;
    }
    const isNew = !chat.last_message || chat.last_message.id < message.id;
    if (isNew || chat.last_message.id === message.id) chat.last_message = message;
    if (isNew) chat.last_activity_at = message.created_at;
    notify('chats');
    if (!isNew || message.sender_id === me.id) return;
    if (isWatching(chat.id) && t?.loaded && !t.hasMoreAfter) {
      markRead(chat.id);
    } else {
      chat.unread_count = (chat.unread_count || 0) + 1;
      if (message.mentions?.includes(me.id)) chat.mention_count = (chat.mention_count || 0) + 1;
      sendCursor('delivered', chat.id, message.id);
    }
    emitter.emit('incoming', message, chat);
  }

  function putMessage(message) {
    const t = timelines.get(message.chat_id);
    if (t && tl.update(t, message.id, () => message)) notify(`timeline:${message.chat_id}`);
    const chat = chats.get(message.chat_id);
    if (chat?.last_message?.id === message.id) {
      chat.last_message = message;
      notify('chats');
    }
    trackPin(message);
  }

  function onMessageDeleted({ id, chat_id: chatId, for: scope }) {
    const t = timelines.get(chatId);
    if (t) {
      if (scope === 'me') t.messages = t.messages.filter((m) => m.id !== id);
      else tl.update(t, id, tl.asDeleted);
      notify(`timeline:${chatId}`);
    }
    const current = pins.get(chatId);
    if (current?.some((m) => m.id === id)) {
      pins.set(chatId, current.filter((m) => m.id !== id));
      notify(`pins:${chatId}`);
    }
    const chat = chats.get(chatId);
    if (chat?.last_message?.id !== id) return;
    if (scope !== 'me') chat.last_message = tl.asDeleted(chat.last_message);
    else if (t?.loaded && !t.hasMoreAfter) chat.last_message = t.messages[t.messages.length - 1] || null;
    else loadChat(chatId).catch(noop);
    notify('chats');
  }

  function onReaction({ chat_id: chatId, message_id: messageId, user_id: userId, emoji }, added) {
    const t = timelines.get(chatId);
    if (t && tl.update(t, messageId, (m) => tl.withReaction(m, emoji, userId, added))) notify(`timeline:${chatId}`);
  }

  function onReceipt({ chat_id: chatId, user_id: userId, last_read_id: read, last_delivered_id: delivered }) {
    const member = members.get(chatId)?.get(userId);
    if (member) {
      member.last_read_id = Math.max(member.last_read_id || 0, read || 0);
      member.last_delivered_id = Math.max(member.last_delivered_id || 0, delivered || 0);
      notify(`members:${chatId}`);
    }
    const chat = chats.get(chatId);
    if (userId !== me.id || !chat) return;
    // Read on another device of mine.
    chat.last_read_id = Math.max(chat.last_read_id || 0, read || 0);
    chat.last_delivered_id = Math.max(chat.last_delivered_id || 0, delivered || 0);
    if (chat.unread_count && chat.last_message && chat.last_read_id >= chat.last_message.id) {
      chat.unread_count = 0;
      chat.mention_count = 0;
    } else if (chat.unread_count) {
      loadChat(chatId).catch(noop);
    }
    notify('chats');
  }

  function onMemberAdded({ chat_id: chatId, user: added, role }) {
    remember(added);
    if (added.id === me.id) {
      loadChat(chatId).catch(noop);
      return;
    }
    const map = members.get(chatId);
    if (map && !map.has(added.id)) {
      map.set(added.id, { user: added, role, joined_at: new Date().toISOString(), last_read_id: 0, last_delivered_id: 0 });
      notify(`members:${chatId}`);
    }
    const chat = chats.get(chatId);
    if (chat) {
      chat.member_count = map ? map.size : (chat.member_count || 0) + 1;
      notify(`chat:${chatId}`);
    }
  }

  function onMemberUpdated({ chat_id: chatId, user_id: userId, role }) {
    const member = members.get(chatId)?.get(userId);
    if (member) member.role = role;
    const chat = chats.get(chatId);
    if (chat && userId === me.id) chat.role = role;
    notify(`members:${chatId}`);
    notify(`chat:${chatId}`);
  }

  function onMemberRemoved({ chat_id: chatId, user_id: userId }) {
    if (userId === me.id) {
      dropChat(chatId);
      return;
    }
    const map = members.get(chatId);
    if (map?.delete(userId)) notify(`members:${chatId}`);
    const chat = chats.get(chatId);
    if (chat) {
      chat.member_count = map ? map.size : Math.max(0, (chat.member_count || 1) - 1);
      notify(`chat:${chatId}`);
    }
  }

  const CHAT_FIELDS = ['id', 'kind', 'title', 'topic', 'is_public', 'created_by', 'created_at'];

  const handlers = {
    'message.created': onMessageCreated,
    'message.updated': putMessage,
    'message.deleted': onMessageDeleted,
    'reaction.added': (d) => onReaction(d, true),
    'reaction.removed': (d) => onReaction(d, false),
    'receipt.updated': onReceipt,
    'chat.created': (d) => loadChat(d.id).catch(noop),
    'chat.updated': (d) => {
      if (chats.has(d.id)) setChat(Object.fromEntries(CHAT_FIELDS.filter((k) => k in d).map((k) => [k, d[k]])));
    },
    'chat.deleted': (d) => dropChat(d.chat_id),
    'member.added': onMemberAdded,
    'member.updated': onMemberUpdated,
    'member.removed': onMemberRemoved,
    'contact.requested': (d) => { remember(d.user); notify('contacts'); },
    'contact.accepted': (d) => { remember(d.user); notify('contacts'); },
    'contact.removed': () => notify('contacts'),
  };

  // ---- typing and presence
  function setTyping(chatId, userId, on) {
    if (userId === me.id) return;
    if (!typing.has(chatId)) typing.set(chatId, new Map());
    const map = typing.get(chatId);
    clearTimeout(map.get(userId));
    if (on) map.set(userId, setTimeout(() => setTyping(chatId, userId, false), TYPING_EXPIRE_MS));
    else if (!map.delete(userId)) return;
    notify(`typing:${chatId}`);
    notify('chats');
  }

  function typingUsers(chatId) {
    return [...(typing.get(chatId)?.keys() || [])];
  }

  function typingStart(chatId) {
    const now = Date.now();
    if (now - (typingSent.get(chatId) || 0) < TYPING_EVERY_MS) return;
    typingSent.set(chatId, now);
    realtime.call('typing.start', { chat_id: chatId }).catch(noop);
  }

  function typingStop(chatId) {
    if (!typingSent.delete(chatId)) return;
    realtime.call('typing.stop', { chat_id: chatId }).catch(noop);
  }

  // Not online now: offline, seen last when the server last told us (members carry last_seen_at).
  function presenceOf(userId) {
    return presence.get(userId) || { user_id: userId, status: 'offline', last_seen_at: users.get(userId)?.last_seen_at || null };
  }

  function sendPresence() {
    realtime.call('presence.set', { status: document.visibilityState === 'hidden' ? 'away' : 'online' }).catch(noop);
  }

  function onVisibility() {
    sendPresence();
    if (activeChatId != null) markRead(activeChatId);
  }

  // ---- writing
  // Over the socket when it is up; over REST when it is not or went down mid-request (every
  // write used here is safe to repeat: sends carry their client_id).
  async function viaSocketOrRest(type, data, rest) {
    if (!realtime.isReady()) return rest();
    try {
      return await realtime.call(type, data);
    } catch (err) {
      if (err.code === 'offline' || err.code === 'timeout') return rest();
      throw err;
    }
  }

  function sendBody(chatId, body) {
    return viaSocketOrRest('message.send', { chat_id: chatId, ...body }, () => api.post(`/chats/${chatId}/messages`, body));
  }

  async function deliver(chatId, entry) {
    const body = { client_id: entry.client_id, body: entry.body };
    if (entry.reply_to) body.reply_to = entry.reply_to.id;
    try {
      onMessageCreated(await sendBody(chatId, body));
    } catch (err) {
      entry.state = 'failed';
      entry.error = errorText(err);
      notify(`timeline:${chatId}`);
    }
  }

  async function send(chatId, text, replyTo = null) {
    const t = timeline(chatId);
    if (t.hasMoreAfter) await loadLatest(chatId);
    const entry = {
      client_id: crypto.randomUUID(), chat_id: chatId, sender_id: me.id, kind: 'text', body: text,
      created_at: new Date().toISOString(), edited_at: null, deleted: false, forwarded_from: null,
      reply_to: replyTo && { id: replyTo.id, sender_id: replyTo.sender_id, body: replyTo.body.slice(0, 200), deleted: false },
      mentions: [], reactions: [], pinned: false, state: 'pending', error: '',
    };
    t.pending.push(entry);
    notify(`timeline:${chatId}`);
    typingStop(chatId);
    await deliver(chatId, entry);
  }

  // Sends a failed message again with the same client_id: the server never stores it twice.
  function retry(chatId, clientId) {
    const entry = timeline(chatId).pending.find((p) => p.client_id === clientId);
    if (!entry || entry.state !== 'failed') return;
    entry.state = 'pending';
    entry.error = '';
    notify(`timeline:${chatId}`);
    deliver(chatId, entry);
  }

  function discard(chatId, clientId) {
    const t = timeline(chatId);
    t.pending = t.pending.filter((p) => p.client_id !== clientId);
    notify(`timeline:${chatId}`);
  }

  async function edit(message, body) {
    putMessage(await viaSocketOrRest('message.edit', { message_id: message.id, body },
      () => api.patch(`/messages/${message.id}`, { body })));
  }

  async function remove(message, scope) {
    await viaSocketOrRest('message.delete', { message_id: message.id, for: scope },
      () => api.del(`/messages/${message.id}?for=${scope}`));
    onMessageDeleted({ id: message.id, chat_id: message.chat_id, for: scope });
  }

  async function toggleReaction(message, emoji) {
    const mine = message.reactions.some((r) => r.emoji === emoji && r.user_ids.includes(me.id));
    const change = { chat_id: message.chat_id, message_id: message.id, user_id: me.id, emoji };
    const path = `/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`;
    onReaction(change, !mine);
    try {
      await viaSocketOrRest(mine ? 'reaction.remove' : 'reaction.add', { message_id: message.id, emoji },
        () => (mine ? api.del(path) : api.put(path)));
    } catch (err) {
      onReaction(change, mine);
      throw err;
    }
  }

  async function setPinned(message, pinned) {
    const path = `/messages/${message.id}/pin`;
    await (pinned ? api.put(path) : api.del(path));
    putMessage({ ...message, pinned });
  }

  async function forward(message, chatId) {
    onMessageCreated(await sendBody(chatId, { client_id: crypto.randomUUID(), body: '', forward_of: message.id }));
  }

  // ---- connection
  function onReady(data) {
    connected = true;
    presence.clear();
    for (const p of data.presence || []) presence.set(p.user_id, p);
    notify('presence');
    notify('connection');
    if (document.visibilityState === 'hidden') sendPresence();
    // A first connection replays nothing: reload what may have changed before the hello.
    if (!data.resumed) loadChats().catch(noop);
  }

  function onReset() {
    timelines.clear();
    pins.clear();
    loadChats().catch(noop);
    emitter.emit('reset');
  }

  const unsubscribers = [
    realtime.subscribe('ready', onReady),
    realtime.subscribe('event', ({ event, data }) => handlers[event]?.(data)),
    realtime.subscribe('signal', ({ event, data }) => {
      if (event === 'typing') setTyping(data.chat_id, data.user_id, data.typing);
      if (event === 'presence') {
        presence.set(data.user_id, data);
        notify('presence');
      }
    }),
    realtime.subscribe('reset', onReset),
    realtime.subscribe('down', ({ code }) => {
      connected = false;
      notify('connection');
      // A refused handshake looks like any network failure: ask REST whether we are signed out.
      if (code !== 1000) api.get('/me').catch(noop);
    }),
    realtime.subscribe('signed-out', () => api.get('/me').catch(noop)),
  ];

  return {
    me,
    realtime, // for calls (call/hook.js): call signals and ops
    on: emitter.subscribe,
    start() {
      document.addEventListener('visibilitychange', onVisibility);
      realtime.start();
      return loadChats();
    },
    stop() {
      document.removeEventListener('visibilitychange', onVisibility);
      for (const off of unsubscribers) off();
      realtime.stop();
      for (const map of typing.values()) for (const timer of map.values()) clearTimeout(timer);
    },
    isConnected: () => connected,
    setActive(chatId) {
      if (activeChatId != null && activeChatId !== chatId) typingStop(activeChatId);
      activeChatId = chatId;
    },
    list, chat: (id) => chats.get(id) || null, chatTitle, setChat, loadChat, loadChats, membersOf, othersIn,
    user, nameOf, remember, totalUnread, markRead,
    timeline, loadLatest, loadAround, loadOlder: (id) => loadMore(id, 'before'), loadNewer: (id) => loadMore(id, 'after'),
    pins: (id) => pins.get(id) || [], loadPins,
    typingUsers, typingStart, typingStop, presenceOf,
    send, retry, discard, edit, remove, toggleReaction, setPinned, forward,
  };
}
