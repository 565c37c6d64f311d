// One conversation (/chats/{id}): header with presence, pinned message, the messages (older ones
// load as you scroll up; a jump lands in a window that loads newer ones as you scroll down),
// who is typing, and the composer (files dropped on the pane go to it). A thumbnail opens the
// viewer over the loaded media of the chat; the header's gallery button opens the gallery.
// Both modules load on first use.
import { h, reconcile } from '../dom.js';
import { errorText } from '../api.js';
import { dayKey, dayLabel, presenceLabel, typingText } from '../format.js';
import { preview } from '../text.js';
import { setPageTitle } from '../title.js';
import { tickState } from '../receipts.js';
import { findMessage } from '../timeline.js';
import { chatAvatar } from '../components/chat-avatar.js';
import { createComposer } from '../components/composer.js';
import { icon } from '../components/icons.js';
import { messageElement } from '../components/message.js';

const NEAR_EDGE_PX = 400;
const AT_BOTTOM_PX = 80;
const RUN_GAP_MS = 5 * 60_000;

export function chatView(ctx, chatId, aroundId = null, threadId = null) {
  const { store, me, people, chats, history, typing, outbox } = ctx;
  let alive = true;

  // ---- skeleton
  const avatarSlot = h('span', { class: 'avatar-slot' });
  const title = h('h1', { id: 'chat-title', tabindex: -1 }, 'Loading…');
  const subtitle = h('p', { class: 'chat-subtitle' });
  const settingsButton = h('button', {
    type: 'button', id: 'chat-settings', class: 'icon-btn', 'aria-label': 'Chat details', title: 'Chat details', disabled: true,
    // Loaded when first used, like the message menu below: the app starts with less to fetch.
    onclick: () => import('./group-panel.js').then((m) => m.openChatSettings(ctx, chatId), () => ctx.announce("Couldn't open the settings.")),
  }, icon('info'));
  const gallery = () => import('../files/gallery.js').then((m) => m.openGallery(ctx, chatId), () => ctx.announce("Couldn't open the gallery."));
  const galleryButton = h('button', {
    type: 'button', id: 'chat-gallery', class: 'icon-btn', 'aria-label': 'Media, files and voice notes', title: 'Media, files and voice notes', onclick: gallery,
  }, icon('image'));
  // Search in this chat (also Ctrl+F while it is open): search/chat-search.js, loaded when used.
  const find = () => import('../search/chat-search.js').then((m) => m.openChatSearch(ctx, chatId, { el, header, list, jumpTo }),
    () => ctx.announce("Couldn't open search."));
  const findButton = h('button', {
    type: 'button', id: 'chat-find', class: 'icon-btn', 'aria-label': 'Search in this chat', title: 'Search in this chat (Ctrl+F)', onclick: find,
  }, icon('search'));
  const onFindKey = (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === 'f' || event.key === 'F')) {
      event.preventDefault();
      find();
    }
  };
  document.addEventListener('keydown', onFindKey);
  const moreButton = h('button', {
    type: 'button', id: 'chat-more', class: 'icon-btn', 'aria-label': 'Chat actions', title: 'Mute, archive, clear', 'aria-haspopup': 'menu',
    onclick: () => import('./chat-menu.js').then((m) => m.openChatMenu(ctx, chatId, moreButton, { find, gallery }), () => ctx.announce("Couldn't open the menu.")),
  }, icon('more'));
  const header = h('header', { id: 'chat-header', class: 'pane-header chat-header' },
    h('button', { type: 'button', class: 'icon-btn back', 'aria-label': 'Back to chats', onclick: () => ctx.navigate('/') }, icon('back')),
    avatarSlot, h('div', { class: 'chat-header-text' }, title, subtitle), ctx.calls.buttons(chatId), findButton, galleryButton, settingsButton, moreButton);
  const pinnedBar = h('button', { type: 'button', id: 'pinned-bar', class: 'pinned-bar', hidden: true, onclick: () => jumpToPinned() });
  const list = h('div', { id: 'conversation', class: 'conversation', role: 'log', 'aria-live': 'off', 'aria-labelledby': 'chat-title', tabindex: 0 });
  const jumpLatest = h('button', {
    type: 'button', id: 'jump-latest', class: 'jump-latest', hidden: true, 'aria-label': 'Jump to the newest messages', onclick: toLatest,
  }, icon('back'));
  const problem = h('div', { class: 'chat-problem', role: 'alert', hidden: true });
  const typingLine = h('p', { id: 'typing', class: 'typing', 'aria-live': 'polite' });
  const composer = createComposer(ctx, {
    chatId,
    onSent: () => { stickToBottom = true; },
    onEditLast: editLast,
  });
  const el = h('section', { id: 'chat', class: 'pane chat-pane', 'data-chat-id': chatId, 'aria-labelledby': 'chat-title' },
    header, ctx.calls.bar(chatId), pinnedBar, problem, h('div', { class: 'conversation-wrap' }, list, jumpLatest), typingLine, composer.el);

  // ---- header
  function renderHeader() {
    const chat = chats.get(chatId);
    if (!chat) return;
    const name = chats.title(chat);
    title.textContent = name;
    setPageTitle(name);
    avatarSlot.replaceChildren(chatAvatar(ctx, chat));
    if (chat.kind === 'direct' && chat.peer) {
      const p = people.presenceOf(chat.peer.id);
      subtitle.replaceChildren(h('span', { class: 'presence', 'data-status': p.status }, presenceLabel(p)));
    } else {
      const count = chat.member_count ?? chats.membersOf(chatId).length;
      subtitle.replaceChildren(`${count} ${count === 1 ? 'member' : 'members'}`, chat.topic ? ` · ${chat.topic}` : '');
    }
    settingsButton.disabled = false;
    settingsButton.setAttribute('aria-label', chat.kind === 'direct' ? 'Contact details' : `${chat.kind === 'channel' ? 'Channel' : 'Group'} settings`);
  }

  function renderPins() {
    const pinned = history.pins(chatId)[0];
    pinnedBar.hidden = !pinned;
    if (pinned) pinnedBar.replaceChildren(icon('pin'), h('span', { class: 'vh' }, 'Pinned: '), h('span', { class: 'pinned-text' }, preview(pinned.body, 100)));
  }

  function renderTyping() {
    typingLine.textContent = typingText(typing.users(chatId).map((id) => people.nameOf(id)));
  }

  // ---- messages
  const cache = new Map(); // key -> {sig, node}
  let stickToBottom = true;
  // Whether the newest message was in view at the last scroll or render: when the pane changes
  // size (pinned bar, composer growing, rotation) it stays in view.
  let followNewest = true;

  function cached(key, sig, build) {
    const hit = cache.get(key);
    if (hit && hit.sig === sig) return hit.node;
    const node = build();
    cache.set(key, { sig, node });
    return node;
  }

  function mentionKinds() {
    const names = new Set(chats.membersOf(chatId).map((m) => m.user.username.toLowerCase()));
    const peer = chats.get(chatId)?.peer;
    if (peer) names.add(peer.username.toLowerCase());
    return names;
  }

  function edgeNote(key, text) {
    return cached(key, text, () => h('p', { class: 'history-edge' }, text));
  }

  function messageNodes() {
    const t = history.timeline(chatId);
    const chat = chats.get(chatId);
    const group = chat ? chat.kind !== 'direct' : false;
    const others = chats.othersIn(chatId);
    const names = mentionKinds();
    const namesKey = [...names].sort().join(' ');
    const mentionKind = (name) => {
      const lower = name.toLowerCase();
      if (lower === me.username.toLowerCase()) return 'me';
      return names.has(lower) ? 'other' : null;
    };
    const nodes = [];
    if (t.hasMoreBefore) nodes.push(edgeNote('edge-top', 'Loading older messages…'));
    else if (t.loaded) nodes.push(edgeNote('edge-top', t.messages.length ? 'This is where the chat begins.' : 'No messages yet. Say hello!'));
    let prev = null;
    for (const m of [...t.messages, ...outbox.pending(chatId)]) {
      const newDay = !prev || dayKey(prev.created_at) !== dayKey(m.created_at);
      if (newDay) {
        const label = dayLabel(m.created_at);
        nodes.push(cached(`day-${dayKey(m.created_at)}`, label, () => h('div', { class: 'day-separator', role: 'separator' }, h('span', {}, label))));
      }
      const first = newDay || !prev || prev.sender_id !== m.sender_id || prev.kind !== 'text' ||
        Date.parse(m.created_at) - Date.parse(prev.created_at) > RUN_GAP_MS;
      const confirmedOwn = m.sender_id === me.id && m.id != null && !m.state;
      const tick = confirmedOwn ? tickState(m.id, others) : null;
      const sender = people.user(m.sender_id);
      const view = { me, group, first, tick, sender, nameOf: people.nameOf, mentionKind };
      const key = m.id != null ? `m-${m.id}` : `p-${m.client_id}`;
      const sig = JSON.stringify([m, group, first, tick, sender?.display_name, sender?.username, sender?.avatar_url, namesKey]);
      nodes.push(cached(key, sig, () => messageElement(m, view)));
      prev = m;
    }
    if (t.hasMoreAfter) nodes.push(edgeNote('edge-bottom', 'Loading newer messages…'));
    return nodes;
  }

  function isAtBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < AT_BOTTOM_PX;
  }

  // The first message in view: it stays put while older ones are added above it. Known by
  // its key, as a change around it (who wrote the one before) may rebuild its element.
  function firstVisible() {
    for (const child of list.querySelectorAll(':scope > .message')) {
      if (child.offsetTop + child.offsetHeight > list.scrollTop) {
        const key = child.dataset.messageId ? `[data-message-id="${child.dataset.messageId}"]` : `[data-client-id="${child.dataset.clientId}"]`;
        return { key, offset: child.offsetTop - list.scrollTop };
      }
    }
    return null;
  }

  function scrollToBottom() {
    list.scrollTop = list.scrollHeight;
  }

  // Keyboard: the conversation is one Tab stop (WAI-ARIA's feed pattern). Arrow keys move
  // between messages, Home/End go to the ends; from a message, Tab goes through its own
  // controls only, then on out of the conversation. `roving` is the id or client id of the
  // message holding the stop (its element may be rebuilt by a render).
  let roving = null;
  const CONTROLS = 'button, a[href], audio, video, input, select, textarea';

  function keyOf(node) {
    return node.dataset.messageId ? `[data-message-id="${node.dataset.messageId}"]` : `[data-client-id="${node.dataset.clientId}"]`;
  }

  function messageNodesInList() {
    return [...list.querySelectorAll(':scope > .message')];
  }

  function rove(node, focus = false) {
    roving = node ? keyOf(node) : null;
    for (const el of messageNodesInList()) {
      const on = el === node;
      el.tabIndex = on ? 0 : -1;
      for (const control of el.querySelectorAll(CONTROLS)) control.tabIndex = on ? 0 : -1;
    }
    list.tabIndex = node ? -1 : 0;
    if (node && focus) {
      node.focus({ preventScroll: true });
      node.scrollIntoView({ block: 'nearest' });
    }
  }

  // After a render: the stop stays on the same message (refocused if the focus was in the
  // conversation and went with a rebuilt element), or goes back to the conversation itself.
  function keepRoving(hadFocus) {
    const node = roving && list.querySelector(`:scope > .message${roving}`);
    rove(node || null, !!node && hadFocus && !list.contains(document.activeElement));
  }

  list.addEventListener('focusin', (event) => {
    if (event.target === list) {
      const nodes = messageNodesInList();
      if (nodes.length) rove(nodes[nodes.length - 1], true);
      return;
    }
    const node = event.target.closest('.message');
    if (node && (!roving || keyOf(node) !== roving)) rove(node);
  });

  list.addEventListener('keydown', (event) => {
    if (!event.target.matches('.message') || event.altKey || event.ctrlKey || event.metaKey) return;
    const nodes = messageNodesInList();
    const at = nodes.indexOf(event.target);
    const to = { ArrowUp: at - 1, ArrowDown: at + 1, Home: 0, End: nodes.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    if (to < 0) {
      if (history.timeline(chatId).hasMoreBefore) loadOlder();
      return;
    }
    if (nodes[to]) rove(nodes[to], true);
  });

  function renderMessages() {
    if (!alive) return;
    const t = history.timeline(chatId);
    const stick = stickToBottom || (isAtBottom() && !t.hasMoreAfter);
    const anchor = stick ? null : firstVisible();
    const nodes = messageNodes();
    const hadFocus = list.contains(document.activeElement);
    reconcile(list, nodes);
    keepRoving(hadFocus);
    if (list.querySelector('.thread-sum:empty')) import('./thread.js').then((m) => m.fill(ctx, list, chatId));
    const used = new Set(nodes);
    for (const [key, entry] of cache) if (!used.has(entry.node)) cache.delete(key);
    const anchorNode = anchor && list.querySelector(`:scope > .message${anchor.key}`);
    if (stick) scrollToBottom();
    else if (anchorNode) list.scrollTop = anchorNode.offsetTop - anchor.offset;
    stickToBottom = false;
    followNewest = isAtBottom();
    updateJump();
    chats.markRead(chatId);
    // Still at the top (a short history, or a wheel that ended there): no scroll event would
    // come to ask for more.
    if (t.hasMoreBefore && !stick && list.scrollTop < NEAR_EDGE_PX) loadOlder();
    else if (t.hasMoreBefore && list.scrollHeight <= list.clientHeight) loadOlder();
  }

  function updateJump() {
    const t = history.timeline(chatId);
    jumpLatest.hidden = !t.hasMoreAfter && isAtBottom();
  }

  async function loadOlder() {
    try {
      await history.loadOlder(chatId);
    } catch (err) {
      ctx.announce(`Couldn't load older messages: ${errorText(err)}`);
    }
  }

  async function loadNewer() {
    try {
      await history.loadNewer(chatId);
    } catch (err) {
      ctx.announce(`Couldn't load newer messages: ${errorText(err)}`);
    }
  }

  async function toLatest() {
    const t = history.timeline(chatId);
    stickToBottom = true;
    if (t.hasMoreAfter) {
      try {
        await history.loadLatest(chatId);
      } catch (err) {
        ctx.announce(errorText(err));
      }
    } else {
      renderMessages();
    }
    composer.focus();
  }

  function messageEl(id) {
    return list.querySelector(`.message[data-message-id="${Number(id)}"]`);
  }

  // Scrolls to a message, first loading the history around it when it is not loaded; true when
  // it is there. In-chat search keeps the focus in its box (`focus` false).
  async function jumpTo(id, focus = true) {
    if (!findMessage(history.timeline(chatId), id)) {
      try {
        await history.loadAround(chatId, id);
      } catch (err) {
        ctx.announce(`Couldn't load that message: ${errorText(err)}`);
        return false;
      }
      renderMessages();
    }
    const target = messageEl(id);
    if (!target) {
      ctx.announce('That message is no longer available.');
      return false;
    }
    target.scrollIntoView({ block: 'center' });
    target.classList.remove('highlight');
    void target.offsetWidth; // restart the highlight animation
    target.classList.add('highlight');
    if (focus) target.focus({ preventScroll: true });
    updateJump();
    return true;
  }

  function jumpToPinned() {
    const pinned = history.pins(chatId)[0];
    if (pinned) jumpTo(pinned.id);
  }

  function editLast() {
    const t = history.timeline(chatId);
    const mine = [...t.messages].reverse().find((m) => m.sender_id === me.id && !m.deleted && m.kind === 'text' && m.body);
    if (mine) composer.edit(mine);
  }

  function messageFor(node) {
    if (node.dataset.messageId) return findMessage(history.timeline(chatId), Number(node.dataset.messageId));
    return outbox.pending(chatId).find((p) => p.client_id === node.dataset.clientId) || null;
  }

  function actions(message, where) {
    import('./message-actions.js').then(
      (m) => m.openMessageActions(ctx, message, { ...where, reply: composer.reply, edit: composer.edit }),
      () => ctx.announce("Couldn't open the message menu."));
  }

  // The pictures and videos of the loaded history, oldest first: what the viewer steps through.
  function loadedMedia() {
    return history.timeline(chatId).messages.filter((m) => !m.deleted)
      .flatMap((m) => (m.attachments || []).filter((f) => f.kind === 'media'));
  }

  async function openMedia(fileId) {
    const pending = outbox.pending(chatId).flatMap((m) => m.attachments || []).filter((f) => f.kind === 'media');
    const items = [...loadedMedia(), ...pending];
    try {
      const { openViewer } = await import('../files/viewer.js');
      await openViewer({ items, index: items.findIndex((f) => f.id === fileId) });
    } catch {
      ctx.announce("Couldn't open the viewer.");
    }
  }

  list.addEventListener('click', (event) => {
    const thumb = event.target.closest('.att-media');
    if (thumb) {
      openMedia(Number(thumb.dataset.fileId));
      return;
    }
    const callBack = event.target.closest('.call-back');
    if (callBack) {
      ctx.calls.start(chatId, callBack.dataset.kind);
      return;
    }
    const node = event.target.closest('.message');
    const message = node && messageFor(node);
    if (!message) return;
    const menuButton = event.target.closest('.menu-btn');
    const reaction = event.target.closest('.reactions button');
    const quoted = event.target.closest('.quote');
    if (menuButton) actions(message, { anchor: menuButton });
    else if (reaction) outbox.toggleReaction(message, reaction.dataset.emoji).catch((err) => ctx.announce(errorText(err)));
    else if (quoted) jumpTo(Number(quoted.dataset.replyTo));
    else if (event.target.closest('.ask-contact')) import('./contacts-only.js').then((m) => m.offerContactRequest(ctx, chats.get(chatId).peer.id));
    else if (event.target.closest('.retry')) outbox.retry(chatId, message.client_id);
    else if (event.target.closest('.discard')) outbox.discard(chatId, message.client_id);
  });

  list.addEventListener('contextmenu', (event) => {
    const node = event.target.closest('.message[data-message-id]:not(.system)');
    if (!node || event.target.closest('a')) return;
    const message = messageFor(node);
    if (!message) return;
    event.preventDefault();
    // The context menu key fires this with no pointer position: open at the message's button.
    const fromKeyboard = event.clientX === 0 && event.clientY === 0;
    actions(message, fromKeyboard ? { anchor: node.querySelector('.menu-btn') } : { point: { x: event.clientX, y: event.clientY } });
  });

  list.addEventListener('scroll', () => {
    const t = history.timeline(chatId);
    if (list.scrollTop < NEAR_EDGE_PX && t.hasMoreBefore) loadOlder();
    if (list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_EDGE_PX && t.hasMoreAfter) loadNewer();
    followNewest = isAtBottom();
    updateJump();
  }, { passive: true });
  const resized = new ResizeObserver(() => {
    if (followNewest && !history.timeline(chatId).hasMoreAfter) scrollToBottom();
  });
  resized.observe(list);

  // ---- files dropped anywhere on the conversation
  let dragDepth = 0;
  const carriesFiles = (event) => event.dataTransfer?.types.includes('Files') && !composer.el.hidden;
  el.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) return;
    dragDepth += 1;
    el.classList.add('dropping');
  });
  el.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) el.classList.remove('dropping');
  });
  el.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  el.addEventListener('drop', (event) => {
    dragDepth = 0;
    el.classList.remove('dropping');
    if (!carriesFiles(event)) return;
    event.preventDefault();
    composer.addFiles([...event.dataTransfer.files]);
  });

  // ---- life cycle
  function showProblem(err) {
    const text = err.code === 'not_a_member' || err.status === 403 ? "You're not a member of this chat."
      : err.status === 404 ? "This chat doesn't exist (any more)."
        : `Couldn't open this chat: ${errorText(err)}`;
    title.textContent = 'Chat';
    problem.hidden = false;
    problem.replaceChildren(h('p', {}, text), h('a', { href: '/', class: 'btn btn-secondary' }, 'Back to chats'));
    list.hidden = true;
    composer.el.hidden = true;
  }

  async function open() {
    chats.setActive(chatId);
    try {
      await chats.load(chatId);
    } catch (err) {
      if (alive) showProblem(err);
      return;
    }
    if (!alive) return;
    renderHeader();
    composer.enable();
    history.loadPins(chatId).catch(() => {});
    const t = history.timeline(chatId);
    try {
      if (aroundId) {
        await jumpTo(aroundId);
        if (threadId && alive) import('./thread.js').then((m) => m.openThread(ctx, chatId, threadId), () => ctx.announce("Couldn't open the thread."));
      } else {
        if (!t.loaded || t.hasMoreAfter) await history.loadLatest(chatId);
        stickToBottom = true;
        renderMessages();
      }
    } catch (err) {
      ctx.announce(`Couldn't load messages: ${errorText(err)}`);
    }
    if (alive && matchMedia('(min-width: 720px)').matches && !aroundId) composer.focus();
  }

  const offs = [
    store.subscribe(`timeline:${chatId}`, renderMessages),
    store.subscribe(`outbox:${chatId}`, renderMessages),
    store.subscribe(`members:${chatId}`, () => { renderMessages(); renderHeader(); }),
    store.subscribe(`chat:${chatId}`, renderHeader),
    store.subscribe(`typing:${chatId}`, renderTyping),
    store.subscribe(`pins:${chatId}`, renderPins),
    store.subscribe('presence', renderHeader),
    store.subscribe('users', () => { renderMessages(); renderTyping(); }),
    store.subscribe('removed', (id) => {
      if (id !== chatId) return;
      ctx.announce('You are no longer in this chat.');
      ctx.navigate('/', { replace: true });
    }),
    store.subscribe('reset', () => { stickToBottom = true; history.loadLatest(chatId).catch(() => {}); }),
  ];
  // "last seen 5 min ago" ages while the chat stays open.
  const clock = setInterval(renderHeader, 30_000);
  ctx.cleanup(() => {
    alive = false;
    document.removeEventListener('keydown', onFindKey);
    for (const off of offs) off();
    clearInterval(clock);
    resized.disconnect();
    composer.destroy();
    typing.stop(chatId);
    chats.setActive(null);
  });

  open();
  return el;
}
