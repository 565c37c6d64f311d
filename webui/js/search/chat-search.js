// Search inside one chat, opened from its header (or Ctrl+F): a bar under the header with the
// box, "3 of 12", older/newer and close. Hits come from GET /search?chat_id= newest first;
// stepping jumps to each (loading the history around it when needed) and marks the words in
// it with <mark> elements built from text nodes. Enter or Up goes to the next older hit,
// Shift+Enter or Down to the newer one; Esc closes.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { icon } from '../components/icons.js';
import { useSearchStyles } from './styles.js';

const DELAY_MS = 250;
const LIMIT = 100;

function wordsPattern(q) {
  const words = q.match(/[\p{L}\p{N}_]+/gu) || [];
  if (!words.length) return null;
  // Longer words first, so that "apple" wins over "app" where both match.
  const sorted = [...new Set(words)].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'giu');
}

// Wraps every match of `pattern` in the text under `root` in <mark class="search-mark">.
function markWords(root, pattern) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode);
  for (const text of texts) {
    const value = text.nodeValue;
    const parts = [];
    let at = 0;
    for (const match of value.matchAll(pattern)) {
      if (match.index > at) parts.push(value.slice(at, match.index));
      parts.push(h('mark', { class: 'search-mark' }, match[0]));
      at = match.index + match[0].length;
    }
    if (!parts.length) continue;
    if (at < value.length) parts.push(value.slice(at));
    text.replaceWith(...parts);
  }
}

function unmarkWords(root) {
  for (const mark of root.querySelectorAll('mark.search-mark')) {
    const parent = mark.parentNode;
    mark.replaceWith(mark.textContent);
    parent.normalize();
  }
  for (const node of root.querySelectorAll('.search-current')) node.classList.remove('search-current');
}

// `view` is the chat view's { el, header, list, jumpTo(id, focus) }.
export async function openChatSearch(ctx, chatId, view) {
  const open = view.el.querySelector('#chat-find-bar');
  if (open) {
    open.querySelector('input').select();
    open.querySelector('input').focus();
    return;
  }
  await useSearchStyles();
  const input = h('input', { id: 'chat-find-input', type: 'search', placeholder: 'Search in this chat', autocomplete: 'off', 'aria-label': 'Search in this chat' });
  const count = h('span', { id: 'chat-find-count', class: 'chat-find-count', role: 'status', 'aria-live': 'polite' });
  const older = h('button', { type: 'button', id: 'chat-find-older', class: 'icon-btn chat-find-older', 'aria-label': 'Older match', title: 'Older match (Enter)', disabled: true }, icon('back'));
  const newer = h('button', { type: 'button', id: 'chat-find-newer', class: 'icon-btn chat-find-newer', 'aria-label': 'Newer match', title: 'Newer match (Shift+Enter)', disabled: true }, icon('back'));
  const close = h('button', { type: 'button', id: 'chat-find-close', class: 'icon-btn', 'aria-label': 'Close search', title: 'Close search (Esc)' }, icon('close'));
  const bar = h('form', { id: 'chat-find-bar', class: 'chat-find', role: 'search', 'aria-label': 'Search in this chat' }, input, count, older, newer, close);

  let hits = [];
  let index = -1;
  let searched = null; // the words the hits are for
  let ticket = 0;
  let timer = 0;
  let pattern = null;

  function showCount() {
    const more = hits.length >= LIMIT ? '+' : '';
    count.textContent = searched == null || !input.value.trim() ? '' : hits.length ? `${index + 1} of ${hits.length}${more}` : 'No matches';
    older.disabled = newer.disabled = hits.length < 2;
  }

  async function show(i) {
    index = i;
    showCount();
    unmarkWords(view.list);
    const hit = hits[i];
    // A reply kept in its thread is not in the timeline: go to its thread's root.
    const id = hit.thread_root_id && !hit.also_to_chat ? hit.thread_root_id : hit.id;
    // Closed, or moved on, while the jump loaded history: mark nothing.
    if (!(await view.jumpTo(id, false)) || index !== i || !bar.isConnected) return;
    const node = view.list.querySelector(`.message[data-message-id="${Number(id)}"]`);
    if (!node) return;
    node.classList.add('search-current');
    const body = node.querySelector('.body');
    if (body && pattern) markWords(body, pattern);
  }

  async function search() {
    clearTimeout(timer);
    const q = input.value.trim();
    const mine = ++ticket;
    if (!q) {
      hits = [];
      searched = null;
      unmarkWords(view.list);
      showCount();
      return;
    }
    try {
      const { results } = await api.get(`/search?${new URLSearchParams({ q: q.slice(0, 200), chat_id: String(chatId), limit: String(LIMIT) })}`);
      if (mine !== ticket) return;
      hits = results;
      searched = q;
      pattern = wordsPattern(q);
      if (hits.length) await show(0);
      else {
        unmarkWords(view.list);
        showCount();
      }
    } catch (err) {
      if (mine === ticket) count.textContent = errorText(err);
    }
  }

  function step(by) {
    if (input.value.trim() !== searched) {
      search();
      return;
    }
    if (hits.length) show((index + by + hits.length) % hits.length);
  }

  function shut() {
    ticket += 1;
    clearTimeout(timer);
    unmarkWords(view.list);
    bar.remove();
    view.header.querySelector('#chat-find')?.focus();
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, DELAY_MS);
  });
  bar.addEventListener('submit', (event) => event.preventDefault());
  bar.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      shut();
    } else if (event.target === input && (event.key === 'Enter' || event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
      event.preventDefault();
      step(event.key === 'ArrowDown' || (event.key === 'Enter' && event.shiftKey) ? -1 : 1);
    }
  });
  older.addEventListener('click', () => step(1));
  newer.addEventListener('click', () => step(-1));
  close.addEventListener('click', shut);

  view.header.after(bar);
  input.focus();
}
