"""Every aiortc internal the SFU touches, in one place (aiortc is pinned exactly: 1.16.0).

aiortc decodes what it receives and encodes what it sends. An SFU must do neither: the media
hot path (packets in from publishers, rewritten packets out to subscribers) lives in
appliance/sfu/fastpath.py with the internals it needs. What is left here is control:

* Keyframes: `RTCRtpReceiver._send_rtcp_pli` asks a publisher for one; a subscriber's PLI
  reaches `RTCRtpSender._send_keyframe`, which we point at our own handler.
* Retransmissions: `RTCRtpReceiver._send_rtcp_nack` asks a publisher for packets again.
* Bandwidth: the REMB a publisher is sent comes from `RemoteBitrateEstimator.add`, which we
  wrap to cap it; a subscriber's REMB arrives in `RTCRtpSender._handle_rtcp_packet`.
* Active speaker: the ssrc-audio-level header extension is parsed onto each packet (read
  from the packets the fast path taps).
* ICE: aioice gathers host candidates from `aioice.ice.get_host_addresses`; we restrict it to
  the configured addresses, and shorten its consent checks so a vanished peer is noticed in
  seconds.

`check()` verifies all of it; tests/sfu/test_aiortc_internals.py calls it so that an aiortc
upgrade that moves any of these fails loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import aioice.ice
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, unpack_remb_fci

FrameSink = Callable[[RTCRtpCodecParameters | None, JitterFrame | None], None]


def audio_level(packet: RtpPacket) -> int | None:
    """The packet's audio level in -dBov (0 loudest, 127 silence), if it carries one."""
    level = packet.extensions.audio_level
    return None if level is None else int(level[1])


def request_keyframe(receiver: RTCRtpReceiver, ssrc: int) -> Awaitable[None]:
    coroutine: Awaitable[None] = receiver._send_rtcp_pli(ssrc)
    return coroutine


def request_resend(receiver: RTCRtpReceiver, ssrc: int, lost: list[int]) -> Awaitable[None]:
    coroutine: Awaitable[None] = receiver._send_rtcp_nack(ssrc, lost)
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
        if frame is None:
            continue
        owner = frame.f_locals.get("self")
        # (the fast path's stand-ins for the RTCP loops: an outlet's, an intake's)
        whose = (owner, getattr(owner, "sender", None), getattr(owner, "receiver", None))
        if any(id(part) in parts for part in whose if part is not None):
            task.cancel()


def check() -> None:
    """Fail loudly if the aiortc internals above are not where this code expects them."""
    import inspect

    from aiortc import rtcrtpreceiver, rtcrtpsender

    receiver_source = inspect.getsource(rtcrtpreceiver.RTCRtpReceiver)
    for needle in (
        "self.__remote_bitrate_estimator.add(",
        "async def _send_rtcp_pli(self, media_ssrc: int)",
        "async def _send_rtcp_nack(self, media_ssrc: int, lost: list[int])",
    ):
        if needle not in receiver_source:
            raise RuntimeError(f"aiortc RTCRtpReceiver changed: {needle!r} is gone")
    sender_source = inspect.getsource(rtcrtpsender.RTCRtpSender)
    for needle in (
        "self._send_keyframe()",
        "async def _handle_rtcp_packet(self, packet: AnyRtcpPacket)",
    ):
        if needle not in sender_source:
            raise RuntimeError(f"aiortc RTCRtpSender changed: {needle!r} is gone")
    from appliance.sfu import fastpath

    fastpath.check()
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
