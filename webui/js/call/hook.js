// The always-loaded part of calls: the header buttons, the join bar slot of the open chat and
// a listener that loads the calls code (./index.js) on the first call signal, call click or
// call going on at (re)connection. Everything else about calls lives in that lazy module.
import { h } from '../dom.js';
import { api } from '../api.js';
import { icon } from '../components/icons.js';

const SIGNAL = /^(call|sfu|speaker)\./;

export function createCallHook(ctx) {
  const { connection } = ctx;
  const early = [];
  let calls = null;
  let loading = null;
  let bar = null; // {chatId, el}: the join bar of the chat on screen

  function load() {
    loading ||= import('./index.js').then((module) => {
      calls = module.createCalls(ctx, () => bar);
      for (const frame of early.splice(0)) calls.signal(frame);
      return calls;
    }, (err) => {
      loading = null; // try again next time
      early.length = 0;
      throw err;
    });
    return loading;
  }

  const offs = [
    connection.subscribe('signal', (frame) => {
      if (!SIGNAL.test(frame.event)) return;
      if (calls) calls.signal(frame);
      else {
        early.push(frame);
        load().catch(() => ctx.announce("Couldn't load calls."));
      }
    }),
    // Signals are not replayed: after any (re)connection ask what is ringing or going on.
    connection.subscribe('ready', () => {
      api.get('/calls/active').then(({ calls: list }) => {
        if (calls || list.length) return load().then((c) => c.adopt(list));
      }).catch(() => {});
    }),
  ];

  function start(chatId, kind) {
    load().then((c) => c.start(chatId, kind), () => ctx.announce("Couldn't load calls."));
  }

  return {
    start,
    buttons: (chatId) => [['audio', 'phone', 'Audio call'], ['video', 'video', 'Video call']].map(([kind, name, label]) =>
      h('button', { type: 'button', id: `call-${kind}`, class: 'icon-btn', 'aria-label': label, title: label, onclick: () => start(chatId, kind) },
        icon(name))),
    bar(chatId) {
      bar = { chatId, el: h('div', { id: 'call-bar', class: 'call-bar', hidden: true }) };
      calls?.renderBar();
      return bar.el;
    },
    destroy() {
      for (const off of offs) off();
      calls?.destroy();
    },
  };
}
