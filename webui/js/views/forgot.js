// "Forgot your password?": a reset link by email (when this Hearth has SMTP). The answer is the
// same whatever the account, so the page says what happens if it has an email address.
import { h } from '../dom.js';
import { api } from '../api.js';
import { authPage, note } from '../components/auth-page.js';
import { alertRegion, controlForm, field, statusRegion } from '../components/form.js';
import { required } from '../validate.js';

export function forgotView() {
  const fields = {
    login: field('forgot-login', 'Username or email', {
      autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true,
    }),
  };
  const alert = alertRegion();
  const sent = statusRegion({ class: 'notice', id: 'forgot-sent' });
  const form = h('form', { id: 'forgot-form', class: 'form' },
    fields.login.wrap, alert,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Email me a link'));

  controlForm(form, {
    fields, alert, busyText: 'Sending…',
    validate: () => ({ login: required(fields.login.input.value.trim(), 'Enter your username or email.') }),
    async submit() {
      await api.post('/auth/forgot', { login: fields.login.input.value.trim() });
      sent.textContent = 'If that account has an email address, a link to set a new password is on its way. '
        + 'It works once. No email? Ask an administrator for a reset link.';
      form.reset();
    },
  });

  return authPage('Forgot your password',
    note('We email a link to set a new password to the address on your account.'),
    sent, form,
    h('p', { class: 'switch' }, h('a', { href: '/login' }, 'Back to sign in')));
}
