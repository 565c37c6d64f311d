// The call screens: the incoming call (#incoming-call), the call itself (#call-view: tiles,
// controls, timer) and a chat's join bar (#call-bar with #call-join). DOM only; index.js
// decides what they show.
import { h, reconcile, svg } from '../dom.js';
import { avatar } from '../components/avatar.js';
import { icon } from '../components/icons.js';

const GLYPHS = {
  mic: ['M12 1a3 3 0 0 0-3 3v8a3 3 0 0 0 6 0V4a3 3 0 0 0-3-3z', 'M19 10v2a7 7 0 0 1-14 0v-2', 'M12 19v4', 'M8 23h8'],
  micOff: ['M1 1l22 22', 'M9 9v3a3 3 0 0 0 5.12 2.12M15 9.34V4a3 3 0 0 0-5.94-.6', 'M17 16.95A7 7 0 0 1 5 12v-2m14 0v2a7 7 0 0 1-.11 1.23', 'M12 19v4', 'M8 23h8'],
  videoOff: ['M16 16v1a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h2m5.66 0H14a2 2 0 0 1 2 2v3.34l1 1L23 7v10', 'M1 1l22 22'],
  screen: ['M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z', 'M8 21h8', 'M12 17v4'],
  shrink: ['M4 14h6v6', 'M20 10h-6V4', 'M14 10l7-7', 'M3 21l7-7'],
  grow: ['M15 3h6v6', 'M9 21H3v-6', 'M21 3l-7 7', 'M3 21l7-7'],
};

function glyph(name) {
  if (!GLYPHS[name]) return icon(name);
  return svg('svg', {
    class: 'icon', viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false',
    fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round',
  }, GLYPHS[name].map((d) => svg('path', { d })));
}

function video() {
  const el = h('video', { autoplay: true, playsinline: true });
  el.muted = true; // sound plays from the <audio> of each audio slot
  return el;
}

function show(el, stream) {
  if (el.srcObject !== stream) el.srcObject = stream;
}

export function incomingView({ user, title, text, onAccept, onDecline }) {
  return h('div', { id: 'incoming-call', class: 'incoming-call', role: 'dialog', 'aria-labelledby': 'incoming-call-title', 'aria-describedby': 'incoming-call-text' },
    avatar(user, { size: 'lg' }),
    h('div', { class: 'incoming-text' },
      h('h2', { id: 'incoming-call-title' }, title),
      h('p', { id: 'incoming-call-text' }, text)),
    h('div', { class: 'incoming-actions' },
      h('button', { type: 'button', id: 'call-decline', class: 'btn call-danger', onclick: onDecline }, 'Decline'),
      h('button', { type: 'button', id: 'call-accept', class: 'btn btn-primary', onclick: onAccept }, 'Accept')));
}

export function renderJoinBar(el, call, text, onJoin) {
  el.hidden = !call;
  el.replaceChildren(...(call ? [
    icon(call.kind === 'video' ? 'video' : 'phone'),
    h('span', {}, text),
    h('button', { type: 'button', id: 'call-join', class: 'btn btn-primary', onclick: onJoin }, 'Join'),
  ] : []));
}

