// The Admin sections of Settings, shown only to admins: people (search, disable or enable,
// admin rights, sign out everywhere, a reset link to copy), invite links (list, copy, revoke)
// and how the box is doing. Everything goes through /api/v1/admin/*; text is text, never HTML.
import { h, reconcile } from '../dom.js';
import { api, errorText } from '../api.js';
import { dateTime, relativeTime } from '../format.js';
import { statusRegion } from '../components/form.js';

function section(id, title, ...content) {
  return h('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, tabindex: -1 }, title), content);
}

async function copyFrom(input, status) {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(input.value);
      status.textContent = 'Copied.';
      return;
    }
  } catch {
    // No clipboard here (permission, or not a secure context): select it instead.
  }
  input.focus();
  input.select();
  status.textContent = 'Link selected: press Ctrl+C (or ⌘C) to copy it.';
}

function smallButton(cls, label, onclick) {
  return h('button', { type: 'button', class: `btn btn-secondary btn-small ${cls}`, onclick }, label);
}

// --- people ---------------------------------------------------------------------------------

function usersSection(ctx) {
  const search = h('input', { id: 'admin-user-search', type: 'search', placeholder: 'Search people', 'aria-label': 'Search people', maxlength: 100 });
  const list = h('ul', { id: 'admin-user-list', class: 'admin-list' });
  const status = statusRegion({ id: 'admin-users-status' });
  let timer = null;

  async function act(work, done) {
    status.textContent = '';
    try {
      await work();
      status.textContent = done;
      await refresh();
    } catch (err) {
      status.textContent = errorText(err);
    }
  }

  function row(user) {
    const me = ctx.store.get().me;
    const self = me && me.id === user.id;
    const badges = [
      user.is_admin && h('span', { class: 'badge' }, 'admin'),
      user.disabled && h('span', { class: 'badge badge-muted' }, 'disabled'),
    ];
    const linkBox = h('div', { class: 'copy-row admin-reset', hidden: true });
    const resetStatus = statusRegion({ class: 'form-status admin-reset-status' });
    const name = user.display_name || user.username;
    return h('li', { class: 'admin-row', 'data-username': user.username },
      h('div', { class: 'admin-row-who' },
        h('strong', {}, name), ' ', h('span', { class: 'hint' }, `@${user.username}`), ' ', badges),
      h('div', { class: 'admin-row-actions' },
        !self && smallButton('admin-toggle-disabled', user.disabled ? 'Enable' : 'Disable', () =>
          act(() => api.patch(`/admin/users/${user.id}`, { disabled: !user.disabled }),
            `${name} is ${user.disabled ? 'enabled' : 'disabled and signed out'}.`)),
        !self && smallButton('admin-toggle-admin', user.is_admin ? 'Remove admin' : 'Make admin', () =>
          act(() => api.patch(`/admin/users/${user.id}`, { is_admin: !user.is_admin }),
            `${name} is ${user.is_admin ? 'no longer an admin' : 'an admin'}.`)),
        !self && smallButton('admin-sign-out', 'Sign out everywhere', () =>
          act(async () => {
            const { sessions_ended: ended } = await api.post(`/admin/users/${user.id}/sign-out`);
            status.dataset.ended = String(ended);
          }, `${name} is signed out everywhere.`)),
        smallButton('admin-reset-link', 'Reset link', async () => {
          try {
            const link = await api.post(`/admin/users/${user.id}/reset-link`);
            const input = h('input', { type: 'text', readonly: true, class: 'mono admin-reset-url', value: link.url, 'aria-label': `Reset link for ${name}` });
            linkBox.replaceChildren(input, smallButton('admin-reset-copy', 'Copy', () => copyFrom(input, resetStatus)));
            linkBox.hidden = false;
            resetStatus.textContent = `One use, until ${dateTime(link.expires_at)}. Give it to ${name} in person.`;
            input.select();
          } catch (err) {
            resetStatus.textContent = errorText(err);
          }
        })),
      linkBox, resetStatus);
  }

  async function refresh() {
    const q = search.value.trim();
    const { users } = await api.get(`/admin/users${q ? `?q=${encodeURIComponent(q)}` : ''}`);
    reconcile(list, users.length ? users.map(row) : [h('li', { class: 'hint' }, 'Nobody matches.')]);
  }

  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => refresh().catch((err) => { status.textContent = errorText(err); }), 200);
  });
  refresh().catch((err) => { status.textContent = errorText(err); });
  return section('admin-users', 'People', search, status, list);
}

