// Files waiting to go with the next message: each uploads as soon as it is added, with its
// own progress bar and a button that cancels the upload (or removes the file once up). A
// failed upload stays, with its reason, until removed. Loaded by the composer on first use.
import { h } from '../dom.js';
import { upload } from '../files/upload.js';
import { humanSize, isImage } from '../files/format.js';
import { icon } from './icons.js';

export const ATTACHMENTS_MAX = 10; // appliance/limits.py ATTACHMENTS_MAX

let nextKey = 1;

// limits(): the server's upload limits ({max_image_bytes, max_file_bytes}, from /info).
export function createAttachTray({ announce, limits }) {
  const list = h('ul', { class: 'attach-list' });
  const el = h('div', { id: 'attach-tray', class: 'attach-tray', hidden: true, 'aria-label': 'Files to send' }, list);
  let items = [];

  function render() {
    el.hidden = !items.length;
    list.replaceChildren(...items.map((item) => item.node));
  }

  function paint(item) {
    item.node.dataset.state = item.state;
    item.bar.value = item.progress;
    item.status.textContent = item.state === 'failed' ? item.error
      : item.state === 'done' ? 'Ready' : `${Math.round(item.progress * 100)}%`;
    item.remove.setAttribute('aria-label', item.state === 'uploading' ? `Cancel upload of ${item.file.name}` : `Remove ${item.file.name}`);
  }

  function drop(item) {
    if (item.state === 'uploading') item.abort();
    if (item.preview) URL.revokeObjectURL(item.preview);
    items = items.filter((i) => i !== item);
    render();
  }

  function start(file) {
    const item = { key: nextKey++, file, state: 'uploading', progress: 0, error: '', result: null, preview: null };
    if (isImage(file) && file.size < 20_000_000) item.preview = URL.createObjectURL(file);
    item.bar = h('progress', { class: 'attach-progress', max: 1, value: 0, 'aria-label': `Upload of ${file.name}` });
    item.status = h('span', { class: 'attach-status', 'aria-live': 'polite' });
    item.remove = h('button', { type: 'button', class: 'icon-btn attach-remove', onclick: () => drop(item) }, icon('close'));
    item.node = h('li', { class: 'attach-item', 'data-key': item.key, 'data-name': file.name },
      item.preview ? h('img', { class: 'attach-thumb', src: item.preview, alt: '' }) : h('span', { class: 'attach-thumb' }, icon('file')),
      h('span', { class: 'attach-text' },
        h('span', { class: 'attach-name' }, file.name || 'file'),
        h('span', { class: 'attach-size' }, humanSize(file.size)),
        item.bar, item.status),
      item.remove);
    const { promise, abort } = upload(file, (fraction) => {
      item.progress = fraction;
      paint(item);
    }, limits());
    item.abort = abort;
    item.promise = promise.then((result) => {
      item.state = 'done';
      item.result = result;
      paint(item);
    }, (err) => {
      if (err.code === 'aborted') return;
      item.state = 'failed';
      item.error = err.message;
      paint(item);
      announce(err.message);
    });
    paint(item);
    return item;
  }

  return {
    el,
    // Adds files (a FileList or an array); returns the items started.
    add(files) {
      const added = [];
      for (const file of files) {
        if (items.length >= ATTACHMENTS_MAX) {
          announce(`At most ${ATTACHMENTS_MAX} files on one message.`);
          break;
        }
        const item = start(file);
        items.push(item);
        added.push(item);
      }
      render();
      return added;
    },
    get size() { return items.length; },
    get uploading() { return items.some((i) => i.state === 'uploading'); },
    // Waits for the uploads under way (all, or those given) to end, whichever way.
    settle: (only = items) => Promise.all(only.map((i) => i.promise)),
    // The uploaded files (of those given, else all), taken out of the tray.
    take(only = items) {
      const done = only.filter((i) => i.state === 'done' && items.includes(i));
      for (const item of done) {
        if (item.preview) URL.revokeObjectURL(item.preview);
      }
      items = items.filter((i) => !done.includes(i));
      render();
      return done.map((i) => i.result);
    },
    clear() {
      for (const item of [...items]) drop(item);
    },
  };
}
