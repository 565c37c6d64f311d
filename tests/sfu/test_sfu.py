"""The SFU with real aiortc peers on loopback: three people in a call, late joiners, muting,
screen sharing, a participant that vanishes, and nothing left running afterwards."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import threading
import time
from typing import Any

from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSrPacket,
    is_rtcp,
    unpack_remb_fci,
)

from appliance.config import CallSettings
from appliance.sfu import SFU
from appliance.sfu.fastpath import MAX_DATAGRAM, Lane, Reports, lane_of
from tests.sfu.peers import PatternTrack, Peer
from tests.support.waiting import eventually

CALL = 1


async def join(state: dict[str, Any], user_id: int, **kwargs: Any) -> Peer:
    peer = state["peers"][user_id] = Peer(CALL, user_id, **kwargs)
    await peer.join(state["sfu"])
    return peer


def lane(pc: Any) -> Lane:
    taken = lane_of(pc.getTransceivers()[0].receiver.transport)
    assert isinstance(taken, Lane), taken
    return taken


async def test_three_people_each_decode_the_other_two_at_the_sent_size(call):
    sizes = {1: (320, 240), 2: (240, 160), 3: (160, 120)}
    peers = [await join(call, uid, width=w, height=h) for uid, (w, h) in sizes.items()]

    def everyone_sees_everyone() -> bool:
        for peer in peers:
            for other, size in sizes.items():
                if other == peer.user_id:
                    continue
                seen = peer.video_from(other)
                if seen is None or seen.size != size or seen.frames < 5:
                    return False
        return True

    await eventually(everyone_sees_everyone, timeout=20)
    # Audio flows too: each hears the other two.
    for peer in peers:
        for other in sizes:
            if other != peer.user_id:
                mid = peer.slot_of(other, "mic")
                assert mid is not None
                await eventually(lambda p=peer, m=mid: p.received.get(m, None) is not None
                                 and p.received[m].frames > 10, timeout=10)  # fmt: skip
    # /metrics reads these totals (hearth_sfu_forwarded_packets, _bytes): every slot's count.
    forwarded = call["sfu"].forwarded
    outlets = [s.outlet for p in call["sfu"].rooms[CALL].participants.values()
               for s in p.audio_slots + p.video_slots if s.outlet is not None]  # fmt: skip
    assert forwarded.packets >= sum(o.packets for o in outlets) > 0
    assert forwarded.octets > 100 * forwarded.packets
    # What publishers sent came straight off their sockets, not through aioice's queue.
    participants = call["sfu"].rooms[CALL].participants.values()
    for participant in participants:
        received = sum(source.packets for source in participant.sources.values())
        assert lane(participant.publisher).packets >= 0.95 * received > 0
    # The publishers' sender reports and the subscribers' receiver reports, likewise (each
    # peer sends its first 0.5-1.5 s after connecting).
    await eventually(
        lambda: all(lane(p.publisher).reports and lane(p.subscriber).reports for p in participants),
        timeout=10,
    )
    for participant in participants:
        # Read in buffers of a datagram's size, not asyncio's 256 KiB (an mmap each); uvloop
        # reads into one buffer of its own, reused.
        for pc in (participant.publisher, participant.subscriber):
            pair = pc.getTransceivers()[0].receiver.transport.transport._connection._nominated[1]
            transport = pair.protocol.transport
            if type(asyncio.get_running_loop()).__module__.startswith("uvloop"):
                assert type(transport).__module__.startswith("uvloop")
            else:
                assert transport.max_size == MAX_DATAGRAM


async def test_a_late_joiner_decodes_video_within_a_second(call):
    first = await join(call, 1)
    await join(call, 2)
    await eventually(lambda: (s := first.video_from(2)) is not None and s.frames > 3, timeout=15)
    assert first.camera is not None
    late = await join(call, 3)
    assert late.subscriber is not None
    await eventually(lambda: late.subscriber.connectionState == "connected", timeout=10,
                     interval=0.01)  # fmt: skip
    sent_before = first.camera.sent
    # The SFU asks the publishers for a keyframe as the new slots open: no wait for the next one
    # (aiortc's encoder makes one about every 3 s by itself: 40-odd frames here).
    # Measured in the publisher's own frames, not wall time, so a busy machine (slower encoding)
    # does not change what is checked: video within a second's worth of them once the
    # connection is up (ICE and DTLS take wall time, which a busy machine stretches).
    await eventually(
        lambda: (s := late.video_from(1)) is not None and s.frames > 0, timeout=10, interval=0.01
    )
    waited = first.camera.sent - sent_before
    assert waited < first.camera.fps, f"first frame {waited} camera frames after joining"


async def test_muting_empties_that_audio_slot(call):
    speaker = await join(call, 1)
    listener = await join(call, 2)
    mid = None

    def hears() -> bool:
        nonlocal mid
        mid = listener.slot_of(1, "mic")
        return mid is not None and listener.received.get(mid, None) is not None

    await eventually(hears, timeout=15)
    call["sfu"].set_media(CALL, speaker.user_id, mic=False, camera=True, screen=False)
    await eventually(lambda: listener.slot_of(1, "mic") is None)
    assert mid is not None and speaker.camera is not None
    frames = listener.received[mid].frames
    # Silence over a second of the speaker's media (their camera goes on), not of wall time.
    seen = listener.video_from(1)
    assert seen is not None
    video_before = seen.frames
    await eventually(lambda: seen.frames >= video_before + speaker.camera.fps, timeout=10)
    assert listener.received[mid].frames <= frames + 2  # what was in flight, then silence


async def test_a_shared_screen_takes_a_slot_first(call):
    sharer = await join(call, 1)
    viewer = await join(call, 2)
    await eventually(lambda: viewer.video_from(1) is not None, timeout=15)
    await sharer.share_screen(PatternTrack(400, 300))
    call["sfu"].set_media(CALL, sharer.user_id, mic=True, camera=True, screen=True)
    await eventually(lambda: viewer.slot_of(1, "screen") is not None, timeout=10)
    # Screens rank first: with fewer slots than sources, a screen is what stays.
    room = call["sfu"].rooms[CALL]
    ranked = room._ranked(room.participants[viewer.user_id], "video")
    assert [s.name for s in ranked] == ["screen", "camera"]
    await eventually(
        lambda: (s := viewer.video_from(1, "screen")) is not None and s.size == (400, 300),
        timeout=15,
    )


async def test_a_participant_whose_connection_dies_is_removed(call):
    await join(call, 1)
    stays = await join(call, 2)
    goes = await join(call, 3)
    await eventually(lambda: stays.video_from(3) is not None, timeout=15)
    # The third peer vanishes without leaving.
    await goes.close()
    await eventually(lambda: 3 in call["failed"], timeout=20)
    await eventually(
        lambda: stays.slot_of(3, "camera") is None and stays.slot_of(3, "mic") is None, timeout=10
    )
    assert 3 not in call["sfu"].rooms[CALL].participants


def test_teardown_leaves_no_threads_behind_when_idle():
    # Creating an SFU starts nothing: threads and tasks only come with peer connections.
    before = threading.active_count()
    SFU(CallSettings(addresses=("127.0.0.1",)), lambda *a: None, _never)
    assert threading.active_count() == before
    time.sleep(0)


async def _never(call_id: int, user_id: int) -> None:
    raise AssertionError("unexpected")


async def test_the_loud_participant_becomes_the_active_speaker(call):
    from tests.sfu.peers import ToneTrack

    said: list[int] = []
    notify = call["sfu"].notify

    def listen(user_id: int, name: str, data: dict[str, Any]) -> None:
        if name == "speaker.active" and user_id == 2:
            said.append(data["user_id"])
        notify(user_id, name, data)

    call["sfu"].notify = listen
    for room_user in (1, 2):
        peer = Peer(CALL, room_user, mic=ToneTrack(volume=0.3 if room_user == 1 else 0.0001))
        call["peers"][room_user] = peer
    room = call["sfu"]._room(CALL, create=True)
    room.notify = listen
    for peer in call["peers"].values():
        await peer.join(call["sfu"])
    await eventually(lambda: said[-1:] == [1], timeout=15)
    assert room.participants[1].loudness > room.participants[2].loudness


async def test_a_finished_call_leaves_no_connection_behind(call):
    # What the issue measures as RSS coming back (bench/sfu_memory.py), here as objects: once
    # everyone left, the SFU's peer connections and their transports are freed (much of a
    # connection sits in reference cycles, collected when the SFU hands memory back).
    import gc
    import weakref

    peers = [await join(call, 1), await join(call, 2)]
    await eventually(lambda: (s := peers[1].video_from(1)) is not None and s.frames > 3, timeout=15)
    sfu = call["sfu"]
    kept = [
        weakref.ref(part)
        for participant in sfu.rooms[CALL].participants.values()
        for pc in (participant.publisher, participant.subscriber)
        for part in (pc, pc.getTransceivers()[0].receiver.transport)
    ]
    for peer in peers:
        await peer.close()
        await sfu.leave(CALL, peer.user_id)
    assert CALL not in sfu.rooms
    gc.disable()  # only the SFU's own collection may free the cycles
    try:
        await eventually(lambda: all(ref() is None for ref in kept), timeout=10)
    finally:
        gc.enable()


async def test_a_publisher_is_asked_for_no_more_than_the_ceiling(call):
    """The REMB a publisher gets: its uplink's estimate (the estimator fed once a frame),
    capped by `bitrate_ceiling_kbps`, and it reaches the publisher's video sender."""
    ceiling = 60  # kbps: below what the 320x240 pattern sends, so the cap must act
    sfu = call["sfu"]
    sfu.settings = sfu.settings.model_copy(
        update={"bitrate_floor_kbps": 30, "bitrate_ceiling_kbps": ceiling}
    )
    asked: list[int] = []
    first = await join(call, 1)
    assert first.publisher is not None
    camera = next(s for s in first.publisher.getSenders() if s.track is first.camera)
    handle = camera._handle_rtcp_packet

    async def heard(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            asked.append(unpack_remb_fci(packet.fci)[0])
        await handle(packet)

    camera._handle_rtcp_packet = heard
    await join(call, 2)
    await eventually(lambda: len(asked) >= 2, timeout=15)
    assert all(30_000 <= bps <= ceiling * 1000 for bps in asked), asked


NTP_TO_UNIX = 2_208_988_800  # seconds from 1900 to 1970


def test_a_slots_sender_report_carries_the_publishers_clock_moved_on(monkeypatch):
    """The (NTP, RTP) a slot's sender report carries: the publisher's last report, moved on
    by the time since it came (at the source's clock rate) and into the slot's timeline."""
    from aiortc import (
        RTCCertificate,
        RTCDtlsTransport,
        RTCIceGatherer,
        RTCIceTransport,
        RTCRtpReceiver,
    )

    from appliance.sfu import media

    clock = [1000.0]
    monkeypatch.setattr(media.time, "monotonic", lambda: clock[0])
    dtls = RTCDtlsTransport(
        RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()]
    )
    for kind, rate in (("video", 90_000), ("audio", 48_000)):
        source = media.Source(RTCRtpReceiver(kind, dtls), kind, 1, "camera")
        assert source.timing(0) is None  # no report from the publisher yet
        ntp = (3_900_000_000 << 32) | (1 << 31)  # half past a second
        source._reported(1234, ntp, 4_294_000_000)  # just before the RTP timestamp wraps
        clock[0] += 2.25
        assert source.timing(ts_offset=1_000_000) == (
            ntp + int(2.25 * (1 << 32)),
            (4_294_000_000 + 1_000_000 + int(2.25 * rate)) % (1 << 32),
        )