// --- invite links ---------------------------------------------------------------------------

export function invitesList() {
  const list = h('ul', { id: 'admin-invite-list', class: 'admin-list' });
  const status = statusRegion({ id: 'admin-invites-status' });

  function state(invite) {
    if (invite.revoked) return 'revoked';
    if (invite.uses >= invite.max_uses) return 'used up';
    if (new Date(invite.expires_at) <= new Date()) return 'expired';
    return `${invite.uses} of ${invite.max_uses} used, until ${dateTime(invite.expires_at)}`;
  }

  function row(invite) {
    const input = h('input', { type: 'text', readonly: true, class: 'mono', value: invite.url, 'aria-label': 'Invite link' });
    const live = !invite.revoked && invite.uses < invite.max_uses && new Date(invite.expires_at) > new Date();
    return h('li', { class: 'admin-row', 'data-code': invite.code },
      h('div', { class: 'copy-row' }, input,
        smallButton('admin-invite-copy', 'Copy', () => copyFrom(input, status)),
        live && smallButton('admin-revoke', 'Revoke', async () => {
          try {
            await api.del(`/admin/invites/${encodeURIComponent(invite.code)}`);
            status.textContent = 'Invite revoked.';
            await refresh();
          } catch (err) {
            status.textContent = errorText(err);
          }
        })),
      h('p', { class: 'hint admin-invite-state' }, state(invite)));
  }

  async function refresh() {
    const { invites } = await api.get('/admin/invites');
    reconcile(list, invites.length ? invites.map(row) : [h('li', { class: 'hint' }, 'No invite links yet.')]);
  }

  refresh().catch((err) => { status.textContent = errorText(err); });
  return { el: h('div', { class: 'admin-invites' }, h('h3', {}, 'Invite links'), status, list), refresh };
}

// --- health ---------------------------------------------------------------------------------

const MB = 1e6;

function healthSection() {
  const facts = h('dl', { id: 'admin-health-facts', class: 'admin-facts' });
  const status = statusRegion({ id: 'admin-health-status' });

  function fact(key, label, value) {
    return [h('dt', {}, label), h('dd', { 'data-fact': key }, value)];
  }

  async function refresh() {
    try {
      const s = await api.get('/admin/health');
      const backup = s.last_backup
        ? `${relativeTime(s.last_backup.at)} (${(s.last_backup.size / MB).toFixed(1)} MB)`
        : 'never';
      facts.replaceChildren(...[
        fact('version', 'Version', s.version),
        fact('uptime', 'Up for', `${Math.floor(s.uptime_seconds / 3600)} h ${Math.floor((s.uptime_seconds % 3600) / 60)} min`),
        fact('online', 'People online', `${s.people_online} (${s.connections} connections)`),
        fact('calls', 'Calls', `${s.calls_active} active, ${s.call_participants} people in them`),
        fact('accounts', 'Accounts', String(s.accounts)),
        fact('messages', 'Messages stored', String(s.messages)),
        fact('files', 'Files', `${s.files} (${(s.files_bytes / MB).toFixed(1)} MB)`),
        fact('database', 'Database', `${(s.database_bytes / MB).toFixed(1)} MB`),
        fact('disk', 'Disk free', `${(s.disk_free_bytes / 1e9).toFixed(1)} of ${(s.disk_total_bytes / 1e9).toFixed(1)} GB`),
        fact('backup', 'Last backup', backup),
      ].flat());
      status.textContent = '';
    } catch (err) {
      status.textContent = errorText(err);
    }
  }

  refresh();
  return section('admin-health', 'Health', facts, status,
    h('div', { class: 'form-actions' }, h('button', { type: 'button', id: 'admin-health-refresh', class: 'btn btn-secondary', onclick: refresh }, 'Refresh')));
}

export function adminSections(ctx) {
  return [
    h('h2', { class: 'settings-group', id: 'admin-title' }, 'Admin'),
    usersSection(ctx),
    healthSection(),
  ];
}
