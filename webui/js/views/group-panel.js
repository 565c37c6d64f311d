// Chat details beside a conversation: for groups and channels #group-panel (name and topic,
// members with roles, add, remove, make admin, hand over ownership, invite links, leave,
// delete); for direct chats #contact-panel (the person, block or unblock).
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { dateTime, presenceLabel } from '../format.js';
import { avatar } from '../components/avatar.js';
import { confirmDialog, openDialog } from '../components/dialog.js';
import { alertRegion, controlForm, field, statusRegion } from '../components/form.js';
import { openMenu } from '../components/menu.js';
import { picturePicker } from '../components/picture-picker.js';
import { userPicker, userRow } from '../components/user-picker.js';

const ROLE_LABEL = { owner: 'Owner', admin: 'Admin', member: 'Member' };
const ROLE_ORDER = { owner: 0, admin: 1, member: 2 };

export function openChatSettings(ctx, chatId) {
  const chat = ctx.chats.get(chatId);
  if (!chat) return;
  if (chat.kind === 'direct') openContactPanel(ctx, chat);
  else openGroupPanel(ctx, chatId);
}

function section(title, ...content) {
  return h('section', { class: 'panel-section' }, h('h3', {}, title), content);
}

function isAdmin(chat) {
  return chat.role === 'owner' || chat.role === 'admin';
}

