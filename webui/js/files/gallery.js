// A chat's gallery, loaded when first opened: its pictures and videos, files and voice notes
// (GET /chats/{id}/media, one kind per tab), newest first, older ones a page at a time with
// the answer's `next` cursor. A picture opens in the viewer, over the gallery.
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { openDialog } from '../components/dialog.js';
import { fileCard, mediaThumb, voicePlayer } from '../components/attachments.js';
import { dateTime } from '../format.js';
import { useFilesStyles } from './styles.js';

const PAGE = 30;
const TABS = [['media', 'Media'], ['files', 'Files'], ['voice', 'Voice notes']];
const EMPTY = { media: 'No pictures or videos yet.', files: 'No files yet.', voice: 'No voice notes yet.' };

export async function openGallery(ctx, chatId) {
  await useFilesStyles();
  let kind = 'media';
  let items = [];
  let next = null;
  let loading = false;
  let generation = 0;

  const tabs = TABS.map(([k, label]) => h('button', {
    type: 'button', role: 'tab', id: `gallery-tab-${k}`, class: 'gallery-tab', 'data-kind': k,
    'aria-controls': 'gallery-panel', 'aria-selected': String(k === kind), tabindex: k === kind ? 0 : -1,
    onclick: () => select(k),
  }, label));
  const tablist = h('div', { class: 'gallery-tabs', role: 'tablist', 'aria-label': 'What to show' }, tabs);
  const panel = h('div', { id: 'gallery-panel', class: 'gallery-panel', role: 'tabpanel', 'data-kind': kind });
  const status = h('p', { class: 'gallery-status', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', id: 'gallery-more', class: 'btn btn-secondary', hidden: true, onclick: () => load() }, 'Show older');
  const dialog = openDialog({ id: 'gallery', title: 'Media, files and voice notes', className: 'side-sheet gallery', content: [tablist, panel, status, more] });

  tablist.addEventListener('keydown', (event) => {
    if (!['ArrowLeft', 'ArrowRight'].includes(event.key)) return;
    const i = TABS.findIndex(([k]) => k === kind);
    const to = TABS[(i + (event.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length][0];
    select(to);
    tabs.find((t) => t.dataset.kind === to).focus();
  });

  panel.addEventListener('click', async (event) => {
    const thumb = event.target.closest('.gallery-thumb');
    if (!thumb) return;
    const files = items.map((item) => item.file);
    const index = files.findIndex((f) => f.id === Number(thumb.dataset.fileId));
    const { openViewer } = await import('./viewer.js');
    openViewer({ items: files, index });
  });

  function entry(item) {
    const when = `${ctx.people.nameOf(item.sender_id)} · ${dateTime(item.created_at)}`;
    if (kind === 'media') return mediaThumb(item.file, 'att-media gallery-thumb');
    return h('div', { class: 'gallery-row', 'data-message-id': item.message_id },
      kind === 'voice' ? voicePlayer(item.file) : fileCard(item.file), h('p', { class: 'gallery-when' }, when));
  }

  function render() {
    panel.dataset.kind = kind;
    panel.replaceChildren(...items.map(entry));
    more.hidden = next == null;
    if (!loading) status.textContent = items.length ? '' : EMPTY[kind];
  }

  async function load() {
    if (loading) return;
    loading = true;
    const mine = generation;
    status.textContent = 'Loading…';
    const query = `kind=${kind}&limit=${PAGE}${next != null ? `&before=${next}` : ''}`;
    try {
      const page = await api.get(`/chats/${chatId}/media?${query}`);
      if (mine !== generation) return;
      items = items.concat(page.items);
      next = page.next;
      status.textContent = '';
    } catch (err) {
      if (mine === generation) status.textContent = `Couldn't load: ${errorText(err)}`;
    } finally {
      if (mine === generation) {
        loading = false;
        render();
      }
    }
  }

  function select(k) {
    if (k === kind && items.length) return;
    kind = k;
    generation += 1;
    loading = false;
    items = [];
    next = null;
    for (const tab of tabs) {
      const on = tab.dataset.kind === k;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    render();
    load();
  }

  load();
  return dialog;
}
