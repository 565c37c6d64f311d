// The loaded part of each chat's history and its pinned messages: the 'history' slice.
// Topics: 'timeline:ID', 'pins:ID'.
import { api } from '../api.js';
import * as tl from '../timeline.js';

const PAGE_SIZE = 50;

export function createHistory(store, { me }) {
  const state = store.slice('history', { timelines: new Map(), pins: new Map() });
  const { timelines, pins } = state; // chat id -> timeline.js timeline; chat id -> [Message], newest pin first

  function timeline(chatId) {
    if (!timelines.has(chatId)) timelines.set(chatId, tl.emptyTimeline());
    return timelines.get(chatId);
  }

  // The chat's timeline when it is loaded up to the newest message, else null.
  function latest(chatId) {
    const t = timelines.get(chatId);
    return t?.loaded && !t.hasMoreAfter ? t : null;
  }

  function changed(chatId) {
    store.changed(`timeline:${chatId}`);
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
    changed(chatId);
  }

  async function loadAround(chatId, messageId) {
    const page = await fetchPage(chatId, { around: String(messageId) });
    Object.assign(timeline(chatId), {
      messages: page.messages, hasMoreBefore: page.has_more_before, hasMoreAfter: page.has_more_after, loaded: true,
    });
    changed(chatId);
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
      changed(chatId);
      return page.messages.length;
    } finally {
      t[busy] = false;
    }
  }

  async function loadPins(chatId) {
    const { messages } = await api.get(`/chats/${chatId}/pins`);
    pins.set(chatId, messages);
    store.changed(`pins:${chatId}`);
  }

  function trackPin(message) {
    const current = pins.get(message.chat_id);
    if (!current) return;
    const others = current.filter((m) => m.id !== message.id);
    const next = message.pinned && !message.deleted ? [message, ...others] : others;
    if (next.length !== current.length || message.pinned) {
      pins.set(message.chat_id, next);
      store.changed(`pins:${message.chat_id}`);
    }
  }

  function forget(chatId) {
    timelines.delete(chatId);
    pins.delete(chatId);
  }

  // ---- events
  function onCreated(message) {
    // Also into a timeline still loading its first page: that page may be older than this.
    const t = timelines.get(message.chat_id);
    if (!t) return;
    tl.upsert(t, message);
    changed(message.chat_id);
  }

  function onUpdated(message) {
    const t = timelines.get(message.chat_id);
    if (t && tl.update(t, message.id, () => message)) changed(message.chat_id);
    trackPin(message);
  }

  function onDeleted({ id, chat_id: chatId, for: scope }) {
    const t = timelines.get(chatId);
    if (t) {
      if (scope === 'me') t.messages = t.messages.filter((m) => m.id !== id);
      else tl.update(t, id, tl.asDeleted);
      changed(chatId);
    }
    const current = pins.get(chatId);
    if (current?.some((m) => m.id === id)) {
      pins.set(chatId, current.filter((m) => m.id !== id));
      store.changed(`pins:${chatId}`);
    }
  }

  function onReaction({ chat_id: chatId, message_id: messageId, user_id: userId, emoji }, added) {
    const t = timelines.get(chatId);
    if (t && tl.update(t, messageId, (m) => tl.withReaction(m, emoji, userId, added))) changed(chatId);
  }

  return {
    timeline, latest, loadLatest, loadAround,
    loadOlder: (id) => loadMore(id, 'before'), loadNewer: (id) => loadMore(id, 'after'),
    pins: (id) => pins.get(id) || [], loadPins,
    // The server lost what we missed: everything loaded is reloaded as it is shown again.
    clear() {
      timelines.clear();
      pins.clear();
    },
    events: {
      'message.created': onCreated,
      'message.updated': onUpdated,
      'message.deleted': onDeleted,
      'reaction.added': (d) => onReaction(d, true),
      'reaction.removed': (d) => onReaction(d, false),
      'chat.deleted': (d) => forget(d.chat_id),
      'member.removed': (d) => { if (d.user_id === me.id) forget(d.chat_id); },
      // History cleared for me (on any of my devices): loaded anew when shown.
      'chat.prefs': (d) => {
        if (!d.cleared_through || !timelines.has(d.chat_id)) return;
        forget(d.chat_id);
        changed(d.chat_id);
      },
    },
    destroy: () => store.release('history'),
  };
}
