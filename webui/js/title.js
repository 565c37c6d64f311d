// The page title: the current view's name, prefixed with the unread count, e.g. "(3) Hearth".
let base = 'Hearth';
let unread = 0;

function apply() {
  document.title = unread > 0 ? `(${unread}) ${base}` : base;
}

export function setPageTitle(name) {
  base = name ? `${name} · Hearth` : 'Hearth';
  apply();
}

export function setUnreadCount(count) {
  unread = count;
  apply();
}
