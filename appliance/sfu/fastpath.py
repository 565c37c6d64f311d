"""The forwarding hot path: every aiortc, aioice and pylibsrtp internal it uses, in one place
(aiortc is pinned exactly: 1.16.0; `check()` names whatever moved, and
tests/sfu/test_aiortc_internals.py calls it).

aiortc keeps what it is good at: SDP, ICE connectivity checks, the DTLS handshake and its
keys, RTCP feedback parsing, NACKs and REMB towards publishers. The media itself bypasses its
per-packet layers:

* In: `tap()` replaces a publisher's receiver's packet handler with an `_Intake`, which
  keeps what the SFU needs of it (the statistics its receiver reports are made of, the REMB
  estimate, NACKs for lost packets, RTX unwrapping) and hands the packet to the SFU. It
  skips the rest: the VP8 depayload and jitter buffer (nothing is assembled; no frame ever
  reaches a decoder), a wall-clock read per packet, and a coroutine per packet. The
  receiver's RTCP loop is replaced too: its receiver reports go out with the connection's
  others (`Reports`), once it has a stream.
* Off the socket: once a connection's DTLS is up (publisher's or subscriber's),
  `take_datagrams()` puts a `Lane` in place of its selected ICE pair's `datagram_received`:
  SRTP is unprotected, parsed, routed and given to the intake right there, and SRTCP to
  aiortc's RTCP handlers. aiortc would have tried each datagram as STUN first (an exception
  per packet), queued it in aioice, woken the DTLS transport's task for it and read the wall
  clock through a datetime. STUN and DTLS still take aiortc's way. `small_reads()` sizes
  the sockets' read buffers to a datagram.
* Out: an `Outlet` drives a subscriber's RTCRtpSender from outside. Its RTP loop idles (the
  slot track never yields a frame); a rewritten packet is protected with the subscriber's
  SRTP session and written to the selected ICE pair's UDP socket in one call, without
  aiortc's sender loop, its per-packet clock reads, aioice's coroutine per datagram, or
  asyncio's write queue (a full socket buffer drops the datagram, as the network would).
  The sender's RTCP loop is replaced: a connection's outlets send their sender reports
  together (`Reports`), carrying the publisher's own RTP/NTP mapping (from its SRs) shifted
  into the slot's timeline, and NACKs are answered from the outlet's history of what it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import logging
import random
import struct
import time
import types
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender
from aiortc.rate import MIN_FRAME_PERIOD_HISTORY_LENGTH
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters, RTCRtpSendParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    HeaderExtensions,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)
from pylibsrtp._binding import ffi as srtp_ffi
from pylibsrtp._binding import lib as srtp_lib

log = logging.getLogger(__name__)

HISTORY = 512  # packets an outlet keeps for retransmission: ~1.5 s of 1.5 Mbps video
ESTIMATE_EVERY_MS = 100  # the uplink bitrate estimator runs on the frames of this long (PerFrame)


class Totals:
    """What an SFU forwarded since it started, over all its calls (for /metrics)."""

    __slots__ = ("octets", "packets")

    def __init__(self) -> None:
        self.packets = 0
        self.octets = 0


AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

PacketSink = Callable[[RtpPacket], None]
Timing = Callable[[], tuple[int, int] | None]  # (NTP 64-bit, RTP timestamp) for a report now


# --- in --------------------------------------------------------------------------------------


class _Done:
    """An awaitable that is already done: what the intake returns for a packet that needs no
    RTCP sent back (nearly all), so no coroutine is made per packet."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


_DONE = _Done()


async def _in_turn(feedback: list[Awaitable[None]]) -> None:
    for send in feedback:
        await send


class PerFrame:
    """Feeds a receiver's bitrate estimator (aiortc's delay-based RemoteBitrateEstimator, which
    makes the REMB sent to the publisher) once per video frame instead of once per packet,
    and a batch of frames at a time: every `ESTIMATE_EVERY_MS`.

    Once a frame: at its last packet (the marker bit), with the frame's bytes. The estimator
    compares groups of packets sent together (within 5 ms: a frame), and all it keeps of a
    group is its last packet's send and arrival times and its size; so the estimates are
    those it made from every packet, for a fifth of the work.

    A batch at a time: each frame's (arrival, send time, size) is noted, and the estimator
    runs over the notes when the oldest is `ESTIMATE_EVERY_MS` old, as libwebrtc's
    sender-side estimator runs over the transport-wide feedback a receiver sends every
    100 ms. It is fed exactly what it was fed frame by frame, so it reaches the same
    estimates, at most that much (and a frame) later; a REMB goes out at most once a batch
    (the last estimate it made). Run once a frame, it ran cold each time (the rest of the
    SFU and the clients had run in between), at several times its warm cost of about 10 us
    a frame (bench/estimator.py); in a batch, all but the first frame find it warm. Returns
    the estimate to send, if the batch made one."""

    __slots__ = ("_bytes", "_estimator", "_frames")

    def __init__(self, estimator: Any) -> None:
        self._estimator = estimator  # its add, looked up per call: hooks.cap_remb wraps it
        self._bytes = 0  # of the frame arriving
        self._frames: list[tuple[int, int, int, int]] = []  # arrival ms, send time, size, SSRC

    def __call__(self, packet: RtpPacket, arrival_time_ms: int) -> tuple[int, list[int]] | None:
        send_time = packet.extensions.abs_send_time
        if send_time is None:
            return None
        self._bytes += len(packet.payload) + packet.padding_size
        if not packet.marker:
            return None
        frames = self._frames
        frames.append((arrival_time_ms, send_time, self._bytes, packet.ssrc))
        self._bytes = 0
        if 0 <= arrival_time_ms - frames[0][0] < ESTIMATE_EVERY_MS:  # (a clock step: run now)
            return None
        return self.run()

    def run(self) -> tuple[int, list[int]] | None:
        """Feed the estimator the frames noted since it last ran: its last estimate, if any."""
        add = self._estimator.add
        latest = None
        for arrival_time_ms, send_time, size, ssrc in self._frames:
            estimate: tuple[int, list[int]] | None = add(
                abs_send_time=send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=size,
                ssrc=ssrc,
            )
            if estimate is not None:
                latest = estimate
        self._frames.clear()
        return latest


