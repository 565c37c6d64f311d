// The quick switcher (Ctrl/Cmd+K): type to find any chat you are in or any person, arrow keys
// to choose, Enter to open (a person opens your direct chat with them). Loaded when first used.
import { h } from '../dom.js';
import { api } from '../api.js';
import { openDialog } from '../components/dialog.js';
import { openDirectChat } from './new-chat.js';

const MAX_RESULTS = 12;

export function openSwitcher(ctx) {
  const { chats, me } = ctx;
  const input = h('input', {
    id: 'switcher-input', type: 'search', autocomplete: 'off', placeholder: 'Jump to a chat or person',
    role: 'combobox', 'aria-expanded': 'true', 'aria-controls': 'switcher-results', 'aria-label': 'Jump to a chat or person',
  });
  const results = h('ul', { id: 'switcher-results', class: 'switcher-results', role: 'listbox', 'aria-label': 'Matches' });
  let items = [];
  let active = 0;
  let asked = 0;
  const dialog = openDialog({ id: 'switcher', title: 'Jump to', className: 'dialog-small', content: [input, results] });

  function render() {
    results.replaceChildren(...items.map((item, i) => h('li', {
      id: `switcher-option-${i}`, role: 'option', class: 'switcher-option', 'aria-selected': String(i === active),
      'data-kind': item.kind, onclick: () => choose(item),
    }, h('span', {}, item.label), h('span', { class: 'hint' }, item.kind === 'chat' ? item.hint : 'Person'))));
    input.setAttribute('aria-activedescendant', items.length ? `switcher-option-${active}` : '');
  }

  function chatItems(q) {
    return chats.list()
      .map((chat) => ({ kind: 'chat', id: chat.id, label: chats.title(chat), hint: chat.kind === 'direct' ? 'Direct chat' : chat.kind === 'channel' ? 'Channel' : 'Group' }))
      .filter((item) => item.label.toLowerCase().includes(q));
  }

  async function update() {
    const q = input.value.trim().toLowerCase();
    const ask = ++asked;
    items = chatItems(q).slice(0, MAX_RESULTS);
    active = 0;
    render();
    if (!q) return;
    try {
      const { users } = await api.get(`/users?${new URLSearchParams({ q, limit: '8' })}`);
      if (ask !== asked) return;
      const inList = new Set(items.filter((i) => i.kind === 'chat').map((i) => i.label));
      const people = users
        .filter((u) => u.id !== me.id && !inList.has(u.display_name || u.username))
        .map((u) => ({ kind: 'person', id: u.id, label: u.display_name || u.username }));
      items = [...items, ...people].slice(0, MAX_RESULTS);
      render();
    } catch {
      // Searching people failed (offline): the chats found stay.
    }
  }

  async function choose(item) {
    dialog.close();
    if (item.kind === 'chat') ctx.navigate(`/chats/${item.id}`);
    else await openDirectChat(ctx, item.id).catch(() => ctx.announce("Couldn't open that chat."));
  }

  input.addEventListener('input', update);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!items.length) return;
      active = (active + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      render();
    } else if (event.key === 'Enter' && items[active]) {
      event.preventDefault();
      choose(items[active]);
    }
  });
  update();
  input.focus();
}
