// The media viewer, loaded when a picture or video is first opened: one item full size,
// Left/Right (and the side buttons) move between the given items, Escape closes, a download
// button, focus kept inside while open and given back to what had it before.
// openViewer({items: [File], index}) where items are pictures and videos.
import { h } from '../dom.js';
import { icon } from '../components/icons.js';
import { humanSize, isVideo } from './format.js';
import { useFilesStyles } from './styles.js';

const FOCUSABLE = 'button:not([disabled]), a[href], video[controls], [tabindex]:not([tabindex="-1"])';

export async function openViewer({ items, index = 0 }) {
  await useFilesStyles();
  document.getElementById('media-viewer')?.close();
  const opener = document.activeElement;
  let at = Math.max(0, Math.min(index, items.length - 1));

  const title = h('h2', { id: 'media-viewer-title', class: 'viewer-title' });
  const counter = h('span', { id: 'viewer-counter', class: 'viewer-counter' });
  const download = h('a', { id: 'viewer-download', class: 'icon-btn viewer-btn', 'aria-label': 'Download', title: 'Download' }, icon('download'));
  const close = h('button', { type: 'button', id: 'viewer-close', class: 'icon-btn viewer-btn', 'aria-label': 'Close', onclick: () => dialog.close() }, icon('close'));
  const prev = h('button', { type: 'button', id: 'viewer-prev', class: 'icon-btn viewer-btn viewer-nav prev', 'aria-label': 'Previous', onclick: () => show(at - 1) }, icon('back'));
  const next = h('button', { type: 'button', id: 'viewer-next', class: 'icon-btn viewer-btn viewer-nav next', 'aria-label': 'Next', onclick: () => show(at + 1) }, icon('next'));
  const stage = h('div', { class: 'viewer-stage' });
  const dialog = h('dialog', { id: 'media-viewer', class: 'viewer', 'aria-labelledby': 'media-viewer-title' },
    h('header', { class: 'viewer-bar' }, h('div', { class: 'viewer-heading' }, title, counter), download, close),
    stage, prev, next);

  function show(i) {
    if (i < 0 || i >= items.length) return;
    at = i;
    const file = items[at];
    title.textContent = file.name;
    counter.textContent = items.length > 1 ? `${at + 1} of ${items.length} · ${humanSize(file.size)}` : humanSize(file.size);
    download.href = file.url;
    download.setAttribute('download', file.name);
    for (const old of stage.querySelectorAll('video')) old.pause();
    const media = isVideo(file)
      ? h('video', { class: 'viewer-media', src: file.url, controls: true, autoplay: true, playsinline: true, poster: file.thumb_url, 'data-file-id': file.id })
      : h('img', { class: 'viewer-media', src: file.url, alt: file.name, 'data-file-id': file.id });
    stage.replaceChildren(media);
    prev.disabled = at === 0;
    next.disabled = at === items.length - 1;
    prev.hidden = next.hidden = items.length < 2;
    if (document.activeElement === document.body || !dialog.contains(document.activeElement)) close.focus();
  }

  dialog.addEventListener('keydown', (event) => {
    const inVideo = event.target instanceof HTMLVideoElement;
    if (event.key === 'ArrowLeft' && !inVideo) {
      event.preventDefault();
      show(at - 1);
    } else if (event.key === 'ArrowRight' && !inVideo) {
      event.preventDefault();
      show(at + 1);
    } else if (event.key === 'Tab') {
      // The modal dialog makes the page inert; this keeps Tab from leaving for the browser's UI.
      const stops = [...dialog.querySelectorAll(FOCUSABLE)].filter((n) => !n.hidden && n.offsetParent !== null);
      if (!stops.length) return;
      const first = stops[0];
      const last = stops[stops.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog || event.target === stage) dialog.close();
  });
  dialog.addEventListener('close', () => {
    for (const old of stage.querySelectorAll('video')) old.pause();
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  });

  document.body.append(dialog);
  dialog.showModal();
  show(at);
  close.focus();
  return { el: dialog, close: () => dialog.close() };
}
