// A popup menu (role=menu) at a button or at the pointer: arrow keys move, Enter picks,
// Escape closes and gives focus back, a click elsewhere closes. One menu at a time.
import { h } from '../dom.js';

let current = null;

export function closeMenu() {
  current?.close(false);
}

// Places a fixed element next to an anchor element or a point, inside the viewport.
export function place(el, { anchor, point }) {
  const box = el.getBoundingClientRect();
  const at = anchor ? anchor.getBoundingClientRect() : null;
  let x = point ? point.x : at.right - box.width;
  let y = point ? point.y : at.bottom + 4;
  if (at && x < 8) x = at.left;
  if (y + box.height > innerHeight - 8) y = at && !point ? at.top - box.height - 4 : innerHeight - box.height - 8;
  el.style.left = `${Math.max(8, Math.min(x, innerWidth - box.width - 8))}px`;
  el.style.top = `${Math.max(8, y)}px`;
}

/**
 * items: [{label, action?, id?, emoji?, danger?}]; onPick(item) runs after the menu closes.
 * anchor: the button that opened it (gets aria-expanded, and focus back); point: {x, y}.
 */
export function openMenu({ id, label, items, anchor = null, point = null, className = '', onPick }) {
  closeMenu();
  const buttons = items.map((item) => h('button', {
    type: 'button', role: 'menuitem', tabindex: -1, id: item.id,
    class: `menu-item${item.danger ? ' danger' : ''}`,
    'data-action': item.action, 'data-emoji': item.emoji, 'aria-label': item.ariaLabel,
    onclick: () => { close(); onPick(item); },
  }, item.label));
  const el = h('div', { id, class: `menu ${className}`, role: 'menu', 'aria-label': label }, buttons);
  const returnTo = anchor || document.activeElement;

  function onKey(event) {
    const index = buttons.indexOf(document.activeElement);
    const horizontal = className.includes('menu-row');
    const next = { ArrowDown: 1, ArrowUp: -1, ...(horizontal ? { ArrowRight: 1, ArrowLeft: -1 } : {}) }[event.key];
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close();
    } else if (event.key === 'Tab') {
      close(false);
    } else if (next) {
      event.preventDefault();
      buttons[(index + next + buttons.length) % buttons.length].focus();
    } else if (event.key === 'Home' || event.key === 'End') {
      event.preventDefault();
      buttons[event.key === 'Home' ? 0 : buttons.length - 1].focus();
    }
  }

  function onPointer(event) {
    if (!el.contains(event.target) && !anchor?.contains(event.target)) close(false);
  }

  function close(restoreFocus = true) {
    if (current?.el !== el) return;
    current = null;
    document.removeEventListener('keydown', onKey, true);
    document.removeEventListener('pointerdown', onPointer, true);
    removeEventListener('resize', onResize);
    el.remove();
    anchor?.setAttribute('aria-expanded', 'false');
    if (restoreFocus) returnTo?.focus?.();
  }

  function onResize() {
    close(false);
  }

  // Inside a modal dialog everything outside it is inert: the menu must live in the dialog.
  (anchor?.closest('dialog[open]') || document.body).append(el);
  place(el, { anchor, point });
  document.addEventListener('keydown', onKey, true);
  document.addEventListener('pointerdown', onPointer, true);
  addEventListener('resize', onResize);
  anchor?.setAttribute('aria-expanded', 'true');
  buttons[0]?.focus();
  current = { el, close };
  return current;
}
