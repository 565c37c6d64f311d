// The chat header's menu (#chat-menu): mute, archive, clear history, delete a direct chat for
// me. My own view of the chat only; loaded when first opened. On a phone the header has no
// room for search and the gallery: they are the menu's first items (`more`).
import { errorText } from '../api.js';
import { confirmDialog } from '../components/dialog.js';
import { openMenu } from '../components/menu.js';

export function openChatMenu(ctx, chatId, anchor, more = {}) {
  const { chats } = ctx;
  const chat = chats.get(chatId);
  if (!chat) return;
  const fail = (what) => (err) => ctx.announce(`Couldn't ${what}: ${errorText(err)}`);
  const change = (body, done, what) => chats.prefs.change(chatId, body).then(() => ctx.announce(done), fail(what));
  const muted = chats.isMuted(chat);
  const phone = matchMedia('(max-width: 719.98px)').matches;
  const items = [
    phone && more.find && { action: 'find', label: 'Search in this chat' },
    phone && more.gallery && { action: 'gallery', label: 'Media, files and voice notes' },
    !muted && { action: 'mute-8h', label: 'Mute for 8 hours' },
    !muted && { action: 'mute-week', label: 'Mute for a week' },
    !muted && { action: 'mute-always', label: 'Mute always' },
    muted && { action: 'unmute', label: 'Unmute' },
    { action: chat.archived ? 'unarchive' : 'archive', label: chat.archived ? 'Unarchive' : 'Archive' },
    { action: 'clear', label: 'Clear history', danger: true },
    chat.kind === 'direct' && { action: 'delete', label: 'Delete chat', danger: true },
  ].filter(Boolean);
  const actions = {
    ...more,
    'mute-8h': () => change({ mute: '8h' }, 'Muted for 8 hours.', 'mute'),
    'mute-week': () => change({ mute: 'week' }, 'Muted for a week.', 'mute'),
    'mute-always': () => change({ mute: 'always' }, 'Muted.', 'mute'),
    unmute: () => change({ mute: 'off' }, 'Unmuted.', 'unmute'),
    archive: () => change({ archived: true }, 'Archived.', 'archive'),
    unarchive: () => change({ archived: false }, 'Unarchived.', 'unarchive'),
    clear: async () => {
      const ok = await confirmDialog({ title: 'Clear history?', text: 'The messages disappear for you only.', confirmLabel: 'Clear' });
      if (ok) chats.prefs.clear(chatId).then(() => ctx.announce('History cleared.'), fail('clear the history'));
    },
    delete: async () => {
      const ok = await confirmDialog({
        title: 'Delete chat?', text: 'It leaves your list with its history, for you only, until a new message arrives.', confirmLabel: 'Delete for me',
      });
      if (!ok) return;
      chats.prefs.deleteForMe(chatId).then(() => { ctx.announce('Chat deleted.'); ctx.navigate('/'); }, fail('delete the chat'));
    },
  };
  openMenu({ id: 'chat-menu', label: 'Chat actions', items, anchor, onPick: (item) => actions[item.action]() });
}
