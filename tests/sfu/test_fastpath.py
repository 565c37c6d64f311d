"""The pieces of the forwarding hot path that replace aiortc's and pylibsrtp's per-packet
layers (appliance/sfu/fastpath.py): each must do what the layer it replaces did.

* `parse_rtp` reads every packet aiortc's `RtpPacket.parse` reads, to the same fields (the
  header extensions the SFU uses included), and refuses what it refuses.
* `Cipher` protects what a pylibsrtp Session unprotects, and the other way round.
* `read_in_bursts` hands over every datagram waiting on a socket in one wake-up.
* `PerFrame` feeds the uplink bitrate estimator once a frame, a batch of frames at a time, and
  it estimates as it did when fed every packet.
* `run_eagerly` runs RTCP work at once, and what waits still finishes as a task would.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import socket
import time
from typing import Any

import pylibsrtp
import pytest
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from appliance.sfu.fastpath import (
    ESTIMATE_EVERY_MS,
    Cipher,
    PerFrame,
    parse_rtp,
    read_in_bursts,
    run_eagerly,
    sendto_or_drop,
)
from tests.support.waiting import eventually

LEVEL, SEND_TIME, MID = 1, 3, 4
URIS = {
    LEVEL: "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    SEND_TIME: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    MID: "urn:ietf:params:rtp-hdrext:sdes:mid",
}


def extensions_map() -> HeaderExtensionsMap:
    negotiated = HeaderExtensionsMap()
    negotiated.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=i, uri=uri) for i, uri in URIS.items()
            ]
        )
    )
    return negotiated


def fields(packet: RtpPacket) -> tuple[Any, ...]:
    return (
        packet.version,
        packet.marker,
        packet.payload_type,
        packet.sequence_number,
        packet.timestamp,
        packet.ssrc,
        packet.csrc,
        packet.payload,
        packet.padding_size,
        packet.extensions.abs_send_time,
        packet.extensions.audio_level,
    )


def random_packet(rng: random.Random) -> RtpPacket:
    packet = RtpPacket(
        payload_type=rng.randrange(128),
        marker=rng.randrange(2),
        sequence_number=rng.randrange(1 << 16),
        timestamp=rng.randrange(1 << 32),
        ssrc=rng.randrange(1 << 32),
        payload=rng.randbytes(rng.randrange(60)),
    )
    packet.csrc = [rng.randrange(1 << 32) for _ in range(rng.choice((0, 0, 1, 3)))]
    if rng.random() < 0.6:
        packet.extensions.audio_level = (rng.random() < 0.5, rng.randrange(128))
    if rng.random() < 0.6:
        packet.extensions.abs_send_time = rng.randrange(1 << 24)
    if rng.random() < 0.3:
        packet.extensions.mid = "a"
    if rng.random() < 0.2:
        packet.padding_size = rng.randrange(1, 30)
    return packet


def parsed(data: bytes) -> tuple[Any, ...] | str:
    try:
        return fields(parse_rtp(data, SEND_TIME, LEVEL))
    except ValueError:
        return "refused"


def parsed_by_aiortc(data: bytes, negotiated: HeaderExtensionsMap) -> tuple[Any, ...] | str:
    try:
        return fields(RtpPacket.parse(data, negotiated))
    except ValueError:
        return "refused"


def test_parse_reads_what_aiortc_reads():
    rng = random.Random(7)
    negotiated = extensions_map()
    for _ in range(3000):
        data = random_packet(rng).serialize(negotiated)
        assert parsed(data) == parsed_by_aiortc(data, negotiated)


def test_parse_refuses_every_truncation_aiortc_refuses():
    rng = random.Random(8)
    negotiated = extensions_map()
    for _ in range(300):
        packet = random_packet(rng)
        packet.extensions.mid = None  # aiortc decodes it, and a cut one is not UTF-8
        data = packet.serialize(negotiated)
        for end in range(len(data)):
            assert parsed(data[:end]) == parsed_by_aiortc(data[:end], negotiated), end


def test_parse_reads_two_byte_extensions_and_skips_unknown_ones():
    header = bytes((0x90, 96)) + bytes(10)
    # RFC 8285 two-byte form: an unknown id 200 with 5 bytes, then abs-send-time (id 3)
    elements = bytes((200, 5)) + b"abcde" + bytes((SEND_TIME, 3, 0x12, 0x34, 0x56))
    elements += bytes(-len(elements) % 4)
    data = header + b"\x10\x00" + (len(elements) // 4).to_bytes(2, "big") + elements + b"vp8"
    packet = parse_rtp(data, SEND_TIME, LEVEL)
    assert packet.extensions.abs_send_time == 0x123456
    assert packet.extensions.audio_level is None
    assert packet.payload == b"vp8"


def test_parse_refuses_what_is_not_rtp():
    with pytest.raises(ValueError):
        parse_rtp(bytes(11), SEND_TIME, LEVEL)
    with pytest.raises(ValueError):
        parse_rtp(bytes((0x40, 96)) + bytes(10), SEND_TIME, LEVEL)  # version 1


def sessions() -> tuple[pylibsrtp.Session, pylibsrtp.Session]:
    key = bytes(range(30))
    sender = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    receiver = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
    return pylibsrtp.Session(sender), pylibsrtp.Session(receiver)


def rtp_packet(seq: int, size: int = 1100) -> bytes:
    return RtpPacket(
        payload_type=96, sequence_number=seq, ssrc=1234, payload=bytes(size)
    ).serialize()


def test_the_cipher_protects_what_a_session_unprotects_and_back():
    out, back = sessions()
    cipher = Cipher(out)
    for seq in range(50):
        plain = rtp_packet(seq)
        assert back.unprotect(cipher.protect(bytearray(plain))) == plain
    rtcp = bytes.fromhex("80c8000600000001") + bytes(20)  # a sender report
    assert back.unprotect_rtcp(cipher.protect_rtcp(rtcp)) == rtcp

    out, back = sessions()
    cipher = Cipher(back)
    for seq in range(50):
        plain = rtp_packet(seq)
        assert cipher.unprotect(out.protect(plain)) == plain
    assert cipher.unprotect_rtcp(out.protect_rtcp(rtcp)) == rtcp


def test_the_cipher_refuses_a_tampered_or_replayed_packet_and_one_too_long():
    out, back = sessions()
    cipher = Cipher(back)
    protected = out.protect(rtp_packet(1))
    tampered = bytearray(protected)
    tampered[20] ^= 1
    with pytest.raises(pylibsrtp.Error):
        cipher.unprotect(bytes(tampered))
    assert cipher.unprotect(protected) == rtp_packet(1)
    with pytest.raises(pylibsrtp.Error):
        cipher.unprotect(protected)  # a replay
    with pytest.raises(ValueError):
        Cipher(out).protect(rtp_packet(2, size=1500))


class Counting(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: Any = None
        self.received: list[bytes] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.append(data)


async def test_a_wake_up_reads_every_datagram_waiting():
    loop = asyncio.get_running_loop()

    async def endpoint(bursts: bool) -> Counting:
        _, protocol = await loop.create_datagram_endpoint(Counting, local_addr=("127.0.0.1", 0))
        if bursts:
            read_in_bursts(protocol)
        return protocol

    async def arrived(protocol: Counting) -> int:
        address = protocol.transport.get_extra_info("sockname")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for n in range(5):
                sender.sendto(bytes([n]), address)
        for _ in range(3):  # three turns of the loop
            await asyncio.sleep(0)
        return len(protocol.received)

    stock, bursting = await endpoint(False), await endpoint(True)
    try:
        assert await arrived(stock) < 5  # asyncio's transport: one datagram a turn
        assert await arrived(bursting) == 5
        assert bursting.received == [bytes([n]) for n in range(5)]
    finally:
        stock.transport.close()
        bursting.transport.close()
    await asyncio.sleep(0)
    assert bursting.transport.is_closing()
    fd = bursting.transport.get_extra_info("socket").fileno()
    assert fd == -1 or fd not in loop._selector.get_map()  # type: ignore[attr-defined]


def test_on_uvloop_a_datagram_goes_out_at_once_or_not_at_all():
    """uvloop's transport queues what the socket cannot take; the outlet's writes drop it
    instead, as a full socket buffer does (a late media packet is a lost one)."""
    uvloop = pytest.importorskip("uvloop")  # where Hearth runs on asyncio's loop, not needed

    async def send_one() -> list[bytes]:
        loop = asyncio.get_running_loop()
        receiver, into = await loop.create_datagram_endpoint(Counting, local_addr=("127.0.0.1", 0))
        sender, _ = await loop.create_datagram_endpoint(Counting, local_addr=("127.0.0.1", 0))
        assert type(sender).__module__.startswith("uvloop")  # not asyncio's
        try:
            sendto_or_drop(sender)(b"now", receiver.get_extra_info("sockname"))
            await eventually(lambda: into.received == [b"now"], timeout=5)
            return into.received
        finally:
            sender.close()
            receiver.close()

    assert uvloop.run(send_one()) == [b"now"]

    class Queueing:  # a transport holding a datagram it could not send yet
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def sendto(self, data: bytes, address: Any) -> None:
            self.sent.append(data)

        def get_write_buffer_size(self) -> int:
            return 1100

    transport = Queueing()
    with pytest.raises(BlockingIOError):
        sendto_or_drop(transport)(b"late", ("127.0.0.1", 9))
    assert transport.sent == []


def video(seconds: float, congested_from: float, fps: int = 30) -> list[tuple[RtpPacket, int]]:
    """1.5 Mbps of 1100-byte packets, each frame's sent 0.5 ms apart; from `congested_from`
    on, the link drains slower than it is fed: each packet waits 0.8 ms longer than the last.
    (packet, arrival in ms)"""
    per_frame = 1_500_000 // 8 // fps // 1100 + 1
    queued, arrivals = 0.0, []
    for frame in range(int(seconds * fps)):
        for n in range(per_frame):
            sent = frame / fps + n * 0.0005
            if sent >= congested_from:
                queued += 0.0008
            packet = RtpPacket(payload_type=96, marker=int(n == per_frame - 1), payload=bytes(1100))
            packet.extensions.abs_send_time = int(sent * (1 << 18)) & 0xFFFFFF  # 6.18 s
            arrivals.append((packet, int((sent + 0.010 + queued) * 1000)))
    return arrivals


class Noted:
    """A RemoteBitrateEstimator whose every call is noted: (the frame's arrival ms, the
    estimate made or None), and when it was called (the arrival of the packet being taken)."""

    def __init__(self) -> None:
        self.estimator = RemoteBitrateEstimator()
        self.calls: list[tuple[int, int | None]] = []
        self.called_at: list[int] = []
        self.now = 0
        add = self.estimator.add

        def noted(**kwargs: Any) -> Any:
            estimate = add(**kwargs)
            self.calls.append(
                (kwargs["arrival_time_ms"], None if estimate is None else estimate[0])
            )
            self.called_at.append(self.now)
            return estimate

        self.estimator.add = noted

    def made(self) -> list[tuple[int, int]]:
        return [(when, bps) for when, bps in self.calls if bps is not None]


def test_the_estimate_fed_once_a_frame_is_the_one_fed_every_packet():
    every, once = RemoteBitrateEstimator(), Noted()
    per_frame = PerFrame(once.estimator)
    by_packet: list[tuple[int, int]] = []
    trace = video(seconds=16, congested_from=12)
    for packet, arrived in trace:
        estimate = every.add(
            abs_send_time=packet.extensions.abs_send_time,
            arrival_time_ms=arrived,
            payload_size=len(packet.payload),
            ssrc=packet.ssrc,
        )
        if estimate is not None:
            by_packet.append((arrived, estimate[0]))
        per_frame(packet, arrived)
    per_frame.run()
    by_frame = once.made()

    def at(estimates: list[tuple[int, int]], ms: int) -> int:
        return [bps for when, bps in estimates if when <= ms][-1]

    assert len(once.calls) == 16 * 30  # one a frame, not one a packet
    for ms in (6000, 9000, 11_900, 12_500, 14_000, 16_000):
        assert abs(at(by_frame, ms) - at(by_packet, ms)) <= 0.02 * at(by_packet, ms), ms
    assert at(by_frame, 13_000) < 0.7 * at(by_frame, 11_900)  # the congestion is seen


def test_the_estimator_runs_on_batches_of_frames_and_their_last_estimate_is_sent():
    """Fed a batch of frames every ESTIMATE_EVERY_MS, the estimator makes the estimates it
    makes fed each frame as it comes (the same calls, in the same order), a frame waits no
    longer than that for its turn, and a batch's last estimate is the one to send."""
    batched, at_once = Noted(), Noted()
    per_frame = PerFrame(batched.estimator)
    sent: list[tuple[int, int]] = []
    frame_bytes = 0
    for packet, arrived in video(seconds=16, congested_from=12):
        batched.now = arrived
        before = len(batched.calls)
        estimate = per_frame(packet, arrived)
        made_now = [bps for _, bps in batched.calls[before:] if bps is not None]
        assert estimate == (None if not made_now else (made_now[-1], [packet.ssrc]))
        if estimate is not None:
            sent.append((arrived, estimate[0]))
        frame_bytes += len(packet.payload)
        if packet.marker:
            at_once.estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrived,
                payload_size=frame_bytes,
                ssrc=packet.ssrc,
            )
            frame_bytes = 0
    per_frame.run()

    assert batched.calls == at_once.calls  # the same estimates, from the same frames
    waits = [
        now - arrival for (arrival, _), now in zip(batched.calls, batched.called_at, strict=True)
    ]
    assert max(waits[:-4]) <= ESTIMATE_EVERY_MS + 34  # one frame interval at 30 fps
    runs = len(set(batched.called_at[:-4]))
    assert 16_000 // (ESTIMATE_EVERY_MS + 34) - 1 <= runs <= 16_000 // ESTIMATE_EVERY_MS
    assert len(sent) >= 16  # REMBs still go out (aiortc's every second at least, more under load)


