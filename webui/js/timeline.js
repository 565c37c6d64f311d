// One chat's loaded messages: a window of the history, oldest first. Pure functions; the
// history module (messaging/history.js) owns the objects.

export function emptyTimeline() {
  return { messages: [], hasMoreBefore: false, hasMoreAfter: false, loaded: false };
}

// Merges two lists of stored messages by id; the newer copy of a message wins.
export function mergeMessages(current, incoming) {
  const byId = new Map(current.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

// Puts a stored message in place, created or updated.
export function upsert(timeline, message) {
  const index = timeline.messages.findIndex((m) => m.id === message.id);
  if (index >= 0) {
    timeline.messages[index] = message;
    return;
  }
  const last = timeline.messages[timeline.messages.length - 1];
  // A message beyond a window that does not reach the newest would leave a gap: wait for scroll.
  if (timeline.hasMoreAfter && last && message.id > last.id) return;
  timeline.messages = mergeMessages(timeline.messages, [message]);
}

export function update(timeline, id, change) {
  const index = timeline.messages.findIndex((m) => m.id === id);
  if (index < 0) return false;
  timeline.messages[index] = change(timeline.messages[index]);
  return true;
}

export function findMessage(timeline, id) {
  return timeline.messages.find((m) => m.id === id) || null;
}

export function newestId(timeline) {
  const last = timeline.messages[timeline.messages.length - 1];
  return last ? last.id : 0;
}

// Reactions after one person added or removed one emoji; applying the same change twice is
// harmless, which lets the UI apply it before the server's event confirms it.
export function withReaction(message, emoji, userId, added) {
  const reactions = message.reactions.map((r) => ({ ...r, user_ids: [...r.user_ids] }));
  let entry = reactions.find((r) => r.emoji === emoji);
  if (added) {
    if (!entry) reactions.push((entry = { emoji, user_ids: [] }));
    if (!entry.user_ids.includes(userId)) entry.user_ids.push(userId);
  } else if (entry) {
    entry.user_ids = entry.user_ids.filter((id) => id !== userId);
  }
  return { ...message, reactions: reactions.filter((r) => r.user_ids.length) };
}

export function asDeleted(message) {
  return { ...message, deleted: true, body: '', reactions: [], mentions: [] };
}
