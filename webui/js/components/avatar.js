// A person's (or chat's) picture when it has one, over its initials on a colour picked from
// the id (8 colours in the CSS, via data-color): the initials show until the picture loads,
// and stay if it cannot.
import { h } from '../dom.js';

export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const first = (w) => (w ? Array.from(w)[0] : '');
  const letters = words.length > 1 ? first(words[0]) + first(words[words.length - 1]) : first(words[0]);
  return (letters || '?').toUpperCase();
}

export function avatar(user, { size = 'md' } = {}) {
  const url = user?.avatar_url;
  const picture = url && h('img', { class: 'avatar-img', src: url, alt: '', decoding: 'async', onerror: (e) => e.currentTarget.remove() });
  return h('span', {
    class: `avatar avatar-${size}`,
    'data-color': Math.abs(Number(user?.id) || 0) % 8,
    'data-picture': url ? 'yes' : null,
    'aria-hidden': 'true',
  }, initials(user?.display_name || user?.username), picture);
}
