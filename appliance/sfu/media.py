"""Media in the SFU: a Source is one published track, a Slot one track sent to a subscriber. A
slot shows one source at a time and can be switched. RTP packets pass through, rewritten per
slot (appliance/sfu/rewrite.py) and sent by the slot's outlet (appliance/sfu/fastpath.py);
nothing is decoded, re-encoded or even reassembled into frames."""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable
from typing import Any

from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

from appliance.sfu import fastpath, hooks
from appliance.sfu.rewrite import Munger, vp8_descriptor

log = logging.getLogger(__name__)

PLI_INTERVAL = 0.5  # seconds: at most one keyframe request per source this often
RESEND_HOLD = 0.1  # seconds: a packet asked of the publisher again is not asked again sooner
# Output clock step when a slot switches source: one 30 fps frame, one 20 ms Opus packet.
SWITCH_STEP = {"video": 3000, "audio": 960}
CLOCK_RATE = {"video": 90_000, "audio": 48_000}
NTP_UNIT = 1 << 32  # NTP timestamps count 2**-32 s
NO_VP8 = (-1, 0, -1)
ONE_BYTE = 0xBEDE  # RFC 8285's one-byte header extensions

Template = tuple[bytes, int]  # an RTP packet in a slot's profile, and its header length


def is_keyframe(kind: str, payload: bytes) -> bool:
    """Does this RTP payload start a keyframe? (VP8: RFC 7741's descriptor, then the payload
    header's P bit; every Opus packet stands alone.)"""
    if kind == "audio":
        return True
    return vp8_descriptor(payload)[0]


def template(packet: RtpPacket, profile: tuple[int, int, int]) -> Template:
    """The packet as a slot with this profile sends it, before its sequence number, timestamp
    and SSRC are written in: the negotiated payload type, and the audio level and
    abs-send-time extensions under the negotiated ids (one-byte form, RFC 8285)."""
    payload_type, level_id, send_time_id = profile
    second = (0x80 if packet.marker else 0) | payload_type
    extensions = packet.extensions
    level = extensions.audio_level if level_id else None
    send_time = extensions.abs_send_time if send_time_id else None
    if level is None and send_time is None:
        return _BARE.pack(0x80, second) + packet.payload, 12
    elements = b""
    if level is not None:
        voice, loudness = level
        elements = bytes((level_id << 4, (0x80 if voice else 0) | (loudness & 0x7F)))
    if send_time is not None:
        elements += _SEND_TIME.pack(((send_time_id << 4) | 2) << 24 | (send_time & 0xFFFFFF))
    words = (len(elements) + 3) // 4
    header = (
        _EXTENDED.pack(0x90, second, ONE_BYTE, words) + elements + bytes(4 * words - len(elements))
    )
    return header + packet.payload, len(header)


_BARE = struct.Struct("!BB10x")  # V=2, M and PT; sequence number, timestamp, SSRC left zero
_EXTENDED = struct.Struct("!BB10xHH")  # ... then the one-byte extension profile, its length
_SEND_TIME = struct.Struct("!I")  # an abs-send-time element: its id and length, 24 bits


class Source:
    """One published track (a participant's mic, camera or screen): takes the RTP packets off
    its receiver and gives them to the slots showing it."""

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        kind: str,
        user_id: int,
        name: str,
        on_packet: Callable[[RtpPacket], None] | None = None,
    ) -> None:
        self.receiver = receiver
        self.kind = kind
        self.user_id = user_id
        self.name = name  # mic, camera or screen
        self.slots: set[Slot] = set()
        self.packets = 0
        self.keyframes = 0
        self.nacks_forwarded = 0  # NACKs sent to the publisher for subscribers (see resend)
        self.ssrc: int | None = None  # the publisher's media SSRC (PLIs are addressed to it)
        # The publisher's last sender report: (NTP, RTP timestamp, when it came, monotonic).
        self.report: tuple[int, int, float] | None = None
        self._rate = CLOCK_RATE[kind]
        self._last_pli = 0.0
        self._pli_pending = False
        self._resend: set[int] = set()  # sequence numbers to ask the publisher for
        self._asked: dict[int, float] = {}  # sequence number -> when it was last asked for
        self._on_packet = on_packet
        fastpath.tap(receiver, kind, self._forward, self._ended)
        fastpath.on_sender_reports(receiver, self._reported)

    def _forward(self, packet: RtpPacket) -> None:
        self.packets += 1
        self.ssrc = packet.ssrc
        if self._on_packet is not None:
            self._on_packet(packet)
        if self.kind == "video":
            key, picture_at, bits, tl0_at = vp8_descriptor(packet.payload)
            vp8 = (picture_at, bits, tl0_at)
            self.keyframes += key
        else:
            key, vp8 = True, NO_VP8
        if not self.slots:
            return
        templates: dict[tuple[int, int, int], Template] = {}
        for slot in list(self.slots):
            slot.forward(packet, key, vp8, templates)

    def _ended(self) -> None:
        for slot in list(self.slots):
            slot.detach(self)

    def _reported(self, ssrc: int, ntp: int, rtp: int) -> None:
        self.report = (ntp, rtp, time.monotonic())

    def timing(self, ts_offset: int) -> tuple[int, int] | None:
        """(NTP, RTP) for a sender report sent now by a slot showing this source: the
        publisher's own mapping, moved on by the time since its report and into the slot's
        timeline; so lip sync between a publisher's audio and video holds in every slot."""
        if self.report is None:
            return None
        ntp, rtp, at = self.report
        elapsed = time.monotonic() - at
        return (
            (ntp + int(elapsed * NTP_UNIT)) % (1 << 64),
            (rtp + ts_offset + int(elapsed * self._rate)) % (1 << 32),
        )

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
        ssrc = self.ssrc
        if ssrc is None:
            return
        self._last_pli = time.monotonic()
        task = asyncio.ensure_future(hooks.request_keyframe(self.receiver, ssrc))
        task.add_done_callback(_log_failure)

    def resend(self, seq: int) -> None:
        """A subscriber asked for a packet that its slot never sent: the SFU did not get it
        (its own NACK to the publisher, sent when the gap showed, went unanswered or the
        answer was lost too). Ask the publisher again, in one NACK for all those asked in
        this turn of the loop; a retransmission is forwarded like any late packet."""
        if self.ssrc is None or seq in self._resend:
            return
        if not self._resend:
            asyncio.get_running_loop().call_soon(self._send_nack)
        self._resend.add(seq)

    def _send_nack(self) -> None:
        now = time.monotonic()
        self._asked = {seq: at for seq, at in self._asked.items() if now - at < RESEND_HOLD}
        wanted = sorted(seq for seq in self._resend if seq not in self._asked)
        self._resend = set()
        if not wanted or self.ssrc is None:
            return
        self._asked.update(dict.fromkeys(wanted, now))
        self.nacks_forwarded += 1
        task = asyncio.ensure_future(hooks.request_resend(self.receiver, self.ssrc, wanted))
        task.add_done_callback(_log_failure)

    def lowest_subscriber_estimate(self) -> int | None:
        estimates = [slot.estimate for slot in self.slots if slot.estimate]
        return min(estimates) if estimates else None


