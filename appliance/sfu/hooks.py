"""Every aiortc internal the SFU touches, in one place (aiortc is pinned exactly: 1.16.0).

aiortc decodes what it receives and encodes what it sends. An SFU must do neither, so:

* Receive: `RTCRtpReceiver._handle_rtp_packet` reassembles frames in its jitter buffer and puts
  `(codec, JitterFrame)` on a private decoder queue read by a decoder thread. We swap that
  queue for one whose `put()` hands the encoded frame to us on the event loop and never
  decodes; and we swap the jitter buffer for one that releases a frame as soon as it is whole
  (video: the RTP marker bit; audio: every packet), where the stock one waits for the next
  frame to start (a frame interval of delay for video, four packets for audio).
* Send: `RTCRtpSender._next_encoded_frame` only packetizes what a track returns when it is
  not an `av.Frame`; our slot tracks return `av.Packet`s.
* Keyframes: `RTCRtpReceiver._send_rtcp_pli` asks a publisher for one; a subscriber's PLI
  reaches `RTCRtpSender._send_keyframe`, which we point at our own handler.
* Bandwidth: the REMB a publisher is sent comes from `RemoteBitrateEstimator.add`, which we
  wrap to cap it; a subscriber's REMB arrives in `RTCRtpSender._handle_rtcp_packet`.
* Active speaker: the ssrc-audio-level header extension is parsed onto each packet; we read it
  by wrapping the receiver's `_handle_rtp_packet`.
* ICE: aioice gathers host candidates from `aioice.ice.get_host_addresses`; we restrict it to
  the configured addresses, and shorten its consent checks so a vanished peer is noticed in
  seconds.

`check()` verifies all of it; tests/sfu/test_aiortc_internals.py calls it so that an aiortc
upgrade that moves any of these fails loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import Awaitable, Callable
from typing import Any

import aioice.ice
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, unpack_remb_fci

FrameSink = Callable[[RTCRtpCodecParameters | None, JitterFrame | None], None]


class _HandoffQueue(queue.Queue[Any]):
    """Stands in for the receiver's decoder queue: frames go to `sink` on the event loop.

    The stock decoder thread still starts and blocks on `get()`; the `None` that stops it is
    passed through so it exits (and the sink hears that the track ended)."""

    def __init__(self, sink: FrameSink) -> None:
        super().__init__()
        self._sink = sink

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            self._sink(None, None)
            super().put(None, block, timeout)
            return
        codec, frame = item
        self._sink(codec, frame)


class WholeFrameBuffer(JitterBuffer):
    """Releases a frame as soon as it is complete: video on the marker bit (or when the next
    frame starts, if the marker was lost), audio packet by packet."""

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        packets: list[RtpPacket] = []
        timestamp = None
        assert self._origin is not None
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                return None
            if not self._is_video:
                self.remove(1)
                return JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                self.remove(count)
                return _frame(packets, timestamp)
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return _frame(packets, timestamp)
        return None


def _frame(packets: list[RtpPacket], timestamp: int) -> JitterFrame:
    return JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)  # type: ignore[attr-defined]


def take_frames(receiver: RTCRtpReceiver, kind: str, sink: FrameSink) -> None:
    """Route a receiver's reassembled frames to `sink` instead of its decoder. Call it after
    setRemoteDescription and before the connection starts receiving."""
    if receiver._RTCRtpReceiver__decoder_thread is not None:  # type: ignore[attr-defined]
        raise RuntimeError("the receiver has started already")
    receiver._RTCRtpReceiver__decoder_queue = _HandoffQueue(sink)  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__jitter_buffer = (  # type: ignore[attr-defined]
        WholeFrameBuffer(capacity=512, is_video=True)
        if kind == "video"
        else WholeFrameBuffer(capacity=16)
    )


def watch_packets(receiver: RTCRtpReceiver, on_packet: Callable[[RtpPacket], None]) -> None:
    """Call `on_packet` for every RTP packet the receiver handles (audio levels)."""
    original = receiver._handle_rtp_packet

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        on_packet(packet)
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


def audio_level(packet: RtpPacket) -> int | None:
    """The packet's audio level in -dBov (0 loudest, 127 silence), if it carries one."""
    level = packet.extensions.audio_level
    return None if level is None else int(level[1])


def media_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC the publisher sends this receiver's media with (PLIs are addressed to it)."""
    for source in receiver.getSynchronizationSources():
        return int(source.source)
    return None


def request_keyframe(receiver: RTCRtpReceiver, ssrc: int) -> Awaitable[None]:
    coroutine: Awaitable[None] = receiver._send_rtcp_pli(ssrc)
    return coroutine


def cap_remb(receiver: RTCRtpReceiver, cap: Callable[[int], int]) -> None:
    """Pass every REMB this receiver would send its publisher through `cap(bitrate)`."""
    estimator = receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
    if estimator is None:
        return
    original = estimator.add

    def add(**kwargs: Any) -> tuple[int, list[int]] | None:
        estimate = original(**kwargs)
        if estimate is None:
            return None
        bitrate, ssrcs = estimate
        return cap(bitrate), ssrcs

    estimator.add = add


