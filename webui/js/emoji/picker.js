// The emoji picker: every Unicode emoji with its name, searchable by name, shortcode and tag,
// the ones you used recently first, with a skin tone you choose once. Its data
// (./emoji.json, derived from emojibase-data by tools/emoji_data.py) ships with the app, so it
// works offline, and is fetched only when the picker first opens or a :shortcode is typed;
// this module itself is only ever import()ed.
//
// The picker is a modal dialog (focus stays inside, Escape closes, focus returns where it
// was): the search box keeps focus and drives a listbox of emoji with the arrow keys
// (aria-activedescendant); Enter or a click picks.
import { h, useStylesheet } from '../dom.js';
import { openDialog } from '../components/dialog.js';

const RECENT_KEY = 'hearth.emoji.recent';
const TONE_KEY = 'hearth.emoji.tone';
const RECENT_MAX = 24;
const COLUMNS = 8;
const SEARCH_MAX = 160;
const TONES = ['Default', 'Light', 'Medium-light', 'Medium', 'Medium-dark', 'Dark'];

let data = null;

/** The emoji list: [{emoji, name, group, words, codes, skins?}] and the group names. */
export function loadEmoji() {
  data ||= fetch(new URL('./emoji.json', import.meta.url).pathname)
    .then((response) => {
      if (!response.ok) throw new Error(`emoji data: ${response.status}`);
      return response.json();
    })
    .then(({ groups, emoji }) => {
      const rows = emoji.map(([char, name, group, codes, tags, skins]) => ({
        emoji: char, name, group, skins, words: `${name} ${codes} ${tags}`.toLowerCase(),
        codes: codes ? codes.split(' ') : [],
      }));
      const byEmoji = new Map(rows.map((row) => [row.emoji, row]));
      return { groups, rows, byEmoji };
    })
    .catch((err) => {
      data = null;
      throw err;
    });
  return data;
}

const useStyles = () => useStylesheet(new URL('./picker.css', import.meta.url));

