// The WebSocket to /api/v1/ws: hello and resume from the last seq seen, requests matched to
// their results by id, a ping every 25 s, reconnect with backoff (1 s doubling to 30 s, jittered).
//
// Emits: 'ready' {user_id, seq, presence, resumed}, 'event' frame, 'signal' frame,
// 'reset' {seq} (the server no longer has what we missed: reload), 'down', 'signed-out'.
import { ApiError } from './api.js';
import { createEmitter } from './emitter.js';

const PING_MS = 25_000;
const REPLY_TIMEOUT_MS = 15_000;
const BACKOFF_FIRST_MS = 1000;
// On a LAN the server is back within seconds of a restart; a 8 s cap keeps people from waiting
// half a minute for it, and a few dozen devices retrying every 8 s cost a Pi nothing.
const BACKOFF_MAX_MS = 8_000;
const SIGNED_OUT = 4001;

export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
  return Math.min(BACKOFF_MAX_MS, Math.round(base * (0.8 + 0.4 * random())));
}

function defaultUrl() {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/ws`;
}

function resultError(error) {
  const e = error || {};
  return new ApiError(e.code === 'rate_limited' ? 429 : 400, e.code || 'error',
    e.message || 'Something went wrong. Please try again.', e.fields || []);
}

export function createRealtime({ url = defaultUrl() } = {}) {
  const emitter = createEmitter();
  const waiting = new Map();
  let socket = null;
  let ready = false;
  let stopped = true;
  let lastSeq = null;
  let attempt = 0;
  let nextId = 1;
  let retryTimer = 0;
  let pingTimer = 0;

  function send(frame) {
    socket.send(JSON.stringify(frame));
  }

  function request(type, data) {
    const id = `c${nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new ApiError(0, 'timeout', 'The server did not answer in time.'));
      }, REPLY_TIMEOUT_MS);
      waiting.set(id, { resolve, reject, timer });
      send({ id, type, data });
    });
  }

  function rejectAll() {
    for (const { reject, timer } of waiting.values()) {
      clearTimeout(timer);
      reject(new ApiError(0, 'offline', 'The connection to the server was lost.'));
    }
    waiting.clear();
  }

  function schedule() {
    if (stopped) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, backoffDelay(attempt++));
  }

  // Forget a socket, whatever state it is in, and plan the next attempt.
  function drop(which, code) {
    if (which !== socket) return;
    which.onopen = which.onmessage = which.onclose = which.onerror = null;
    if (which.readyState < WebSocket.CLOSING) which.close();
    socket = null;
    ready = false;
    clearInterval(pingTimer);
    rejectAll();
    emitter.emit('down', { code });
    if (code === SIGNED_OUT) {
      stopped = true;
      emitter.emit('signed-out');
      return;
    }
    schedule();
  }

  async function hello(which) {
    try {
      const data = await request('hello', { resume_from: lastSeq });
      if (which !== socket) return;
      const resumed = lastSeq != null;
      if (lastSeq == null) lastSeq = data.seq;
      ready = true;
      attempt = 0;
      pingTimer = setInterval(ping, PING_MS);
      emitter.emit('ready', { ...data, resumed });
    } catch (err) {
      if (err.code === 'unauthenticated' || err.code === 'session_revoked') drop(which, SIGNED_OUT);
      else drop(which, 0);
    }
  }

  function ping() {
    const which = socket;
    // No answer in time means a dead link the browser has not noticed yet.
    request('ping', {}).catch(() => drop(which, 0));
  }

  function onFrame(frame) {
    if (frame.type === 'result') {
      const pending = waiting.get(frame.id);
      if (!pending) return;
      waiting.delete(frame.id);
      clearTimeout(pending.timer);
      if (frame.ok) pending.resolve(frame.data || {});
      else pending.reject(resultError(frame.error));
    } else if (frame.type === 'event') {
      if (lastSeq != null && frame.seq <= lastSeq) return;
      lastSeq = frame.seq;
      emitter.emit('event', frame);
    } else if (frame.type === 'signal') {
      if (frame.event === 'sync.reset') {
        lastSeq = frame.data.seq;
        emitter.emit('reset', frame.data);
      } else {
        emitter.emit('signal', frame);
      }
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    if (stopped || socket) return;
    const which = new WebSocket(url);
    socket = which;
    which.onopen = () => hello(which);
    which.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame && typeof frame === 'object') onFrame(frame);
    };
    which.onclose = (event) => drop(which, event.code);
  }

  function onOnline() {
    if (stopped || ready) return;
    attempt = 0;
    if (socket) drop(socket, 0);
    else connect();
  }

  return {
    subscribe: emitter.subscribe,
    isReady: () => ready,
    start() {
      stopped = false;
      addEventListener('online', onOnline);
      connect();
    },
    stop() {
      stopped = true;
      removeEventListener('online', onOnline);
      clearTimeout(retryTimer);
      if (socket) drop(socket, 1000);
    },
    // An op over the socket; rejects at once when not connected so the caller can use REST.
    call(type, data = {}) {
      if (!ready) return Promise.reject(new ApiError(0, 'offline', 'Not connected to the server.'));
      return request(type, data);
    },
  };
}
