// Create an account: open registration, or with an invite link (?invite=CODE).
import { describeDevice } from '../device.js';
import { h } from '../dom.js';
import { api } from '../api.js';
import { authPage, note } from '../components/auth-page.js';
import { alertRegion, controlForm, statusRegion } from '../components/form.js';
import { accountFields } from '../components/account-fields.js';

function signInLink() {
  return h('p', { class: 'switch' }, 'Already have an account? ', h('a', { href: '/login' }, 'Sign in'));
}

export function signupView(ctx) {
  const mode = ctx.store.get().info?.registration;
  let invite = ctx.params.get('invite') || '';
  if (mode === 'closed') {
    return authPage('Create an account',
      note('Registration is closed on this Hearth. Ask an administrator to create an account for you.'),
      signInLink());
  }
  if (mode === 'invite' && !invite) {
    return authPage('Create an account',
      note('You need an invite link to join this Hearth. Ask someone who uses it to send you one.'),
      signInLink());
  }

  const { fields, validate, body } = accountFields('signup');
  const alert = alertRegion();
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Create account');
  const form = h('form', { id: 'signup-form', class: 'form' },
    invite && h('input', { type: 'hidden', name: 'invite', id: 'signup-invite', value: invite }),
    Object.values(fields).map((f) => f.wrap),
    alert, button);
  const inviteStatus = statusRegion({ class: 'notice', id: 'signup-invite-note' }, invite ? 'You were invited.' : '');

  if (invite) checkInvite();

  // Tell early when the link is dead instead of after the form is filled in.
  async function checkInvite() {
    try {
      await api.get(`/invites/${encodeURIComponent(invite)}`);
    } catch (err) {
      if (err.status !== 404 && err.code !== 'invalid_invite') return;
      if (mode === 'open') {
        invite = '';
        inviteStatus.textContent = 'This invite link has expired, but you can still sign up.';
      } else {
        inviteStatus.textContent = '';
        alert.textContent = 'This invite link is no longer valid. Ask for a new one.';
        button.disabled = true;
      }
    }
  }

  controlForm(form, {
    fields, alert, validate, busyText: 'Creating account…',
    codeFields: { username_taken: 'username', email_taken: 'email' },
    async submit() {
      const fields = { ...body(), device: describeDevice() };
      const result = await api.post('/auth/signup', invite ? { ...fields, invite } : fields);
      ctx.store.set({ me: result.user });
      ctx.navigate('/', { replace: true });
    },
  });

  return authPage('Create an account', inviteStatus, form, signInLink());
}
