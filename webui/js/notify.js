// Browser notifications for new messages while the tab is hidden. Permission is asked only
// from a click (askPermission), never on load.
const supported = typeof Notification !== 'undefined';

export function canAskPermission() {
  return supported && Notification.permission === 'default';
}

export function askPermission() {
  return supported ? Notification.requestPermission() : Promise.resolve('denied');
}

export function notifyNewMessage({ title, body, tag, onClick }) {
  if (!supported || Notification.permission !== 'granted' || document.visibilityState !== 'hidden') return;
  try {
    const note = new Notification(title, { body, tag, icon: '/icons/hearth.svg' });
    note.onclick = () => {
      window.focus();
      note.close();
      onClick();
    };
  } catch {
    // Some mobile browsers allow notifications only from a service worker.
  }
}
