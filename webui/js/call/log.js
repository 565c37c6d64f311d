// Call log lines: messages of kind "call" carry {id, kind, outcome, duration_seconds, started_by}.
import { h } from '../dom.js';
import { clockTime } from '../format.js';
import { icon } from '../components/icons.js';

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const m = Math.floor(s / 60);
  const two = (n) => String(n).padStart(2, '0');
  return m >= 60 ? `${Math.floor(m / 60)}:${two(m % 60)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

export function callLogText(call, meId) {
  const what = `${call.kind === 'video' ? 'Video' : 'Audio'} call`;
  const mine = call.started_by === meId;
  switch (call.outcome) {
    case 'completed': return `${what} · ${duration(call.duration_seconds)}`;
    case 'missed': return mine ? `${what} · no answer` : `Missed ${what.toLowerCase()}`;
    case 'declined': return mine ? `${what} · declined` : `Declined ${what.toLowerCase()}`;
    case 'busy': return mine ? `${what} · on another call` : `Missed ${what.toLowerCase()} · you were on another call`;
    case 'failed': return `${what} · failed`;
    default: return what;
  }
}

// A centred line with a call-back button (.call-back[data-kind]; the chat view handles clicks).
export function callLogElement(m, me) {
  const call = m.call || { kind: 'audio' };
  const missed = call.outcome === 'missed' && call.started_by !== me.id;
  return h('div', { class: `message system call-log${missed ? ' missed' : ''}`, 'data-message-id': m.id, 'data-call-id': call.id },
    h('p', { class: 'body' },
      icon(call.kind === 'video' ? 'video' : 'phone'),
      h('span', {}, callLogText(call, me.id)),
      h('time', { datetime: m.created_at }, clockTime(m.created_at)),
      h('button', { type: 'button', class: 'link-btn call-back', 'data-kind': call.kind }, 'Call back')));
}
