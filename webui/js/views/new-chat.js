// Starting conversations: the #new-chat menu, the new direct message dialog (find a person),
// new group and new channel (name, topic, members) and the channel browser (join public ones).
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { openDialog } from '../components/dialog.js';
import { alertRegion, controlForm, field } from '../components/form.js';
import { openMenu } from '../components/menu.js';
import { avatar } from '../components/avatar.js';
import { userPicker } from '../components/user-picker.js';

export function openNewChatMenu(ctx, anchor) {
  const dialogs = {
    'new-dm': () => openNewDirect(ctx),
    'new-group': () => openNewGroup(ctx, 'group'),
    'new-channel': () => openNewGroup(ctx, 'channel'),
    'browse-channels': () => openChannelBrowser(ctx),
  };
  openMenu({
    id: 'new-chat-menu', label: 'Start a conversation', anchor,
    items: [
      { id: 'new-dm', label: 'New message' },
      { id: 'new-group', label: 'New group' },
      { id: 'new-channel', label: 'New channel' },
      { id: 'browse-channels', label: 'Browse channels' },
    ],
    onPick: (item) => dialogs[item.id](),
  });
}

// Opens (or creates) the direct chat with a person and shows it. Someone who takes messages
// from contacts only refuses a stranger: offer a contact request (and still fail the caller).
export async function openDirectChat(ctx, userId) {
  const chat = await api.post('/chats', { kind: 'direct', user_id: userId }).catch((err) => {
    if (err.code === 'contacts_only') import('./contacts-only.js').then((m) => m.offerContactRequest(ctx, userId));
    throw err;
  });
  ctx.chats.put(chat);
  ctx.navigate(`/chats/${chat.id}`);
}

function openNewDirect(ctx) {
  let dialog = null;
  const picker = userPicker({
    id: 'user-search', label: 'Find a person', me: ctx.me,
    async onPick(user) {
      ctx.people.remember(user);
      await openDirectChat(ctx, user.id);
      dialog.close();
    },
  });
  dialog = openDialog({ id: 'new-dm-dialog', title: 'New message', content: picker.el });
  picker.input.focus();
}

function openNewGroup(ctx, kind) {
  const noun = kind === 'channel' ? 'channel' : 'group';
  const picked = new Map();
  const chips = h('ul', { id: 'new-chat-members', class: 'chips', 'aria-label': 'Chosen members' });
  const fields = {
    title: field('new-chat-title', 'Name', { required: true, maxlength: 100, autocomplete: 'off' }),
    topic: field('new-chat-topic', 'Topic (optional)', { maxlength: 500, autocomplete: 'off' }),
  };
  const isPublic = kind === 'channel' && h('input', { type: 'checkbox', id: 'new-chat-public', checked: true });
  const picker = userPicker({
    id: 'new-chat-member-search', label: 'Add members', me: ctx.me,
    exclude: () => new Set(picked.keys()),
    onPick(user) {
      picked.set(user.id, user);
      renderChips();
      picker.clear();
      picker.input.focus();
    },
  });
  const alert = alertRegion();
  const form = h('form', { id: 'new-chat-form', class: 'form' },
    fields.title.wrap, fields.topic.wrap,
    isPublic && h('div', { class: 'choice' }, isPublic, h('label', { for: 'new-chat-public' }, 'Listed: anyone here can find and join it')),
    picker.el, chips, alert,
    h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, `Create ${noun}`)));

  function renderChips() {
    chips.replaceChildren(...[...picked.values()].map((user) => h('li', { class: 'chip', 'data-user-id': user.id },
      user.display_name || user.username,
      h('button', {
        type: 'button', class: 'chip-remove', 'aria-label': `Remove ${user.display_name || user.username}`,
        onclick: () => { picked.delete(user.id); renderChips(); picker.input.focus(); },
      }, '×'))));
  }

  const dialog = openDialog({ id: 'new-chat-dialog', title: `New ${noun}`, content: form });
  controlForm(form, {
    fields, alert, busyText: 'Creating…',
    validate: () => ({ title: fields.title.input.value.trim() ? '' : `Give the ${noun} a name.` }),
    async submit() {
      const body = { kind, title: fields.title.input.value.trim(), member_ids: [...picked.keys()] };
      const topic = fields.topic.input.value.trim();
      if (topic) body.topic = topic;
      if (isPublic) body.is_public = isPublic.checked;
      const chat = await api.post('/chats', body);
      ctx.chats.put(chat);
      dialog.close();
      ctx.navigate(`/chats/${chat.id}`);
    },
  });
  fields.title.input.focus();
}

function openChannelBrowser(ctx) {
  const search = h('input', { id: 'channel-search', type: 'search', placeholder: 'Search channels', autocomplete: 'off', 'aria-label': 'Search channels' });
  const list = h('ul', { id: 'channel-list', class: 'pick-list' });
  const status = h('p', { class: 'hint', role: 'status' });
  const dialog = openDialog({ id: 'channels-dialog', title: 'Channels', content: [search, status, list] });
  let timer = 0;
  let asked = 0;

  async function join(channel, button) {
    button.disabled = true;
    try {
      if (!channel.joined) ctx.chats.put(await api.post(`/chats/${channel.id}/join`));
      dialog.close();
      ctx.navigate(`/chats/${channel.id}`);
    } catch (err) {
      button.disabled = false;
      status.textContent = errorText(err);
    }
  }

  async function load() {
    const ticket = ++asked;
    try {
      const q = search.value.trim();
      const { channels } = await api.get(`/channels${q ? `?${new URLSearchParams({ q })}` : ''}`);
      if (ticket !== asked) return;
      status.textContent = channels.length ? '' : q ? 'No channels match.' : 'No public channels yet.';
      list.replaceChildren(...channels.map((channel) => h('li', { class: 'channel', 'data-channel-id': channel.id },
        avatar({ id: channel.id, display_name: channel.title }),
        h('span', { class: 'user-text' },
          h('span', { class: 'user-name' }, channel.title),
          h('span', { class: 'user-handle' },
            `${channel.member_count} ${channel.member_count === 1 ? 'member' : 'members'}`, channel.topic ? ` · ${channel.topic}` : '')),
        h('button', { type: 'button', class: `btn ${channel.joined ? 'btn-secondary' : 'btn-primary'} join`, onclick: (e) => join(channel, e.currentTarget) },
          channel.joined ? 'Open' : 'Join'))));
    } catch (err) {
      if (ticket === asked) status.textContent = errorText(err);
    }
  }

  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(load, 200);
  });
  load();
  search.focus();
}
