// The app frame: sidebar (me, search, chat list) and the main pane. On narrow screens the two
// alternate (data-pane="list" or "main" on #app-frame); on wide screens they sit side by side.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { avatar } from '../components/avatar.js';
import { icon } from '../components/icons.js';
import { settingsView } from './settings.js';

function emptyState() {
  return h('div', { class: 'empty-state', 'data-testid': 'main-empty' },
    icon('chat', 'icon icon-xl'),
    h('p', {}, 'Select a chat'));
}

export function createFrame(ctx) {
  const avatarSlot = h('span', { class: 'avatar-slot' });
  const meName = h('p', { id: 'me-name', class: 'me-name' });
  const meStatus = h('p', { id: 'me-status', class: 'me-status' });
  const settingsLink = h('a', { id: 'open-settings', class: 'icon-btn', href: '/settings', 'aria-label': 'Settings', title: 'Settings' },
    icon('settings'));
  const logout = h('button', { id: 'logout', type: 'button', class: 'icon-btn', 'aria-label': 'Sign out', title: 'Sign out', onclick: signOut },
    icon('logout'));

  const sidebar = h('nav', { id: 'sidebar', class: 'sidebar', 'aria-label': 'Chats' },
    h('header', { class: 'sidebar-header' },
      avatarSlot, h('div', { class: 'me-text' }, meName, meStatus), settingsLink, logout),
    h('div', { class: 'search' },
      h('label', { for: 'chat-search', class: 'vh' }, 'Search chats'),
      icon('search'),
      h('input', { id: 'chat-search', type: 'search', placeholder: 'Search chats', disabled: true })),
    h('h2', { class: 'vh' }, 'Chats'),
    h('div', { id: 'chat-list', class: 'chat-list' }, h('p', { class: 'empty' }, 'No chats yet')));
  const main = h('main', { id: 'main-pane', class: 'main-pane' });
  const el = h('div', { id: 'app-frame', class: 'frame', 'data-pane': 'list' }, sidebar, main);

  let cleanups = [];

  function renderMe(me) {
    if (!me) return;
    avatarSlot.replaceChildren(avatar(me));
    meName.textContent = me.display_name || me.username;
    meStatus.textContent = me.status_text || `@${me.username}`;
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

  function teardownPane() {
    for (const fn of cleanups) fn();
    cleanups = [];
  }

  function show(path) {
    teardownPane();
    const paneCtx = { ...ctx, cleanup: (fn) => cleanups.push(fn) };
    const onSettings = path === '/settings';
    main.replaceChildren(onSettings ? settingsView(paneCtx) : emptyState());
    el.dataset.pane = onSettings ? 'main' : 'list';
    if (onSettings) settingsLink.setAttribute('aria-current', 'page');
    else settingsLink.removeAttribute('aria-current');
    document.title = onSettings ? 'Settings · Hearth' : 'Hearth';
  }

  renderMe(ctx.store.get().me);
  const unsubscribe = ctx.store.subscribe((state) => renderMe(state.me));

  return {
    el,
    show,
    destroy() {
      teardownPane();
      unsubscribe();
    },
  };
}