// actions: {mute, camera, screen, hangup}(); each toggle is a button with aria-pressed.
export function createCallView(title, actions) {
  const status = h('p', { id: 'call-status', class: 'call-status', role: 'status' });
  const timer = h('span', { id: 'call-timer', class: 'call-timer' });
  const stageVideo = video();
  const stageName = h('p', { class: 'call-name' });
  const stage = h('div', { id: 'call-stage', class: 'call-stage', hidden: true }, stageVideo, stageName);
  const grid = h('div', { class: 'call-grid' });
  const sound = h('div', { hidden: true });
  const tiles = new Map();
  const el = h('section', { id: 'call-view', class: 'call-view', 'aria-label': `Call: ${title}` });

  function control(id, label, onclick, cls = '') {
    return h('button', { type: 'button', id, class: `call-control ${cls}`, 'aria-label': label, title: label, onclick });
  }
  const mute = control('call-mute', 'Mute', actions.mute);
  const camera = control('call-camera', 'Stop camera', actions.camera);
  const screen = control('call-screen', 'Share screen', actions.screen);
  const size = control('call-minimize', 'Small call window', () => {
    const mini = el.classList.toggle('mini');
    size.setAttribute('aria-pressed', String(mini));
    size.replaceChildren(glyph(mini ? 'grow' : 'shrink'));
  }, 'call-size');
  const hangup = control('call-hangup', 'Hang up', actions.hangup, 'call-danger');
  hangup.append(icon('phone'));
  screen.append(glyph('screen'));
  size.append(glyph('shrink'));
  screen.hidden = !navigator.mediaDevices?.getDisplayMedia;

  el.append(
    h('header', { class: 'call-header' },
      h('h2', { class: 'call-title', tabindex: -1 }, title), status, timer, size),
    h('div', { class: 'call-body' }, stage, grid),
    h('div', { class: 'call-controls' }, mute, camera, screen, hangup),
    sound);

  function tile(person) {
    let t = tiles.get(person.id);
    if (!t) {
      t = { video: video(), name: h('span', {}), mic: h('span', { class: 'call-muted', title: 'Muted' }, glyph('micOff')) };
      t.el = h('div', { class: 'call-tile', 'data-user-id': person.id },
        t.video, avatar(person.user, { size: 'lg' }), h('p', { class: 'call-name' }, t.mic, t.name));
      tiles.set(person.id, t);
    }
    t.name.textContent = person.self ? `${person.name} (you)` : person.name;
    t.mic.hidden = !person.muted;
    t.el.classList.toggle('self', !!person.self);
    t.el.classList.toggle('speaking', !!person.speaking);
    t.el.classList.toggle('no-video', !person.stream);
    show(t.video, person.stream);
    return t.el;
  }

  function pressed(button, value, name) {
    button.setAttribute('aria-pressed', String(value));
    button.replaceChildren(glyph(name));
  }

  // model: {people: [{id, user, name, self, stream, muted, speaking}], stage: {stream, name} | null,
  // mine: {mic, camera, screen}}
  function render(model) {
    for (const id of tiles.keys()) if (!model.people.some((p) => p.id === id)) tiles.delete(id);
    reconcile(grid, model.people.map(tile));
    grid.dataset.count = String(model.people.length);
    stage.hidden = !model.stage;
    el.classList.toggle('has-stage', !!model.stage);
    show(stageVideo, model.stage?.stream || null);
    stageName.textContent = model.stage?.name || '';
    pressed(mute, !model.mine.mic, model.mine.mic ? 'mic' : 'micOff');
    pressed(camera, !model.mine.camera, model.mine.camera ? 'video' : 'videoOff');
    screen.setAttribute('aria-pressed', String(model.mine.screen));
  }

  return {
    el,
    render,
    status(text) {
      status.textContent = text;
    },
    timer(text) {
      timer.textContent = text;
    },
    // The call is over but the view stays to say why and offer what to do next:
    // choices [{id, label, onclick, primary}], the first one focused.
    ended(text, choices) {
      status.textContent = text;
      timer.textContent = '';
      const buttons = choices.map(({ id, label, onclick, primary }) =>
        h('button', { type: 'button', id, class: `btn ${primary ? 'btn-primary' : 'btn-secondary'}`, onclick }, label));
      el.querySelector('.call-controls').replaceChildren(...buttons);
      el.classList.add('ended');
      buttons[0]?.focus();
    },
    // One <audio> per receiving audio slot, made once per subscribe connection.
    audio(streams) {
      if (sound.childElementCount === streams.length && [...sound.children].every((a, i) => a.srcObject === streams[i])) return;
      sound.replaceChildren(...streams.map((stream) => {
        const audio = h('audio', { autoplay: true });
        audio.srcObject = stream;
        return audio;
      }));
    },
  };
}
