// Message text as DOM nodes, never HTML: http(s) links become <a>, @mentions of known people a
// highlighted span, everything else text nodes.
import { h } from './dom.js';

const LINK = /\bhttps?:\/\/[^\s<>"]+/gi;
const MENTION = /(^|[^\w@])@([a-z0-9][a-z0-9_.-]{0,63})/gi;
const TRAILING = /[.,;:!?'"*]+$/;

function safeHref(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

// Trailing punctuation belongs to the sentence, and a ")" only to the link if it opened one.
function trimLink(raw) {
  let link = raw.replace(TRAILING, '');
  while (link.endsWith(')') && (link.match(/\(/g) || []).length < (link.match(/\)/g) || []).length) {
    link = link.slice(0, -1).replace(TRAILING, '');
  }
  return link;
}

function mentionNodes(text, mentionKind) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    let name = match[2];
    let kind = mentionKind(name);
    while (!kind && /[._-]$/.test(name)) {
      name = name.slice(0, -1);
      kind = mentionKind(name);
    }
    if (!kind) continue;
    const start = match.index + match[1].length;
    if (start > last) out.push(text.slice(last, start));
    out.push(h('span', { class: kind === 'me' ? 'mention mention-me' : 'mention' }, `@${name}`));
    last = start + 1 + name.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/**
 * mentionKind(username) says how to show "@username": "me", "other", or null (plain text).
 */
export function richText(body, mentionKind = () => null) {
  const out = [];
  let last = 0;
  for (const match of String(body).matchAll(LINK)) {
    const raw = trimLink(match[0]);
    const href = safeHref(raw);
    if (!href) continue;
    if (match.index > last) out.push(...mentionNodes(body.slice(last, match.index), mentionKind));
    out.push(h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, raw));
    last = match.index + raw.length;
  }
  if (last < body.length) out.push(...mentionNodes(body.slice(last), mentionKind));
  return out;
}

// A one-line preview of a message body for lists and quotes.
export function preview(body, max = 120) {
  const flat = String(body || '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// Where a message is opened: its chat at the message; a reply kept in its thread (not in the
// main timeline) at the thread's root, with the thread open.
export function messageHref(m) {
  const root = m.thread_root_id && !m.also_to_chat ? m.thread_root_id : 0;
  return `/chats/${m.chat_id}?around=${root || m.id}${root ? `&thread=${root}` : ''}`;
}
