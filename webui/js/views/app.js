// The app frame: sidebar (me, search, chat list) and the main pane (a conversation, contacts,
// settings, a join link). On narrow screens the two alternate (data-pane="list" or "main" on
// #app-frame); on wide screens they sit side by side. The frame owns the messaging session
// (messaging/index.js): its WebSocket and its slices of the store live as long as it does.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { askPermission, canAskPermission, notifyNewMessage } from '../notify.js';
import { filesText } from '../files/format.js';
import { preview } from '../text.js';
import { setPageTitle, setUnreadCount } from '../title.js';
import { createCallHook } from '../call/hook.js';
import { callLogText } from '../call/log.js';
import { createMessaging } from '../messaging/index.js';
import { avatar } from '../components/avatar.js';
import { closeAllDialogs } from '../components/dialog.js';
import { icon } from '../components/icons.js';
import { closeMenu } from '../components/menu.js';
import { chatView } from './chat.js';
import { createChatList } from './chat-list.js';

const OFFLINE_NOTICE_DELAY_MS = 2000;

function emptyState() {
  return h('div', { class: 'empty-state', 'data-testid': 'main-empty' },
    icon('chat', 'icon icon-xl'),
    h('h1', { tabindex: -1 }, 'Welcome to Hearth'),
    h('p', {}, 'Pick a chat on the left to read it, or start a new chat with the + button.'),
    h('p', { class: 'hint' }, 'Messages, files and calls stay on this network.'));
}

const PROMPT_DISMISSED = 'hearth.notify-prompt-dismissed';

function promptDismissed() {
  try {
    return localStorage.getItem(PROMPT_DISMISSED) === '1';
  } catch {
    return false;
  }
}

// Asks for notification permission only when clicked; "Not now" hides the offer on this device.
function notificationPrompt() {
  const el = h('div', { id: 'notify-prompt', class: 'notify-prompt', hidden: !canAskPermission() || promptDismissed() },
    icon('bell'),
    h('span', {}, 'Get told about new messages when Hearth is in the background.'),
    h('button', {
      type: 'button', id: 'enable-notifications', class: 'btn btn-secondary',
      onclick: async () => {
        await askPermission();
        el.hidden = !canAskPermission();
      },
    }, 'Enable notifications'),
    h('button', {
      type: 'button', class: 'link-btn', id: 'dismiss-notifications',
      onclick: () => {
        el.hidden = true;
        try {
          localStorage.setItem(PROMPT_DISMISSED, '1');
        } catch {
          // Storage disabled: the offer comes back next time.
        }
      },
    }, 'Not now'));
  return el;
}

