// Settings, shown in the frame's main pane: profile, password, devices, privacy (who can
// message me), appearance, notifications, and for admins invites and the Admin sections
// (views/admin.js).
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { dateTime, relativeTime } from '../format.js';
import { askPermission, canAskPermission } from '../notify.js';
import { getTheme, setTheme, THEMES } from '../theme.js';
import { alertRegion, controlForm, field, statusRegion } from '../components/form.js';
import { paneHeader } from '../components/pane-header.js';
import { avatar } from '../components/avatar.js';
import { picturePicker } from '../components/picture-picker.js';
import * as rules from '../validate.js';

function section(id, title, ...content) {
  return h('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, tabindex: -1 }, title), content);
}

function submitRow(label, status) {
  return h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, label), status);
}

function profileSection(ctx) {
  const me = ctx.store.get().me;
  const fields = {
    display_name: field('profile-display-name', 'Display name', { autocomplete: 'name', maxlength: rules.limits.displayName, value: me.display_name || '' }),
    status_text: field('profile-status', 'Status', { maxlength: rules.limits.status, value: me.status_text || '', hint: 'A short line others see next to your name.' }),
    bio: field('profile-bio', 'About you', { multiline: true, rows: 3, maxlength: rules.limits.bio, value: me.bio || '' }),
    email: field('profile-email', 'Email (optional)', { type: 'email', autocomplete: 'email', value: me.email || '' }),
  };
  const alert = alertRegion();
  const status = statusRegion({ id: 'profile-saved' });
  const form = h('form', { id: 'profile-form', class: 'form' },
    h('p', { class: 'hint' }, `Username: @${me.username}`),
    Object.values(fields).map((f) => f.wrap), alert, submitRow('Save profile', status));
  form.addEventListener('input', () => { status.textContent = ''; });

  controlForm(form, {
    fields, alert, busyText: 'Saving…',
    codeFields: { email_taken: 'email' },
    validate: () => ({
      display_name: rules.maxLength(fields.display_name.input.value.trim(), rules.limits.displayName),
      status_text: rules.maxLength(fields.status_text.input.value.trim(), rules.limits.status),
      bio: rules.maxLength(fields.bio.input.value.trim(), rules.limits.bio),
      email: rules.email(fields.email.input.value.trim()),
    }),
    async submit() {
      const current = ctx.store.get().me;
      const changes = {};
      for (const [key, f] of Object.entries(fields)) {
        const value = f.input.value.trim();
        if (value !== (current[key] || '')) changes[key] = key === 'email' && !value ? null : value;
      }
      if (Object.keys(changes).length) ctx.store.set({ me: await api.patch('/me', changes) });
      status.textContent = 'Saved.';
    },
  });
  const picture = picturePicker({
    id: 'profile-picture', path: '/me/avatar',
    show: () => avatar(ctx.store.get().me, { size: 'lg' }),
    hasPicture: () => Boolean(ctx.store.get().me.avatar_url),
    changed: (me) => ctx.store.set({ me }),
  });
  return section('settings-profile', 'Profile', picture.el, form);
}

function passwordSection(ctx, onChanged) {
  const fields = {
    current_password: field('password-current', 'Current password', { type: 'password', autocomplete: 'current-password', required: true }),
    new_password: field('password-new', 'New password', { type: 'password', autocomplete: 'new-password', required: true, hint: 'At least 8 characters.' }),
    confirm: field('password-confirm', 'Confirm new password', { type: 'password', autocomplete: 'new-password', required: true }),
  };
  const alert = alertRegion();
  const status = statusRegion({ id: 'password-saved' });
  const form = h('form', { id: 'password-form', class: 'form' },
    // Lets password managers tie the new password to the account.
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: ctx.store.get().me.username, readonly: true, hidden: true }),
    h('p', { class: 'hint' }, 'Changing your password signs out all your other devices.'),
    Object.values(fields).map((f) => f.wrap), alert, submitRow('Change password', status));
  form.addEventListener('input', () => { status.textContent = ''; });

  controlForm(form, {
    fields, alert, busyText: 'Changing…',
    codeFields: { invalid_credentials: 'current_password' },
    validate: () => ({
      current_password: rules.required(fields.current_password.input.value, 'Enter your current password.'),
      new_password: rules.password(fields.new_password.input.value),
      confirm: rules.confirm(fields.confirm.input.value, fields.new_password.input.value),
    }),
    async submit() {
      await api.post('/me/password', {
        current_password: fields.current_password.input.value,
        new_password: fields.new_password.input.value,
      });
      form.reset();
      status.textContent = 'Password changed. Your other devices were signed out.';
      onChanged();
    },
  });
  return section('settings-password', 'Password', form);
}

