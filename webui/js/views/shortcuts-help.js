// "?" lists the keyboard shortcuts. Loaded when first used.
import { h } from '../dom.js';
import { openDialog } from '../components/dialog.js';

const MOD = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl';
export const SHORTCUTS = [
  [`${MOD}+K`, 'Jump to a chat or person'],
  [`${MOD}+F`, 'Search in the open chat (Enter / Shift+Enter: older / newer match)'],
  ['Alt+↑ / Alt+↓', 'Previous / next chat in the list'],
  ['↑ in an empty message box', 'Edit your last message'],
  ['↑ / ↓ in the conversation', 'Move between messages'],
  ['Esc', 'Close a menu, panel or dialog'],
  ['?', 'This list'],
];

export function openShortcuts() {
  openDialog({
    id: 'shortcuts', title: 'Keyboard shortcuts', className: 'dialog-small',
    content: h('dl', { class: 'shortcut-list' },
      SHORTCUTS.flatMap(([keys, what]) => [h('dt', {}, h('kbd', {}, keys)), h('dd', {}, what)])),
  });
}
