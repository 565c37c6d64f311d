// Who is typing in each chat, each entry expiring unless renewed (the 'typing' slice), and
// our own typing.start and typing.stop. Topics: 'typing' (any chat), 'typing:ID'.
const TYPING_EVERY_MS = 3000;
const TYPING_EXPIRE_MS = 8000;

const noop = () => {};

export function createTyping(store, { me, connection }) {
  const state = store.slice('typing', { byChat: new Map(), sent: new Map() });
  const { byChat, sent } = state; // chat id -> Map(user id -> expiry timer); chat id -> when we last said so

  function set(chatId, userId, on) {
    if (userId === me.id) return;
    if (!byChat.has(chatId)) byChat.set(chatId, new Map());
    const timers = byChat.get(chatId);
    clearTimeout(timers.get(userId));
    if (on) timers.set(userId, setTimeout(() => set(chatId, userId, false), TYPING_EXPIRE_MS));
    else if (!timers.delete(userId)) return;
    store.changed(`typing:${chatId}`);
    store.changed('typing');
  }

  function users(chatId) {
    return [...(byChat.get(chatId)?.keys() || [])];
  }

  function start(chatId) {
    const now = Date.now();
    if (now - (sent.get(chatId) || 0) < TYPING_EVERY_MS) return;
    sent.set(chatId, now);
    connection.call('typing.start', { chat_id: chatId }).catch(noop);
  }

  function stop(chatId) {
    if (!sent.delete(chatId)) return;
    connection.call('typing.stop', { chat_id: chatId }).catch(noop);
  }

  return {
    users, start, stop,
    events: {
      'message.created': (message) => set(message.chat_id, message.sender_id, false),
    },
    signals: {
      typing: (data) => set(data.chat_id, data.user_id, data.typing),
    },
    destroy() {
      for (const timers of byChat.values()) for (const timer of timers.values()) clearTimeout(timer);
      store.release('typing');
    },
  };
}