function devicesSection(ctx) {
  const list = h('ul', { id: 'device-list', class: 'device-list', 'aria-busy': 'true' });
  const alert = alertRegion();
  const el = section('settings-devices', 'Devices', h('p', { class: 'hint' }, 'Where your account is signed in.'), alert, list);
  let alive = true;
  ctx.cleanup(() => { alive = false; });

  function item(session) {
    const name = session.device || 'Unknown device';
    const used = session.last_used_at || session.created_at;
    return h('li', { class: 'device', 'data-session-id': session.id },
      h('div', { class: 'device-text' },
        h('p', { class: 'device-name' }, name,
          session.current && h('span', { class: 'badge', 'data-testid': 'this-device' }, 'This device')),
        h('p', { class: 'device-meta' },
          session.ip || 'Unknown address', ' · Last used ',
          h('time', { datetime: used, title: dateTime(used) }, relativeTime(used)))),
      !session.current && h('button', {
        type: 'button', class: 'btn btn-secondary sign-out', 'aria-label': `Sign out ${name}`,
        onclick: (event) => signOut(session, name, event.currentTarget),
      }, 'Sign out'));
  }

  async function refresh() {
    list.setAttribute('aria-busy', 'true');
    try {
      const { sessions } = await api.get('/auth/sessions');
      if (!alive) return;
      alert.textContent = '';
      list.replaceChildren(...sessions.map(item));
    } catch (err) {
      if (alive) alert.textContent = `Couldn't load your devices: ${errorText(err)}`;
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  }

  async function signOut(session, name, button) {
    button.disabled = true;
    try {
      await api.del(`/auth/sessions/${encodeURIComponent(session.id)}`);
      ctx.announce(`Signed out ${name}.`);
    } catch (err) {
      if (err.status !== 404) {
        button.disabled = false;
        alert.textContent = errorText(err);
        return;
      }
    }
    await refresh();
    // The button is gone with its row; keep keyboard focus inside the section.
    if (alive) (list.querySelector('.sign-out') || el.querySelector('h2')).focus();
  }

  refresh();
  return { el, refresh };
}

function appearanceSection() {
  const current = getTheme();
  const labels = { light: 'Light', dark: 'Dark', system: 'System (follows your device)' };
  return section('settings-appearance', 'Appearance',
    h('fieldset', { class: 'choices' },
      h('legend', {}, 'Theme'),
      THEMES.map((value) => h('div', { class: 'choice' },
        h('input', { type: 'radio', name: 'theme', id: `theme-${value}`, value, checked: value === current, onchange: () => setTheme(value) }),
        h('label', { for: `theme-${value}` }, labels[value])))));
}

// Who can message me: everyone, or contacts only (strangers send a contact request first).
function privacySection(ctx) {
  const current = ctx.store.get().me.dm_policy || 'everyone';
  const status = statusRegion({ id: 'privacy-saved' });
  const labels = { everyone: 'Everyone here', contacts: 'My contacts only (others send a contact request first)' };
  async function choose(input) {
    status.textContent = '';
    try {
      ctx.store.set({ me: await api.patch('/me', { dm_policy: input.value }) });
      status.textContent = 'Saved.';
    } catch (err) {
      status.textContent = `Not saved: ${errorText(err)}`;
      const kept = ctx.store.get().me.dm_policy || 'everyone';
      document.getElementById(`dm-policy-${kept}`).checked = true;
    }
  }
  return section('settings-privacy', 'Privacy',
    h('fieldset', { class: 'choices' },
      h('legend', {}, 'Who can message me'),
      Object.entries(labels).map(([value, label]) => h('div', { class: 'choice' },
        h('input', { type: 'radio', name: 'dm-policy', id: `dm-policy-${value}`, value, checked: value === current, onchange: (e) => choose(e.target) }),
        h('label', { for: `dm-policy-${value}` }, label)))),
    h('p', { class: 'hint' }, 'Groups are not affected. Blocking someone is on the Contacts page.'),
    status);
}

function notificationsSection() {
  const text = { granted: 'On: new messages show a notification while Hearth is in the background.',
    denied: 'Blocked in this browser. Allow notifications for this site in the browser settings.',
    default: 'Off.', unsupported: 'This browser cannot show notifications.' };
  const state = () => (typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);
  const status = h('p', { class: 'hint', id: 'notifications-state' }, text[state()]);
  const button = h('button', {
    type: 'button', id: 'settings-enable-notifications', class: 'btn btn-secondary', hidden: !canAskPermission(),
    onclick: async () => {
      await askPermission();
      status.textContent = text[state()];
      button.hidden = !canAskPermission();
    },
  }, 'Enable notifications');
  return section('settings-notifications', 'Notifications', status, h('div', { class: 'form-actions' }, button));
}

// The invite form; the list of invites (views/admin.js, loaded only for admins) goes into
// `listSlot`, and `listed.refresh` is what a new invite calls.
function inviteSection(listSlot, listed) {
  const fields = {
    uses: field('invite-uses', 'Uses', { type: 'number', min: 1, step: 1, value: '1', inputmode: 'numeric', hint: 'How many people can join with it.' }),
    days: field('invite-days', 'Valid for (days)', { type: 'number', min: 1, step: 1, value: '7', inputmode: 'numeric' }),
  };
  const alert = alertRegion();
  const url = h('input', { id: 'invite-url', type: 'text', readonly: true, class: 'mono' });
  const copyStatus = statusRegion({ id: 'invite-copy-status' });
  const details = h('p', { class: 'hint', id: 'invite-details' });
  // The same link at the other addresses people use (hearth.local, each LAN address), for a
  // device that cannot reach the one this browser used.
  const elsewhere = h('ul', { id: 'invite-other-urls', class: 'hint mono link-list' });
  const result = h('div', { class: 'invite-result', hidden: true },
    h('label', { for: 'invite-url' }, 'Invite link'),
    h('div', { class: 'copy-row' }, url,
      h('button', { type: 'button', id: 'invite-copy', class: 'btn btn-secondary', onclick: copy }, 'Copy')),
    details, elsewhere, copyStatus);
  const form = h('form', { id: 'invite-form', class: 'form' },
    h('div', { class: 'field-row' }, fields.uses.wrap, fields.days.wrap), alert,
    submitRow('Create invite link'));

  async function copy() {
    try {
      if (navigator.clipboard?.writeText) {
        await navigator.clipboard.writeText(url.value);
        copyStatus.textContent = 'Copied.';
        return;
      }
    } catch {
      // Clipboard refused (no secure context or no permission): fall back to a selection.
    }
    url.focus();
    url.select();
    copyStatus.textContent = 'Link selected: press Ctrl+C (or ⌘C) to copy it.';
  }

  controlForm(form, {
    fields, alert, busyText: 'Creating…',
    validate: () => ({ uses: rules.positiveInt(fields.uses.input.value), days: rules.positiveInt(fields.days.input.value) }),
    async submit() {
      const invite = await api.post('/admin/invites', { uses: Number(fields.uses.input.value), days: Number(fields.days.input.value) });
      url.value = invite.url;
      const others = (invite.urls || []).slice(1);
      elsewhere.replaceChildren(...(others.length ? [h('li', {}, 'Also works at:'), ...others.map((u) => h('li', {}, u))] : []));
      const uses = invite.max_uses ?? Number(fields.uses.input.value);
      details.textContent = `Works for ${uses} ${uses === 1 ? 'person' : 'people'}` +
        (invite.expires_at ? `, until ${dateTime(invite.expires_at)}.` : '.');
      copyStatus.textContent = '';
      result.hidden = false;
      listed.refresh?.();
      url.focus();
      url.select();
    },
  });
  return section('settings-invites', 'Invite people',
    h('p', { class: 'hint' }, 'Create a link that lets people create an account here.'), form, result,
    listSlot);
}

export function settingsView(ctx) {
  const devices = devicesSection(ctx);
  const admin = ctx.store.get().me?.is_admin;
  const parts = [
    profileSection(ctx), passwordSection(ctx, devices.refresh), devices.el, privacySection(ctx), appearanceSection(), notificationsSection(),
    ...(admin ? adminParts(ctx) : []),
  ];
  return h('div', { class: 'pane', id: 'settings' },
    paneHeader(ctx, 'Settings'),
    h('div', { class: 'pane-body' },
      h('div', { class: 'settings' }, sectionNav(admin), ...parts)));
}

// The sections, one tap away (a phone shows Settings as one long column): buttons, not links,
// so the router leaves the page as it is.
function sectionNav(admin) {
  const SECTIONS = [
    ['settings-profile', 'Profile'], ['settings-password', 'Password'], ['settings-devices', 'Devices'],
    ['settings-privacy', 'Privacy'], ['settings-appearance', 'Appearance'], ['settings-notifications', 'Notifications'],
    ...(admin ? [['settings-invites', 'Invites'], ['admin-slot', 'Admin']] : []),
  ];
  return h('nav', { id: 'settings-sections', class: 'section-nav', 'aria-label': 'Settings sections' },
    SECTIONS.map(([id, label]) => h('button', {
      type: 'button', class: 'chip', 'data-section': id,
      onclick: () => {
        const target = document.getElementById(id);
        target?.scrollIntoView({ block: 'start' });
        target?.querySelector('h2')?.focus({ preventScroll: true });
      },
    }, label)));
}

// Admins only: the Admin sections load when an admin opens Settings, so nobody else's start-up
// carries them.
function adminParts(ctx) {
  const listSlot = h('div', { class: 'admin-invites-slot' });
  const listed = {};
  const adminSlot = h('div', { id: 'admin-slot' });
  import('./admin.js').then(({ adminSections, invitesList }) => {
    const list = invitesList();
    listed.refresh = list.refresh;
    listSlot.replaceChildren(list.el);
    adminSlot.replaceChildren(...adminSections(ctx));
  });
  return [inviteSection(listSlot, listed), adminSlot];
}