function detailsSection(ctx, chat) {
  const kind = chat.kind === 'channel' ? 'channel' : 'group';
  const current = () => ctx.chats.get(chat.id) || chat;
  const shown = () => avatar({ id: chat.id, display_name: current().title, avatar_url: current().avatar_url }, { size: 'lg' });
  if (!isAdmin(chat)) {
    return section('About', shown(), h('p', { class: 'panel-title' }, chat.title), h('p', { class: 'hint' }, chat.topic || 'No topic.'));
  }
  const picture = picturePicker({
    id: 'group-picture', path: `/chats/${chat.id}/avatar`, show: shown,
    hasPicture: () => Boolean(current().avatar_url),
    changed: (answer) => ctx.chats.put(answer),
  });
  const fields = {
    title: field('group-title-edit', 'Name', { required: true, maxlength: 100, value: chat.title }),
    topic: field('group-topic-edit', 'Topic', { multiline: true, rows: 2, maxlength: 500, value: chat.topic || '' }),
  };
  const isPublic = kind === 'channel' && h('input', { type: 'checkbox', id: 'group-public-edit', checked: chat.is_public });
  const alert = alertRegion();
  const saved = statusRegion({ id: 'group-details-saved' });
  const form = h('form', { id: 'group-details-form', class: 'form' },
    fields.title.wrap, fields.topic.wrap,
    isPublic && h('div', { class: 'choice' }, isPublic, h('label', { for: 'group-public-edit' }, 'Listed: anyone here can find and join it')),
    alert, h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save'), saved));
  form.addEventListener('input', () => { saved.textContent = ''; });
  controlForm(form, {
    fields, alert, busyText: 'Saving…',
    validate: () => ({ title: fields.title.input.value.trim() ? '' : `Give the ${kind} a name.` }),
    async submit() {
      const body = { title: fields.title.input.value.trim(), topic: fields.topic.input.value.trim() };
      if (isPublic) body.is_public = isPublic.checked;
      ctx.chats.put(await api.patch(`/chats/${chat.id}`, body));
      saved.textContent = 'Saved.';
    },
  });
  return section('About', picture.el, form);
}

function inviteSection(chat) {
  const url = h('input', { id: 'invite-link-url', type: 'text', readonly: true, class: 'mono', 'aria-label': 'Invite link' });
  const status = statusRegion({ id: 'invite-link-status' });
  const copy = h('button', { type: 'button', id: 'invite-link-copy', class: 'btn btn-secondary', onclick: copyLink }, 'Copy');
  const result = h('div', { class: 'copy-row', hidden: true }, url, copy);
  const create = h('button', { type: 'button', id: 'invite-link-create', class: 'btn btn-secondary', onclick: createLink }, 'Create invite link');

  async function createLink() {
    create.disabled = true;
    try {
      const invite = await api.post(`/chats/${chat.id}/invites`, {});
      url.value = new URL(invite.url, location.origin).href;
      result.hidden = false;
      status.textContent = invite.expires_at ? `Works until ${dateTime(invite.expires_at)}.` : '';
      url.focus();
      url.select();
    } catch (err) {
      status.textContent = errorText(err);
    } finally {
      create.disabled = false;
    }
  }

  async function copyLink() {
    try {
      await navigator.clipboard.writeText(url.value);
      status.textContent = 'Copied.';
    } catch {
      url.focus();
      url.select();
      status.textContent = 'Link selected: press Ctrl+C (or ⌘C) to copy it.';
    }
  }

  return section('Invite link', h('p', { class: 'hint' }, 'Anyone with an account here can join with the link.'), create, result, status);
}

function memberActions(chat, member, myId) {
  if (member.user.id === myId) return [];
  const items = [];
  if (chat.role === 'owner') {
    if (member.role === 'member') items.push({ action: 'make-admin', label: 'Make admin' });
    if (member.role === 'admin') items.push({ action: 'make-member', label: 'Remove admin rights' });
    items.push({ action: 'make-owner', label: 'Make owner' });
  }
  const canRemove = chat.role === 'owner' || (chat.role === 'admin' && member.role === 'member');
  if (canRemove) items.push({ action: 'remove', label: 'Remove from chat', danger: true });
  return items;
}

function membersSection(ctx, chatId) {
  const { me, chats } = ctx;
  const list = h('ul', { id: 'group-members', class: 'member-list' });
  const heading = h('h3', {});
  const status = h('p', { class: 'hint', role: 'status' });

  async function act(member, action) {
    const path = `/chats/${chatId}/members/${member.user.id}`;
    const name = member.user.display_name || member.user.username;
    try {
      if (action === 'remove') {
        if (!await confirmDialog({ title: `Remove ${name}?`, text: `${name} will leave the chat.`, confirmLabel: 'Remove' })) return;
        await api.del(path);
      } else if (action === 'make-owner') {
        if (!await confirmDialog({ title: `Make ${name} the owner?`, text: 'You will become an admin.', confirmLabel: 'Hand over', danger: false })) return;
        await api.patch(path, { role: 'owner' });
      } else {
        await api.patch(path, { role: action === 'make-admin' ? 'admin' : 'member' });
      }
      await chats.load(chatId);
    } catch (err) {
      status.textContent = errorText(err);
    }
  }

  function render() {
    const chat = chats.get(chatId);
    if (!chat) return;
    const members = chats.membersOf(chatId).sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role]
      || (a.user.display_name || a.user.username).localeCompare(b.user.display_name || b.user.username));
    heading.textContent = `${members.length} ${members.length === 1 ? 'member' : 'members'}`;
    list.replaceChildren(...members.map((member) => {
      const items = memberActions(chat, member, me.id);
      const name = member.user.display_name || member.user.username;
      const button = items.length > 0 && h('button', {
        type: 'button', class: 'icon-btn member-actions', 'aria-label': `Actions for ${name}`, 'aria-haspopup': 'menu', 'aria-expanded': 'false',
        onclick: (e) => openMenu({
          id: 'member-menu', label: `Actions for ${name}`, items, anchor: e.currentTarget, onPick: (item) => act(member, item.action),
        }),
      }, '⋯');
      return h('li', { class: 'member', 'data-user-id': member.user.id, 'data-role': member.role },
        userRow(member.user, member.user.id === me.id && h('span', { class: 'hint' }, '(you)')),
        member.role !== 'member' && h('span', { class: 'badge role' }, ROLE_LABEL[member.role]),
        button);
    }));
  }

  const picker = isAdmin(chats.get(chatId)) && userPicker({
    id: 'add-member-search', label: 'Add people', me,
    exclude: () => new Set(chats.membersOf(chatId).map((m) => m.user.id)),
    async onPick(user) {
      chats.put(await api.post(`/chats/${chatId}/members`, { user_ids: [user.id] }));
      picker.clear();
      status.textContent = `Added ${user.display_name || user.username}.`;
    },
  });

  render();
  const el = h('section', { class: 'panel-section' }, heading, picker?.el, status, list);
  return { el, render };
}

function leaveSection(ctx, chat, close) {
  const kind = chat.kind === 'channel' ? 'channel' : 'group';
  async function leave() {
    const owner = chat.role === 'owner';
    const ok = await confirmDialog({
      title: `Leave ${chat.title}?`,
      text: owner ? `You own this ${kind}: an admin (or the longest-standing member) becomes the owner.` : `You can come back only if someone adds or invites you.`,
      confirmLabel: 'Leave',
    });
    if (!ok) return;
    try {
      await api.del(`/chats/${chat.id}/members/${ctx.me.id}`);
      close();
      ctx.navigate('/', { replace: true });
    } catch (err) {
      ctx.announce(`Couldn't leave: ${errorText(err)}`);
    }
  }
  async function remove() {
    const ok = await confirmDialog({ title: `Delete ${chat.title}?`, text: `The ${kind} and its messages go away for everyone.`, confirmLabel: 'Delete' });
    if (!ok) return;
    try {
      await api.del(`/chats/${chat.id}`);
      close();
      ctx.navigate('/', { replace: true });
    } catch (err) {
      ctx.announce(`Couldn't delete: ${errorText(err)}`);
    }
  }
  return h('section', { class: 'panel-section danger-zone' },
    h('button', { type: 'button', id: 'leave-chat', class: 'btn btn-secondary', onclick: leave }, `Leave ${kind}`),
    chat.role === 'owner' && h('button', { type: 'button', id: 'delete-chat', class: 'btn btn-danger', onclick: remove }, `Delete ${kind}`));
}

