// Hearth web shell: boot, route, mount views. No build step; ES modules only. The ids and
// classes browser tests rely on are listed in tests/e2e/SELECTORS.md.
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
const FRAME_PATHS = new Set(['/', '/settings', '/contacts', '/starred', '/activity']);
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
