// The people this session has met (in chats, members, contacts, or asked for by id) and who is
// online: the 'people' slice. Topics: 'users', 'presence', 'contacts'.
import { api } from '../api.js';

const noop = () => {};

export function createPeople(store, { me, connection }) {
  const state = store.slice('people', { users: new Map([[me.id, me]]), asked: new Set(), presence: new Map() });
  const { users, asked, presence } = state;

  function remember(user) {
    if (user && user.id != null) users.set(user.id, { ...users.get(user.id), ...user });
  }

  // Null until known; the first ask for someone unknown fetches them ('users' when they come).
  function user(id) {
    if (users.has(id)) return users.get(id);
    if (id != null && !asked.has(id)) {
      asked.add(id);
      api.get(`/users/${id}`).then((u) => { remember(u); store.changed('users'); }, noop);
    }
    return null;
  }

  function nameOf(id) {
    const u = user(id);
    return u ? u.display_name || u.username : 'Someone';
  }

  // Not online now: offline, seen last when the server last told us (members carry last_seen_at).
  // While the socket is down nobody else's presence is known: 'unknown', shown as nothing.
  function presenceOf(userId) {
    if (userId !== me.id && !connection.isUp()) return { user_id: userId, status: 'unknown', last_seen_at: null };
    return presence.get(userId) || { user_id: userId, status: 'offline', last_seen_at: users.get(userId)?.last_seen_at || null };
  }
  // Hello brings who is online again ('presence' then); until it does, nobody is shown online.
  const offDown = connection.subscribe('down', () => store.changed('presence'));

  // Who is online as the server said at hello.
  function onlineNow(list) {
    presence.clear();
    for (const p of list) presence.set(p.user_id, p);
    store.changed('presence');
  }

  function sendPresence() {
    connection.call('presence.set', { status: document.visibilityState === 'hidden' ? 'away' : 'online' }).catch(noop);
  }

  const contactChanged = (d) => {
    remember(d.user);
    store.changed('contacts');
  };

  return {
    user, nameOf, remember, presenceOf, onlineNow, sendPresence,
    events: {
      'contact.requested': contactChanged,
      'contact.accepted': contactChanged,
      'contact.removed': () => store.changed('contacts'),
      'user.updated': (d) => {
        remember(d);
        if (d.id === me.id) store.set({ me: { ...store.get().me, ...d } });
        store.changed('users');
      },
    },
    signals: {
      presence(data) {
        presence.set(data.user_id, data);
        store.changed('presence');
      },
    },
    destroy() {
      offDown();
      store.release('people');
    },
  };
}
