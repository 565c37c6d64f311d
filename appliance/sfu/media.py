"""Encoded media in the SFU: a Source is one published track, a Slot one track sent to a
subscriber. A slot shows one source at a time and can be switched; frames pass through as
`av.Packet`s and are never decoded or re-encoded."""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from appliance.sfu import hooks

log = logging.getLogger(__name__)

PLI_INTERVAL = 0.5  # seconds: at most one keyframe request per source this often
SLOT_QUEUE = 30  # frames a slot may fall behind before it is flushed and resynced
# Output clock step when a slot switches source: one 30 fps frame, one 20 ms Opus packet.
SWITCH_STEP = {"video": 3000, "audio": 960}
CLOCK_RATE = {"video": 90_000, "audio": 48_000}


def is_keyframe(kind: str, data: bytes) -> bool:
    """VP8: bit 0 of the payload's first byte is 0 on a key frame (RFC 6386 §9.1). Every Opus
    packet stands alone."""
    if kind == "audio":
        return True
    return bool(data) and (data[0] & 0x01) == 0


class Source:
    """One published track (a participant's mic, camera or screen): takes the encoded frames
    off its receiver and gives them to the slots showing it."""

    def __init__(self, receiver: RTCRtpReceiver, kind: str, user_id: int, name: str) -> None:
        self.receiver = receiver
        self.kind = kind
        self.user_id = user_id
        self.name = name  # mic, camera or screen
        self.enabled = False  # the publisher says it is sending (call.media)
        self.slots: set[Slot] = set()
        self.keyframes = 0
        self._last_pli = 0.0
        self._pli_pending = False
        hooks.take_frames(receiver, kind, self._on_frame)

    def _on_frame(self, codec: RTCRtpCodecParameters | None, frame: JitterFrame | None) -> None:
        if codec is None or frame is None:
            for slot in list(self.slots):
                slot.detach(self)
            return
        key = is_keyframe(self.kind, frame.data)
        self.keyframes += key
        if not self.slots:
            return
        for slot in self.slots:
            slot.offer(frame.data, frame.timestamp, key)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per PLI_INTERVAL (coalesced)."""
        if self.kind != "video":
            return
        wait = self._last_pli + PLI_INTERVAL - time.monotonic()
        if wait > 0:
            if not self._pli_pending:
                self._pli_pending = True
                asyncio.get_running_loop().call_later(wait, self._deferred_pli)
            return
        self._send_pli()

    def _deferred_pli(self) -> None:
        self._pli_pending = False
        self._send_pli()

    def _send_pli(self) -> None:
        ssrc = hooks.media_ssrc(self.receiver)
        if ssrc is None:
            return
        self._last_pli = time.monotonic()
        task = asyncio.ensure_future(hooks.request_keyframe(self.receiver, ssrc))
        task.add_done_callback(_log_failure)

    def lowest_subscriber_estimate(self) -> int | None:
        estimates = [slot.estimate for slot in self.slots if slot.estimate]
        return min(estimates) if estimates else None


class Slot(MediaStreamTrack):
    """A track sent to one subscriber. `recv()` returns encoded `av.Packet`s, which aiortc's
    sender only packetizes. Its timestamps stay monotonic across source switches, and after
    a switch (or a flush) video waits for a keyframe so the subscriber never decodes junk."""

    def __init__(self, kind: str, on_keyframe_needed: Callable[[Slot], None]) -> None:
        super().__init__()
        self.kind = kind
        self.source: Source | None = None
        self.estimate: int | None = None  # the subscriber's REMB for this slot, bps
        self.sent = 0
        self.dropped = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue()  # av.Packet
        self._waiting_for_key = kind == "video"
        self._time_base = fractions.Fraction(1, CLOCK_RATE[kind])
        self._last_out: int | None = None  # last timestamp sent, in the slot's clock
        self._offset: int | None = None  # source timestamp -> slot timestamp
        self._on_keyframe_needed = on_keyframe_needed

    @property
    def source_user(self) -> int | None:
        return None if self.source is None else self.source.user_id

    def show(self, source: Source | None) -> None:
        """Switch to `source` (None: show nothing)."""
        if source is self.source:
            return
        if self.source is not None:
            self.source.slots.discard(self)
        self.source = source
        self._offset = None
        self._flush()
        if source is not None:
            source.slots.add(self)
            if self.kind == "video":
                self._waiting_for_key = True
                source.request_keyframe()

    def detach(self, source: Source) -> None:
        if self.source is source:
            self.show(None)

    def offer(self, data: bytes, timestamp: int, key: bool) -> None:
        """A frame from the current source (on the event loop)."""
        if self._waiting_for_key:
            if not key:
                self.dropped += 1
                return
            self._waiting_for_key = False
        if self._queue.qsize() >= SLOT_QUEUE:
            # The subscriber's sender is not keeping up: drop the backlog, start again from
            # a keyframe rather than play stale video.
            self.dropped += self._queue.qsize()
            self._flush()
            if self.kind == "video":
                self._waiting_for_key = True
                self._on_keyframe_needed(self)
                return
        if self._offset is None:
            start = 0 if self._last_out is None else self._last_out + SWITCH_STEP[self.kind]
            self._offset = start - timestamp
        out = timestamp + self._offset
        if self._last_out is not None and out <= self._last_out:
            out = self._last_out + 1  # never step back, even on a reordered frame
        self._last_out = out
        packet = av.Packet(data)
        packet.pts = out
        packet.time_base = self._time_base
        self._queue.put_nowait(packet)

    def _flush(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    def set_estimate(self, bitrate: int) -> None:
        self.estimate = bitrate

    def subscriber_wants_keyframe(self) -> None:
        if self.source is not None:
            self.source.request_keyframe()

    async def recv(self) -> Any:  # an av.Packet, which aiortc's sender only packetizes
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        self.sent += 1
        return packet

    def stop(self) -> None:
        self.show(None)
        super().stop()


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("keyframe request failed: %s", task.exception())
