// A chat invite link (/join/{code}): what the chat is, then a Join button that opens it.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { avatar } from '../components/avatar.js';
import { paneHeader } from '../components/pane-header.js';

export function joinView(ctx, code) {
  const body = h('div', { class: 'panel join-card', id: 'join-card', 'aria-busy': 'true' }, h('p', { class: 'hint' }, 'Checking the invite…'));
  let alive = true;
  ctx.cleanup(() => { alive = false; });
  const path = encodeURIComponent(code);

  async function join(button, alert) {
    button.disabled = true;
    alert.textContent = '';
    try {
      const chat = await api.post(`/invites/${path}/join`);
      ctx.chats.put(chat);
      ctx.navigate(`/chats/${chat.id}`, { replace: true });
    } catch (err) {
      alert.textContent = errorText(err);
      button.disabled = false;
    }
  }

  async function load() {
    let invite;
    try {
      invite = await api.get(`/chat-invites/${path}`);
    } catch (err) {
      if (!alive) return;
      const dead = err.status === 404 || err.code === 'invalid_invite';
      body.replaceChildren(
        h('p', { role: 'alert', class: 'alert' }, dead ? 'This invite link is no longer valid. Ask for a new one.' : errorText(err)),
        h('a', { href: '/', class: 'btn btn-secondary' }, 'Back to chats'));
      body.setAttribute('aria-busy', 'false');
      return;
    }
    if (!alive) return;
    const { chat } = invite;
    const alert = h('div', { class: 'alert', role: 'alert' });
    const kind = chat.kind === 'channel' ? 'channel' : 'group';
    const button = invite.already_member
      ? h('a', { href: `/chats/${chat.id}`, id: 'open-joined-chat', class: 'btn btn-primary' }, 'Open chat')
      : h('button', { type: 'button', id: 'join-chat', class: 'btn btn-primary', onclick: () => join(button, alert) }, `Join ${kind}`);
    body.replaceChildren(
      h('div', { class: 'profile' },
        avatar({ id: chat.id, display_name: chat.title }, { size: 'lg' }),
        h('h2', { class: 'panel-title', id: 'join-title' }, chat.title),
        chat.topic && h('p', { class: 'bio' }, chat.topic),
        h('p', { class: 'hint' }, `${chat.member_count} ${chat.member_count === 1 ? 'member' : 'members'}`),
        invite.already_member && h('p', { class: 'hint' }, 'You are already a member.')),
      alert, button);
    body.setAttribute('aria-busy', 'false');
  }

  load();
  return h('div', { class: 'pane', id: 'join-page' },
    paneHeader(ctx, 'Invitation'),
    h('div', { class: 'pane-body' }, h('div', { class: 'settings' }, body)));
}