def quicken(estimator: Any) -> None:
    """Make aiortc's bitrate estimator (a RemoteBitrateEstimator) cheaper without changing a
    result, in two loops run for every frame. Its incoming-rate counter cleared its window
    one millisecond at a time (a Python loop of 33 turns per frame at 30 fps, twice, each
    doing index arithmetic and four writes); now it slices off the buckets the window
    passed and writes only the non-empty ones. Its noise filter found the shortest of the
    last 60 frame intervals with a `min()` call per interval; now it is one `min()` over
    them. Together they were about half of its 13 us a frame."""
    counter = estimator.incoming_bitrate
    counter._erase_old = types.MethodType(_erase_old, counter)
    overuse = estimator.estimator
    overuse.update_min_frame_period = types.MethodType(_update_min_frame_period, overuse)


def _erase_old(self: Any, now_ms: int) -> None:
    """RateCounter._erase_old: empty the 1 ms buckets the window has passed."""
    new_origin_ms = now_ms - self._window_size + 1
    steps = new_origin_ms - self._origin_ms
    if steps <= 0:
        return
    size = self._window_size
    start = self._origin_index
    end = start + min(steps, size)  # (past a whole window, every bucket is emptied once)
    buckets = self._buckets
    passed = buckets[start:end] if end <= size else buckets[start:] + buckets[: end - size]
    total = self._total
    for bucket in passed:
        if bucket.count or bucket.value:
            total.count -= bucket.count
            total.value -= bucket.value
            bucket.count = 0
            bucket.value = 0
    self._origin_index = (start + steps) % size
    self._origin_ms = new_origin_ms


def _update_min_frame_period(self: Any, ts_delta: float) -> float:
    """OveruseEstimator.update_min_frame_period: the shortest of the last intervals."""
    history = self.ts_delta_hist
    if len(history) >= MIN_FRAME_PERIOD_HISTORY_LENGTH:
        history.pop(0)
    shortest = min(history) if history else ts_delta
    if ts_delta < shortest:
        shortest = ts_delta
    history.append(ts_delta)
    return shortest


class _Intake:
    """Stands in for `RTCRtpReceiver._handle_rtp_packet` (which the DTLS transport awaits for
    each packet routed to the receiver), doing the parts of it the SFU needs in the same order:
    the REMB estimate (through `hooks.cap_remb`'s cap), the stream statistics its receiver
    reports are made of, RTX unwrapping, NACKs for what is missing; then `sink(packet)`.

    The statistics and the missing packets are kept in aiortc's own objects (its RTCP
    receiver reports and NACKs read them). For the next packet of a stream that has had no
    gap, they are updated here, in line, as `StreamStatistics.add` and `NackGenerator.add`
    would (a few assignments, where their calls and uint16_gt's were about a third of the
    receive path's own time); a stream's first packet, one after a gap or out of order, and
    RTX take theirs. `check()` guards the lines of theirs this repeats."""

    def __init__(self, receiver: RTCRtpReceiver, sink: PacketSink) -> None:
        self.receiver = receiver
        self._codecs: dict[int, Any] = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
        self._streams: dict[int, StreamStatistics] = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        self._rtx: dict[int, int] = receiver._RTCRtpReceiver__rtx_ssrc  # type: ignore[attr-defined]
        self._nacks = receiver._RTCRtpReceiver__nack_generator  # type: ignore[attr-defined]
        estimator = receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
        self._estimate = None
        if estimator is not None:
            quicken(estimator)
            self._estimate = PerFrame(estimator)
        self._sink = sink
        self.heard = asyncio.Event()  # set at the first packet of the receiver's first stream
        # Per payload type: its clock rate, or 0 for RTX (learnt at the first packet: the
        # codecs are set when the receiver starts, after the tap, and then never change).
        self._rates: dict[int, int] = {}

    async def run_rtcp(self) -> None:
        """Stands in for the receiver's RTCP loop (same start and exit events): once it has
        a stream, its receiver reports go out with its connection's others (`Reports`), so
        this only waits. aiortc's loop woke the event loop about once a second per receiver,
        and a publisher has three (mic, camera, screen), often one or two of them silent."""
        receiver = self.receiver
        receiver._RTCRtpReceiver__rtcp_started.set()  # type: ignore[attr-defined]
        reports = Reports.of(receiver.transport)
        with contextlib.suppress(asyncio.CancelledError):
            await self.heard.wait()
            reports.hear(receiver)
            await asyncio.get_running_loop().create_future()  # until the receiver stops
        reports.leave(receiver)
        receiver._RTCRtpReceiver__rtcp_exited.set()  # type: ignore[attr-defined]

    def take(self, packet: RtpPacket, arrival_time_ms: int) -> Awaitable[None]:
        receiver = self.receiver
        if not receiver._enabled:
            return _DONE
        feedback: list[Awaitable[None]] | None = None
        estimate = self._estimate
        if estimate is not None:
            remb = estimate(packet, arrival_time_ms)
            if remb is not None:
                feedback = self._remb(remb)
        rate = self._rates.get(packet.payload_type)
        if rate is None:
            rate = self._learn(packet.payload_type)
            if rate is None:
                return _DONE if feedback is None else _in_turn(feedback)
        seq = packet.sequence_number
        stream = self._streams.get(packet.ssrc)
        nacks = self._nacks
        if (
            rate
            and stream is not None
            and stream.max_seq is not None
            and (seq - stream.max_seq) & 0xFFFF == 1
            and (nacks is None or nacks.max_seq == stream.max_seq)
        ):
            # The next packet of a stream whose every packet came in order so far: what
            # StreamStatistics.add and NackGenerator.add do then (nothing goes missing).
            timestamp = packet.timestamp
            stream.packets_received += 1
            if seq < stream.max_seq:
                stream.cycles += 1 << 16
            stream.max_seq = seq
            arrival = int(time.time() * rate)
            if timestamp != stream._last_timestamp:  # (packets_received > 1: a max_seq is)
                diff = abs((arrival - stream._last_arrival) - (timestamp - stream._last_timestamp))  # type: ignore[operator]
                stream._jitter_q4 += diff - ((stream._jitter_q4 + 8) >> 4)
            stream._last_arrival = arrival
            stream._last_timestamp = timestamp
            if nacks is not None:
                nacks.max_seq = seq
                if nacks.missing:
                    nacks.truncate()
        else:
            forward, more = self._slowly(packet, rate, stream)
            if more is not None:
                feedback = [more] if feedback is None else [*feedback, more]
            if forward is None:
                return _DONE if feedback is None else _in_turn(feedback)
            packet = forward
        self._sink(packet)
        return _DONE if feedback is None else _in_turn(feedback)

    def _remb(self, remb: tuple[int, list[int]]) -> list[Awaitable[None]] | None:
        receiver = self.receiver
        rtcp_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
        if rtcp_ssrc is None:
            return None
        fci = pack_remb_fci(*remb)
        report = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=fci)
        return [receiver._send_rtcp(report)]

    def _learn(self, payload_type: int) -> int | None:
        codec = self._codecs.get(payload_type)
        if codec is None:
            return None
        rtx = codec.mimeType[-4:].lower() == "/rtx"
        rate = self._rates[payload_type] = 0 if rtx else codec.clockRate
        return rate

    def _slowly(
        self, packet: RtpPacket, rate: int, stream: StreamStatistics | None
    ) -> tuple[RtpPacket | None, Awaitable[None] | None]:
        """aiortc's way, for a stream's first packet, one out of order or after a gap, and
        RTX: (the packet to forward or None, the NACK to send or None)."""
        if stream is None:
            codec = self._codecs[packet.payload_type]
            stream = self._streams[packet.ssrc] = StreamStatistics(codec.clockRate)
            self.heard.set()  # the receiver has a stream to report on
        stream.add(packet)
        if not rate:  # RTX
            original_ssrc = self._rtx.get(packet.ssrc)
            apt = self._codecs[packet.payload_type].parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or apt not in self._codecs:
                return None, None
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
        nacks = self._nacks
        if nacks is not None and nacks.add(packet):
            receiver = self.receiver
            return packet, receiver._send_rtcp_nack(packet.ssrc, sorted(nacks.missing))
        return packet, None


