// The sidebar's message search (GET /search): the hits under the chat list, each opening its
// chat at the message, and the filters (from a person, in a chat, with a file, a date range).
// Loaded when the first words are typed into the sidebar's search box.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { messageHit } from '../components/message-hit.js';
import { useSearchStyles } from './styles.js';

// Everyone the app knows from the chats: you, the other person of each direct chat, members.
function knownPeople(ctx) {
  const found = new Map([[ctx.me.id, 'You']]);
  for (const chat of ctx.chats.list()) {
    if (chat.peer) found.set(chat.peer.id, ctx.people.nameOf(chat.peer.id));
    for (const m of ctx.chats.membersOf(chat.id)) if (!found.has(m.user.id)) found.set(m.user.id, ctx.people.nameOf(m.user.id));
  }
  return [...found].sort((a, b) => (a[0] === ctx.me.id ? -1 : b[0] === ctx.me.id ? 1 : a[1].localeCompare(b[1])));
}

// A local calendar day as the instant it starts, in ISO 8601 (what the API's after/before take).
function dayStart(value, plusDays = 0) {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

function filterForm(ctx, onChange) {
  const select = (id, label, first, options) => h('label', { class: 'search-filter' }, label,
    h('select', { id }, h('option', { value: '' }, first), options.map(([value, text]) => h('option', { value }, text))));
  const from = select('search-from', 'From', 'Anyone', knownPeople(ctx));
  const chat = select('search-chat', 'In', 'Any chat', ctx.chats.list().map((c) => [c.id, ctx.chats.title(c)]));
  const hasFile = h('label', { class: 'search-filter search-filter-check' }, h('input', { type: 'checkbox', id: 'search-has-file' }), 'Has a file');
  const after = h('label', { class: 'search-filter' }, 'From date', h('input', { type: 'date', id: 'search-after' }));
  const before = h('label', { class: 'search-filter' }, 'To date', h('input', { type: 'date', id: 'search-before' }));
  const clear = h('button', { type: 'button', class: 'link-btn', id: 'search-filters-clear' }, 'Clear filters');
  const form = h('form', { id: 'search-filters', class: 'search-filters', 'aria-label': 'Search filters' }, from, chat, hasFile, after, before, clear);
  form.addEventListener('submit', (event) => event.preventDefault());
  form.addEventListener('change', onChange);
  // A group's members are known once the group is loaded: picking it adds them to "From".
  const fromSelect = from.querySelector('select');
  chat.querySelector('select').addEventListener('change', async (event) => {
    const id = Number(event.target.value);
    if (!id || ctx.chats.membersOf(id).length) return;
    await ctx.chats.load(id).catch(() => {});
    const chosen = fromSelect.value;
    fromSelect.replaceChildren(fromSelect.options[0], ...knownPeople(ctx).map(([value, text]) => h('option', { value }, text)));
    fromSelect.value = chosen;
  });
  clear.addEventListener('click', () => { form.reset(); onChange(); });
  return form;
}

function filtersOf(form) {
  const value = (id) => form.querySelector(`#${id}`).value;
  const filters = {};
  if (value('search-from')) filters.sender_id = value('search-from');
  if (value('search-chat')) filters.chat_id = value('search-chat');
  if (form.querySelector('#search-has-file').checked) filters.has_file = 'true';
  // The dates are whole local days, both included.
  if (value('search-after')) filters.after = dayStart(value('search-after'));
  if (value('search-before')) filters.before = dayStart(value('search-before'), 1);
  return filters;
}

// Fills `section` (the sidebar's #search-results); run(q) searches for q, '' clears.
export function messageSearch(ctx, section) {
  useSearchStyles();
  const hits = h('ul', { class: 'search-hit-list' });
  const status = h('p', { class: 'hint', role: 'status' });
  let form = null;
  const toggle = h('button', {
    type: 'button', id: 'search-filters-toggle', class: 'link-btn', 'aria-expanded': 'false',
    onclick: () => {
      if (!form) {
        form = filterForm(ctx, () => run(lastQ));
        form.hidden = true;
        head.after(form);
      }
      form.hidden = !form.hidden;
      toggle.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) form.querySelector('select')?.focus();
    },
  }, 'Filters');
  const head = h('div', { class: 'search-results-head' }, h('h3', { class: 'list-heading', id: 'search-results-title' }, 'Messages'), toggle);
  section.setAttribute('aria-labelledby', 'search-results-title');
  section.replaceChildren(head, status, hits);
  let found = [];
  let asked = 0;
  let lastQ = '';

  function render() {
    hits.replaceChildren(...found.map((m) => messageHit(ctx, m, 100)));
  }

  async function run(q) {
    lastQ = q;
    const ticket = ++asked;
    if (!q) return;
    const filters = form ? filtersOf(form) : {};
    toggle.textContent = Object.keys(filters).length ? `Filters (${Object.keys(filters).length})` : 'Filters';
    status.textContent = 'Searching…';
    try {
      const { results } = await api.get(`/search?${new URLSearchParams({ q: q.slice(0, 200), limit: '30', ...filters })}`);
      if (ticket !== asked) return;
      found = results;
      status.textContent = found.length ? '' : 'No messages found.';
      render();
    } catch (err) {
      if (ticket === asked) status.textContent = errorText(err);
    }
  }

  const off = ctx.store.subscribe('users', render);
  return { run, destroy: off };
}