function stored(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

export function skinTone() {
  const tone = stored(TONE_KEY, 0);
  return Number.isInteger(tone) && tone >= 0 && tone < TONES.length ? tone : 0;
}

/** An emoji in the chosen skin tone, when it has tones. */
export function withTone(row, tone = skinTone()) {
  return tone && row.skins ? row.skins[tone - 1] : row.emoji;
}

export function recentEmoji() {
  const recent = stored(RECENT_KEY, []);
  return Array.isArray(recent) ? recent.filter((e) => typeof e === 'string').slice(0, RECENT_MAX) : [];
}

export function rememberEmoji(emoji) {
  const recent = [emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch { /* private mode: no recents */ }
}

/** Emoji whose name, shortcode or tag starts with (or, for names, contains) the query. */
export function searchEmoji({ rows }, query, limit = SEARCH_MAX) {
  const q = query.trim().toLowerCase().replace(/^:|:$/g, '');
  if (!q) return [];
  const starts = [];
  const inside = [];
  for (const row of rows) {
    if (row.codes.some((c) => c.startsWith(q)) || row.words.split(' ').some((w) => w.startsWith(q))) starts.push(row);
    else if (row.words.includes(q)) inside.push(row);
    if (starts.length >= limit) break;
  }
  return [...starts, ...inside].slice(0, limit);
}

/** `:smi` completion for the composer: [{emoji, code, name}], best first. */
export function shortcodeMatches(emojiData, query, limit = 8) {
  const q = query.toLowerCase();
  const recent = new Set(recentEmoji());
  const found = [];
  for (const row of emojiData.rows) {
    const code = row.codes.find((c) => c.startsWith(q));
    if (code) found.push({ row, code });
  }
  found.sort((a, b) => (recent.has(b.row.emoji) - recent.has(a.row.emoji)) || (a.code.length - b.code.length));
  return found.slice(0, limit).map(({ row, code }) => ({ emoji: withTone(row), code, name: row.name }));
}

/**
 * Opens the picker; resolves with the emoji picked (already remembered as recent) or null
 * when closed without one. title: the dialog's heading ("React with…", "Insert an emoji").
 */
export async function pickEmoji({ title = 'Pick an emoji' } = {}) {
  const [emojiData] = await Promise.all([loadEmoji(), useStyles()]);
  return new Promise((resolve) => {
    let picked = null;
    let tone = skinTone();
    let shown = []; // [{emoji, name}] in listbox order
    let active = 0;
    const search = h('input', {
      id: 'emoji-search', type: 'search', placeholder: 'Search emoji', autocomplete: 'off', spellcheck: 'false',
      role: 'combobox', 'aria-label': 'Search emoji', 'aria-controls': 'emoji-grid', 'aria-expanded': 'true', 'aria-autocomplete': 'list',
    });
    const toneSelect = h('select', { id: 'emoji-tone', 'aria-label': 'Skin tone' },
      TONES.map((label, i) => h('option', { value: i, selected: i === tone }, label)));
    const grid = h('div', { id: 'emoji-grid', class: 'emoji-grid', role: 'listbox', 'aria-label': 'Emoji' });
    const status = h('p', { class: 'hint emoji-status', role: 'status' });
    const nameLine = h('p', { class: 'emoji-name', 'aria-hidden': 'true' });
    const dialog = openDialog({
      id: 'emoji-picker', title, className: 'dialog-small emoji-dialog',
      content: [h('div', { class: 'emoji-tools' }, search, toneSelect), status, grid, nameLine],
      onClose: () => resolve(picked),
    });

    function option(item, index) {
      return h('span', {
        id: `emoji-option-${index}`, role: 'option', class: 'emoji-option', 'aria-selected': String(index === active),
        'aria-label': item.name, title: item.name, 'data-emoji': item.emoji,
        onclick: () => pick(item.emoji),
      }, item.emoji);
    }

    function section(label, items, start) {
      return h('div', { role: 'group', class: 'emoji-section', 'aria-label': label },
        h('h3', { class: 'emoji-heading', 'aria-hidden': 'true' }, label),
        h('div', { class: 'emoji-row' }, items.map((item, i) => option(item, start + i))));
    }

    function render() {
      const query = search.value;
      const sections = [];
      if (query.trim()) {
        const found = searchEmoji(emojiData, query).map((row) => ({ emoji: withTone(row, tone), name: row.name }));
        sections.push(['Results', found]);
        status.textContent = found.length ? `${found.length} found` : 'No emoji match.';
      } else {
        status.textContent = '';
        const recent = recentEmoji().map((e) => ({ emoji: e, name: emojiData.byEmoji.get(e)?.name || e }));
        if (recent.length) sections.push(['Recently used', recent]);
        emojiData.groups.forEach((name, g) => sections.push([name[0].toUpperCase() + name.slice(1),
          emojiData.rows.filter((row) => row.group === g).map((row) => ({ emoji: withTone(row, tone), name: row.name }))]));
      }
      shown = [];
      const nodes = [];
      for (const [label, items] of sections) {
        if (!items.length) continue;
        nodes.push(section(label, items, shown.length));
        shown.push(...items);
      }
      active = 0;
      grid.replaceChildren(...nodes);
      highlight();
    }

    function highlight() {
      grid.querySelector('[aria-selected="true"]')?.setAttribute('aria-selected', 'false');
      const node = shown.length ? grid.querySelector(`#emoji-option-${active}`) : null;
      if (!node) {
        search.removeAttribute('aria-activedescendant');
        nameLine.textContent = '';
        return;
      }
      node.setAttribute('aria-selected', 'true');
      node.scrollIntoView({ block: 'nearest' });
      search.setAttribute('aria-activedescendant', node.id);
      nameLine.textContent = `${shown[active].emoji} ${shown[active].name}`;
    }

    function pick(emoji) {
      picked = emoji;
      rememberEmoji(emoji);
      dialog.close();
    }

    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS, PageDown: COLUMNS * 5, PageUp: -COLUMNS * 5 };
    search.addEventListener('keydown', (event) => {
      if (event.key in moves && shown.length) {
        // Left/Right move the caret while typing; they move in the grid only once you have.
        if ((event.key === 'ArrowLeft' || event.key === 'ArrowRight') && search.value && !search.dataset.browsing) return;
        event.preventDefault();
        active = Math.max(0, Math.min(shown.length - 1, active + moves[event.key]));
        search.dataset.browsing = '1';
        highlight();
      } else if (event.key === 'Home' && shown.length && search.dataset.browsing) {
        event.preventDefault();
        active = 0;
        highlight();
      } else if (event.key === 'Enter') {
        event.preventDefault();
        if (shown[active]) pick(shown[active].emoji);
      }
    });
    search.addEventListener('input', () => {
      delete search.dataset.browsing;
      render();
    });
    toneSelect.addEventListener('change', () => {
      tone = Number(toneSelect.value);
      try {
        localStorage.setItem(TONE_KEY, JSON.stringify(tone));
      } catch { /* private mode: the tone lasts this picker only */ }
      render();
    });
    render();
    search.focus();
  });
}
