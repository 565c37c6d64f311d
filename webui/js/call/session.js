// The media of one call on this device (DESIGN §6). Two peer connections, never any STUN or
// TURN server, each negotiated once:
// - publish: this browser offers audio, camera and screen transceivers (in that order); mute,
//   camera off and screen share swap tracks with replaceTrack, never renegotiate;
// - subscribe: the server offers a fixed set of receiving slots and says with call.slots which
//   participant and source feeds each one (by mid).
const GATHER_MS = 5000;
const VIDEO = ['video/vp8', 'video/rtx'];

function gathered(pc) {
  return new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', check);
    setTimeout(resolve, GATHER_MS); // whatever was found by then
    check();
  });
}

// VP8 and Opus only, so no participant ever needs the server to transcode.
function prefer(transceiver, kind, mimes) {
  const codecs = (RTCRtpReceiver.getCapabilities?.(kind)?.codecs || [])
    .filter((c) => mimes.includes(c.mimeType.toLowerCase()));
  try {
    if (codecs.length) transceiver.setCodecPreferences?.(codecs);
  } catch {
    // The answer still picks from what both sides have.
  }
}

export function createSession({ op, onChange }) {
  const local = { mic: null, camera: null, screen: null };
  const on = { mic: true, camera: false, screen: false };
  const previews = new WeakMap(); // track -> MediaStream, so a <video> keeps its srcObject
  const streams = new Map(); // mid -> MediaStream of that receiving slot
  let senders = null;
  let pub = null;
  let sub = null;
  let slots = [];
  let closed = false;

  async function capture(constraints) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {
      return null;
    }
  }

  // The microphone (and camera for video calls); false when a wanted device could not be had.
  async function open(video) {
    const stream = (await capture({ audio: true, video })) || (video ? await capture({ audio: true }) : null);
    if (closed) {
      stream?.getTracks().forEach((t) => t.stop());
      return true;
    }
    local.mic = stream?.getAudioTracks()[0] || null;
    local.camera = stream?.getVideoTracks()[0] || null;
    on.camera = !!local.camera;
    onChange();
    return !!local.mic && (!video || on.camera);
  }

  function sending(source) {
    return on[source] ? local[source] : null;
  }

  async function publish(callId) {
    pub = new RTCPeerConnection({ iceServers: [] });
    pub.addEventListener('connectionstatechange', onChange);
    const audio = pub.addTransceiver('audio', { direction: 'sendonly' });
    const camera = pub.addTransceiver('video', { direction: 'sendonly' });
    const screen = pub.addTransceiver('video', { direction: 'sendonly' });
    prefer(audio, 'audio', ['audio/opus']);
    prefer(camera, 'video', VIDEO);
    prefer(screen, 'video', VIDEO);
    senders = { mic: audio.sender, camera: camera.sender, screen: screen.sender };
    await Promise.all(Object.keys(senders).map((s) => senders[s].replaceTrack(sending(s))));
    await pub.setLocalDescription(await pub.createOffer());
    await gathered(pub);
    if (closed) return;
    const { sdp } = await op('sfu.offer', { call_id: callId, sdp: pub.localDescription.sdp });
    if (!closed) await pub.setRemoteDescription({ type: 'answer', sdp });
  }

  async function subscribe(callId, sdp) {
    sub?.close();
    const pc = new RTCPeerConnection({ iceServers: [] });
    sub = pc;
    pc.addEventListener('connectionstatechange', onChange);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    streams.clear();
    for (const t of pc.getTransceivers()) {
      if (t.mid != null) streams.set(t.mid, new MediaStream([t.receiver.track]));
    }
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    if (closed || pc !== sub) return;
    await op('sfu.answer', { call_id: callId, sdp: pc.localDescription.sdp });
    onChange();
  }

  async function setMic(value) {
    on.mic = value && !!local.mic;
    await senders?.mic.replaceTrack(sending('mic'));
  }

  async function setCamera(value) {
    if (value && !local.camera) {
      const stream = await capture({ video: true });
      local.camera = stream?.getVideoTracks()[0] || null;
    } else if (!value && local.camera) {
      local.camera.stop();
      local.camera = null;
    }
    on.camera = !!local.camera;
    await senders?.camera.replaceTrack(sending('camera'));
  }

  async function setScreen(value) {
    if (value && !local.screen) {
      try {
        const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
        local.screen = stream.getVideoTracks()[0];
        local.screen.contentHint = 'detail';
        // Stopped from the browser's own "Stop sharing" bar.
        local.screen.addEventListener('ended', () => setScreen(false).then(onChange, onChange));
      } catch {
        local.screen = null;
      }
    } else if (!value && local.screen) {
      local.screen.stop();
      local.screen = null;
    }
    on.screen = !!local.screen;
    await senders?.screen.replaceTrack(sending('screen'));
  }

  function preview(source) {
    const track = sending(source);
    if (!track) return null;
    if (!previews.has(track)) previews.set(track, new MediaStream([track]));
    return previews.get(track);
  }

  // The stream of the slot showing this participant's source ('camera' or 'screen').
  function streamOf(userId, source) {
    const slot = slots.find((s) => s.kind === 'video' && s.user_id === userId && s.source === source);
    return (slot && streams.get(slot.mid)) || null;
  }

  // A small summary for the UI and for tests: frames decoded and audio packets received per
  // participant (through the slots), totals, packets sent and both connections' states.
  async function stats() {
    const out = { users: {}, frames: 0, packets: 0, sent: 0, pub: pub?.connectionState || 'new', sub: sub?.connectionState || 'new' };
    if (sub) {
      (await sub.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const slot = slots.find((x) => x.mid === s.mid);
        const count = s.kind === 'video' ? s.framesDecoded || 0 : s.packetsReceived || 0;
        const key = s.kind === 'video' ? 'frames' : 'packets';
        out[key] += count;
        if (slot?.user_id == null) return;
        const user = (out.users[slot.user_id] ||= { frames: 0, packets: 0 });
        user[key] += count;
      });
    }
    if (pub) (await pub.getStats()).forEach((s) => { if (s.type === 'outbound-rtp') out.sent += s.packetsSent || 0; });
    return out;
  }

  return {
    open, publish, subscribe, setMic, setCamera, setScreen, preview, streamOf, stats,
    state: () => ({ ...on }),
    setSlots(list) {
      slots = list || [];
    },
    // The receiving audio slots: each plays in its own <audio>, whoever feeds it.
    audio: () => [...streams.values()].filter((s) => s.getAudioTracks().length),
    health() {
      const states = [pub, sub].filter(Boolean).map((pc) => pc.connectionState);
      return states.includes('failed') ? 'failed' : states.includes('disconnected') ? 'disconnected' : 'ok';
    },
    close() {
      closed = true;
      for (const track of Object.values(local)) track?.stop();
      pub?.close();
      sub?.close();
    },
  };
}