function openGroupPanel(ctx, chatId) {
  const { store, chats } = ctx;
  const chat = chats.get(chatId);
  const members = membersSection(ctx, chatId);
  const offs = [];
  const dialog = openDialog({
    id: 'group-panel', title: chat.kind === 'channel' ? 'Channel settings' : 'Group settings', className: 'side-sheet',
    content: [
      detailsSection(ctx, chat),
      isAdmin(chat) && inviteSection(chat),
      members.el,
      leaveSection(ctx, chat, () => dialog.close()),
    ],
    onClose: () => offs.forEach((off) => off()),
  });
  offs.push(store.subscribe(`members:${chatId}`, members.render), store.subscribe(`chat:${chatId}`, members.render));
  chats.load(chatId).catch(() => {});
}

function openContactPanel(ctx, chat) {
  const { people } = ctx;
  const peer = chat.peer;
  const status = h('p', { class: 'hint', role: 'status' });
  const blockButton = h('button', { type: 'button', id: 'block-user', class: 'btn btn-secondary', disabled: true });
  let blocked = false;
  // Being a contact is separate from blocking: each has its own button.
  const contactButton = h('button', { type: 'button', id: 'contact-toggle', class: 'btn btn-secondary', disabled: true });
  let relation = null; // 'accepted' | 'incoming' | 'outgoing' | null
  const CONTACT = {
    accepted: ['Remove contact', () => api.del(`/contacts/${peer.id}`), 'Removed from your contacts.'],
    outgoing: ['Withdraw contact request', () => api.del(`/contacts/${peer.id}`), 'Request withdrawn.'],
    incoming: ['Accept contact request', () => api.post(`/contacts/${peer.id}/accept`), 'Now a contact.'],
    none: ['Add contact', () => api.post('/contacts', { user_id: peer.id }), 'Contact request sent.'],
  };

  function relationIn(contacts) {
    return ['accepted', 'incoming', 'outgoing'].find((key) => (key === 'accepted' ? contacts.contacts : contacts[key]).some((u) => u.id === peer.id)) || null;
  }

  function renderContact() {
    contactButton.textContent = CONTACT[relation || 'none'][0];
    contactButton.disabled = false;
  }

  contactButton.addEventListener('click', async () => {
    const [, request, done] = CONTACT[relation || 'none'];
    contactButton.disabled = true;
    try {
      const answer = await request();
      relation = answer ? relationIn(answer) : null;
      status.textContent = done;
    } catch (err) {
      status.textContent = errorText(err);
    }
    renderContact();
  });

  function renderBlock() {
    blockButton.textContent = blocked ? `Unblock ${peer.display_name || peer.username}` : `Block ${peer.display_name || peer.username}`;
    blockButton.disabled = false;
  }

  blockButton.addEventListener('click', async () => {
    blockButton.disabled = true;
    try {
      if (blocked) await api.del(`/blocks/${peer.id}`);
      else await api.post('/blocks', { user_id: peer.id });
      blocked = !blocked;
      status.textContent = blocked ? 'Blocked: they can no longer message you or see when you are online.' : 'Unblocked.';
    } catch (err) {
      status.textContent = errorText(err);
    }
    renderBlock();
  });

  api.get('/contacts').then((contacts) => {
    blocked = contacts.blocked.some((u) => u.id === peer.id);
    relation = relationIn(contacts);
    renderBlock();
    renderContact();
  }, (err) => { status.textContent = errorText(err); });

  openDialog({
    id: 'contact-panel', title: 'Contact', className: 'side-sheet',
    content: [
      h('div', { class: 'profile' },
        avatar(peer, { size: 'lg' }),
        h('p', { class: 'panel-title' }, peer.display_name || peer.username),
        h('p', { class: 'user-handle' }, `@${peer.username}`),
        h('p', { class: 'presence', 'data-status': people.presenceOf(peer.id).status }, presenceLabel(people.presenceOf(peer.id))),
        peer.status_text && h('p', {}, peer.status_text),
        peer.bio && h('p', { class: 'bio' }, peer.bio)),
      h('section', { class: 'panel-section' }, contactButton, ' ', blockButton, status),
    ],
  });
}
