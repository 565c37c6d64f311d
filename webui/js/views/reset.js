// Set a new password from an administrator's one-time reset link (/reset?token=).
import { h } from '../dom.js';
import { api } from '../api.js';
import { authPage, note } from '../components/auth-page.js';
import { alertRegion, controlForm, field } from '../components/form.js';
import * as rules from '../validate.js';

export function resetView(ctx) {
  const token = ctx.params.get('token') || '';
  if (!token) {
    return authPage('Reset password',
      h('div', { class: 'alert', role: 'alert' }, 'This reset link has no token.'),
      note('Open the full link you were given, or ask an administrator for a new one.'));
  }
  const fields = {
    password: field('reset-password', 'New password', {
      type: 'password', autocomplete: 'new-password', required: true, hint: 'At least 8 characters.',
    }),
    confirm: field('reset-confirm', 'Confirm new password', { type: 'password', autocomplete: 'new-password', required: true }),
  };
  const alert = alertRegion();
  const form = h('form', { id: 'reset-form', class: 'form' },
    fields.password.wrap, fields.confirm.wrap, alert,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Set password'));

  controlForm(form, {
    fields, alert, busyText: 'Saving…',
    validate: () => ({
      password: rules.password(fields.password.input.value),
      confirm: rules.confirm(fields.confirm.input.value, fields.password.input.value),
    }),
    async submit() {
      await api.post('/auth/reset', { token, password: fields.password.input.value });
      // The reset signs out every session of that account, which may include this browser's.
      const me = await api.get('/me').catch(() => null);
      ctx.store.set({ me, notice: me ? null : 'Your new password is set. Sign in with it.' });
      ctx.navigate(me ? '/' : '/login', { replace: true });
    },
  });

  return authPage('Reset password',
    note('Choose a new password. You will be signed out everywhere.'),
    form,
    h('p', { class: 'switch' }, h('a', { href: '/login' }, 'Back to sign in')));
}
