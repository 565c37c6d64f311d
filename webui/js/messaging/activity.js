// The unread count of the Activity view (the 'activity' slice): asked on each connection,
// then kept by the `activity` signal (something new concerns me) and activity.read (a device
// of mine looked). The view itself loads when opened (views/activity.js).
import { api } from '../api.js';

export function createActivity(store) {
  const state = store.slice('activity', { unread: 0, readAt: null });
  function set({ unread, read_at: readAt }) {
    Object.assign(state, { unread, readAt });
    store.changed('activity');
  }
  return {
    load: () => api.get('/activity?limit=1').then(set, () => {}),
    read: (upTo) => api.post('/activity/read', upTo ? { up_to: upTo } : {}).then(set),
    events: { 'activity.read': set },
    signals: { activity: set },
    destroy: () => store.release('activity'),
  };
}
