// What this device writes to messages. A new message shows at once as pending (the 'outbox'
// slice, topic 'outbox:ID') until the server has it; a failed one stays, marked, until it is
// retried or discarded. Edits, deletions, reactions and pins are applied here as soon as the
// server took them (a reaction even before), as if its event had come: apply(event, data).
import { api, errorText } from '../api.js';

export function createOutbox(store, { me, connection, history, apply }) {
  const state = store.slice('outbox', { pending: new Map() }); // chat id -> [pending Message]

  function pending(chatId) {
    return state.pending.get(chatId) || [];
  }

  function setPending(chatId, entries) {
    state.pending.set(chatId, entries);
    store.changed(`outbox:${chatId}`);
  }

  function changed(entry) {
    store.changed(`outbox:${entry.chat_id}`);
  }

  function sendBody(chatId, body) {
    return connection.callOrRest('message.send', { chat_id: chatId, ...body }, () => api.post(`/chats/${chatId}/messages`, body));
  }

  async function deliver(entry) {
    const body = { client_id: entry.client_id, body: entry.body };
    if (entry.reply_to) body.reply_to = entry.reply_to.id;
    if (entry.attachments.length) body.attachments = entry.attachments.map((f) => f.id);
    try {
      apply('message.created', await sendBody(entry.chat_id, body));
    } catch (err) {
      entry.state = 'failed';
      entry.error = errorText(err);
      entry.code = err.code;
      changed(entry);
    }
  }

  // files: uploaded File shapes (POST /files) to attach; the text is then an optional caption.
  async function send(chatId, text, replyTo = null, files = []) {
    if (history.timeline(chatId).hasMoreAfter) await history.loadLatest(chatId);
    const entry = {
      client_id: crypto.randomUUID(), chat_id: chatId, sender_id: me.id, kind: 'text', body: text,
      created_at: new Date().toISOString(), edited_at: null, deleted: false, forwarded_from: null,
      reply_to: replyTo && { id: replyTo.id, sender_id: replyTo.sender_id, body: replyTo.body.slice(0, 200), deleted: false },
      mentions: [], reactions: [], pinned: false, attachments: files, state: 'pending', error: '',
    };
    setPending(chatId, [...pending(chatId), entry]);
    await deliver(entry);
  }

  // Sends a failed message again with the same client_id: the server never stores it twice.
  function retry(chatId, clientId) {
    const entry = pending(chatId).find((p) => p.client_id === clientId);
    if (!entry || entry.state !== 'failed') return;
    entry.state = 'pending';
    entry.error = '';
    changed(entry);
    deliver(entry);
  }

  function discard(chatId, clientId) {
    setPending(chatId, pending(chatId).filter((p) => p.client_id !== clientId));
  }

  async function edit(message, body) {
    apply('message.updated', await connection.callOrRest('message.edit', { message_id: message.id, body },
      () => api.patch(`/messages/${message.id}`, { body })));
  }

  async function remove(message, scope) {
    await connection.callOrRest('message.delete', { message_id: message.id, for: scope },
      () => api.del(`/messages/${message.id}?for=${scope}`));
    apply('message.deleted', { id: message.id, chat_id: message.chat_id, for: scope });
  }

  async function toggleReaction(message, emoji) {
    const mine = message.reactions.some((r) => r.emoji === emoji && r.user_ids.includes(me.id));
    const change = { chat_id: message.chat_id, message_id: message.id, user_id: me.id, emoji };
    const path = `/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`;
    apply(mine ? 'reaction.removed' : 'reaction.added', change);
    try {
      await connection.callOrRest(mine ? 'reaction.remove' : 'reaction.add', { message_id: message.id, emoji },
        () => (mine ? api.del(path) : api.put(path)));
    } catch (err) {
      apply(mine ? 'reaction.added' : 'reaction.removed', change);
      throw err;
    }
  }

  async function setPinned(message, pinned) {
    const path = `/messages/${message.id}/pin`;
    await (pinned ? api.put(path) : api.del(path));
    apply('message.updated', { ...message, pinned });
  }

  async function forward(message, chatId) {
    apply('message.created', await sendBody(chatId, { client_id: crypto.randomUUID(), body: '', forward_of: message.id }));
  }

  // The stored message retires the pending copy it confirms, whichever came first: the op's
  // answer or the event.
  function onCreated(message) {
    if (message.sender_id !== me.id || !message.client_id) return;
    const entries = pending(message.chat_id);
    if (entries.some((p) => p.client_id === message.client_id)) {
      setPending(message.chat_id, entries.filter((p) => p.client_id !== message.client_id));
    }
  }

  return {
    pending, send, retry, discard, edit, remove, toggleReaction, setPinned, forward,
    events: { 'message.created': onCreated },
    destroy: () => store.release('outbox'),
  };
}
