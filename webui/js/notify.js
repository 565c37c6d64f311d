// Browser notifications for new messages while the tab is hidden. Permission is asked only
// from a click (askPermission), never on load.
const supported = typeof Notification !== 'undefined';

export function canAskPermission() {
  return supported && Notification.permission === 'default';
}

export function askPermission() {
  return supported ? Notification.requestPermission() : Promise.resolve('denied');
}

// `url` is where a click takes the person (a chat); `onClick` is the fallback without a
// service worker.
export function notifyNewMessage({ title, body, tag, url, onClick }) {
  if (!supported || Notification.permission !== 'granted' || document.visibilityState !== 'hidden') return;
  const options = { body, tag, icon: '/icons/hearth-192.png', data: { url } };
  // Through the service worker when it runs this page: the only way on Android, and a click
  // brings the app back even from the background (webui/sw.js, notificationclick).
  if (navigator.serviceWorker?.controller && url) {
    navigator.serviceWorker.ready
      .then((registration) => registration.showNotification(title, options))
      .catch(() => {});
    return;
  }
  try {
    const note = new Notification(title, options);
    note.onclick = () => {
      window.focus();
      note.close();
      onClick();
    };
  } catch {
    // Some mobile browsers allow notifications only from a service worker.
  }
}