def test_a_clock_step_does_not_hold_the_estimators_frames():
    """time.time() can step back (NTP, a wrong clock corrected): the frames noted before the
    step are run at once, not held until the clock catches up."""
    noted = Noted()
    per_frame = PerFrame(noted.estimator)
    trace = video(seconds=1, congested_from=9)  # 6 packets a frame
    for packet, arrived in trace[:12]:
        per_frame(packet, arrived)
    assert noted.calls == []  # two frames noted, 33 ms apart: not run yet
    for packet, arrived in trace[12:18]:
        per_frame(packet, arrived - 3_600_000)  # the clock went back an hour
    assert [arrival for arrival, _ in noted.calls] == [
        arrived for _, arrived in (trace[5], trace[11])
    ] + [trace[17][1] - 3_600_000]


async def test_work_that_never_waits_is_done_at_once():
    done: list[str] = []

    async def note() -> None:
        done.append("noted")

    assert run_eagerly(note()) is None
    assert done == ["noted"]  # before any turn of the loop


async def test_work_that_waits_finishes_as_a_task_would():
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[int] = loop.create_future()
    failure: asyncio.Future[int] = loop.create_future()
    seen: list[Any] = []

    async def work() -> None:
        seen.append("started")
        seen.append(await answer)
        await asyncio.sleep(0)
        try:
            await failure
        except KeyError as error:
            seen.append(error.args[0])

    rest = run_eagerly(work())
    assert rest is not None
    assert seen == ["started"]
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    answer.set_result(42)
    loop.call_soon(failure.set_exception, KeyError("refused"))
    await asyncio.wait_for(task, timeout=5)
    assert seen == ["started", 42, "refused"]


