// The message box: Enter sends, Shift+Enter breaks the line, "@" offers the chat's members,
// a reply or an edit shows above it (Escape cancels), typing.start/stop go out as you type.
// Files come from the attach button, a paste or a drop (addFiles) into a tray where they
// upload at once; Send waits for them and sends them with the text as caption. The tray
// (./attach-tray.js) and the recorder (../files/recorder.js) load on first use; a voice note
// is sent on its own. The emoji button opens the picker (../emoji/picker.js, loaded then) and
// inserts at the caret; ":smi" offers emoji by shortcode like "@" offers people.
import { h } from '../dom.js';
import { errorText } from '../api.js';
import { preview } from '../text.js';
import { avatar } from './avatar.js';
import { icon } from './icons.js';

const MAX_HEIGHT = 160;
const drafts = new Map(); // chat id -> unsent text, for this page's life

/**
 * ctx: the frame's (messaging parts and announce); onSent(): after a message went out;
 * onEditLast(): ArrowUp in an empty box edits your last message.
 */
export function createComposer(ctx, { chatId, onSent, onEditLast }) {
  const { me, people, chats, typing, outbox, announce } = ctx;
  const contextText = h('div', { class: 'context-text' });
  const cancel = h('button', { type: 'button', id: 'composer-cancel', class: 'icon-btn', 'aria-label': 'Cancel', onclick: () => setMode(null) },
    icon('close'));
  const context = h('div', { id: 'composer-context', class: 'composer-context', hidden: true }, contextText, cancel);
  const mentionList = h('ul', { id: 'mention-list', class: 'mention-list', role: 'listbox', 'aria-label': 'People to mention', hidden: true });
  const emojiList = h('ul', { id: 'emoji-complete', class: 'mention-list', role: 'listbox', 'aria-label': 'Emoji by shortcode', hidden: true });
  const input = h('textarea', {
    id: 'composer', rows: 1, placeholder: 'Message', maxlength: 4000, enterkeyhint: 'send', disabled: true,
    'aria-label': 'Message', 'aria-autocomplete': 'list', 'aria-controls': 'mention-list',
  });
  const sendButton = h('button', { id: 'send', type: 'submit', class: 'icon-btn send', 'aria-label': 'Send', disabled: true }, icon('send'));
  const traySlot = h('div', { class: 'attach-slot', hidden: true });
  let tray = null;
  let trayLoading = null;
  const picker = h('input', { type: 'file', id: 'attach-input', multiple: true, hidden: true, tabindex: -1 });
  const attachButton = h('button', {
    type: 'button', id: 'attach', class: 'icon-btn', 'aria-label': 'Attach files', title: 'Attach files', disabled: true,
    onclick: () => picker.click(),
  }, icon('clip'));
  const recordButton = h('button', {
    type: 'button', id: 'record', class: 'icon-btn', 'aria-label': 'Record a voice note', title: 'Record a voice note', disabled: true,
    onclick: () => record(),
  }, icon('mic'));
  const emojiButton = h('button', {
    type: 'button', id: 'emoji-button', class: 'icon-btn', 'aria-label': 'Insert an emoji', title: 'Insert an emoji', disabled: true,
    onclick: () => openEmojiPicker(),
  }, icon('smile'));
  const form = h('form', { id: 'composer-form', class: 'composer' }, attachButton, emojiButton, picker, input, recordButton, sendButton);
  const el = h('div', { class: 'composer-wrap' }, context, mentionList, emojiList, traySlot, form);
  input.value = drafts.get(chatId) || '';

  let mode = null; // {kind: 'reply'|'edit', message}
  let options = [];
  let active = 0;

  function resize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, MAX_HEIGHT)}px`;
  }

  function setMode(next) {
    const wasEdit = mode?.kind === 'edit';
    mode = next;
    context.hidden = !mode;
    if (mode) {
      const m = mode.message;
      const label = mode.kind === 'edit' ? 'Editing message' : `Replying to ${m.sender_id === me.id ? 'yourself' : people.nameOf(m.sender_id)}`;
      contextText.replaceChildren(h('strong', {}, label), h('span', {}, preview(m.body, 100)));
      cancel.setAttribute('aria-label', mode.kind === 'edit' ? 'Cancel editing' : 'Cancel reply');
      if (mode.kind === 'edit') input.value = m.body;
    } else if (wasEdit) {
      input.value = drafts.get(chatId) || '';
    }
    resize();
    input.focus();
  }

  // ---- mentions
  function mentionQuery() {
    const before = input.value.slice(0, input.selectionStart);
    const match = /(^|\s)@([\w.-]*)$/.exec(before);
    return match ? match[2].toLowerCase() : null;
  }

  function candidates(query) {
    const users = chats.membersOf(chatId).map((m) => m.user);
    const peer = chats.get(chatId)?.peer;
    if (!users.length && peer) users.push(peer);
    return users
      .filter((u) => u.id !== me.id)
      .filter((u) => u.username.startsWith(query) || (u.display_name || '').toLowerCase().split(/\s+/).some((w) => w.startsWith(query)))
      .slice(0, 6);
  }

  function showMentions() {
    const query = mentionQuery();
    options = query == null ? [] : candidates(query);
    active = Math.min(active, Math.max(0, options.length - 1));
    mentionList.hidden = !options.length;
    mentionList.replaceChildren(...options.map((u, i) => h('li', {
      id: `mention-${u.id}`, role: 'option', class: 'mention-option', 'aria-selected': String(i === active), 'data-username': u.username,
      onmousedown: (event) => { event.preventDefault(); pickMention(u); },
    }, avatar(u, { size: 'sm' }), h('span', {}, u.display_name || u.username), h('span', { class: 'user-handle' }, `@${u.username}`))));
    if (options.length) input.setAttribute('aria-activedescendant', `mention-${options[active].id}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function pickMention(user) {
    const caret = input.selectionStart;
    const before = input.value.slice(0, caret).replace(/@([\w.-]*)$/, `@${user.username} `);
    input.value = before + input.value.slice(caret);
    input.setSelectionRange(before.length, before.length);
    options = [];
    showMentions();
    input.focus();
  }

  // ---- emoji
  let emojiModule = null; // the picker module and its data, once loaded
  let emojiOptions = [];
  let emojiActive = 0;

  function loadEmoji() {
    emojiModule ||= import('../emoji/picker.js').then((m) => m.loadEmoji().then((data) => ({ m, data })))
      .catch((err) => {
        emojiModule = null;
        throw err;
      });
    return emojiModule;
  }

  function insertText(text, start = input.selectionStart, end = input.selectionEnd) {
    input.focus();
    input.setRangeText(text, start, end, 'end');
    input.dispatchEvent(new Event('input'));
  }

  async function openEmojiPicker() {
    const start = input.selectionStart;
    const end = input.selectionEnd;
    try {
      const { m } = await loadEmoji();
      const emoji = await m.pickEmoji({ title: 'Insert an emoji' });
      if (emoji) insertText(emoji, start, end);
      else input.focus();
    } catch {
      announce("Couldn't load the emoji picker.");
    }
  }

  function shortcodeQuery() {
    const before = input.value.slice(0, input.selectionStart);
    const match = /(^|\s):([a-z0-9_+-]{2,})$/i.exec(before);
    return match ? match[2] : null;
  }

  async function showEmojiOptions() {
    const query = shortcodeQuery();
    if (query == null) {
      setEmojiOptions([]);
      return;
    }
    let loaded;
    try {
      loaded = await loadEmoji();
    } catch {
      return; // no completion beats an error while typing
    }
    if (shortcodeQuery() !== query) return; // typed on meanwhile
    setEmojiOptions(loaded.m.shortcodeMatches(loaded.data, query));
  }

  function setEmojiOptions(next) {
    emojiOptions = next;
    emojiActive = Math.min(emojiActive, Math.max(0, next.length - 1));
    emojiList.hidden = !next.length;
    input.setAttribute('aria-controls', next.length ? 'emoji-complete' : 'mention-list');
    emojiList.replaceChildren(...next.map((e, i) => h('li', {
      id: `emoji-complete-${i}`, role: 'option', class: 'mention-option', 'aria-selected': String(i === emojiActive), 'data-emoji': e.emoji,
      onmousedown: (event) => { event.preventDefault(); pickShortcode(e); },
    }, h('span', { class: 'emoji-glyph', 'aria-hidden': 'true' }, e.emoji), h('span', {}, `:${e.code}:`), h('span', { class: 'user-handle' }, e.name))));
    if (next.length) input.setAttribute('aria-activedescendant', `emoji-complete-${emojiActive}`);
    else if (!options.length) input.removeAttribute('aria-activedescendant');
  }

  function pickShortcode(choice) {
    const caret = input.selectionStart;
    const start = input.value.slice(0, caret).lastIndexOf(':');
    loadEmoji().then(({ m }) => m.rememberEmoji(choice.emoji), () => {});
    setEmojiOptions([]);
    insertText(choice.emoji, start, caret);
  }

  // ---- files
  function loadTray() {
    trayLoading ||= Promise.all([import('./attach-tray.js'), import('../files/styles.js').then((m) => m.useFilesStyles())])
      .then(([module]) => {
        tray = module.createAttachTray({ announce, limits: () => ctx.store.get().info });
        traySlot.replaceWith(tray.el);
        return tray;
      }, (err) => {
        trayLoading = null;
        throw err;
      });
    return trayLoading;
  }

  async function addFiles(files) {
    if (input.disabled || !files?.length) return;
    try {
      (await loadTray()).add(files);
    } catch {
      announce("Couldn't load the file uploader.");
      return;
    }
    input.focus();
  }

  picker.addEventListener('change', () => {
    addFiles([...picker.files]);
    picker.value = '';
  });

  // A pasted screenshot (or files copied in a file manager) goes to the tray, not the text.
  input.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length) return;
    event.preventDefault();
    addFiles(files.map((f, i) => (f.name && f.name !== 'image.png' ? f
      : new File([f], `Pasted ${new Date().toISOString().slice(0, 19).replace('T', ' ')}${i ? ` ${i + 1}` : ''}.${f.type.split('/')[1] || 'png'}`, { type: f.type }))));
  });

  let recording = null;

  async function record() {
    if (recording || input.disabled) return;
    recording = true;
    try {
      const { startRecorder } = await import('../files/recorder.js');
      recording = await startRecorder({
        onEnd: (file) => {
          recording.el.remove();
          recording = null;
          form.hidden = false;
          if (file) sendVoice(file);
          else recordButton.focus();
        },
      });
      form.hidden = true;
      el.append(recording.el);
      recording.focus();
    } catch (err) {
      recording = null;
      announce(err.message || "Couldn't start recording.");
    }
  }

  async function sendVoice(file) {
    try {
      await loadTray();
    } catch {
      announce("Couldn't load the file uploader.");
      return;
    }
    const [item] = tray.add([file]);
    input.focus();
    if (!item) return;
    await tray.settle([item]);
    const files = tray.take([item]);
    if (!files.length) return;
    const sent = outbox.send(chatId, '', null, files);
    onSent();
    await sent;
  }

  // ---- sending
  async function submit() {
    const text = input.value.trim();
    if (input.disabled) return;
    const current = mode;
    if (current?.kind !== 'edit' && tray?.size) {
      await submitWithFiles(current);
      return;
    }
    if (!text) return;
    if (current?.kind === 'edit') {
      if (text === current.message.body) {
        setMode(null);
        return;
      }
      try {
        await outbox.edit(current.message, text);
        setMode(null);
      } catch (err) {
        announce(`Couldn't edit: ${errorText(err)}`);
      }
      return;
    }
    input.value = '';
    drafts.delete(chatId);
    setMode(null);
    resize();
    typing.stop(chatId);
    const sent = outbox.send(chatId, text, current?.kind === 'reply' ? current.message : null);
    onSent();
    await sent;
  }

  // Waits for the tray's uploads, then sends what arrived with the text as caption; the
  // failed ones stay in the tray with their reason.
  async function submitWithFiles(current) {
    if (tray.uploading) {
      sendButton.disabled = true;
      sendButton.setAttribute('aria-busy', 'true');
      await tray.settle();
      sendButton.disabled = false;
      sendButton.removeAttribute('aria-busy');
    }
    const files = tray.take();
    if (!files.length) return;
    const caption = input.value.trim(); // what the person typed while the uploads ended too
    input.value = '';
    drafts.delete(chatId);
    setMode(null);
    resize();
    typing.stop(chatId);
    const sent = outbox.send(chatId, caption, current?.kind === 'reply' ? current.message : null, files);
    onSent();
    await sent;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });

  input.addEventListener('keydown', (event) => {
    if (emojiOptions.length && ['ArrowDown', 'ArrowUp'].includes(event.key)) {
      event.preventDefault();
      emojiActive = (emojiActive + (event.key === 'ArrowDown' ? 1 : -1) + emojiOptions.length) % emojiOptions.length;
      setEmojiOptions(emojiOptions);
    } else if (emojiOptions.length && (event.key === 'Enter' || event.key === 'Tab')) {
      event.preventDefault();
      pickShortcode(emojiOptions[emojiActive]);
    } else if (emojiOptions.length && event.key === 'Escape') {
      event.preventDefault();
      setEmojiOptions([]);
    } else if (options.length && ['ArrowDown', 'ArrowUp'].includes(event.key)) {
      event.preventDefault();
      active = (active + (event.key === 'ArrowDown' ? 1 : -1) + options.length) % options.length;
      showMentions();
    } else if (options.length && (event.key === 'Enter' || event.key === 'Tab')) {
      event.preventDefault();
      pickMention(options[active]);
    } else if (event.key === 'Escape' && (options.length || mode)) {
      event.preventDefault();
      if (options.length) {
        options = [];
        mentionList.hidden = true;
      } else {
        setMode(null);
      }
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === 'ArrowUp' && !input.value && !mode) {
      event.preventDefault();
      onEditLast();
    }
  });

  input.addEventListener('input', () => {
    resize();
    if (mode?.kind !== 'edit') {
      drafts.set(chatId, input.value);
      if (input.value.trim()) typing.start(chatId);
      else typing.stop(chatId);
    }
    showMentions();
    showEmojiOptions();
  });
  input.addEventListener('blur', () => {
    typing.stop(chatId);
    setEmojiOptions([]);
    mentionList.hidden = true;
    options = [];
  });

  return {
    el,
    input,
    enable() {
      input.disabled = false;
      sendButton.disabled = false;
      attachButton.disabled = false;
      emojiButton.disabled = false;
      recordButton.disabled = false;
      resize();
    },
    addFiles,
    destroy() {
      tray?.clear();
      recording?.cancel?.();
    },
    reply: (message) => setMode({ kind: 'reply', message }),
    edit: (message) => setMode({ kind: 'edit', message }),
    focus: () => input.focus(),
  };
}
