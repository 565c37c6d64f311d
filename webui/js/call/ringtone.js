// The ringtone: two soft chimes every 2.5 s made with WebAudio oscillators (no audio file).
// Browsers let a page make sound only after the person interacted with it, so it starts only
// then; the incoming call screen shows either way.
const EVERY_MS = 2500;
const NOTES = [[0, 880], [0.16, 1175], [0.6, 880], [0.76, 1175]];

export function createRingtone() {
  let context = null;
  let timer = 0;

  function chime() {
    const now = context.currentTime + 0.05;
    for (const [at, frequency] of NOTES) {
      const osc = context.createOscillator();
      const gain = context.createGain();
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.2, now + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.4);
      osc.connect(gain).connect(context.destination);
      osc.start(now + at);
      osc.stop(now + at + 0.42);
    }
  }

  return {
    start() {
      if (timer || (navigator.userActivation && !navigator.userActivation.hasBeenActive)) return;
      try {
        context = new AudioContext();
        context.resume().catch(() => {});
        chime();
        timer = setInterval(chime, EVERY_MS);
      } catch {
        context = null;
      }
    },
    stop() {
      clearInterval(timer);
      timer = 0;
      context?.close().catch(() => {});
      context = null;
    },
  };
}