async def test_work_cancelled_while_waiting_is_closed():
    waiting: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    closed: list[bool] = []

    async def work() -> None:
        try:
            await waiting
        finally:
            closed.append(True)

    rest = run_eagerly(work())
    assert rest is not None
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed == [True]


def test_work_that_fails_at_once_raises_at_once():
    async def refuse() -> None:
        raise ValueError("bad report")

    with pytest.raises(ValueError, match="bad report"):
        run_eagerly(refuse())


def lossy_stream(rng: random.Random, count: int) -> list[RtpPacket]:
    """A VP8 stream's packets as a publisher's network delivers them: from near the sequence
    number wrap, with losses, duplicates, reordered packets, and RTX resends (of lost
    packets, and needless ones that arrive before the packet before theirs)."""
    sent: list[RtpPacket] = []
    seq, timestamp = 65_500, 1_000
    for n in range(count):
        packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, ssrc=MEDIA)
        packet.marker = int(n % 4 == 3)
        packet.payload = bytes([0x90, 0, 0, 0]) + bytes(rng.randrange(10, 40))
        sent.append(packet)
        seq = (seq + 1) & 0xFFFF
        timestamp += 3000 * packet.marker
    arrived: list[RtpPacket] = []

    def resent(packet: RtpPacket) -> RtpPacket:
        original = packet.sequence_number.to_bytes(2, "big")
        return RtpPacket(
            payload_type=97,
            sequence_number=len(arrived) & 0xFFFF,
            timestamp=packet.timestamp,
            ssrc=RTX,
            marker=packet.marker,
            payload=original + packet.payload,
        )

    for packet in sent:
        roll = rng.random()
        if roll < 0.08:  # lost; resent by RTX a little later, sometimes
            if rng.random() < 0.6:
                arrived.insert(len(arrived) + rng.randrange(2, 6), resent(packet))
            continue
        if roll < 0.1 and arrived:  # resent needlessly, and the resend overtook the one before
            arrived.insert(len(arrived) - 1, resent(packet))
            arrived.append(packet)
        elif roll < 0.14 and arrived:  # reordered with the one before
            arrived.insert(len(arrived) - 1, packet)
        else:
            arrived.append(packet)
        if rng.random() < 0.02:  # duplicated
            arrived.append(packet)
    return arrived


