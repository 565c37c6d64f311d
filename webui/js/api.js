// Fetch wrapper for /api/v1: JSON in and out, the cookie session, and one error type.
const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, code, message, fields = [], retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }
}

let unauthenticatedHandler = null;
const SIGNED_OUT_CODES = new Set(['unauthenticated', 'session_revoked']);

// Called when any request finds the session gone (revoked elsewhere, expired).
export function onUnauthenticated(fn) {
  unauthenticatedHandler = fn;
}

function parseRetryAfter(res) {
  const raw = res.headers.get('Retry-After');
  if (!raw) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

export async function request(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body instanceof Blob) { // a picture or file: its bytes as they are
    init.headers['Content-Type'] = body.type || 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch {
    throw new ApiError(0, 'network', "Can't reach the server. Check your connection and try again.");
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (res.ok) return data;
  const e = (data && data.error) || {};
  const err = new ApiError(
    res.status,
    e.code || `http_${res.status}`,
    e.message || 'Something went wrong. Please try again.',
    Array.isArray(e.fields) ? e.fields : [],
    parseRetryAfter(res),
  );
  // A session that ended (signed out elsewhere, by an admin, a disabled account) is as
  // signed out as one that never was.
  if (SIGNED_OUT_CODES.has(err.code) && unauthenticatedHandler) unauthenticatedHandler(err);
  throw err;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body),
  patch: (path, body) => request('PATCH', path, body),
  put: (path, body) => request('PUT', path, body),
  del: (path) => request('DELETE', path),
};

// The text to show a person for an error that is not about one field.
export function errorText(err) {
  if (err.status === 429) {
    return err.retryAfter != null
      ? `Too many attempts, try again in ${err.retryAfter} s.`
      : 'Too many attempts, try again in a moment.';
  }
  return err.message || 'Something went wrong. Please try again.';
}
