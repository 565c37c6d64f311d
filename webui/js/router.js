// History API routing on location.pathname; same-origin links to app paths are intercepted.
export const APP_PATHS = new Set(['/', '/login', '/signup', '/setup', '/reset', '/settings', '/contacts', '/starred', '/activity']);
// Paths with a variable part: one conversation, a chat invite link.
const APP_PATTERNS = [/^\/chats\/\d+$/, /^\/join\/[^/]+$/];

const listeners = new Set();

function normalize(path) {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

export function isAppPath(path) {
  return APP_PATHS.has(path) || APP_PATTERNS.some((re) => re.test(path));
}

export function currentRoute() {
  return { path: normalize(location.pathname), params: new URLSearchParams(location.search) };
}

export function navigate(to, { replace = false } = {}) {
  if (to !== location.pathname + location.search + location.hash) {
    history[replace ? 'replaceState' : 'pushState'](null, '', to);
  }
  for (const fn of [...listeners]) fn(currentRoute());
}

function onClick(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest('a[href]');
  if (!link || link.target || link.hasAttribute('download')) return;
  if (link.origin !== location.origin || !isAppPath(normalize(link.pathname))) return;
  event.preventDefault();
  navigate(link.pathname + link.search + link.hash);
}

export function startRouter(listener) {
  listeners.add(listener);
  addEventListener('popstate', () => listener(currentRoute()));
  document.addEventListener('click', onClick);
}
