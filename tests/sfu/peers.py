"""aiortc client peers for SFU tests and bench/sfu.py: a moving-pattern camera, a tone for a
microphone, and a Peer that joins a call the way a browser does (publish offer with audio,
camera and screen transceivers; answer to the server's subscribe offer), then decodes what
it receives and counts it per slot."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from appliance.sfu import hooks
from appliance.sfu.room import configuration

VIDEO_RATE = 90_000
AUDIO_RATE = 48_000


class PatternTrack(MediaStreamTrack):
    """A moving pattern: something a real encoder has to work on (not a flat frame)."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        yy, xx = np.mgrid[0:height, 0 : width * 2]
        texture = 128 + 60 * np.sin(xx / 13.0) * np.cos(yy / 11.0)
        self._texture = np.clip(texture, 0, 255).astype(np.uint8)
        self._chroma = np.full((height // 2, width), 128, np.uint8)
        self._count = 0
        self._start: float | None = None

    @property
    def sent(self) -> int:
        """Frames handed to the encoder so far."""
        return self._count

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            delay = self._start + self._count / self.fps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        n = self._count
        self._count += 1
        offset = (n * 4) % self.width
        luma = self._texture[:, offset : offset + self.width].copy()
        box = (n * 6) % max(1, self.width - 40)
        luma[60:100, box : box + 40] = 255 - luma[60:100, box : box + 40]
        frame = av.VideoFrame.from_ndarray(np.concatenate([luma, self._chroma]), format="yuv420p")
        frame.pts = int(n * VIDEO_RATE / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_RATE)
        return frame


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames (loud enough to count as speaking)."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, volume: float = 0.3) -> None:
        super().__init__()
        self._samples = AUDIO_RATE // 50
        t = np.arange(AUDIO_RATE) / AUDIO_RATE
        tone = (volume * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
        self._tone = np.repeat(tone, 2)  # interleaved stereo
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            delay = self._start + self._pts / AUDIO_RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        start = (self._pts % AUDIO_RATE) * 2
        data = np.take(self._tone, range(start, start + self._samples * 2), mode="wrap")
        frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._pts += self._samples
        return frame


@dataclass
class Received:
    """What arrived on one receiving slot (by mid)."""

    frames: int = 0
    first_at: float | None = None
    last_at: float | None = None
    size: tuple[int, int] | None = None


@dataclass
class Peer:
    """One participant, as a browser would be: `await peer.join(sfu)`."""

    call_id: int
    user_id: int
    width: int = 320
    height: int = 240
    publisher: RTCPeerConnection | None = None
    subscriber: RTCPeerConnection | None = None
    mic: ToneTrack = field(default_factory=ToneTrack)
    camera: PatternTrack | None = None
    screen_transceiver: RTCRtpTransceiver | None = None
    received: dict[str, Received] = field(default_factory=dict)
    slots: list[dict[str, Any]] = field(default_factory=list)
    joined_at: float = 0.0
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def join(self, sfu: Any, *, camera: bool = True) -> None:
        self.camera = PatternTrack(self.width, self.height) if camera else None
        pub = self.publisher = RTCPeerConnection(configuration())
        pub.addTransceiver(self.mic, direction="sendonly")
        if self.camera is not None:
            pub.addTransceiver(self.camera, direction="sendonly")
        else:
            pub.addTransceiver("video", direction="sendonly")
        self.screen_transceiver = pub.addTransceiver("video", direction="sendonly")
        await pub.setLocalDescription(await pub.createOffer())
        answer = await sfu.publish(self.call_id, self.user_id, pub.localDescription.sdp)
        await pub.setRemoteDescription(RTCSessionDescription(answer, "answer"))

        sub = self.subscriber = RTCPeerConnection(configuration())

        @sub.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            mid = next(t.mid for t in sub.getTransceivers() if t.receiver.track is track)
            assert mid is not None
            self._readers.append(asyncio.create_task(self._read(str(mid), track)))

        offer = await sfu.subscribe_offer(self.call_id, self.user_id)
        await sub.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await sub.setLocalDescription(await sub.createAnswer())
        await sfu.subscribe_answer(self.call_id, self.user_id, sub.localDescription.sdp)
        self.joined_at = time.monotonic()

    async def _read(self, mid: str, track: MediaStreamTrack) -> None:
        seen = self.received.setdefault(mid, Received())
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                now = time.monotonic()
                seen.frames += 1
                seen.first_at = seen.first_at or now
                seen.last_at = now
                if isinstance(frame, av.VideoFrame):
                    seen.size = (frame.width, frame.height)

    # --- what the SFU told this peer ---------------------------------------------------------

    def slot_of(self, user_id: int, source: str) -> str | None:
        for slot in self.slots:
            if slot["user_id"] == user_id and slot["source"] == source:
                return str(slot["mid"])
        return None

    def video_from(self, user_id: int, source: str = "camera") -> Received | None:
        mid = self.slot_of(user_id, source)
        return None if mid is None else self.received.get(mid)

    async def share_screen(self, track: MediaStreamTrack | None) -> None:
        assert self.screen_transceiver is not None
        self.screen_transceiver.sender.replaceTrack(track)

    async def close(self) -> None:
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                await pc.close()
                hooks.stop_leftover_tasks(pc)  # the same aioice race as on the server
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


def recorder(peers: dict[int, Peer]) -> Callable[[int, str, dict[str, Any]], None]:
    """An SFU notify callback that files call.slots with the right peer."""

    def notify(user_id: int, name: str, data: dict[str, Any]) -> None:
        peer = peers.get(user_id)
        if peer is not None and name == "call.slots":
            peer.slots = data["slots"]

    return notify