def on_subscriber_feedback(
    sender: RTCRtpSender, keyframe: Callable[[], None], remb: Callable[[int], None]
) -> None:
    """A subscriber's PLI/FIR calls `keyframe()`; its REMB estimates go to `remb(bps)`."""
    sender._send_keyframe = keyframe  # type: ignore[method-assign]
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            with contextlib.suppress(ValueError):
                remb(unpack_remb_fci(packet.fci)[0])
        await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def restrict_host_addresses(addresses: list[str]) -> None:
    """Offer only these addresses as ICE host candidates (all of aioice's, when empty)."""
    if not hasattr(aioice.ice, "_hearth_original_addresses"):
        aioice.ice._hearth_original_addresses = aioice.ice.get_host_addresses  # type: ignore[attr-defined]
    original = aioice.ice._hearth_original_addresses  # type: ignore[attr-defined]
    if not addresses:
        aioice.ice.get_host_addresses = original
        return
    chosen = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


def quick_consent(interval: int = 2, failures: int = 3) -> None:
    """Notice a vanished peer (a browser killed, a phone off the Wi-Fi) in about
    interval x failures seconds instead of aioice's 5 s x 6: its ICE consent checks stop
    being answered, the connection fails, and the room removes the participant."""
    aioice.ice.CONSENT_INTERVAL = interval
    aioice.ice.CONSENT_FAILURES = failures
    # aioice's connect() can start the consent checks after close() began (when the checks
    # completed just before it): they would poll a closed connection until they fail.
    connection = aioice.ice.Connection
    if not getattr(connection.query_consent, "_hearth_guarded", False):
        original = connection.query_consent

        async def query_consent(self: Any) -> None:
            if getattr(self, "_closing", False):
                return
            await original(self)

        query_consent._hearth_guarded = True  # type: ignore[attr-defined]
        connection.query_consent = query_consent  # type: ignore[method-assign]


def stop_leftover_tasks(pc: Any) -> None:
    """After `pc.close()`: cancel tasks still running for its parts. A close that races the
    connection's setup leaves some behind: aioice starts consent checks at the end of
    connect(), and aiortc's connect task can start a receiver's RTCP loop after close()
    stopped that receiver; both would run on (the RTCP loop forever)."""
    parts = set()
    for transceiver in pc.getTransceivers():
        parts.add(id(transceiver.receiver))
        parts.add(id(transceiver.sender))
        parts.add(id(transceiver.receiver.transport.transport._connection))
    for task in asyncio.all_tasks():
        frame = getattr(task.get_coro(), "cr_frame", None)
        if frame is not None and id(frame.f_locals.get("self")) in parts:
            task.cancel()


def check() -> None:
    """Fail loudly if the aiortc internals above are not where this code expects them."""
    import inspect

    from aiortc import rtcrtpreceiver, rtcrtpsender

    receiver_source = inspect.getsource(rtcrtpreceiver.RTCRtpReceiver)
    for needle in (
        "self.__decoder_queue.put((codec, encoded_frame))",
        "self.__jitter_buffer.add(packet)",
        "self.__remote_bitrate_estimator.add(",
        "self.__decoder_thread",
        "async def _send_rtcp_pli(self, media_ssrc: int)",
        "async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int)",
    ):
        if needle not in receiver_source:
            raise RuntimeError(f"aiortc RTCRtpReceiver changed: {needle!r} is gone")
    sender_source = inspect.getsource(rtcrtpsender.RTCRtpSender)
    for needle in (
        "payloads, timestamp = self.__encoder.pack(data)",
        "self._send_keyframe()",
        "async def _handle_rtcp_packet(self, packet: AnyRtcpPacket)",
    ):
        if needle not in sender_source:
            raise RuntimeError(f"aiortc RTCRtpSender changed: {needle!r} is gone")
    if "_remove_frame" not in vars(JitterBuffer) or "_packets" not in inspect.getsource(
        JitterBuffer.__init__
    ):
        raise RuntimeError("aiortc JitterBuffer changed")
    if not callable(getattr(aioice.ice, "get_host_addresses", None)):
        raise RuntimeError("aioice.ice.get_host_addresses is gone")
    from aiortc import rtcicetransport

    if "self._connection = " not in inspect.getsource(rtcicetransport.RTCIceTransport):
        raise RuntimeError("aiortc RTCIceTransport no longer keeps its aioice _connection")
    consent = inspect.getsource(aioice.ice.Connection)
    if (
        "CONSENT_INTERVAL" not in consent
        or "CONSENT_FAILURES" not in consent
        or "async def query_consent(self)" not in consent
        or "self._closing = True" not in consent
    ):
        raise RuntimeError("aioice's ICE consent checks changed")
