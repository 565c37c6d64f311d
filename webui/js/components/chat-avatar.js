// A chat's picture: the other person's (with a presence dot) for direct chats, else the
// group's picture or its initials.
import { h } from '../dom.js';
import { presenceLabel } from '../format.js';
import { avatar } from './avatar.js';

export function chatAvatar({ people, chats }, chat) {
  if (chat.kind === 'direct' && chat.peer) {
    const presence = people.presenceOf(chat.peer.id);
    const label = presenceLabel(presence);
    return h('span', { class: 'avatar-wrap', title: label },
      avatar(people.user(chat.peer.id) || chat.peer),
      h('span', { class: 'presence-dot', 'data-status': presence.status, 'aria-hidden': 'true' }),
      h('span', { class: 'vh' }, ` (${label})`));
  }
  const picture = avatar({ id: chat.id, display_name: chats.title(chat), avatar_url: chat.avatar_url });
  picture.classList.add(chat.kind === 'channel' ? 'avatar-channel' : 'avatar-group');
  return h('span', { class: 'avatar-wrap' }, picture);
}