def offset(timestamp: int, expected: float, rate: int) -> float:
    """Seconds from the RTP timestamp a report maps to (`expected`) to a packet's own."""
    return ((timestamp - round(expected) + (1 << 31)) % (1 << 32) - (1 << 31)) / rate


async def test_a_publisher_gets_receiver_reports_for_its_streams_together(call):
    """The SFU reports on what it receives from a publisher as aiortc would (per stream: the
    highest sequence number, losses, jitter, and the publisher's last SR as LSR), but for
    all of the connection's streams in one compound packet on one timer; a silent source
    (the screen) is left out, and a connection that sends nothing has no timer at all."""
    alice = await join(call, 1)
    assert alice.publisher is not None
    mine = {s._ssrc for s in alice.publisher.getSenders() if s.track is not None}
    assert len(mine) == 2  # mic and camera; the screen sends nothing
    dtls = alice.publisher.getTransceivers()[0].sender.transport
    handle_rtcp, send_rtp = dtls._handle_rtcp_data, dtls._send_rtp
    sent_lsr: set[int] = set()  # the middle 32 bits of the NTP time of each SR Alice sent
    heard: list[dict[int, RtcpReceiverInfo]] = []  # the receiver reports in each datagram

    async def send(data: bytes) -> None:
        if is_rtcp(data):
            for packet in RtcpPacket.parse(data):
                if isinstance(packet, RtcpSrPacket):
                    sent_lsr.add((packet.sender_info.ntp_timestamp >> 16) & 0xFFFFFFFF)
        await send_rtp(data)

    async def rtcp(data: bytes) -> None:
        blocks = [
            b for p in RtcpPacket.parse(data) if isinstance(p, RtcpRrPacket) for b in p.reports
        ]
        if blocks:
            heard.append({block.ssrc: block for block in blocks})
        await handle_rtcp(data)

    dtls._send_rtp, dtls._handle_rtcp_data = send, rtcp
    mute = Peer(CALL, 2)
    mute.mic.stop()  # joins with its microphone and camera off: its publisher sends nothing
    call["peers"][2] = mute
    await mute.join(call["sfu"], camera=False)
    await eventually(lambda: len(heard) >= 4 and any(b.lsr for b in heard[-1].values()), timeout=15)
    for before, after in itertools.pairwise(heard[1:]):  # (the first may precede a stream)
        assert set(before) == set(after) == mine  # both streams, in every datagram
        for ssrc, block in after.items():
            assert block.fraction_lost == 0 and block.packets_lost == 0  # loopback
            assert 0 < (block.highest_sequence - before[ssrc].highest_sequence) & 0xFFFF < 1000
            assert block.lsr == 0 or block.lsr in sent_lsr
            assert block.jitter < 48_000  # under a second, at either clock rate
    # One timer for the reports of each connection that has something to report, and none for
    # each receiver or for the mute participant's publisher connection.
    participants = call["sfu"].rooms[CALL].participants
    receivers = {
        id(t.receiver) for p in participants.values() for t in p.publisher.getTransceivers()
    }
    running = [task.get_coro() for task in asyncio.all_tasks()]
    assert not [c for c in running if c.cr_frame and id(c.cr_frame.f_locals.get("self")) in receivers
                and c.__qualname__ == "RTCRtpReceiver._run_rtcp"]  # fmt: skip
    reporting = {participants[1].publisher, participants[1].subscriber, participants[2].subscriber}
    assert sum(c.__qualname__ == "Reports._every_second" for c in running) == len(reporting)
    silent = participants[2].publisher.getTransceivers()[0].receiver.transport
    assert Reports.of(silent)._task is None


