// When someone takes messages from contacts only (403 contacts_only), say so and offer the
// way in: a contact request. Loaded when a direct chat is first refused for that reason.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { openDialog } from '../components/dialog.js';

export function offerContactRequest(ctx, userId) {
  const name = ctx.people.nameOf(userId);
  const status = h('p', { class: 'form-status', role: 'status', id: 'ask-contact-status' });
  const ask = h('button', {
    type: 'button', id: 'ask-contact', class: 'btn btn-primary',
    onclick: async () => {
      ask.disabled = true;
      try {
        await api.post('/contacts', { user_id: userId });
        status.textContent = `Request sent. Once ${name} accepts, you can message them.`;
      } catch (err) {
        status.textContent = errorText(err);
        ask.disabled = false;
      }
    },
  }, 'Send a contact request');
  const dialog = openDialog({
    id: 'contacts-only-dialog', title: 'Contacts only', className: 'dialog-small',
    content: [
      h('p', {}, `${name} only takes messages from their contacts.`),
      status,
      h('div', { class: 'form-actions' }, ask,
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => dialog.close() }, 'Close')),
    ],
  });
  ask.focus();
}
