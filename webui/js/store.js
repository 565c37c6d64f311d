// The app's whole state. Each slice has one writer: main.js the session (info, me, notice),
// messaging/* their parts, call/index.js the calls once loaded. Anyone may read it.
// subscribe(topic, fn) returns the function that unsubscribes. A topic names a slice or a part
// of one ('me', 'timeline:12'): changed(topic) announces it, once per task however many
// changes came. emit(topic, ...args) tells of a moment, not a state, at once ('incoming').
import { createEmitter } from './emitter.js';

export function createStore(initial = {}) {
  const state = { ...initial };
  const emitter = createEmitter();
  const queued = new Set();

  function flush() {
    const topics = [...queued];
    queued.clear();
    for (const topic of topics) emitter.emit(topic);
  }

  function changed(topic) {
    if (!queued.size) queueMicrotask(flush);
    queued.add(topic);
  }

  return {
    get: () => state,
    // Values replaced whole: set({ me, notice }) announces 'me' and 'notice'.
    set(patch) {
      Object.assign(state, patch);
      for (const key of Object.keys(patch)) changed(key);
    },
    // A module's own slice, which it changes in place; kept till release(name).
    slice(name, initial) {
      state[name] = initial;
      return initial;
    },
    release(name) {
      delete state[name];
    },
    changed,
    emit: emitter.emit,
    subscribe: emitter.subscribe,
  };
}
