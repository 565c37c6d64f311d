// How files read for people: "2.4 MB", "1:07", "PDF".
const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'];

export function humanSize(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return '0:00';
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const TYPE_LABELS = {
  'application/pdf': 'PDF',
  'application/zip': 'ZIP archive',
  'application/octet-stream': 'File',
};

// "PDF", "JPEG image", or the name's extension when the type says nothing.
export function typeLabel(file) {
  if (TYPE_LABELS[file.type] && file.type !== 'application/octet-stream') return TYPE_LABELS[file.type];
  const [major, minor] = file.type.split('/');
  if (['image', 'video', 'audio'].includes(major)) return `${minor.toUpperCase()} ${major}`;
  const ext = /\.([a-z0-9]{1,8})$/i.exec(file.name || '');
  return ext ? `${ext[1].toUpperCase()} file` : 'File';
}

export const isVideo = (file) => file.type.startsWith('video/');
export const isImage = (file) => file.type.startsWith('image/');
export const isAudio = (file) => file.type.startsWith('audio/');

// Whether a recording made here (the recorder names its files so).
export const VOICE_NOTE_PREFIX = 'Voice note';

// What a message of files without a caption reads as in the chat list and a notification.
export function filesText(files) {
  if (files.length > 1) return `${files.length} files`;
  const [f] = files;
  if (isAudio(f)) return f.duration != null ? `Voice note (${duration(f.duration)})` : 'Voice note';
  if (isImage(f)) return 'Photo';
  if (isVideo(f)) return 'Video';
  return f.name;
}