export function createFrame(ctx) {
  const messaging = createMessaging(ctx.store, ctx.store.get().me);
  const { me, connection, people, chats, history, typing, outbox, activity } = messaging;
  const sessionCtx = { ...ctx, me, connection, people, chats, history, typing, outbox, activity };
  const calls = createCallHook(sessionCtx);
  const paneBase = { ...sessionCtx, calls };
  const avatarSlot = h('span', { class: 'avatar-slot' });
  const meName = h('p', { id: 'me-name', class: 'me-name' });
  const meStatus = h('p', { id: 'me-status', class: 'me-status' });
  const contactsLink = h('a', { id: 'open-contacts', class: 'icon-btn', href: '/contacts', 'aria-label': 'Contacts', title: 'Contacts' },
    icon('users'));
  const activityBadge = h('span', { class: 'unread-badge', hidden: true });
  const activityLink = h('a', { id: 'open-activity', class: 'icon-btn', href: '/activity', title: 'Activity' },
    icon('bell'), activityBadge);
  const starredLink = h('a', { id: 'open-starred', class: 'icon-btn', href: '/starred', 'aria-label': 'Starred messages', title: 'Starred messages' },
    icon('star'));
  const settingsLink = h('a', { id: 'open-settings', class: 'icon-btn', href: '/settings', 'aria-label': 'Settings', title: 'Settings' },
    icon('settings'));
  const logout = h('button', { id: 'logout', type: 'button', class: 'icon-btn', 'aria-label': 'Sign out', title: 'Sign out', onclick: signOut },
    icon('logout'));
  const connectionStatus = h('p', { id: 'connection-status', class: 'connection-status', role: 'status' });
  const chatList = createChatList(paneBase);

  const sidebar = h('nav', { id: 'sidebar', class: 'sidebar', 'aria-label': 'Chats' },
    h('header', { class: 'sidebar-header' },
      avatarSlot, h('div', { class: 'me-text' }, meName, meStatus), activityLink, starredLink, contactsLink, settingsLink, logout),
    chatList.tools,
    connectionStatus,
    h('h2', { class: 'vh' }, 'Chats'),
    chatList.body,
    // Under the list, not above it: an offer, not the first thing on a phone's screen.
    notificationPrompt());
  const main = h('main', { id: 'main-pane', class: 'main-pane' });
  // Read out new messages (the conversation's log is quiet: it re-adds rebuilt messages).
  const heard = h('p', { id: 'message-announcer', class: 'vh', 'aria-live': 'polite' });
  const el = h('div', { id: 'app-frame', class: 'frame', 'data-pane': 'list' }, sidebar, main, heard);

  let cleanups = [];
  let offlineTimer = 0;

  // From the store, not the session's `me`: settings may have changed the profile since.
  function renderMe() {
    const user = ctx.store.get().me;
    if (!user) return;
    avatarSlot.replaceChildren(avatar(user));
    meName.textContent = user.display_name || user.username;
    meStatus.textContent = user.status_text || `@${user.username}`;
  }

  // Say so only when the socket stays down a moment: a quick reconnect is nobody's business.
  function renderConnection() {
    if (connection.isUp()) {
      clearTimeout(offlineTimer);
      offlineTimer = 0;
      connectionStatus.textContent = '';
    } else if (!offlineTimer) {
      offlineTimer = setTimeout(() => { connectionStatus.textContent = 'Connecting…'; }, OFFLINE_NOTICE_DELAY_MS);
    }
  }

  async function signOut() {
    logout.disabled = true;
    try {
      await api.post('/auth/logout');
    } catch (err) {
      if (err.status !== 401) {
        logout.disabled = false;
        ctx.announce(`Couldn't sign out: ${errorText(err)}`);
        return;
      }
    }
    ctx.store.set({ me: null, notice: 'You are signed out.' });
    ctx.navigate('/login', { replace: true });
  }

  function onIncoming(message, chat) {
    // Quiet: a call that missed you because you were on another one is in the chat, no more.
    if (message.kind === 'call' && message.call?.outcome === 'busy') return;
    const open = chat.id === currentChat;
    const muted = chats.isMuted(chat); // muted: still unread, never a notification
    if (muted && !open) return;
    const sender = people.nameOf(message.sender_id);
    const title = chat.kind === 'direct' ? sender : `${sender} in ${chats.title(chat)}`;
    const body = message.kind === 'call' ? callLogText(message.call || {}, me.id)
      : message.deleted ? '' : preview(message.body, 140) || (message.attachments?.length ? filesText(message.attachments) : 'Forwarded message');
    heard.textContent = `${open ? sender : title}: ${body}`;
    if (!muted) notifyNewMessage({ title, body, tag: `chat-${chat.id}`, url: `/chats/${chat.id}`, onClick: () => ctx.navigate(`/chats/${chat.id}`) });
  }

  function teardownPane() {
    for (const fn of cleanups) fn();
    cleanups = [];
    closeAllDialogs();
    closeMenu();
  }

  // Panes other than a conversation load when first opened (the app starts with less to
  // fetch); one opened and left before it loaded is never built.
  const PANES = {
    '/settings': ['Settings', () => import('./settings.js').then((m) => m.settingsView)],
    '/contacts': ['Contacts', () => import('./contacts.js').then((m) => m.contactsView)],
    '/starred': ['Starred', () => import('./starred.js').then((m) => m.starredView)],
    '/activity': ['Activity', () => import('./activity.js').then((m) => m.activityView)],
  };
  let showing = 0;
  let currentChat = null;

  // Keyboard shortcuts ("?" lists them): the switcher and the list load when first used.
  // Heard in the capture phase, before the composer's own keys (its Up edits the last message).
  function onKeydown(event) {
    if (event.defaultPrevented || event.isComposing) return;
    const typing = event.target.closest?.('input, textarea, select, [contenteditable="true"]');
    const mod = event.ctrlKey || event.metaKey;
    if (mod && !event.altKey && event.key.toLowerCase() === 'k') {
      event.preventDefault();
      event.stopPropagation();
      import('./switcher.js').then((m) => m.openSwitcher(paneBase), () => ctx.announce("Couldn't open the switcher."));
    } else if (event.altKey && !mod && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
      event.preventDefault();
      event.stopPropagation();
      const list = chats.list();
      const at = list.findIndex((c) => c.id === currentChat);
      const next = at < 0 ? list[0] : list[at + (event.key === 'ArrowDown' ? 1 : -1)];
      if (next) ctx.navigate(`/chats/${next.id}`);
    } else if (event.key === '?' && !typing && !mod && !event.altKey) {
      event.preventDefault();
      event.stopPropagation();
      import('./shortcuts-help.js').then((m) => m.openShortcuts(), () => ctx.announce("Couldn't open the list of shortcuts."));
    }
  }
  document.addEventListener('keydown', onKeydown, true);

  function show(path, params = new URLSearchParams()) {
    teardownPane();
    const shown = ++showing;
    const paneCtx = { ...paneBase, cleanup: (fn) => cleanups.push(fn) };
    const chatMatch = /^\/chats\/(\d+)$/.exec(path);
    currentChat = chatMatch ? Number(chatMatch[1]) : null;
    const joinMatch = /^\/join\/([^/]+)$/.exec(path);
    let make = null;
    if (PANES[path]) {
      const [title, load] = PANES[path];
      make = load().then((view) => () => view(paneCtx));
      setPageTitle(title);
    } else if (chatMatch) {
      main.replaceChildren(chatView(paneCtx, Number(chatMatch[1]), Number(params.get('around')) || null, Number(params.get('thread')) || null));
    } else if (joinMatch) {
      make = import('./join.js').then((m) => () => m.joinView(paneCtx, decodeURIComponent(joinMatch[1])));
      setPageTitle('Invitation');
    } else {
      main.replaceChildren(emptyState());
      setPageTitle('');
    }
    if (make) {
      main.replaceChildren(h('p', { class: 'pane-loading', 'aria-busy': 'true' }, 'Loading…'));
      make.then(
        (build) => {
          if (shown !== showing) return;
          const focusHere = document.activeElement === document.body || main.contains(document.activeElement);
          main.replaceChildren(build());
          if (focusHere) main.querySelector('h1')?.focus();
        },
        () => { if (shown === showing) main.replaceChildren(h('p', { class: 'pane-loading', role: 'alert' }, "Couldn't load this page. Check the connection and try again.")); });
    }
    el.dataset.pane = path === '/' ? 'list' : 'main';
    chatList.setActive(chatMatch ? Number(chatMatch[1]) : null);
    for (const [link, target] of [[settingsLink, '/settings'], [contactsLink, '/contacts'], [starredLink, '/starred'], [activityLink, '/activity']]) {
      if (path === target) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }

  function renderActivity() {
    const { unread } = ctx.store.get().activity;
    activityBadge.hidden = !unread;
    activityBadge.textContent = unread > 99 ? '99+' : unread;
    activityLink.setAttribute('aria-label', unread ? `Activity, ${unread} new` : 'Activity');
  }

  renderMe();
  renderActivity();
  const offs = [
    ctx.store.subscribe('activity', renderActivity),
    ctx.store.subscribe('me', renderMe),
    ctx.store.subscribe('chats', () => setUnreadCount(chats.totalUnread())),
    ctx.store.subscribe('connection', renderConnection),
    ctx.store.subscribe('incoming', onIncoming),
    ctx.store.subscribe('thread', (e, d) => import('./thread.js').then((m) => m.onEvent(paneBase, e, d))),
  ];
  messaging.start().catch((err) => ctx.announce(`Couldn't load your chats: ${errorText(err)}`));

  return {
    el,
    show,
    destroy() {
      document.removeEventListener('keydown', onKeydown, true);
      teardownPane();
      for (const off of offs) off();
      clearTimeout(offlineTimer);
      chatList.destroy();
      calls.destroy();
      messaging.destroy();
      setUnreadCount(0);
    },
  };
}
