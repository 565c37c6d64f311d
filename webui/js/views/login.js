// Sign in with username or email and password.
import { h } from '../dom.js';
import { api } from '../api.js';
import { describeDevice } from '../device.js';
import { authPage, note } from '../components/auth-page.js';
import { alertRegion, controlForm, field, statusRegion } from '../components/form.js';
import { required } from '../validate.js';

export function loginView(ctx) {
  const { info, notice } = ctx.store.get();
  if (notice) ctx.store.set({ notice: null });
  const fields = {
    login: field('login-login', 'Username or email', {
      autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true,
    }),
    password: field('login-password', 'Password', { type: 'password', autocomplete: 'current-password', required: true }),
  };
  const alert = alertRegion();
  const form = h('form', { id: 'login-form', class: 'form' },
    fields.login.wrap, fields.password.wrap, alert,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in'));

  controlForm(form, {
    fields, alert, busyText: 'Signing in…',
    validate: () => ({
      login: required(fields.login.input.value.trim(), 'Enter your username or email.'),
      password: required(fields.password.input.value, 'Enter your password.'),
    }),
    async submit() {
      const result = await api.post('/auth/login', {
        login: fields.login.input.value.trim(),
        password: fields.password.input.value,
        device: describeDevice(),
      });
      ctx.store.set({ me: result.user });
      ctx.navigate('/', { replace: true });
    },
  });

  return authPage('Sign in',
    statusRegion({ class: 'notice', id: 'login-notice' }, notice),
    form,
    info?.registration !== 'closed' && h('p', { class: 'switch' },
      'New here? ', h('a', { href: '/signup', id: 'to-signup' }, 'Create an account')),
    note('Forgot your password? Ask an administrator for a reset link.', 'hint'),
    // A standalone page (/trust), outside the app's router: a plain link.
    h('p', { class: 'hint' }, h('a', { href: '/trust', id: 'to-trust' }, 'Trust this device'),
      ': a padlock instead of a warning, and Hearth as an app.'));
}
