// One file to POST /api/v1/files with XMLHttpRequest (fetch has no upload progress): the raw
// bytes as the body, the name percent-encoded in X-File-Name. upload(file, onProgress) gives
// {promise, abort}; the promise resolves to the File shape or rejects with an ApiError whose
// message is fit to show. A file over the server's limits (from /info) is refused here at
// once: the server answers 413 as soon as it sees the length, but a browser whose upload is
// cut short reports only a network error.
import { ApiError } from '../api.js';
import { humanSize } from './format.js';

function parseError(xhr, file) {
  let e = {};
  try {
    e = JSON.parse(xhr.responseText).error || {};
  } catch { /* not JSON: a proxy or a cut connection */ }
  const status = xhr.status;
  const code = e.code || `http_${status}`;
  const retry = Number(xhr.getResponseHeader('Retry-After'));
  let text;
  if (code === 'quota_exceeded') text = `No room left in your storage for ${file.name}.`;
  else if (code === 'storage_full' || status === 507) text = `The server's storage is full: ${file.name} was not kept.`;
  else if (code === 'image_too_large') text = `${file.name} has too many pixels to be shown.`;
  else if (status === 413) text = `${file.name} (${humanSize(file.size)}) is too large${e.message ? `: ${e.message}` : '.'}`;
  else if (status === 429) text = `Too many uploads, try again in ${Number.isFinite(retry) && retry > 0 ? `${Math.ceil(retry)} s` : 'a moment'}.`;
  else if (code === 'empty_file') text = `${file.name} is empty.`;
  else text = e.message || `Couldn't upload ${file.name}.`;
  return new ApiError(status, code, text);
}

// The server sniffs pictures from their bytes; the browser's type (from the name) is its
// best guess here.
const PICTURE = /^image\/(jpeg|png|gif|webp)$/;

function tooLarge(file, limits) {
  const limit = PICTURE.test(file.type) ? limits?.max_image_bytes : limits?.max_file_bytes;
  if (!limit || file.size <= limit) return null;
  return new ApiError(413, 'payload_too_large',
    `${file.name} (${humanSize(file.size)}) is too large: ${PICTURE.test(file.type) ? 'pictures' : 'files'} may be at most ${humanSize(limit)}.`);
}

// limits: {max_image_bytes, max_file_bytes} as /info gives them, or null.
export function upload(file, onProgress = () => {}, limits = null) {
  const refused = tooLarge(file, limits);
  if (refused) return { promise: Promise.reject(refused), abort: () => {} };
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', '/api/v1/files');
    xhr.setRequestHeader('X-File-Name', encodeURIComponent(file.name || 'file'));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status === 201 || xhr.status === 200) {
        onProgress(1);
        resolve(JSON.parse(xhr.responseText));
      } else {
        reject(parseError(xhr, file));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network', `Couldn't reach the server to upload ${file.name}.`)));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'Upload cancelled.')));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}