async def test_subscribers_get_sender_reports_in_each_slots_timeline(call):
    """Every slot showing media gets RTCP sender reports whose RTP/NTP mapping is the one its
    packets arrive on (the publisher's own, moved into the slot's timeline), the counts of
    what it sent, and a connection's slots are reported together, in one compound packet."""
    alice = await join(call, 1)
    bob = await join(call, 2)
    assert bob.subscriber is not None and alice.publisher is not None
    sent: dict[int, list[tuple[float, int]]] = {}  # Alice's SSRC -> (send time, RTP timestamp)
    arrivals: dict[int, list[tuple[float, int]]] = {}  # Bob's SSRC -> (arrival, RTP timestamp)
    reports: dict[int, list[tuple[float, int, int, int]]] = {}  # (NTP, RTP, packets, received)
    used: dict[tuple[int, int], tuple[int, int, float]] = {}  # (SSRC, RTP) -> Alice's report
    compound: list[int] = []  # sender reports per RTCP datagram

    def stamp(data: bytes) -> tuple[int, int]:
        return int.from_bytes(data[8:12]), int.from_bytes(data[4:8])  # SSRC, RTP timestamp

    published = alice.publisher.getTransceivers()[0].sender.transport
    send_rtp = published._send_rtp

    async def send(data: bytes) -> None:
        if not is_rtcp(data):
            ssrc, timestamp = stamp(data)
            sent.setdefault(ssrc, []).append((time.time(), timestamp))
        await send_rtp(data)

    dtls = bob.subscriber.getTransceivers()[0].receiver.transport
    handle_rtp, handle_rtcp = dtls._handle_rtp_data, dtls._handle_rtcp_data

    async def rtp(data: bytes, arrival_time_ms: int) -> None:
        ssrc, timestamp = stamp(data)
        arrivals.setdefault(ssrc, []).append((time.time(), timestamp))
        await handle_rtp(data, arrival_time_ms)

    async def rtcp(data: bytes) -> None:
        senders = [p for p in RtcpPacket.parse(data) if isinstance(p, RtcpSrPacket)]
        compound.append(len(senders))
        for report in senders:
            info = report.sender_info
            at = info.ntp_timestamp / (1 << 32) - NTP_TO_UNIX
            got = len(arrivals.get(report.ssrc, ()))
            reports.setdefault(report.ssrc, []).append(
                (at, info.rtp_timestamp, info.packet_count, got)
            )
        await handle_rtcp(data)

    published._send_rtp, dtls._handle_rtp_data, dtls._handle_rtcp_data = send, rtp, rtcp
    slots = call["sfu"].rooms[CALL].participants[2]
    showing = {
        slot.outlet.ssrc: slot
        for slot in slots.audio_slots + slots.video_slots
        if slot.source_user == 1 and slot.outlet is not None
    }
    assert len(showing) == 2  # Alice's mic and camera
    for ssrc, slot in showing.items():
        # Which of Alice's own reports each of the slot's was made from.
        def timing(ssrc: int = ssrc, slot: Any = slot, made: Any = slot.outlet._timing) -> Any:
            mapping = made()
            if mapping is not None:
                used[ssrc, mapping[1]] = slot.source.report
            return mapping

        slot.outlet._timing = timing
    await eventually(lambda: all(len(reports.get(ssrc, ())) >= 3 for ssrc in showing), timeout=15)
    assert max(compound) >= 2  # the mic's and the camera's in one datagram

    for ssrc, slot in showing.items():
        rate = 90_000 if slot.kind == "video" else 48_000
        [origin] = [sender._ssrc for sender in alice.publisher.getSenders()
                    if sender.track is not None and sender.track.kind == slot.kind]  # fmt: skip

        for at, base, packets, received in reports[ssrc][1:]:
            # What the slot says it sent is what had arrived (loopback loses nothing).
            assert packets - 3 <= received <= packets, (ssrc, packets, received)
            # Packets arriving within a second of the report carry the timestamps it maps
            # their arrival to, as far as Alice's, as she sent them, did by her own report
            # that the slot's was made from: the medians within 50 ms, the trip through the
            # SFU. (Alice's report maps when she sent her last packet to its capture time,
            # so her encoder's delays are in both; a wrong offset or clock rate puts the
            # slot's seconds away. The arithmetic is checked exactly above.)
            mine = [offset(ts, base + (t - at) * rate, rate)
                    for t, ts in arrivals[ssrc] if abs(t - at) < 1.0]  # fmt: skip
            ntp, their_base, _ = used[ssrc, base]
            their_at = ntp / (1 << 32) - NTP_TO_UNIX
            hers = [offset(ts, their_base + (t - their_at) * rate, rate)
                    for t, ts in sent[origin] if abs(t - at) < 1.0]  # fmt: skip
            assert mine and hers
            gap = statistics.median(mine) - statistics.median(hers)
            assert abs(gap) < 0.05, (slot.kind, statistics.median(mine), statistics.median(hers))
