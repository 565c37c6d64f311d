// A tiny event emitter: subscribe(name, fn) returns the function that unsubscribes.
export function createEmitter() {
  const topics = new Map();
  return {
    subscribe(name, fn) {
      if (!topics.has(name)) topics.set(name, new Set());
      topics.get(name).add(fn);
      return () => topics.get(name)?.delete(fn);
    },
    // Every subscriber hears it even if one before it throws (that error is still reported).
    emit(name, ...args) {
      for (const fn of [...(topics.get(name) || [])]) {
        try {
          fn(...args);
        } catch (err) {
          reportError(err);
        }
      }
    },
  };
}
