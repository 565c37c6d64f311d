/*
 * Hearth web shell: boot, route, mount views. No build step; ES modules only.
 *
 * Stable selectors for browser tests:
 *   setup      #setup-form: #setup-username #setup-display-name #setup-email #setup-password #setup-confirm
 *   login      #login-form: #login-login #login-password; notice #login-notice; link #to-signup
 *   signup     #signup-form: #signup-username #signup-display-name #signup-email #signup-password
 *              #signup-confirm; invite note #signup-invite-note
 *   reset      #reset-form: #reset-password #reset-confirm
 *   auth pages root main#auth-page (the h1 holds the page title)
 *   frame      #app-frame[data-pane=list|main] > nav#sidebar, main#main-pane; #me-name #me-status
 *              #chat-list, #chat-search, [data-testid=main-empty]; #open-settings, #open-contacts (links);
 *              #logout (button); #connection-status (text while the socket is down);
 *              #enable-notifications (asks for notification permission)
 *   chat list  #chat-list [data-chat-id="ID"] (a link), inside: .chat-item-title .chat-item-preview
 *              .unread-badge (count) .mention-badge .presence-dot[data-status]
 *              search hits #search-results .search-hit[data-message-id][data-chat-id]
 *   new chat   #new-chat opens #new-chat-menu with #new-dm #new-group #new-channel #browse-channels
 *              #new-dm-dialog: #user-search, results .user-result[data-user-id]
 *              #new-chat-dialog (group or channel): #new-chat-form: #new-chat-title #new-chat-topic
 *              #new-chat-public (channels), #new-chat-member-search + .user-result[data-user-id],
 *              chosen #new-chat-members [data-user-id]; submit button[type=submit]
 *              #channels-dialog: #channel-search, #channel-list [data-channel-id] button.join
 *   chat       #chat[data-chat-id] > #chat-header (h1#chat-title, .presence[data-status=online|away|offline]
 *              in direct chats, #chat-settings), #pinned-bar, #conversation, #jump-latest, #typing,
 *              #composer-form: #composer (textarea) #send; #composer-context (reply/edit) #composer-cancel;
 *              mention suggestions #mention-list [role=option][data-username]
 *   message    .message[data-message-id="ID"] (data-client-id while sending; classes own|other,
 *              pending, failed, deleted, system), inside: .body, .sender, .quote[data-reply-to],
 *              .edited, .ticks[data-state=sent|delivered|read], .reactions button[data-emoji][aria-pressed],
 *              .menu-btn, .retry (when failed), .forwarded; .day-separator between days
 *   menus      #message-menu [data-action=react|reply|edit|forward|copy|pin|info|delete-me|delete-everyone];
 *              #reaction-picker button[data-emoji]; #confirm-dialog #confirm-ok #confirm-cancel;
 *              #message-info (dd[data-info=seen-by] ...); #forward-dialog #forward-list [data-chat-id]
 *   group      #chat-settings opens #group-panel (groups, channels): #group-details-form
 *              (#group-title-edit #group-topic-edit), #invite-link-create #invite-link-url #invite-link-copy,
 *              #add-member-search, #group-members li[data-user-id][data-role] button.member-actions ->
 *              #member-menu [data-action=make-admin|make-member|make-owner|remove], #leave-chat #delete-chat;
 *              direct chats: #contact-panel with #block-user
 *   contacts   #contacts-page: #contact-search (+ .user-result), sections #contacts-incoming
 *              (button.accept .reject), #contacts-list (button.message-contact .remove-contact .block),
 *              #contacts-outgoing (.withdraw), #contacts-blocked (.unblock); rows li.person[data-user-id]
 *   join       #join-page: #join-title, #join-chat (button) or #open-joined-chat when already in
 *   settings   #settings; #profile-form: #profile-display-name #profile-bio #profile-status
 *              #profile-email, status #profile-saved
 *              #password-form: #password-current #password-new #password-confirm, status #password-saved
 *              #device-list > li[data-session-id] (current one has [data-testid=this-device]),
 *              button.sign-out on the others
 *              radios input[name=theme] values light|dark|system (ids #theme-light ...)
 *              admins: #invite-form: #invite-uses #invite-days; result #invite-url, #invite-copy
 *   calls      #call-audio #call-video (chat header); #call-bar > #call-join (a call going on in the chat);
 *              #incoming-call: #call-accept #call-decline; #call-view[data-stats] (JSON, every second):
 *              #call-status #call-timer #call-stage, .call-tile[data-user-id] (.self .speaking .no-video,
 *              .call-muted), #call-mute #call-camera #call-screen [aria-pressed], #call-minimize #call-hangup;
 *              call log lines .message.call-log[data-call-id] (.missed) with .call-back[data-kind]
 *   every form: button[type=submit] inside it; field errors #<input-id>-error;
 *               form-level errors [role=alert].alert; app-wide messages #announcer */
