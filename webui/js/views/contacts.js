// Contacts (/contacts): requests to answer, requests sent, contacts with a "Message" button,
// blocked people, and adding someone by name.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { paneHeader } from '../components/pane-header.js';
import { userPicker, userRow } from '../components/user-picker.js';
import { openDirectChat } from './new-chat.js';

export function contactsView(ctx) {
  const { store, me, people } = ctx;
  const status = h('p', { class: 'form-status', role: 'status', id: 'contacts-status' });
  const alert = h('div', { class: 'alert', role: 'alert' });
  const lists = h('div', { class: 'contacts-lists', 'aria-busy': 'true' });
  let alive = true;
  let current = { contacts: [], incoming: [], outgoing: [], blocked: [] };

  // Runs one change; most answer with the new Contacts, the others need a fresh copy.
  async function run(button, request, done) {
    button.disabled = true;
    alert.textContent = '';
    try {
      const answer = await request();
      if (answer && answer.contacts) show(answer);
      else await refresh();
      if (done) status.textContent = done;
    } catch (err) {
      alert.textContent = errorText(err);
      button.disabled = false;
    }
  }

  function action(label, cls, request, done, attrs = {}) {
    return h('button', { type: 'button', class: `btn ${cls}`, ...attrs, onclick: (e) => run(e.currentTarget, request, done) }, label);
  }

  function person(user, ...buttons) {
    return h('li', { class: 'person', 'data-user-id': user.id }, userRow(user), h('span', { class: 'person-actions' }, buttons));
  }

  function group(id, title, users, row, empty) {
    return h('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` },
      h('h2', { id: `${id}-title` }, title, users.length ? ` (${users.length})` : ''),
      users.length ? h('ul', { class: 'person-list' }, users.map(row)) : h('p', { class: 'hint' }, empty));
  }

  function show(contacts) {
    current = contacts;
    for (const list of Object.values(contacts)) for (const user of list) people.remember(user);
    const name = (u) => u.display_name || u.username;
    const blockedIds = new Set(contacts.blocked.map((u) => u.id));
    lists.replaceChildren(
      group('contacts-incoming', 'Requests', contacts.incoming, (u) => person(u,
        action('Accept', 'btn-primary accept', () => api.post(`/contacts/${u.id}/accept`), `${name(u)} is now a contact.`),
        action('Decline', 'btn-secondary reject', () => api.post(`/contacts/${u.id}/reject`), 'Request declined.')),
      'No requests waiting.'),
      group('contacts-list', 'Contacts', contacts.contacts, (u) => person(u,
        h('button', {
          type: 'button', class: 'btn btn-primary message-contact',
          onclick: (e) => { e.currentTarget.disabled = true; openDirectChat(ctx, u.id).catch((err) => { alert.textContent = errorText(err); }); },
        }, 'Message'),
        action('Remove', 'btn-secondary remove-contact', () => api.del(`/contacts/${u.id}`), `${name(u)} was removed.`),
        // Blocking keeps the contact (removing is its own action): a blocked one can be unblocked here.
        blockedIds.has(u.id)
          ? action('Unblock', 'btn-secondary unblock', () => api.del(`/blocks/${u.id}`), `${name(u)} is unblocked.`)
          : action('Block', 'btn-secondary block', () => api.post('/blocks', { user_id: u.id }), `${name(u)} is blocked.`)),
      'No contacts yet: find someone with "Add a contact" above.'),
      group('contacts-outgoing', 'Sent requests', contacts.outgoing, (u) => person(u,
        action('Withdraw', 'btn-secondary withdraw', () => api.del(`/contacts/${u.id}`), 'Request withdrawn.')),
      'No requests sent.'),
      group('contacts-blocked', 'Blocked', contacts.blocked, (u) => person(u,
        action('Unblock', 'btn-secondary unblock', () => api.del(`/blocks/${u.id}`), `${name(u)} is unblocked.`)),
      'Nobody blocked.'));
    lists.setAttribute('aria-busy', 'false');
  }

  async function refresh() {
    try {
      const contacts = await api.get('/contacts');
      if (alive) show(contacts);
    } catch (err) {
      if (alive) alert.textContent = `Couldn't load your contacts: ${errorText(err)}`;
    }
  }

  const picker = userPicker({
    id: 'contact-search', label: 'Add a contact', me,
    exclude: () => new Set([...current.contacts, ...current.outgoing, ...current.blocked].map((u) => u.id)),
    async onPick(user) {
      show(await api.post('/contacts', { user_id: user.id }));
      picker.clear();
      status.textContent = `Request sent to ${user.display_name || user.username}.`;
    },
  });

  ctx.cleanup(store.subscribe('contacts', refresh));
  ctx.cleanup(() => { alive = false; });
  refresh();
  return h('div', { class: 'pane', id: 'contacts-page' },
    paneHeader(ctx, 'Contacts'),
    h('div', { class: 'pane-body' },
      h('div', { class: 'settings' },
        h('section', { class: 'panel', id: 'contacts-add' }, picker.el),
        status, alert, lists)));
}
