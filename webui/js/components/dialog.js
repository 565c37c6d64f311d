// Modal dialogs on the native <dialog>: focus stays inside, Escape closes, focus returns.
import { h } from '../dom.js';
import { icon } from './icons.js';

const open = new Set();

export function closeAllDialogs() {
  for (const dialog of [...open]) dialog.close();
}

export function openDialog({ id, title, content, className = '', onClose }) {
  const body = h('div', { class: 'dialog-body' }, content);
  const el = h('dialog', { id, class: `dialog ${className}`, 'aria-labelledby': `${id}-title` },
    h('header', { class: 'dialog-header' },
      h('h2', { id: `${id}-title` }, title),
      h('button', { type: 'button', class: 'icon-btn dialog-close', 'aria-label': 'Close', onclick: () => el.close() },
        icon('close'))),
    body);
  el.addEventListener('close', () => {
    open.delete(el);
    el.remove();
    onClose?.();
  });
  // A click on the backdrop (the dialog box itself, outside its content) closes it.
  el.addEventListener('click', (event) => {
    if (event.target === el) el.close();
  });
  document.body.append(el);
  open.add(el);
  el.showModal();
  return { el, body, close: () => el.close() };
}

// Asks before something that cannot be undone; resolves true when confirmed.
export function confirmDialog({ title, text, confirmLabel, danger = true }) {
  return new Promise((resolve) => {
    let answer = false;
    const dialog = openDialog({
      id: 'confirm-dialog', title, className: 'dialog-small',
      content: [
        h('p', {}, text),
        h('div', { class: 'dialog-actions' },
          h('button', { type: 'button', id: 'confirm-cancel', class: 'btn btn-secondary', onclick: () => dialog.close() }, 'Cancel'),
          h('button', {
            type: 'button', id: 'confirm-ok', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`,
            onclick: () => { answer = true; dialog.close(); },
          }, confirmLabel)),
      ],
      onClose: () => resolve(answer),
    });
    dialog.el.querySelector('#confirm-ok').focus();
  });
}
