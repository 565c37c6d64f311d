// A message's files as DOM: pictures and videos as thumbnails at their own aspect ratio (the
// space kept before they load, so the timeline does not jump), a video with a play mark and
// its duration, audio as a voice-note player (waveform, scrubbing), anything else as a card
// that downloads with the file's own name. A thumbnail is a button with data-file-id: the
// conversation opens the viewer on click.
import { h } from '../dom.js';
import { duration, humanSize, isAudio, isVideo, typeLabel, VOICE_NOTE_PREFIX } from '../files/format.js';
import { icon } from './icons.js';

const THUMB_MAX_PX = 280;
const WAVE_BARS = 48;

// Width in CSS pixels and the aspect ratio, from the file's own size (4:3 while unknown).
function thumbBox(file) {
  const w = file.width || 4;
  const hgt = file.height || 3;
  const scale = Math.min(1, THUMB_MAX_PX / w, THUMB_MAX_PX / hgt);
  const width = file.width ? Math.max(80, Math.round(w * scale)) : THUMB_MAX_PX;
  return { width, ratio: `${w} / ${hgt}` };
}

export function mediaThumb(file, cls = 'att-media') {
  const video = isVideo(file);
  const label = `${video ? 'Play video' : 'Open picture'} ${file.name}`;
  const el = h('button', { type: 'button', class: cls, 'data-file-id': file.id, 'data-type': file.type, 'aria-label': label, title: file.name },
    file.thumb_url ? h('img', { src: file.thumb_url, alt: '', loading: 'lazy', decoding: 'async', draggable: 'false' }) : h('span', { class: 'att-nothumb' }),
    video && h('span', { class: 'att-play', 'aria-hidden': 'true' }, icon('play')),
    video && file.duration != null && h('span', { class: 'att-duration' }, duration(file.duration)));
  const box = thumbBox(file);
  // Style properties through the CSSOM: the CSP forbids style attributes, not this.
  el.style.width = `${box.width}px`;
  el.style.aspectRatio = box.ratio;
  return el;
}

export function fileCard(file) {
  return h('a', {
    class: 'att-file', href: file.url, download: file.name, 'data-file-id': file.id,
    'aria-label': `Download ${file.name}, ${typeLabel(file)}, ${humanSize(file.size)}`,
  },
  h('span', { class: 'att-file-icon' }, icon('file')),
  h('span', { class: 'att-file-text' },
    h('span', { class: 'att-file-name' }, file.name),
    h('span', { class: 'att-file-meta' }, `${typeLabel(file)} · ${humanSize(file.size)}`)),
  h('span', { class: 'att-file-get' }, icon('download')));
}

// Resamples the server's waveform (0..255 values) to WAVE_BARS heights in 0..1; flat without.
function bars(waveform) {
  if (!Array.isArray(waveform) || !waveform.length) return Array(WAVE_BARS).fill(0.12);
  return Array.from({ length: WAVE_BARS }, (_, i) => {
    const v = waveform[Math.min(waveform.length - 1, Math.floor((i * waveform.length) / WAVE_BARS))];
    return Math.max(0.08, Math.min(1, Number(v) / 255));
  });
}

// One player at a time: starting one pauses the others.
function pauseOthers(audio) {
  for (const other of document.querySelectorAll('audio')) if (other !== audio) other.pause();
}

export function voicePlayer(file) {
  const known = file.duration ?? null;
  const audio = h('audio', { src: file.url, preload: 'none' });
  const button = h('button', { type: 'button', class: 'voice-play', 'aria-label': 'Play' }, icon('play'));
  const heights = bars(file.waveform);
  const barEls = heights.map((v) => {
    const bar = h('span', { class: 'voice-bar' });
    bar.style.height = `${Math.round(v * 100)}%`;
    return bar;
  });
  const seek = h('input', {
    type: 'range', class: 'voice-seek', min: 0, max: known || 1, step: 'any', value: 0,
    'aria-label': `Position in ${file.name}`,
  });
  const time = h('span', { class: 'voice-time' }, duration(known));
  const own = file.name.startsWith(VOICE_NOTE_PREFIX);
  const el = h('div', { class: 'voice', 'data-file-id': file.id, 'data-state': 'paused', 'data-waveform': Array.isArray(file.waveform) ? 'yes' : 'flat' },
    button,
    h('div', { class: 'voice-track' }, h('div', { class: 'voice-wave', 'aria-hidden': 'true' }, barEls), seek),
    h('div', { class: 'voice-side' }, time, !own && h('span', { class: 'voice-name' }, file.name)),
    audio);

  const total = () => (Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : known || 0);
  let played = -1;
  // A browser's recording (WebM from MediaRecorder) often says nothing of its length, and the
  // server then has none either: load it (a voice note is small) and seek past the end, after
  // which the browser knows the length.
  let probing = false;
  if (known == null) {
    audio.preload = 'metadata';
    audio.addEventListener('loadedmetadata', () => {
      if (audio.duration !== Infinity) return;
      probing = true;
      audio.currentTime = 1e101;
    }, { once: true });
  }
  audio.addEventListener('durationchange', () => {
    if (!Number.isFinite(audio.duration)) return;
    seek.max = String(audio.duration);
    if (probing) {
      probing = false;
      audio.currentTime = 0;
    }
    paint();
  });

  function paint() {
    if (probing) return;
    const t = audio.currentTime;
    const length = total();
    if (!seek.matches(':active')) seek.value = String(t);
    const upTo = length ? Math.round((t / length) * WAVE_BARS) : 0;
    if (upTo !== played) {
      barEls.forEach((bar, i) => bar.classList.toggle('played', i < upTo));
      played = upTo;
    }
    time.textContent = audio.paused && t === 0 ? duration(length) : duration(t);
    seek.setAttribute('aria-valuetext', `${duration(t)} of ${duration(length)}`);
  }
  function setState(playing) {
    el.dataset.state = playing ? 'playing' : 'paused';
    button.replaceChildren(icon(playing ? 'pause' : 'play'));
    button.setAttribute('aria-label', playing ? 'Pause' : 'Play');
  }
  button.addEventListener('click', () => {
    if (audio.paused) {
      pauseOthers(audio);
      audio.play().catch(() => setState(false));
    } else {
      audio.pause();
    }
  });
  audio.addEventListener('play', () => setState(true));
  audio.addEventListener('pause', () => setState(false));
  audio.addEventListener('ended', () => { setState(false); audio.currentTime = 0; paint(); });
  audio.addEventListener('timeupdate', paint);
  audio.addEventListener('loadedmetadata', () => { seek.max = String(total() || 1); paint(); });
  seek.addEventListener('input', () => {
    if (audio.preload === 'none') audio.preload = 'metadata';
    audio.currentTime = Number(seek.value);
    paint();
  });
  return el;
}

export function attachmentsElement(files) {
  if (!files?.length) return null;
  const media = files.filter((f) => f.kind === 'media' && (f.thumb_url || isVideo(f)));
  const rest = files.filter((f) => !media.includes(f));
  return h('div', { class: 'attachments' },
    media.length > 0 && h('div', { class: `att-grid${media.length > 1 ? ' several' : ''}` }, media.map((f) => mediaThumb(f))),
    rest.map((f) => (isAudio(f) ? voicePlayer(f) : fileCard(f))));
}
