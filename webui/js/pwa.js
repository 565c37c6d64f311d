// Registers the service worker (webui/sw.js, served as /sw.js) so Hearth installs as an app and
// a reload while Hearth restarts shows its own reconnecting page. Browsers allow it only on a
// trusted origin: until this device trusts Hearth's CA (/trust) registration fails, quietly.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => {
    console.info('Hearth works without its service worker here:', err.message);
  });
}
