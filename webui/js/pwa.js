// Registers the service worker (webui/sw.js, served as /sw.js) so Hearth installs as an app and
// a reload while Hearth restarts shows its own reconnecting page. Browsers allow it only on a
// trusted origin: until this device trusts Hearth's CA (/trust) registration fails, quietly.
import { navigate } from './router.js';

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => {
    console.info('Hearth works without its service worker here:', err.message);
  });
  // A click on a notification the worker showed: open that chat in this window.
  navigator.serviceWorker.addEventListener('message', (event) => {
    const { type, path } = event.data || {};
    if (type === 'hearth.open' && typeof path === 'string' && /^\/(?!\/)/.test(path)) navigate(path);
  });
}
