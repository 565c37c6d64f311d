// Voice notes, loaded on the first tap of the mic button: MediaRecorder with whatever the
// browser offers (webm/opus in Chromium, ogg/opus in Firefox, mp4/aac in Safari), the elapsed
// time while it records, Cancel or Send. startRecorder({onEnd}) asks for the microphone and
// starts; onEnd(file) gets the recording as a File on Send, null on Cancel.
import { h } from '../dom.js';
import { icon } from '../components/icons.js';
import { duration, VOICE_NOTE_PREFIX } from './format.js';
import { useFilesStyles } from './styles.js';

const TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4', 'audio/webm'];
const EXTENSIONS = { 'audio/webm': 'webm', 'audio/ogg': 'ogg', 'audio/mp4': 'm4a' };
const MAX_SECONDS = 15 * 60; // a note, not a podcast: sent by itself at this length

function pickType() {
  return TYPES.find((t) => MediaRecorder.isTypeSupported?.(t)) || '';
}

export async function startRecorder({ onEnd }) {
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') {
    throw new Error("This browser can't record voice notes.");
  }
  await useFilesStyles();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    throw new Error(err.name === 'NotAllowedError' ? 'Hearth may not use your microphone: allow it in the browser to record.'
      : "Couldn't find a microphone to record with.");
  }
  const mimeType = pickType();
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  const chunks = [];
  const started = performance.now();
  let sending = false;
  let ended = false;

  const time = h('span', { id: 'record-time', class: 'record-time', role: 'timer', 'aria-label': 'Recording time' }, '0:00');
  const cancelButton = h('button', { type: 'button', id: 'record-cancel', class: 'icon-btn', 'aria-label': 'Cancel the voice note', onclick: () => finish(false) },
    icon('trash'));
  const sendButton = h('button', { type: 'button', id: 'record-send', class: 'icon-btn send', 'aria-label': 'Send the voice note', onclick: () => finish(true) },
    icon('send'));
  const el = h('div', { id: 'recorder', class: 'recorder', role: 'group', 'aria-label': 'Recording a voice note' },
    cancelButton, h('span', { class: 'record-dot', 'aria-hidden': 'true' }), h('span', { class: 'record-label' }, 'Recording'), time, sendButton);
  el.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      finish(false);
    }
  });

  const seconds = () => (performance.now() - started) / 1000;
  const ticker = setInterval(() => {
    time.textContent = duration(Math.floor(seconds()));
    if (seconds() >= MAX_SECONDS) finish(true);
  }, 250);

  recorder.addEventListener('dataavailable', (event) => {
    if (event.data.size) chunks.push(event.data);
  });
  recorder.addEventListener('stop', () => {
    for (const track of stream.getTracks()) track.stop();
    if (!sending) return onEnd(null);
    const type = (recorder.mimeType || mimeType || 'audio/webm').split(';')[0];
    const stamp = new Date().toISOString().slice(0, 19).replace('T', ' ').replaceAll(':', '.');
    const blob = new Blob(chunks, { type });
    return onEnd(blob.size ? new File([blob], `${VOICE_NOTE_PREFIX} ${stamp}.${EXTENSIONS[type] || 'webm'}`, { type }) : null);
  });

  function finish(send) {
    if (ended) return;
    ended = true;
    sending = send;
    clearInterval(ticker);
    if (recorder.state !== 'inactive') recorder.stop();
  }

  recorder.start(1000);
  return { el, focus: () => sendButton.focus(), cancel: () => finish(false) };
}
