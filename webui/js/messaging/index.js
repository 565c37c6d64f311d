// The messaging session of the signed-in person: one WebSocket and the state it keeps current.
// One module per part, each the only writer of its slice of the app store: connection,
// people, chats, history (loaded messages), typing, outbox (what this device writes). A
// server event goes to every part that handles it (their `events`), a signal likewise.
import { createActivity } from './activity.js';
import { createChats } from './chats.js';
import { createConnection } from './connection.js';
import { createHistory } from './history.js';
import { createOutbox } from './outbox.js';
import { createPeople } from './people.js';
import { createTyping } from './typing.js';

const noop = () => {};

export function createMessaging(store, me) {
  const connection = createConnection(store);
  const people = createPeople(store, { me, connection });
  const history = createHistory(store, { me });
  const typing = createTyping(store, { me, connection });
  const chats = createChats(store, { me, connection, people, history });
  const outbox = createOutbox(store, { me, connection, history, apply });
  const activity = createActivity(store);
  // In this order: chats reads the timelines as history has just changed them.
  const parts = [outbox, history, typing, people, chats, activity];

  // A server event, or a change of ours applied before the server's event about it comes.
  function apply(event, data) {
    if ((data.thread_root_id && !data.also_to_chat) || event.startsWith('thread.')) return store.emit('thread', event, data);
    for (const part of parts) part.events[event]?.(data);
  }

  function onReady({ presence, resumed }) {
    people.onlineNow(presence || []);
    if (document.visibilityState === 'hidden') people.sendPresence();
    // A first connection replays nothing: reload what may have changed before the hello.
    if (!resumed) chats.loadAll().catch(noop);
    activity.load();
  }

  function onReset() {
    history.clear();
    chats.loadAll().catch(noop);
    store.emit('reset');
  }

  function onVisibility() {
    people.sendPresence();
    chats.markActiveRead();
  }

  const offs = [
    connection.subscribe('ready', onReady),
    connection.subscribe('event', ({ event, data }) => apply(event, data)),
    connection.subscribe('signal', ({ event, data }) => {
      for (const part of parts) part.signals?.[event]?.(data);
    }),
    connection.subscribe('reset', onReset),
  ];

  return {
    me, connection, people, chats, history, typing, outbox, activity,
    start() {
      document.addEventListener('visibilitychange', onVisibility);
      connection.start();
      return chats.loadAll();
    },
    destroy() {
      document.removeEventListener('visibilitychange', onVisibility);
      for (const off of offs) off();
      for (const part of [connection, ...parts]) part.destroy();
    },
  };
}
