// Initials on a colour picked from the user id (8 colours in the CSS, via data-color).
import { h } from '../dom.js';

export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const first = (w) => (w ? Array.from(w)[0] : '');
  const letters = words.length > 1 ? first(words[0]) + first(words[words.length - 1]) : first(words[0]);
  return (letters || '?').toUpperCase();
}

export function avatar(user, { size = 'md' } = {}) {
  return h('span', {
    class: `avatar avatar-${size}`,
    'data-color': Math.abs(Number(user?.id) || 0) % 8,
    'aria-hidden': 'true',
  }, initials(user?.display_name || user?.username));
}
