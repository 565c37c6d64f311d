// Dates for people: "5 minutes ago", or a local date and time.
const STEPS = [['second', 60], ['minute', 60], ['hour', 24], ['day', 7]];

export function relativeTime(iso, now = Date.now()) {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return '';
  let delta = (time - now) / 1000;
  if (Math.abs(delta) < 45) return 'just now';
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  for (const [unit, size] of STEPS) {
    if (Math.abs(delta) < size) return rtf.format(Math.round(delta), unit);
    delta /= size;
  }
  return dateTime(iso);
}

export function dateTime(iso) {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return '';
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(time);
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function clockTime(iso) {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? '' : clock.format(time);
}

// The local calendar day of a time, as a key that groups messages under day separators.
export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function dayLabel(iso, now = new Date()) {
  const d = new Date(iso);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(d) === dayKey(now)) return 'Today';
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  const sameYear = d.getFullYear() === now.getFullYear();
  return new Intl.DateTimeFormat(undefined, {
    weekday: 'long', day: 'numeric', month: 'long', year: sameYear ? undefined : 'numeric',
  }).format(d);
}

// Chat list times: the clock today, the weekday this week, else a short date.
export function listTime(iso, now = Date.now()) {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return '';
  if (dayKey(iso) === dayKey(new Date(now))) return clock.format(time);
  if (now - time < 6 * 86400_000) return new Intl.DateTimeFormat(undefined, { weekday: 'short' }).format(time);
  return new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' }).format(time);
}

// "last seen 5 min ago", "last seen 3 h ago", "last seen 12 Mar".
export function lastSeen(iso, now = Date.now()) {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return 'offline';
  const minutes = Math.floor((now - time) / 60_000);
  if (minutes < 1) return 'last seen just now';
  if (minutes < 60) return `last seen ${minutes} min ago`;
  if (minutes < 24 * 60) return `last seen ${Math.floor(minutes / 60)} h ago`;
  return `last seen ${new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' }).format(time)}`;
}

// How a person's presence reads in a header: "online", "away", "last seen 5 min ago".
export function presenceLabel(p) {
  if (p.status === 'online') return 'online';
  if (p.status === 'away') return 'away';
  if (p.status === 'unknown') return '';  // not connected: Hearth cannot tell
  return p.last_seen_at ? lastSeen(p.last_seen_at) : 'offline';
}

export function typingText(names) {
  if (!names.length) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names[0]} and ${names.length - 1} others are typing…`;
}
