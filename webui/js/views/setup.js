// First run: create the admin account with the one-time token from the server's setup link.
import { describeDevice } from '../device.js';
import { h } from '../dom.js';
import { api } from '../api.js';
import { authPage, note } from '../components/auth-page.js';
import { alertRegion, controlForm } from '../components/form.js';
import { accountFields } from '../components/account-fields.js';

export function needsSetupView() {
  return authPage('Hearth needs setting up',
    note('Open the setup link printed by the server.'),
    note('It is shown when the server starts and looks like https://HOST:PORT/setup?token=…', 'hint'));
}

export function setupView(ctx) {
  const token = ctx.params.get('token') || '';
  if (!token) {
    return authPage('Set up Hearth',
      h('div', { class: 'alert', role: 'alert' }, 'This setup link has no token.'),
      note('Open the full setup link printed by the server.'));
  }
  const { fields, validate, body } = accountFields('setup');
  const alert = alertRegion();
  const form = h('form', { id: 'setup-form', class: 'form' },
    Object.values(fields).map((f) => f.wrap),
    alert,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Create admin account'));

  controlForm(form, {
    fields, alert, validate, busyText: 'Creating…',
    codeFields: { username_taken: 'username', email_taken: 'email' },
    async submit() {
      try {
        const result = await api.post('/setup', { token, ...body(), device: describeDevice() });
        ctx.store.set({ me: result.user, info: { ...ctx.store.get().info, setup_needed: false } });
        ctx.navigate('/', { replace: true });
      } catch (err) {
        if (err.code !== 'setup_done') throw err;
        ctx.store.set({ info: { ...ctx.store.get().info, setup_needed: false }, notice: 'Hearth is already set up. Sign in.' });
        ctx.navigate('/login', { replace: true });
      }
    },
  });

  return authPage('Set up Hearth',
    note('Create the first account. It will be the administrator of this Hearth.'),
    form);
}
