// Hearth's service worker. The server prepends RELEASE (a hash of the web app's files) and
// SHELL (their paths): see appliance/web/shell.py.
//
// - Installing caches the shell for this release in its own cache; activating deletes every
//   other release's cache, so a new release replaces the old one whole.
// - Navigations go to the network first (always the newest page when Hearth is up); when it
//   does not answer, the cached offline page says Hearth is reconnecting and reloads by
//   itself once it answers again.
// - Shell files come from the release cache, else the network.
// - Nothing else is ever cached: not the API, not uploaded files, not /ca.crt. Only the public
//   files of SHELL go into the cache, and only at install.
/* global RELEASE, SHELL */
const CACHE = `hearth-shell-${RELEASE}`;
const OFFLINE_PAGE = '/offline.html';
const NAVIGATION_TIMEOUT_MS = 6000;
const SHELL_PATHS = new Set(SHELL);

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('hearth-shell-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function fromNetworkOrOffline(request) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), NAVIGATION_TIMEOUT_MS);
  try {
    return await fetch(request, { signal: controller.signal });
  } catch {
    const cache = await caches.open(CACHE);
    return (await cache.match(OFFLINE_PAGE)) || Response.error();
  } finally {
    clearTimeout(timer);
  }
}

async function fromCacheOrNetwork(request) {
  const cache = await caches.open(CACHE);
  return (await cache.match(request, { ignoreSearch: true })) || fetch(request);
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(fromNetworkOrOffline(request));
  } else if (SHELL_PATHS.has(url.pathname) && url.pathname !== '/') {
    event.respondWith(fromCacheOrNetwork(request));
  }
  // Anything else (the API, files, /health, /ca.crt) is the browser's own business.
});

// A notification shown through this worker (js/notify.js): a click focuses Hearth's window and
// opens the chat there, or opens a new window on it.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const path = event.notification.data?.url || '/';
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
    if (open) {
      await open.focus();
      open.postMessage({ type: 'hearth.open', path });
    } else {
      await self.clients.openWindow(path);
    }
  })());
});
