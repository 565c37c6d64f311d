// Find people by name (GET /users?q=): a search box and a list of matches to pick from.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { avatar } from './avatar.js';

export function userRow(user, ...extra) {
  return [
    avatar(user),
    h('span', { class: 'user-text' },
      h('span', { class: 'user-name' }, user.display_name || user.username),
      h('span', { class: 'user-handle' }, `@${user.username}`)),
    ...extra,
  ];
}

/**
 * exclude(): ids not to offer (yourself is never offered); onPick(user) may return a promise.
 */
export function userPicker({ id, label, me, exclude = () => new Set(), onPick }) {
  const input = h('input', { id, type: 'search', autocomplete: 'off', placeholder: 'Name or username', 'aria-controls': `${id}-results` });
  const results = h('ul', { id: `${id}-results`, class: 'pick-list', 'aria-label': 'Matching people' });
  const status = h('p', { class: 'hint', role: 'status' });
  let timer = 0;
  let asked = 0;

  async function search() {
    const q = input.value.trim();
    const ticket = ++asked;
    if (!q) {
      results.replaceChildren();
      status.textContent = '';
      return;
    }
    try {
      const { users } = await api.get(`/users?${new URLSearchParams({ q, limit: '10' })}`);
      if (ticket !== asked) return;
      const skip = exclude();
      const shown = users.filter((u) => u.id !== me.id && !skip.has(u.id));
      status.textContent = shown.length ? '' : 'Nobody found.';
      results.replaceChildren(...shown.map((u) => h('li', {},
        h('button', { type: 'button', class: 'pick user-result', 'data-user-id': u.id, onclick: (e) => pick(u, e.currentTarget) },
          userRow(u)))));
    } catch (err) {
      if (ticket === asked) status.textContent = errorText(err);
    }
  }

  async function pick(user, button) {
    button.disabled = true;
    try {
      await onPick(user);
    } catch (err) {
      status.textContent = errorText(err);
    } finally {
      button.disabled = false;
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  const el = h('div', { class: 'user-picker' }, h('label', { for: id }, label), input, status, results);
  return { el, input, refresh: search, clear() { input.value = ''; search(); } };
}
