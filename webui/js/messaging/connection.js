// The session's WebSocket (realtime.js) and whether it is up: the 'connection' slice, topic
// 'connection'. Ops go over the socket, or over REST when it is down.
import { api } from '../api.js';
import { createRealtime } from '../realtime.js';

const noop = () => {};

export function createConnection(store) {
  const realtime = createRealtime();
  const state = store.slice('connection', { up: false });

  function setUp(up) {
    state.up = up;
    store.changed('connection');
  }

  const offs = [
    realtime.subscribe('ready', () => setUp(true)),
    realtime.subscribe('down', ({ code }) => {
      setUp(false);
      // A refused handshake looks like any network failure: ask REST whether we are signed out.
      if (code !== 1000) api.get('/me').catch(noop);
    }),
    realtime.subscribe('signed-out', () => api.get('/me').catch(noop)),
  ];

  // Over the socket when it is up; over REST when it is not or went down mid-request (every
  // write that uses this is safe to repeat: sends carry their client_id).
  async function callOrRest(type, data, rest) {
    if (!realtime.isReady()) return rest();
    try {
      return await realtime.call(type, data);
    } catch (err) {
      if (err.code === 'offline' || err.code === 'timeout') return rest();
      throw err;
    }
  }

  return {
    // The socket's own news (realtime.js): 'ready', 'event', 'signal', 'reset', 'down'.
    subscribe: realtime.subscribe,
    isUp: () => state.up,
    call: realtime.call,
    callOrRest,
    start: realtime.start,
    destroy() {
      for (const off of offs) off();
      realtime.stop();
      store.release('connection');
    },
  };
}