MAX_DATAGRAM = 65_535  # bytes: no UDP payload is larger
NTP_EPOCH_MS = 2_208_988_800_000  # from 1900 (aiortc's clock.current_ms) to 1970 (time.time)


class Lane:
    """A connection's SRTP and SRTCP, taken off its socket: stands in for the selected ICE
    pair's `StunProtocol.datagram_received` once DTLS is up. An RTP datagram is unprotected,
    parsed, routed and handed to its receiver's intake right there; an RTCP one is
    unprotected, parsed and routed, and its handlers run as tasks. aiortc would first have
    tried each as STUN (an exception per packet), queued it in aioice, woken the DTLS
    transport's task for it and, for RTP, read the wall clock through a datetime. STUN and
    DTLS still go aiortc's way."""

    def __init__(self, dtls: RTCDtlsTransport, protocol: Any) -> None:
        self._srtp = Cipher(dtls._rx_srtp)
        self._router = dtls._rtp_router
        # The negotiated extension ids (aiortc's map updates them in place on renegotiation).
        self._ids = dtls._rtp_header_extensions_map._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
        self._usual = protocol.datagram_received
        self._tasks: set[asyncio.Future[None]] = set()
        self._failed = False
        self.packets = 0  # RTP
        self.reports = 0  # RTCP

    def __call__(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if len(data) < 12 or not 127 < data[0] < 192:
            self._usual(data, addr)
            return
        if 191 < data[1] < 209:  # RTCP's packet types (aiortc's is_rtcp)
            self._rtcp(data)
            return
        ids = self._ids
        try:
            packet = parse_rtp(self._srtp.unprotect(data), ids.abs_send_time, ids.audio_level)
        except (pylibsrtp.Error, ValueError):  # a replay, a bad tag, a truncated header
            return
        receiver = self._router.route_rtp(packet)
        if receiver is None:
            return
        self.packets += 1
        try:
            arrival_ms = int(time.time() * 1000) + NTP_EPOCH_MS
            feedback: Awaitable[None] = receiver._handle_rtp_packet(packet, arrival_ms)
            if feedback is not _DONE:
                self._start(feedback)
        except Exception:
            self._failure()

    def _rtcp(self, data: bytes) -> None:
        try:
            packets = RtcpPacket.parse(self._srtp.unprotect_rtcp(data))
        except (pylibsrtp.Error, ValueError):
            return
        self.reports += 1
        try:
            for packet in packets:
                for recipient in self._router.route_rtcp(packet):
                    self._start(recipient._handle_rtcp_packet(packet))
        except Exception:
            self._failure()

    def _start(self, work: Awaitable[None]) -> None:
        try:
            rest = run_eagerly(work)
        except Exception:
            self._failure()
            return
        if rest is not None:
            self._task(rest)

    def _task(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and not self._failed:
            self._failed = True
            log.error("sending or handling RTCP failed", exc_info=task.exception())

    def _failure(self) -> None:
        # Raised from here, asyncio would close the socket; log it once and go on.
        if not self._failed:
            self._failed = True
            log.exception("a packet could not be handled")


def run_eagerly(work: Awaitable[None]) -> Awaitable[None] | None:
    """Run a coroutine now, as far as it goes without waiting; None if it finished, else what
    finishes it (to run as a task). The RTCP work the lanes start (a handler; feedback to
    send) all finishes so: it notes statistics, a PLI or a REMB, answers a NACK from
    history, sends a datagram. A task for each cost two more turns of the event loop.
    Raises what the coroutine raised before it first waited."""
    if type(work) is not types.CoroutineType:
        return work
    try:
        waiting = work.send(None)
    except StopIteration:
        return None
    return _finish(work, waiting)


async def _finish(coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
    """The rest of a coroutine that suspended on `waiting` (the future it awaits, as a Task
    would be handed it; None: it yielded to the loop)."""
    try:
        while True:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False
                await asyncio.wait((waiting,))  # done, whatever its outcome: its await reads it
            waiting = coroutine.send(None)
    except StopIteration:
        return
    except asyncio.CancelledError:
        coroutine.close()
        raise


_FIXED_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")
_NEW_PACKET = RtpPacket.__new__


def parse_rtp(data: bytes, send_time_id: int | None, level_id: int | None) -> RtpPacket:
    """An RTP packet as aiortc's `RtpPacket.parse` makes it, with only the header extensions
    the SFU reads (abs-send-time, audio level; RFC 8285 one- and two-byte forms) and none of
    its per-packet layering: a third of its cost. ValueError if it is malformed."""
    size = len(data)
    if size < 12:
        raise ValueError("RTP packet shorter than its header")
    first, second, sequence_number, timestamp, ssrc = _FIXED_HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise ValueError("RTP packet has invalid version")
    count = first & 0x0F
    at = 12 + 4 * count
    if size < at:
        raise ValueError("RTP packet has truncated CSRC")
    packet: RtpPacket = _NEW_PACKET(RtpPacket)
    packet.version = 2
    packet.marker = second >> 7
    packet.payload_type = second & 0x7F
    packet.sequence_number = sequence_number
    packet.timestamp = timestamp
    packet.ssrc = ssrc
    packet.csrc = list(struct.unpack_from(f"!{count}L", data, 12)) if count else []
    extensions = packet.extensions = HeaderExtensions()
    if first & 0x10:
        if size < at + 4:
            raise ValueError("RTP packet has truncated extension profile / length")
        profile, words = _EXTENSION_HEADER.unpack_from(data, at)
        at += 4
        end = at + 4 * words
        if size < end:
            raise ValueError("RTP packet has truncated extension value")
        if profile == 0xBEDE or profile & 0xFFF0 == 0x1000:
            _read_extensions(data, at, end, profile == 0xBEDE, extensions, send_time_id, level_id)
        at = end
    if first & 0x20:
        padding = data[-1]
        if not padding or padding > size - at:
            raise ValueError("RTP packet padding length is invalid")
        packet.padding_size = padding
        packet.payload = data[at:-padding]
    else:
        packet.padding_size = 0
        packet.payload = data[at:]
    return packet


def _read_extensions(
    data: bytes,
    at: int,
    end: int,
    one_byte: bool,
    into: HeaderExtensions,
    send_time_id: int | None,
    level_id: int | None,
) -> None:
    while at < end:
        head = data[at]
        if head == 0:  # padding
            at += 1
            continue
        if one_byte:
            ident, length = head >> 4, (head & 0x0F) + 1
            if ident == 15:  # RFC 8285 §4.2: stop reading
                return
            at += 1
        else:
            if end < at + 2:
                raise ValueError("RTP two-byte header extension is truncated")
            ident, length = head, data[at + 1]
            at += 2
        if end < at + length:
            raise ValueError("RTP header extension value is truncated")
        if ident == send_time_id and length == 3:
            into.abs_send_time = (data[at] << 16) | (data[at + 1] << 8) | data[at + 2]
        elif ident == level_id and length >= 1:
            level = data[at]
            into.audio_level = (level & 0x80 == 0x80, level & 0x7F)
        at += length


class Cipher:
    """A pylibsrtp Session's protect and unprotect without the wrapper it runs per call (a type
    check, a new length cell, a slice assignment): the same C calls on the session's own
    buffer. Protecting a 1,100-byte packet from a bytearray: 1.6 us, against 2.0 us through
    the session with the bytes() copy it needed (the cipher itself is most of what is left).
    Takes bytes or a bytearray; pylibsrtp.Error as the session would."""

    __slots__ = ("_buffer", "_cdata", "_context", "_length", "_room", "_session")

    def __init__(self, session: pylibsrtp.Session) -> None:
        self._session = session  # the context lives as long as the session does
        self._context = session._srtp[0]
        self._cdata = session._cdata
        self._buffer = session._buffer
        self._room = len(self._buffer)
        self._length = srtp_ffi.new("int *")

    def protect(self, packet: bytes | bytearray) -> bytes:
        return self._run(srtp_lib.srtp_protect, packet, pylibsrtp.SRTP_MAX_TRAILER_LEN)

    def protect_rtcp(self, packet: bytes | bytearray) -> bytes:
        return self._run(srtp_lib.srtp_protect_rtcp, packet, pylibsrtp.SRTP_MAX_SRTCP_TRAILER_LEN)

    def unprotect(self, packet: bytes) -> bytes:
        return self._run(srtp_lib.srtp_unprotect, packet, 0)

    def unprotect_rtcp(self, packet: bytes) -> bytes:
        return self._run(srtp_lib.srtp_unprotect_rtcp, packet, 0)

    def _run(self, call: Any, packet: bytes | bytearray, trailer: int) -> bytes:
        size = len(packet)
        if size > self._room - trailer:
            raise ValueError("packet is too long")
        srtp_ffi.memmove(self._cdata, packet, size)
        length = self._length
        length[0] = size
        status = call(self._context, self._cdata, length)
        if status:
            raise pylibsrtp.Error(pylibsrtp.ERRORS[status])
        data: bytes = self._buffer[0 : length[0]]
        return data


BURST = 64  # datagrams read from one socket per wake-up at most: the others get their turn


def read_in_bursts(protocol: Any) -> None:
    """Read every datagram waiting on a protocol's socket when it wakes the loop, not one per
    wake-up as asyncio's datagram transport does: a frame's packets come together, and each
    wake-up is an epoll_wait and a turn of the loop. (On asyncio's loop only: on uvloop,
    Hearth's default (appliance/loop.py), libuv reads them all in one wake-up itself.)"""
    transport = protocol.transport
    sock, fd, loop = transport._sock, transport._sock_fd, transport._loop
    receive = protocol.datagram_received

    def ready() -> None:
        for _ in range(BURST):
            try:
                data, addr = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                protocol.error_received(error)
                return
            receive(data, addr)

    loop._remove_reader(fd)
    loop._add_reader(fd, ready)


def small_reads(dtls: RTCDtlsTransport) -> None:
    """Read a connection's datagrams into buffers of the largest UDP payload, not asyncio's
    256 KiB: a buffer that size is allocated for every datagram and then shrunk, and above
    glibc's mmap threshold (fixed at 128 KiB by net/heap.py) each one was an mmap, its page
    faults and a munmap: a quarter of the SFU's time per packet received."""
    for protocol in dtls.transport._connection._protocols:
        transport = protocol.transport
        if transport is not None and hasattr(transport, "max_size"):
            transport.max_size = MAX_DATAGRAM


def take_datagrams(dtls: RTCDtlsTransport) -> None:
    """Take a connection's RTP and RTCP straight from the socket (a `Lane`) as soon as its
    DTLS transport is connected (its SRTP keys exist then)."""

    def changed() -> None:
        if dtls._state is not DtlsState.CONNECTED or isinstance(lane_of(dtls), Lane):
            return
        small_reads(dtls)
        pair = _selected_pair(dtls.transport._connection)
        protocol = None if pair is None else pair.protocol
        if type(protocol) is aioice.ice.StunProtocol:  # not a TURN relay
            protocol.datagram_received = Lane(dtls, protocol)  # type: ignore[method-assign, assignment]
            if _reads_datagrams(protocol.transport):
                read_in_bursts(protocol)

    dtls.on("statechange", changed)
    changed()


def _reads_datagrams(transport: Any) -> bool:
    """Is it asyncio's own UDP transport on a selector loop, open?"""
    import asyncio.selector_events as selector_events

    kind = selector_events._SelectorDatagramTransport  # type: ignore[attr-defined]
    return type(transport) is kind and not transport.is_closing()


def lane_of(dtls: RTCDtlsTransport) -> Any:
    """What handles the selected pair's datagrams (a `Lane` once taken), if it is chosen."""
    pair = _selected_pair(dtls.transport._connection)
    return None if pair is None else pair.protocol.datagram_received


def _selected_pair(connection: Any) -> Any:
    """The aioice connection's nominated candidate pair for RTP (component 1), once chosen."""
    return connection._nominated.get(1)


class _EndQueue:
    """Stands in for the receiver's decoder queue: the only item it ever gets is the `None`
    that ends the track (the tap releases no frame); it tells `on_end` and passes it on to
    the idle decoder thread, which then exits."""

    def __init__(self, original: Any, on_end: Callable[[], None]) -> None:
        self._original = original
        self._on_end = on_end

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            self._on_end()
        self._original.put(item, block, timeout)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        return self._original.get(block, timeout)


def tap(receiver: RTCRtpReceiver, kind: str, sink: PacketSink, on_end: Callable[[], None]) -> None:
    """Route a receiver's RTP packets to `sink`, and call `on_end` when its track ends.
    Call it after setRemoteDescription and before the connection starts receiving."""
    if receiver._RTCRtpReceiver__decoder_thread is not None:  # type: ignore[attr-defined]
        raise RuntimeError("the receiver has started already")
    intake = _Intake(receiver, sink)
    receiver._handle_rtp_packet = intake.take  # type: ignore[method-assign, assignment]
    original = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__decoder_queue = _EndQueue(original, on_end)  # type: ignore[attr-defined]
    receive = receiver.receive

    async def receive_with_rtx(parameters: RTCRtpReceiveParameters) -> None:
        await receive(parameters)
        # aiortc routes a packet by SSRC, else by payload type when only one receiver has it;
        # it never registers RTX SSRCs, and camera and screen share their payload types, so
        # every retransmission a publisher sent was dropped. Route them by their SSRC.
        router = receiver.transport._rtp_router
        for encoding in parameters.encodings:
            if encoding.rtx is not None:
                router.ssrc_table[encoding.rtx.ssrc] = receiver

    receiver.receive = receive_with_rtx  # type: ignore[method-assign]
    receiver._run_rtcp = intake.run_rtcp  # type: ignore[method-assign]


def receiver_report(receiver: RTCRtpReceiver) -> RtcpRrPacket | None:
    """The receiver report aiortc's RTCP loop would send now for this receiver's streams (one
    block each: losses, highest sequence number, jitter, and the last SR's time and delay),
    or None when it has none."""
    rtcp_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
    streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    if rtcp_ssrc is None or not streams:
        return None
    lsrs = receiver._RTCRtpReceiver__lsr  # type: ignore[attr-defined]
    lsr_times = receiver._RTCRtpReceiver__lsr_time  # type: ignore[attr-defined]
    blocks = []
    for ssrc, stream in streams.items():
        lsr = dlsr = 0
        if ssrc in lsrs:
            lsr = lsrs[ssrc]
            delay = time.time() - lsr_times[ssrc]
            if 0 < delay < 65536:
                dlsr = int(delay * 65536)
        blocks.append(
            RtcpReceiverInfo(
                ssrc=ssrc,
                fraction_lost=stream.fraction_lost,
                packets_lost=stream.packets_lost,
                highest_sequence=stream.max_seq,
                jitter=stream.jitter,
                lsr=lsr,
                dlsr=dlsr,
            )
        )
    return RtcpRrPacket(ssrc=rtcp_ssrc, reports=blocks)


def on_sender_reports(receiver: RTCRtpReceiver, report: Callable[[int, int, int], None]) -> None:
    """Call `report(ssrc, ntp, rtp)` for each RTCP sender report the publisher sends."""
    original = receiver._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            report(packet.ssrc, info.ntp_timestamp, info.rtp_timestamp)
        await original(packet)

    receiver._handle_rtcp_packet = handle  # type: ignore[method-assign]


# --- out -------------------------------------------------------------------------------------


class Outlet:
    """One subscriber slot's way out, through its RTCRtpSender's negotiated SSRC, payload type,
    header extension ids and SRTP session."""

    __slots__ = (
        "_cname",
        "_connection",
        "_dtls",
        "_history",
        "_on_miss",
        "_on_ready",
        "_reported",
        "_route",
        "_srtp",
        "_timing",
        "_totals",
        "octets",
        "packets",
        "payload_type",
        "profile",
        "ready",
        "retransmitted",
        "sender",
        "ssrc",
        "unsent",
    )

    def __init__(
        self,
        sender: RTCRtpSender,
        timing: Timing,
        on_ready: Callable[[], None],
        totals: Totals,
        on_miss: Callable[[int], None] | None = None,
    ) -> None:
        self.sender = sender
        self.ssrc: int = sender._ssrc
        self.payload_type = -1
        self.ready = False  # negotiated, and the connection's keys are there: send() may run
        # (payload type, audio level extension id, abs-send-time id): slots with the same
        # profile share one rewritten packet template per source packet.
        self.profile: tuple[int, int, int] | None = None
        self.packets = 0
        self.octets = 0
        self.retransmitted = 0
        self.unsent = 0  # datagrams the socket refused (a full buffer)
        self._reported = 0  # packets sent as of the last sender report
        self._route: tuple[Callable[[bytes, Any], Any], tuple[str, int]] | None = None
        self._cname: str | None = None
        self._dtls: Any = None
        self._srtp: Any = None
        self._connection: Any = None
        self._history: list[bytearray | None] = [None] * HISTORY
        self._timing = timing
        self._on_ready = on_ready
        self._on_miss = on_miss  # a NACKed sequence number the history does not have
        self._totals = totals
        original_send = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            self._negotiated(parameters)
            await original_send(parameters)
            self._started()

        sender.send = send  # type: ignore[method-assign]
        sender._run_rtcp = self._run_rtcp  # type: ignore[method-assign]
        sender._retransmit = self.retransmit  # type: ignore[method-assign]

    def _negotiated(self, parameters: RTCRtpSendParameters) -> None:
        ids = {extension.uri: extension.id for extension in parameters.headerExtensions}
        self.payload_type = parameters.codecs[0].payloadType or 0
        self.profile = (self.payload_type, ids.get(AUDIO_LEVEL, 0), ids.get(ABS_SEND_TIME, 0))
        self._cname = parameters.rtcp.cname

    def _started(self) -> None:
        dtls = self.sender.transport
        small_reads(dtls)
        self._dtls = dtls
        self._srtp = Cipher(dtls._tx_srtp)
        self._connection = dtls.transport._connection
        self.ready = self.profile is not None
        self._on_ready()

    def send(self, packet: bytearray, seq: int) -> None:
        """Send a rewritten RTP packet (its sequence number `seq`), keeping it for NACKs: the
        outlet owns it from here, nothing else may change it."""
        self._history[seq % HISTORY] = packet
        size = len(packet)
        self.packets += 1
        self.octets += size
        totals = self._totals
        totals.packets += 1
        totals.octets += size
        if self._dtls._state is DtlsState.CONNECTED:
            self._write(self._srtp.protect(packet))

    def _writable(self) -> bool:
        return self._dtls is not None and self._dtls._state is DtlsState.CONNECTED

    def _write(self, datagram: bytes) -> None:
        """Straight onto the selected pair's socket: UDP, so a full buffer drops the datagram
        as a network would, where asyncio's transport would queue it and wait for the socket."""
        route = self._route
        if route is None:
            route = self._route = self._find_route()
            if route is None:
                return
        sendto, address = route
        try:
            sendto(datagram, address)
        except OSError:  # the buffer is full, or the connection closed its socket
            self.unsent += 1

    def _find_route(self) -> tuple[Callable[[bytes, Any], Any], tuple[str, int]] | None:
        pair = _selected_pair(self._connection)
        transport = None if pair is None else pair.protocol.transport
        if transport is None or transport.is_closing():
            return None
        sock = getattr(transport, "_sock", None)  # asyncio's selector transports (3.11-3.13)
        send = sock.sendto if sock is not None else sendto_or_drop(transport)  # uvloop's
        return send, pair.remote_addr

    async def retransmit(self, sequence_number: int) -> None:
        """A subscriber's NACK: send the packet again, as it was (same sequence number: the
        subscriber never received it, so its SRTP replay check lets it through). One the
        history does not have goes to `on_miss`: the SFU may never have had it either."""
        seq = sequence_number
        if not self._writable():
            return
        data = self._history[seq % HISTORY]
        if data is None or ((data[2] << 8) | data[3]) != seq:
            if self._on_miss is not None:
                self._on_miss(seq)
            return
        self.retransmitted += 1
        self._write(self._srtp.protect(data))

    def _report(self) -> tuple[bytes, RtcpSourceInfo | None] | None:
        """This outlet's sender report and CNAME chunk, if it sent since the last one (and the
        source's publisher has reported its own clock)."""
        if self.packets == self._reported:
            return None
        timing = self._timing()
        if timing is None:
            return None
        self._reported = self.packets
        ntp, rtp = timing
        report = RtcpSrPacket(
            ssrc=self.ssrc,
            sender_info=RtcpSenderInfo(
                ntp_timestamp=ntp,
                rtp_timestamp=rtp,
                packet_count=self.packets & 0xFFFFFFFF,
                octet_count=self.octets & 0xFFFFFFFF,
            ),
        )
        cname = self._cname
        chunk = None if cname is None else RtcpSourceInfo(self.ssrc, [(1, cname.encode())])
        return bytes(report), chunk

    def _send_rtcp(self, data: bytes | None) -> None:
        if data is not None and self._writable():
            self._write(self._srtp.protect_rtcp(data))

    async def _run_rtcp(self) -> None:
        """Replaces the sender's RTCP loop (same start and exit events): the outlet's sender
        reports go out with its connection's others (`Reports`), so this only waits."""
        self.sender._RTCRtpSender__rtcp_started.set()  # type: ignore[attr-defined]
        reports = Reports.of(self.sender.transport)
        reports.join(self)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.get_running_loop().create_future()  # until the sender stops
        reports.leave(self)
        try:
            self._send_rtcp(bytes(RtcpByePacket(sources=[self.ssrc])))
        except Exception as error:  # the transport went away as we stopped
            log.debug("RTCP BYE not sent: %r", error)
        self.sender._RTCRtpSender__rtcp_exited.set()  # type: ignore[attr-defined]

    def release(self) -> None:
        self._history = [None] * HISTORY


REPORTS_PER_DATAGRAM = 10  # sender reports and CNAMEs: about 750 bytes, well under the MTU


def sendto_or_drop(transport: Any) -> Callable[[bytes, Any], None]:
    """A datagram transport's `sendto` (uvloop's: C, written at once when nothing is queued)
    that refuses a datagram, as `socket.sendto` on a full buffer does, rather than queue it
    behind others: BlockingIOError while the transport holds any unsent."""
    send, unsent = transport.sendto, transport.get_write_buffer_size

    def sendto(datagram: bytes, address: Any) -> None:
        if unsent():
            raise BlockingIOError(errno.EAGAIN, "the socket's send buffer is full")
        send(datagram, address)

    return sendto


class Reports:
    """One connection's RTCP reports, every 0.5 to 1.5 s (aiortc's interval), in compound
    datagrams: the sender reports of every outlet on it that sent since its last one, each
    batch followed by an SDES with their CNAMEs (several SSRCs' reports in one compound
    packet: RFC 8108 §5.4), and the receiver reports of every receiver on it that has had
    a stream. A subscriber has an outlet per slot (15 by default) and a publisher a receiver
    per source (3), and a timer each cost two turns of the event loop per second; now the
    connection has one, and a connection with nothing to report none."""

    _of: weakref.WeakKeyDictionary[Any, Reports] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, dtls: RTCDtlsTransport) -> Reports:
        found = cls._of.get(dtls)
        if found is None:
            found = cls._of[dtls] = cls(dtls)
        return found

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = weakref.ref(dtls)
        self._outlets: dict[Outlet, None] = {}  # in joining order
        self._receivers: dict[RTCRtpReceiver, None] = {}
        self._task: asyncio.Task[None] | None = None

    def join(self, outlet: Outlet) -> None:
        self._outlets[outlet] = None
        self._run()

    def hear(self, receiver: RTCRtpReceiver) -> None:
        """Report on this receiver's streams from now on (it has one)."""
        self._receivers[receiver] = None
        self._run()

    def leave(self, member: Outlet | RTCRtpReceiver) -> None:
        if isinstance(member, Outlet):
            self._outlets.pop(member, None)
        else:
            self._receivers.pop(member, None)
        if not self._outlets and not self._receivers and self._task is not None:
            self._task.cancel()
            self._task = None

    def _run(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._every_second())

    async def _every_second(self) -> None:
        while True:
            await asyncio.sleep(0.5 + random.random())
            try:
                self.send()
            except Exception:  # one bad report must not end the connection's others
                log.exception("RTCP reports failed")

    def send(self) -> None:
        due = [(outlet, made) for outlet in self._outlets if (made := outlet._report())]
        for at in range(0, len(due), REPORTS_PER_DATAGRAM):
            batch = due[at : at + REPORTS_PER_DATAGRAM]
            data = b"".join(report for _, (report, _chunk) in batch)
            chunks = [chunk for _, (_report, chunk) in batch if chunk is not None]
            if chunks:
                data += bytes(RtcpSdesPacket(chunks=chunks))
            batch[0][0]._send_rtcp(data)  # the connection's SRTCP, whichever outlet sends it
        heard = [bytes(rr) for receiver in self._receivers if (rr := receiver_report(receiver))]
        dtls = self._dtls()
        for at in range(0, len(heard), REPORTS_PER_DATAGRAM):
            if dtls is None or dtls._state is not DtlsState.CONNECTED:
                return
            try:
                rest = run_eagerly(dtls._send_rtp(b"".join(heard[at : at + REPORTS_PER_DATAGRAM])))
            except ConnectionError:  # the connection is closing (aiortc's loop ignores it too)
                return
            if rest is not None:
                asyncio.ensure_future(rest).add_done_callback(_log_unsent)


def _log_unsent(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("RTCP receiver reports not sent: %r", task.exception())


def check() -> None:
    """Fail loudly, naming it, if an internal the hot path uses moved."""
    from aiortc import rtcdtlstransport, rtcicetransport, rtcrtpreceiver, rtcrtpsender
    from aiortc import rtp as aiortc_rtp

    def need(where: Any, needles: tuple[str, ...], what: str) -> None:
        source = inspect.getsource(where)
        for needle in needles:
            if needle not in source:
                raise RuntimeError(f"{what} changed: {needle!r} is gone")

    need(
        rtcrtpreceiver.RTCRtpReceiver,
        (
            "async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int)",
            "self.__remote_bitrate_estimator.add(",
            "self.__remote_streams[packet.ssrc] = StreamStatistics(codec.clockRate)",
            "self.__nack_generator.add(packet)",
            "await self._send_rtcp_nack(",
            "fci=pack_remb_fci(*remb)",
            "self.__decoder_queue.put(",
            "self.__decoder_thread",
            "packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)",
            "async def _handle_rtcp_packet(self, packet: AnyRtcpPacket)",
            "async def receive(self, parameters: RTCRtpReceiveParameters)",
            "original_ssrc = self.__rtx_ssrc.get(packet.ssrc)",
            # what _Intake.run_rtcp and receiver_report stand in for
            "self.__rtcp_task = asyncio.ensure_future(self._run_rtcp())",
            "self.__rtcp_started.set()",
            "self.__rtcp_exited.set()",
            "for ssrc, stream in self.__remote_streams.items():",
            "lsr = self.__lsr[ssrc]",
            "delay = time.time() - self.__lsr_time[ssrc]",
            "dlsr = int(delay * 65536)",
            "fraction_lost=stream.fraction_lost,",
            "packet = RtcpRrPacket(ssrc=self.__rtcp_ssrc, reports=reports)",
        ),
        "aiortc RTCRtpReceiver",
    )
    need(
        rtcrtpsender.RTCRtpSender,
        (
            "self.__rtcp_task = asyncio.ensure_future(self._run_rtcp())",
            "self.__rtcp_started.set()",
            "self.__rtcp_exited.set()",
            "await self._retransmit(seq)",
            "self._ssrc = random32()",
            "async def send(self, parameters: RTCRtpSendParameters)",
            "data = await self.__track.recv()",
        ),
        "aiortc RTCRtpSender",
    )
    need(
        rtcdtlstransport.RTCDtlsTransport,
        (
            "self._tx_srtp = Session(tx_policy)",
            "tx_policy.allow_repeat_tx = True",
            "self._state",
            "await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)",
        ),
        "aiortc RTCDtlsTransport",
    )
    need(rtcicetransport.RTCIceTransport, ("self._connection = ",), "aiortc RTCIceTransport")
    need(
        rtcdtlstransport.RtpRouter,
        ("self.ssrc_table[ssrc] = receiver", "ssrc_receiver = self.ssrc_table.get(packet.ssrc)"),
        "aiortc RtpRouter",
    )
    need(
        rtcdtlstransport.RTCDtlsTransport,
        (
            "self._rtp_router = RtpRouter()",
            "self._rx_srtp = Session(rx_policy)",
            "self._rtp_header_extensions_map = rtp.HeaderExtensionsMap()",
            "data = self._rx_srtp.unprotect(data)",
            "packet = RtpPacket.parse(data, self._rtp_header_extensions_map)",
            "receiver = self._rtp_router.route_rtp(packet)",
            "arrival_time_ms = clock.current_ms()",
            'self.emit("statechange")',
        ),
        "aiortc DTLS",
    )
    need(aioice.ice.Connection, ("self._nominated[", "self._protocols: "), "aioice Connection")
    import asyncio.selector_events as selector_events

    datagrams = selector_events._SelectorDatagramTransport  # type: ignore[attr-defined]
    need(datagrams, ("recvfrom(self.max_size)",), "asyncio UDP")
    need(  # read_in_bursts: closing the transport removes whichever reader its socket has
        selector_events._SelectorTransport,  # type: ignore[attr-defined]
        ("self._sock_fd = sock.fileno()", "self._loop._remove_reader(self._sock_fd)"),
        "asyncio transports",
    )
    need(
        selector_events.BaseSelectorEventLoop,
        ("def _add_reader(self, fd, callback, *args)", "def _remove_reader(self, fd)"),
        "asyncio selector loop",
    )
    need(
        pylibsrtp.Session,
        (
            'self._cdata = ffi.new("char[]", 1500)',
            "self._buffer = ffi.buffer(self._cdata)",
            "self._srtp = ffi.gc(srtp,",
            "_srtp_assert(func(self._srtp[0], self._cdata, len_p))",
        ),
        "pylibsrtp Session",
    )
    need(aiortc_rtp.is_rtcp, ("msg[1] >= 192 and msg[1] <= 208",), "aiortc is_rtcp")  # Lane
    from aiortc import rate

    need(  # what quicken() replaces, line for line
        rate.RateCounter._erase_old,
        (
            "new_origin_ms = now_ms - self._window_size + 1",
            "while self._origin_ms < new_origin_ms:",
            "bucket = self._buckets[self._origin_index]",
            "self._total.count -= bucket.count",
            "self._total.value -= bucket.value",
            "self._origin_index = (self._origin_index + 1) % self._window_size",
            "self._origin_ms += 1",
        ),
        "aiortc RateCounter._erase_old",
    )
    need(
        rate.OveruseEstimator.update_min_frame_period,
        (
            "if len(self.ts_delta_hist) >= MIN_FRAME_PERIOD_HISTORY_LENGTH:",
            "self.ts_delta_hist.pop(0)",
            "min_frame_period = min(old_ts_delta, min_frame_period)",
            "self.ts_delta_hist.append(ts_delta)",
        ),
        "aiortc OveruseEstimator.update_min_frame_period",
    )
    need(
        rate.RemoteBitrateEstimator.__init__,
        ("self.incoming_bitrate = RateCounter(", "self.estimator = OveruseEstimator()"),
        "aiortc RemoteBitrateEstimator",
    )
    need(  # what _Intake.take does in line for the next packet of a gapless stream
        rtcrtpreceiver.StreamStatistics.add,
        (
            "self.packets_received += 1",
            "self.cycles += 1 << 16",
            "self.max_seq = packet.sequence_number",
            "arrival = int(time.time() * self._clockrate)",
            "self._jitter_q4 += diff - ((self._jitter_q4 + 8) >> 4)",
            "self._last_arrival = arrival",
            "self._last_timestamp = packet.timestamp",
        ),
        "aiortc StreamStatistics.add",
    )
    need(
        rtcrtpreceiver.NackGenerator.add,
        ("self.max_seq = packet.sequence_number", "self.truncate()"),
        "aiortc NackGenerator.add",
    )
    need(
        aiortc_rtp.HeaderExtensionsMap,
        ("self.__ids = HeaderExtensions()", "self.__ids.abs_send_time = ext.id"),
        "aiortc HeaderExtensionsMap",
    )
    need(aioice.ice.CandidatePair, ("def remote_addr(self)", "self.protocol = "), "aioice pair")
    need(
        aioice.ice.StunProtocol,
        (
            "self.transport = ",
            "def datagram_received(self, data: bytes | str, addr: tuple[Any, ...]) -> None:",
            "self.receiver.data_received(data, self.local_candidate.component)",
        ),
        "aioice StunProtocol",
    )
    from aiortc import clock

    need(clock, ("delta = current_datetime() - NTP_EPOCH",), "aiortc clock")  # NTP_EPOCH_MS
    if not hasattr(DtlsState, "CONNECTED"):
        raise RuntimeError("aiortc's DTLS State.CONNECTED is gone")
