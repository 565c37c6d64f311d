// Receipt ticks from the members' cursors (docs/protocol.md, "Messaging objects"): delivered
// when every other member's delivered cursor reached the message, read when every read cursor did.

export function tickState(messageId, others) {
  if (!others.length) return 'sent';
  const delivered = (m) => Math.max(m.last_delivered_id || 0, m.last_read_id || 0) >= messageId;
  if (others.every((m) => (m.last_read_id || 0) >= messageId)) return 'read';
  if (others.every(delivered)) return 'delivered';
  return 'sent';
}

export function seenBy(messageId, others) {
  return others.filter((m) => (m.last_read_id || 0) >= messageId);
}

export function deliveredTo(messageId, others) {
  return others.filter((m) => (m.last_read_id || 0) < messageId && (m.last_delivered_id || 0) >= messageId);
}
