// The header of a main-pane view; its back button only shows on narrow screens.
import { h } from '../dom.js';
import { icon } from './icons.js';

export function paneHeader(ctx, title) {
  return h('header', { class: 'pane-header' },
    h('button', { type: 'button', class: 'icon-btn back', 'aria-label': 'Back to chats', onclick: () => ctx.navigate('/') },
      icon('back')),
    h('h1', { tabindex: -1 }, title));
}
