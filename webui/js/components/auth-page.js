// The centred card that holds setup, login, signup, reset and the boot messages.
import { h } from '../dom.js';

export function authPage(title, ...content) {
  document.title = `${title} · Hearth`;
  return h('main', { class: 'auth', id: 'auth-page' },
    h('div', { class: 'card' },
      h('div', { class: 'brand' }, h('img', { src: '/icons/hearth.svg', alt: '', width: 32, height: 32 }), 'Hearth'),
      h('h1', { tabindex: -1 }, title),
      content));
}

export function note(text, cls = 'note') {
  return h('p', { class: cls }, text);
}