MEDIA, RTX = 1111, 2222


def test_the_intake_keeps_statistics_and_nacks_as_aiortc_does(monkeypatch: pytest.MonkeyPatch):
    from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters
    from aiortc.rtcrtpreceiver import NackGenerator, RTCRtpReceiver, StreamStatistics
    from aiortc.rtp import unwrap_rtx

    from appliance.sfu.fastpath import tap

    now = [1_700_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    dtls = RTCDtlsTransport(
        RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()]
    )
    receiver = RTCRtpReceiver("video", dtls)
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
    rtx = RTCRtpCodecParameters(
        mimeType="video/rtx", clockRate=90_000, payloadType=97, parameters={"apt": 96}
    )
    receiver._RTCRtpReceiver__codecs.update({96: vp8, 97: rtx})  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__rtx_ssrc[RTX] = MEDIA  # type: ignore[attr-defined]
    forwarded: list[tuple[int, int]] = []
    nacked: list[list[int]] = []

    async def nack(ssrc: int, lost: list[int]) -> None:
        nacked.append(lost)

    receiver._send_rtcp_nack = nack  # type: ignore[method-assign]
    tap(receiver, "video", lambda p: forwarded.append((p.ssrc, p.sequence_number)), lambda: None)
    streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    nacks = receiver._RTCRtpReceiver__nack_generator  # type: ignore[attr-defined]

    # What aiortc's own _handle_rtp_packet does with the same packets.
    their_streams: dict[int, StreamStatistics] = {}
    their_nacks = NackGenerator()
    their_forwarded: list[tuple[int, int]] = []
    their_nacked: list[list[int]] = []

    def state(streams: dict[int, StreamStatistics], nacks: Any) -> Any:
        return (
            {ssrc: dict(vars(s)) for ssrc, s in streams.items()},
            nacks.max_seq,
            sorted(nacks.missing),
        )

    rng = random.Random(7)
    trace = lossy_stream(rng, 3000)
    for packet in trace:
        now[0] += rng.choice((0.0, 0.0004, 0.003, 0.03))
        their = their_streams.setdefault(packet.ssrc, StreamStatistics(90_000))
        their.add(packet)
        unwrapped = packet
        if packet.payload_type == 97:
            unwrapped = unwrap_rtx(packet, payload_type=96, ssrc=MEDIA)
        if their_nacks.add(unwrapped):
            their_nacked.append(sorted(their_nacks.missing))
        their_forwarded.append((unwrapped.ssrc, unwrapped.sequence_number))

        work = receiver._handle_rtp_packet(packet, int(now[0] * 1000))
        if inspect.iscoroutine(work):  # the NACKs to send
            assert run_eagerly(work) is None
        assert state(streams, nacks) == state(their_streams, their_nacks), packet.sequence_number
    assert forwarded == their_forwarded
    assert nacked == their_nacked
    assert len(nacked) > 100 and streams[MEDIA].cycles == 1 << 16  # losses, and the wrap