import { api, errorText, onUnauthenticated } from './api.js';
import { h } from './dom.js';
import { createStore } from './store.js';
import { currentRoute, navigate, startRouter } from './router.js';
import { applyTheme } from './theme.js';
import { authPage, note } from './components/auth-page.js';
import { needsSetupView, setupView } from './views/setup.js';
import { loginView } from './views/login.js';
import { signupView } from './views/signup.js';
import { resetView } from './views/reset.js';
import { forgotView } from './views/forgot.js';
import { createFrame } from './views/app.js';

const SIGNED_OUT_VIEWS = { '/login': loginView, '/signup': signupView, '/reset': resetView, '/forgot': forgotView };
const FRAME_PATHS = new Set(['/', '/settings', '/contacts', '/starred']);
const FRAME_PATTERNS = [/^\/chats\/\d+$/, /^\/join\/[^/]+$/];
// Where a signed-out visitor was going (a chat, an invite link): opened after they sign in.
const NEXT_KEY = 'hearth.next';

function isFramePath(path) {
  return FRAME_PATHS.has(path) || FRAME_PATTERNS.some((re) => re.test(path));
}

function rememberNext(path) {
  try {
    sessionStorage.setItem(NEXT_KEY, path);
  } catch {
    // Storage disabled: they land on the chat list instead.
  }
}

function takeNext() {
  try {
    const next = sessionStorage.getItem(NEXT_KEY);
    sessionStorage.removeItem(NEXT_KEY);
    return next && isFramePath(next.split('?')[0]) ? next : null;
  } catch {
    return null;
  }
}

function createApp(root, announcer) {
  const store = createStore({ info: null, me: null, notice: null });
  let clearTimer = 0;
  const ctx = {
    store,
    navigate,
    // A polite message for everyone: read by screen readers and shown as a toast.
    announce(text) {
      announcer.textContent = text;
      clearTimeout(clearTimer);
      clearTimer = setTimeout(() => { announcer.textContent = ''; }, 5000);
    },
  };
  let frame = null;
  let cleanups = [];
  let firstRender = true;

  function unmount() {
    for (const fn of cleanups) fn();
    cleanups = [];
    frame?.destroy();
    frame = null;
  }

  function mountView(view, params) {
    unmount();
    root.replaceChildren(view({ ...ctx, params, cleanup: (fn) => cleanups.push(fn) }));
  }

  function mountFrame(path, params) {
    if (!frame) {
      unmount();
      frame = createFrame(ctx);
      root.replaceChildren(frame.el);
    }
    frame.show(path, params);
  }

  // Which path the state allows; a different answer means redirect.
  function allowedPath(path, { info, me }) {
    if (info.setup_needed) return path;
    if (path === '/setup') return me ? '/' : '/login';
    if (me) return isFramePath(path) || path === '/reset' ? path : '/';
    return SIGNED_OUT_VIEWS[path] ? path : '/login';
  }

  function render({ path, params }) {
    const state = store.get();
    if (!state.info) return;
    const target = allowedPath(path, state);
    if (target !== path) {
      if (!state.me && !state.info.setup_needed && path !== '/' && isFramePath(path)) {
        rememberNext(path + location.search);
      }
      navigate(target, { replace: true });
      return;
    }
    const next = state.me && path === '/' ? takeNext() : null;
    if (next) {
      navigate(next, { replace: true });
      return;
    }
    if (state.info.setup_needed) mountView(path === '/setup' ? setupView : needsSetupView, params);
    else if (state.me && isFramePath(path)) mountFrame(path, params);
    else mountView(SIGNED_OUT_VIEWS[path], params);
    root.removeAttribute('aria-busy');
    // Move focus to the new view's heading so keyboard and screen reader users start there.
    if (!firstRender) root.querySelector('#main-pane h1, main h1')?.focus();
    firstRender = false;
  }

  async function loadMe() {
    try {
      return await api.get('/me');
    } catch (err) {
      if (err.status === 401) return null;
      throw err;
    }
  }

  function showFatal(err) {
    root.removeAttribute('aria-busy');
    root.replaceChildren(authPage("Can't reach Hearth",
      note(errorText(err)),
      h('button', { type: 'button', class: 'btn btn-primary btn-block', onclick: () => location.reload() }, 'Try again')));
  }

  async function boot() {
    applyTheme();
    // The session ended elsewhere (signed out from another device, password changed).
    onUnauthenticated(() => {
      if (!store.get().me) return;
      store.set({ me: null, notice: 'You were signed out. Sign in again.' });
      if (frame) navigate('/login', { replace: true });
    });
    startRouter(render);
    try {
      const info = await api.get('/info');
      store.set({ info, me: info.setup_needed ? null : await loadMe() });
    } catch (err) {
      showFatal(err);
      return;
    }
    render(currentRoute());
  }

  return { boot };
}

createApp(document.getElementById('root'), document.getElementById('announcer')).boot();