class Slot(MediaStreamTrack):
    """A track sent to one subscriber. Its sender never asks it for a frame: the source's
    packets are rewritten into the slot's one continuous stream (sequence numbers,
    timestamps, VP8 picture ids) and go out through its outlet. After a switch, video waits
    for a keyframe so the subscriber never decodes junk."""

    def __init__(
        self, kind: str, on_keyframe_needed: Callable[[Slot], None], totals: fastpath.Totals
    ) -> None:
        super().__init__()
        self.kind = kind
        self.source: Source | None = None
        self.estimate: int | None = None  # the subscriber's REMB for this slot, bps
        self.dropped = 0
        self.outlet: fastpath.Outlet | None = None
        self._munger = Munger(SWITCH_STEP[kind])
        self._waiting_for_key = kind == "video"
        self._on_keyframe_needed = on_keyframe_needed
        self._stopped = asyncio.Event()
        self._totals = totals

    @property
    def sent(self) -> int:
        return 0 if self.outlet is None else self.outlet.packets

    def attach(self, sender: RTCRtpSender) -> None:
        """Send through this sender (once the subscriber's connection is up)."""
        self.outlet = fastpath.Outlet(
            sender, self._timing, self._ready, self._totals, on_miss=self._missed
        )

    def _ready(self) -> None:
        if self.source is not None and self.kind == "video":
            self._waiting_for_key = True
            self._on_keyframe_needed(self)

    def _missed(self, out_seq: int) -> None:
        """The subscriber NACKed a packet the outlet's history does not have: if it is a
        recent one of the current source, the source never had it; ask its publisher."""
        source = self.source
        if source is None:
            return
        seq = self._munger.source_seq(out_seq, within=fastpath.HISTORY)
        if seq >= 0:
            source.resend(seq)

    def _timing(self) -> tuple[int, int] | None:
        return None if self.source is None else self.source.timing(self._munger.ts_offset)

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
        self._munger.switch()
        if source is not None:
            source.slots.add(self)
            if self.kind == "video":
                self._waiting_for_key = True
                if self.outlet is not None and self.outlet.ready:
                    source.request_keyframe()
                # (else when the subscriber's connection is up: see _ready; a keyframe now
                # could not be sent, and would hold the next request back by PLI_INTERVAL)

    def detach(self, source: Source) -> None:
        if self.source is source:
            self.show(None)

    def forward(
        self,
        packet: RtpPacket,
        key: bool,
        vp8: tuple[int, int, int],
        templates: dict[tuple[int, int, int], Template],
    ) -> None:
        """A packet from the current source (on the event loop)."""
        outlet = self.outlet
        if outlet is None or not outlet.ready:
            return
        if self._waiting_for_key:
            if not key:
                self.dropped += 1
                return
            self._waiting_for_key = False
            self._munger.switch()
        profile: Any = outlet.profile  # set: the outlet is ready
        made = templates.get(profile)
        if made is None:
            made = templates[profile] = template(packet, profile)
        data, header = made
        out = bytearray(data)
        seq = self._munger.rewrite(
            out, packet.sequence_number, packet.timestamp, outlet.ssrc, header, vp8
        )
        if seq >= 0:
            outlet.send(out, seq)

    def set_estimate(self, bitrate: int) -> None:
        self.estimate = bitrate

    def subscriber_wants_keyframe(self) -> None:
        if self.source is not None:
            self.source.request_keyframe()

    async def recv(self) -> Any:
        """Never yields (the sender's own loop idles here until the slot stops)."""
        if self.readyState != "live":
            raise MediaStreamError
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        self.show(None)
        self._stopped.set()
        if self.outlet is not None:
            self.outlet.release()
        super().stop()


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("RTCP to a publisher (PLI or NACK) failed: %s", task.exception())
