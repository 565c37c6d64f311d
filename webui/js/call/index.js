// Calls in this browser, loaded on demand by hook.js: the call this device is in (one at a
// time), the one ringing it, the calls going on in my chats (for join bars), and the signals
// that move them along. They are the store's 'calls' slice (topic 'calls') from the moment
// this loads. Media is session.js's job; the screens are view.js's.
import { h } from '../dom.js';
import { errorText } from '../api.js';
import { notifyNewMessage } from '../notify.js';
import { duration } from './log.js';
import { createRingtone } from './ringtone.js';
import { createSession } from './session.js';
import { createCallView, incomingView, renderJoinBar } from './view.js';

await new Promise((resolve) => {
  const link = h('link', { rel: 'stylesheet', href: new URL('./call.css', import.meta.url).pathname });
  link.onload = link.onerror = resolve;
  document.head.append(link);
});

const STATS_MS = 1000;
const ENDED = { declined: 'Call declined.', busy: 'They are in another call.', missed: 'No answer.', failed: 'The call failed.' };

export function createCalls(ctx, openBar) {
  const { store, me, people, chats } = ctx;
  const op = (type, data) => ctx.connection.call(type, data);
  const ringtone = createRingtone();
  const calls = store.slice('calls', {
    going: new Map(), // call id -> Call ringing or going on in my chats
    incoming: null, // {call, el}
    current: null, // the call this device is in; see enter()
  });
  const { going } = calls;
  const changed = () => store.changed('calls');
  const unsubscribe = store.subscribe('calls', renderBar);

  const chatOf = (call) => chats.get(call.chat_id);
  const direct = (call) => chatOf(call)?.kind === 'direct';
  const kindText = (call) => (call.kind === 'video' ? 'video call' : 'audio call');

  function remember(call) {
    if (call.state === 'ended') going.delete(call.id);
    else going.set(call.id, { ...going.get(call.id), ...call });
    changed();
  }

  // ---- the join bar of the chat on screen
  function renderBar() {
    const bar = openBar();
    if (!bar) return;
    const call = [...going.values()].find((c) => c.chat_id === bar.chatId && c.id !== calls.current?.call.id && c.id !== calls.incoming?.call.id &&
      (c.state === 'active' || c.started_by !== me.id));
    renderJoinBar(bar.el, call, call && `${call.kind === 'video' ? 'Video' : 'Audio'} call going on`, () => join(call, 'call.join'));
  }

  // ---- ringing
  function showIncoming(call) {
    const chat = chatOf(call);
    const name = people.nameOf(call.started_by);
    const where = chat && chat.kind !== 'direct' ? ` in ${chats.title(chat)}` : '';
    const text = `Incoming ${kindText(call)}${where}`;
    const el = incomingView({
      user: people.user(call.started_by) || { id: call.started_by }, title: name, text,
      onAccept: () => join(call, 'call.accept'),
      onDecline: () => {
        closeIncoming();
        op('call.decline', { call_id: call.id }).catch(() => {});
      },
    });
    calls.incoming = { call, el };
    document.body.append(el);
    changed();
    ctx.announce(`${name}: ${text}`);
    if (chats.isMuted(chat)) return; // muted: the call shows, but neither rings nor notifies
    ringtone.start();
    notifyNewMessage({ title: name, body: text, tag: `call-${call.id}`, url: `/chats/${call.chat_id}`, onClick: () => ctx.navigate(`/chats/${call.chat_id}`) });
  }

  function closeIncoming(callId = null) {
    if (!calls.incoming || (callId != null && calls.incoming.call.id !== callId)) return;
    calls.incoming.el.remove();
    calls.incoming = null;
    ringtone.stop();
    changed();
  }

  // ---- being in a call
  function enter(call, phase) {
    closeIncoming();
    const view = createCallView(chats.title(chatOf(call)) || 'Call', {
      mute: () => toggle('mic'), camera: () => toggle('camera'), screen: () => toggle('screen'), hangup,
    });
    const mine = {
      call, phase, view, ready: false, rang: false, since: 0, early: [], speaker: null, slots: [],
      participants: new Set([me.id, ...(call.participants || [])]), media: new Map(),
      session: createSession({ op, onChange: render }),
    };
    calls.current = mine;
    mine.timer = setInterval(tick, STATS_MS);
    document.body.append(view.el);
    view.el.querySelector('h2').focus(); // keyboard and screen reader users start in the call
    changed();
    render();
    // The camera and microphone while the call is set up (the preview shows meanwhile).
    const video = call.kind === 'video';
    mine.opened = mine.session.open(video).then((ok) => {
      if (!ok && calls.current === mine) ctx.announce(video ? "Couldn't use your camera or microphone." : "Couldn't use your microphone.");
    });
    return mine;
  }

  // The server's answer to start, accept or join: the call is ours, media can flow.
  async function begin(mine, call) {
    remember(call);
    mine.call = { ...call };
    mine.ready = true;
    if (mine.phase === 'starting') mine.phase = 'outgoing';
    if (call.state === 'active' && mine.phase !== 'outgoing') activate();
    for (const frame of mine.early.splice(0)) signal(frame);
    await mine.opened;
    if (calls.current !== mine || mine.ended) return;
    sendMedia();
    await mine.session.publish(call.id);
  }

  function activate() {
    if (calls.current.phase === 'active') return;
    calls.current.phase = 'active';
    const answered = Date.parse(calls.current.call.answered_at || '');
    calls.current.since = Number.isNaN(answered) ? Date.now() : Math.min(Date.now(), answered);
    render();
  }

  async function start(chatId, kind) {
    if (calls.current) {
      if (calls.current.call.chat_id !== chatId) ctx.announce("You're already in a call.");
      calls.current.view.el.classList.remove('mini');
      return;
    }
    const existing = [...going.values()].find((c) => c.chat_id === chatId);
    if (existing && calls.incoming?.call.id === existing.id) return join(existing, 'call.accept');
    if (existing && (existing.state === 'active' || existing.started_by !== me.id)) return join(existing, 'call.join');
    const mine = enter({ chat_id: chatId, kind, started_by: me.id, participants: [me.id] }, 'starting');
    let call;
    try {
      call = await op('call.start', { chat_id: chatId, kind });
    } catch (err) {
      if (calls.current === mine) leave(`Couldn't start the call: ${errorText(err)}`);
      return;
    }
    // Hung up before the server answered: the call rings by now, so end it.
    if (calls.current !== mine) op('call.end', { call_id: call.id }).catch(() => {});
    else await begin(mine, call).catch((err) => fail(mine, err));
  }

  // Accept a ringing call, or join (again) one going on.
  async function join(call, how) {
    if (calls.current) {
      ctx.announce("You're already in a call.");
      return;
    }
    const mine = enter(call, 'joining');
    let joined;
    try {
      joined = await op(how, { call_id: call.id });
    } catch (err) {
      if (calls.current === mine) leave(`Couldn't join the call: ${errorText(err)}`);
      return;
    }
    if (calls.current !== mine) return;
    activate();
    await begin(mine, joined).catch((err) => fail(mine, err));
  }

  function fail(mine, err) {
    if (calls.current === mine) leave(`The call failed: ${errorText(err)}`, 'call.leave');
  }

  function hangup() {
    const { call, phase, participants } = calls.current;
    // A direct call ends for both; a group call goes on without me, unless nobody came yet.
    leave('Call ended.', direct(call) || (phase !== 'active' && participants.size <= 1) ? 'call.end' : 'call.leave');
  }

  // Off the screen at once; with an op (call.leave, call.end), the media stops when the server
  // has answered it: the server lets go of its side first, rather than seeing ours drop.
  function leave(text = '', how = null) {
    if (!calls.current) return;
    const { timer, session, view, early, call, ready } = calls.current;
    clearInterval(timer);
    if (how && ready) op(how, { call_id: call.id }).catch(() => {}).finally(session.close);
    else session.close();
    view.el.remove();
    calls.current = null;
    if (text) ctx.announce(text);
    changed();
    for (const frame of early) signal(frame);
  }

  // The call is over before it began (the callee is on another call): the view stays to say so,
  // with "Leave a message" (the chat, its composer focused) and "Close".
  function endWithChoice(text) {
    const mine = calls.current;
    if (!mine) return;
    mine.ended = true;
    clearInterval(mine.timer);
    mine.session.close();
    const chatId = mine.call.chat_id;
    mine.view.ended(text, [
      {
        id: 'call-leave-message', label: 'Leave a message', primary: true,
        onclick: () => {
          leave();
          ctx.navigate(`/chats/${chatId}`);
          requestAnimationFrame(() => document.getElementById('composer')?.focus());
        },
      },
      { id: 'call-close', label: 'Close', onclick: () => leave() },
    ]);
    ctx.announce(text);
    changed();
  }

  async function toggle(source) {
    const mine = calls.current;
    if (!mine) return;
    const was = mine.session.state();
    try {
      if (source === 'mic') await mine.session.setMic(!was.mic);
      if (source === 'camera') await mine.session.setCamera(!was.camera);
      if (source === 'screen') await mine.session.setScreen(!was.screen);
    } catch (err) {
      ctx.announce(errorText(err));
    }
    if (calls.current !== mine) return;
    if (source === 'camera' && !was.camera && !mine.session.state().camera) ctx.announce("Couldn't start your camera.");
    sendMedia();
    render();
  }

  function sendMedia() {
    if (!calls.current?.ready) return;
    op('call.media', { call_id: calls.current.call.id, ...calls.current.session.state() }).catch(() => {});
  }

  // ---- drawing
  function person(id) {
    const self = id === me.id;
    const flags = calls.current.media.get(id) || {};
    const session = calls.current.session;
    const stream = self ? session.preview('camera') : flags.camera === false ? null : session.streamOf(id, 'camera');
    return {
      id, self, user: people.user(id) || { id }, name: people.nameOf(id), stream: stream || null,
      muted: self ? !session.state().mic : flags.mic === false, speaking: calls.current.speaker === id,
    };
  }

  function render() {
    if (!calls.current) return;
    const { call, view, session, phase } = calls.current;
    const ids = new Set(calls.current.participants);
    for (const slot of calls.current.slots) if (slot.user_id != null) ids.add(slot.user_id);
    const peer = chatOf(call)?.peer;
    if (peer && phase !== 'active') ids.add(peer.id);
    const sharer = calls.current.slots.find((s) => s.source === 'screen' && s.user_id != null && session.streamOf(s.user_id, 'screen'));
    const ownScreen = session.preview('screen');
    const stage = sharer
      ? { stream: session.streamOf(sharer.user_id, 'screen'), name: `${people.nameOf(sharer.user_id)} is presenting` }
      : ownScreen && { stream: ownScreen, name: 'You are presenting' };
    view.render({
      people: [...ids].map(person), stage: stage || null,
      mine: session.state(),
    });
    view.audio(session.audio());
    const health = session.health();
    view.status(phase === 'starting' || phase === 'joining' ? 'Connecting…'
      : phase === 'outgoing' ? (calls.current.rang ? 'Ringing…' : 'Calling…')
        : health === 'failed' ? 'Connection lost' : health === 'disconnected' ? 'Reconnecting…' : '');
  }

  function tick() {
    if (!calls.current) return;
    calls.current.view.timer(calls.current.since ? duration((Date.now() - calls.current.since) / 1000) : '');
    const mine = calls.current;
    mine.session.stats().then((stats) => {
      mine.view.el.dataset.stats = JSON.stringify(stats);
    }, () => {});
  }

  // ---- signals
  const handlers = {
    'call.incoming': ({ call }) => {
      remember(call);
      if (!calls.current && !calls.incoming && call.started_by !== me.id) showIncoming(call);
    },
    'call.ringing': ({ call }) => {
      remember(call);
      if (calls.current?.call.id !== call.id) return;
      calls.current.rang = true;
      render();
    },
    'call.accepted': ({ call_id: id, user_id: userId }) => {
      if (going.has(id)) going.get(id).state = 'active';
      if (userId === me.id && calls.current?.call.id !== id) closeIncoming(id); // answered on another device
      if (calls.current?.call.id === id) {
        calls.current.participants.add(userId);
        activate();
      }
      changed();
    },
    'call.declined': ({ call_id: id, user_id: userId, reason }) => {
      if (userId === me.id) closeIncoming(id);
      if (calls.current?.call.id === id && calls.current.phase === 'outgoing' && direct(calls.current.call)) {
        if (reason === 'busy') endWithChoice(`${people.nameOf(userId)} is on another call.`);
        else leave(`${people.nameOf(userId)} declined the call.`);
      }
    },
    'call.missed': ({ call_id: id }) => {
      if (calls.incoming?.call.id === id) {
        ctx.announce(`Missed ${kindText(calls.incoming.call)} from ${people.nameOf(calls.incoming.call.started_by)}.`);
        closeIncoming(id);
      }
      if (calls.current?.call.id === id && calls.current.phase === 'outgoing') leave(ENDED.missed);
    },
    'call.ended': ({ call }) => {
      remember({ ...call, state: 'ended' });
      closeIncoming(call.id);
      if (calls.current?.call.id === call.id && !calls.current.ended) leave(ENDED[call.outcome] || 'Call ended.');
    },
    'call.participant.joined': ({ call_id: id, user_id: userId }) => {
      if (calls.current?.call.id !== id) return;
      calls.current.participants.add(userId);
      if (userId !== me.id) activate();
      render();
    },
    'call.participant.left': ({ call_id: id, user_id: userId }) => {
      if (calls.current?.call.id !== id) return;
      // Out without hanging up here: removed from the chat, blocked, or signed out elsewhere.
      if (userId === me.id) return leave('You are no longer in this call.');
      calls.current.participants.delete(userId);
      calls.current.media.delete(userId);
      render();
    },
    'call.media': ({ call_id: id, user_id: userId, ...flags }) => {
      if (calls.current?.call.id !== id) return;
      calls.current.media.set(userId, flags);
      render();
    },
    'sfu.offer': ({ call_id: id, sdp }) => {
      const mine = calls.current;
      if (mine?.call.id !== id) return;
      mine.session.subscribe(id, sdp).then(render, (err) => fail(mine, err));
    },
    'call.slots': ({ call_id: id, slots }) => {
      if (calls.current?.call.id !== id) return;
      calls.current.slots = slots || [];
      calls.current.session.setSlots(calls.current.slots);
      render();
    },
    'speaker.active': ({ call_id: id, user_id: userId }) => {
      if (calls.current?.call.id !== id) return;
      calls.current.speaker = userId;
      render();
    },
  };

  function signal(frame) {
    const { event, data } = frame;
    const id = data.call_id ?? data.call?.id;
    // Signals about the call being started or joined may overtake the op's reply: kept till then.
    if (calls.current && !calls.current.ready && id != null && (calls.current.phase === 'starting' || id === calls.current.call.id)) {
      calls.current.early.push(frame);
      return;
    }
    handlers[event]?.(data);
  }

  // What /calls/active says after a (re)connection: signals missed meanwhile are not replayed.
  function adopt(list) {
    const ids = new Set(list.map((c) => c.id));
    going.clear();
    for (const call of list) going.set(call.id, call);
    if (calls.incoming && !ids.has(calls.incoming.call.id)) closeIncoming();
    if (calls.current?.ready && !ids.has(calls.current.call.id)) leave('Call ended.');
    // Ringing here too; one going on shows its join bar (a reload left it: the server saw us go).
    const ringing = list.find((c) => c.state === 'ringing' && c.started_by !== me.id && !c.participants.includes(me.id));
    if (ringing && !calls.current && !calls.incoming) showIncoming(ringing);
    changed();
  }

  return {
    signal, adopt, renderBar,
    start: (chatId, kind) => start(chatId, kind).catch((err) => ctx.announce(errorText(err))),
    destroy() {
      leave('', 'call.leave');
      closeIncoming();
      unsubscribe();
      store.release('calls');
    },
  };
}