async def test_closing_a_connection_stops_the_rtcp_stand_ins_a_setup_race_left():
    """aiortc's connect task can start a receiver's or sender's RTCP loop after close() stopped
    them; the fast path's stand-ins for those loops (a receiver waiting for its first
    stream, an outlet waiting to report) are cancelled with the connection's other leftovers."""
    from aiortc import RTCPeerConnection

    from appliance.sfu import hooks
    from appliance.sfu.fastpath import Outlet, Totals, tap

    pc = RTCPeerConnection()
    receiver = pc.addTransceiver("audio", direction="recvonly").receiver
    sender = pc.addTransceiver("audio", direction="sendonly").sender
    tap(receiver, "audio", lambda packet: None, lambda: None)
    Outlet(sender, lambda: None, lambda: None, Totals())
    await pc.close()
    late = [asyncio.ensure_future(receiver._run_rtcp()), asyncio.ensure_future(sender._run_rtcp())]
    await asyncio.sleep(0)
    assert not any(task.done() for task in late)
    hooks.stop_leftover_tasks(pc)
    await asyncio.wait(late, timeout=5)
    assert all(task.done() for task in late)


def test_the_quickened_estimator_keeps_to_aiortcs_every_step():
    """quicken() swaps two of the estimator's loops for C; fed the same frames (steady,
    bursts, stalls longer than its window, a clock stepping back), it must answer and hold
    exactly what aiortc's own does, after every frame."""
    from appliance.sfu.fastpath import quicken

    rng = random.Random(11)
    stock, quick = RemoteBitrateEstimator(), RemoteBitrateEstimator()
    quicken(quick)

    def counter(estimator: RemoteBitrateEstimator) -> Any:
        c = estimator.incoming_bitrate
        return ([(b.count, b.value) for b in c._buckets], c._total.count, c._total.value,
                c._origin_index, c._origin_ms)  # fmt: skip

    def filtered(estimator: RemoteBitrateEstimator) -> dict[str, Any]:
        return {k: v for k, v in vars(estimator.estimator).items() if not callable(v)}

    now, sent, estimates = 5_000_000, 0, 0
    for _ in range(4000):
        gap = rng.choice([33, 33, 33, 34, 16, 1, 0, 250, 999, 1000, 1001, 2600, -3])
        now += gap
        sent = (sent + max(0, gap) * 262 + rng.randint(-40, 40)) & 0xFFFFFF  # 2^18 per second
        frame = {"arrival_time_ms": now, "abs_send_time": sent, "ssrc": 7}
        frame["payload_size"] = rng.choice([0, rng.randint(200, 12_000)])
        estimate = stock.add(**frame)
        assert estimate == quick.add(**frame)
        estimates += estimate is not None
        assert counter(stock) == counter(quick)
        assert filtered(stock) == filtered(quick)
        if rng.random() < 0.1:
            assert stock.incoming_bitrate.rate(now) == quick.incoming_bitrate.rate(now)
    assert estimates > 10 and len(quick.estimator.ts_delta_hist) == 60  # all of it ran
