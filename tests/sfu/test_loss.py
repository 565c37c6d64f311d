"""Packet loss on both legs of a call, with the forwarding fast path: the SFU keeps no jitter
buffer, so a publisher's lost packets come back by NACK to the publisher, and a subscriber's
by NACK to the slot's retransmission history. Video still decodes cleanly at its rate."""

from __future__ import annotations

import logging
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.rtp import RtpPacket

from tests.sfu.test_sfu import join
from tests.support.waiting import eventually

EVERY = 25  # one video packet in EVERY is lost, on each leg (4 %)


def _primary(pc: RTCPeerConnection) -> int:
    sdp = pc.localDescription.sdp
    for line in sdp.splitlines():
        if line.startswith("a=rtpmap:") and "VP8/90000" in line:
            return int(line.split(":", 1)[1].split()[0])
    raise AssertionError("no VP8 in the SDP")


def lose_sent_video(pc: RTCPeerConnection, lost: list[int]) -> None:
    """Drop one first transmission of a VP8 packet in EVERY as the publisher sends it (its
    RTX retransmissions, another payload type, get through)."""
    video = _primary(pc)
    transport = next(t.sender.transport for t in pc.getTransceivers() if t.kind == "video")
    original = transport._send_rtp
    count = [0]

    async def send_rtp(data: bytes) -> None:
        if len(data) > 12 and data[1] & 0x7F == video:
            count[0] += 1
            if count[0] % EVERY == 0:
                lost.append((data[2] << 8) | data[3])
                return
        await original(data)

    transport._send_rtp = send_rtp


def _rtx(pc: RTCPeerConnection, video: int) -> int:
    for line in pc.localDescription.sdp.splitlines():
        if line.startswith("a=fmtp:") and line.endswith(f" apt={video}"):
            return int(line.split(":", 1)[1].split()[0])
    raise AssertionError("no RTX for VP8 in the SDP")


def lose_a_packet_and_its_first_resend(pc: RTCPeerConnection, lost: list[int]) -> None:
    """Drop one VP8 packet as the publisher first sends it, and the first retransmission of
    it (RTX) too: the SFU's own NACK is answered, but the answer never arrives."""
    video = _primary(pc)
    rtx = _rtx(pc, video)
    transport = next(t.sender.transport for t in pc.getTransceivers() if t.kind == "video")
    original = transport._send_rtp
    count = [0]
    resends = [0]

    async def send_rtp(data: bytes) -> None:
        kind = data[1] & 0x7F if len(data) > 12 else -1
        if kind == video and not lost:
            count[0] += 1
            if count[0] == EVERY:
                lost.append((data[2] << 8) | data[3])
                return
        elif kind == rtx and lost:
            payload = RtpPacket.parse(data).payload  # RTX: the original sequence number first
            if (payload[0] << 8) | payload[1] == lost[0]:
                resends[0] += 1
                if resends[0] == 1:
                    return
        await original(data)

    transport._send_rtp = send_rtp


def received_video(pc: RTCPeerConnection, seen: set[int]) -> None:
    """Note the sequence number of every VP8 packet that reaches the subscriber."""
    video = _primary(pc)
    ice = next(t.receiver.transport for t in pc.getTransceivers() if t.kind == "video").transport
    original = ice._recv

    async def recv() -> bytes:
        data: bytes = await original()
        if len(data) > 12 and 127 < data[0] < 192 and data[1] & 0x7F == video:
            seen.add((data[2] << 8) | data[3])
        return data

    ice._recv = recv


def lose_received_video(pc: RTCPeerConnection, lost: list[int], recovered: set[int]) -> None:
    """Drop one VP8 packet in EVERY as it reaches the subscriber, before SRTP (as a network
    would); the SFU's retransmission gets through."""
    video = _primary(pc)
    ice = next(t.receiver.transport for t in pc.getTransceivers() if t.kind == "video").transport
    original = ice._recv
    count = [0]
    due = [False]
    newest: dict[int, int] = {}  # SSRC -> newest sequence number seen

    async def recv() -> bytes:
        while True:
            data: bytes = await original()
            # SRTP leaves the RTP header in the clear: payload type, sequence number, SSRC.
            if len(data) > 12 and 127 < data[0] < 192 and data[1] & 0x7F == video:
                ssrc, seq = int.from_bytes(data[8:12], "big"), (data[2] << 8) | data[3]
                ahead = (seq - newest.get(ssrc, seq - 1)) % 65536
                in_order = ahead == 1
                if 0 < ahead < 32768:
                    newest[ssrc] = seq
                elif seq in lost:
                    recovered.add(seq)
                count[0] += 1
                due[0] = due[0] or count[0] % EVERY == 0
                # Only a packet in order: a retransmission (or a packet the SFU recovered
                # late from the publisher) is not lost again, since aiortc's receiver NACKs
                # each gap once.
                if in_order and due[0]:
                    due[0] = False
                    lost.append(seq)
                    continue
            return data

    ice._recv = recv


async def decodes_cleanly(sender: Any, viewer: Any, caplog: Any, frames: int) -> None:
    """While the sender's camera makes `frames` more frames, the viewer decodes at least 85 %
    of them, and its decoder never fails."""
    seen = viewer.video_from(1)
    assert seen is not None
    frames_before, sent_before = seen.frames, sender.camera.sent
    await eventually(lambda: sender.camera.sent - sent_before >= frames, timeout=frames / 2)
    decoded = seen.frames - frames_before
    sent = sender.camera.sent - sent_before
    assert decoded >= 0.85 * sent, f"{decoded} frames decoded of {sent} sent"
    problems = [r.getMessage() for r in caplog.records if "failed to decode" in r.getMessage()]
    assert not problems


async def test_a_publishers_lost_packets_come_back_and_video_decodes(
    call: dict[str, Any], caplog: Any
):
    # The SFU has no jitter buffer of its own any more: a packet the publisher lost must come
    # back by NACK and RTX to the publisher (which aiortc drops unless the fast path routes
    # RTX by SSRC: camera and screen share their payload types).
    caplog.set_level(logging.WARNING, logger="aiortc.rtcrtpreceiver")
    sender = await join(call, 1)
    viewer = await join(call, 2)
    await eventually(lambda: (s := viewer.video_from(1)) is not None and s.frames > 3, timeout=15)
    assert sender.publisher is not None and sender.camera is not None
    lost: list[int] = []
    lose_sent_video(sender.publisher, lost)
    await decodes_cleanly(sender, viewer, caplog, frames=60)  # 4 s at 15 fps
    assert len(lost) >= 3, lost


async def test_a_subscribers_nacks_are_answered_from_the_slot_history(call: dict[str, Any]):
    await join(call, 1)
    viewer = await join(call, 2)
    await eventually(lambda: (s := viewer.video_from(1)) is not None and s.frames > 3, timeout=15)
    assert viewer.subscriber is not None
    lost: list[int] = []
    recovered: set[int] = set()
    lose_received_video(viewer.subscriber, lost, recovered)
    slots = call["sfu"].rooms[1].participants[2].video_slots
    await eventually(lambda: len(lost) >= 5, timeout=30)
    # Every packet lost on the way down came again, once asked for (bar the last, perhaps
    # still on its way).
    await eventually(lambda: len(recovered & set(lost[:-1])) == len(lost[:-1]), timeout=5)
    assert sum(s.outlet.retransmitted for s in slots if s.outlet is not None) >= len(lost) - 1


async def test_loss_on_both_legs_at_once_still_decodes(call: dict[str, Any], caplog: Any):
    # A packet the publisher lost is missing from the slot's history too when the subscriber
    # asks for it; it reaches the subscriber once the publisher sent it again, while the
    # subscriber's own losses are answered from the history.
    caplog.set_level(logging.WARNING, logger="aiortc.rtcrtpreceiver")
    sender = await join(call, 1)
    viewer = await join(call, 2)
    await eventually(lambda: (s := viewer.video_from(1)) is not None and s.frames > 3, timeout=15)
    assert sender.publisher is not None and sender.camera is not None
    assert viewer.subscriber is not None
    lost_up: list[int] = []
    lost_down: list[int] = []
    recovered: set[int] = set()
    lose_sent_video(sender.publisher, lost_up)
    lose_received_video(viewer.subscriber, lost_down, recovered)
    await decodes_cleanly(sender, viewer, caplog, frames=90)  # 6 s at 15 fps
    assert len(lost_up) >= 3 and len(lost_down) >= 3, (lost_up, lost_down)


async def test_a_subscribers_nack_for_a_packet_the_sfu_never_got_goes_to_the_publisher(
    call: dict[str, Any],
):
    # The SFU asks the publisher once, when the gap shows (aiortc's receiver never asks
    # twice). When that retransmission is lost too, the slot's history misses the packet the
    # subscriber then asks for: the SFU passes the request on, and the packet still arrives.
    sender = await join(call, 1)
    viewer = await join(call, 2)
    await eventually(lambda: (s := viewer.video_from(1)) is not None and s.frames > 3, timeout=15)
    assert sender.publisher is not None and viewer.subscriber is not None
    seen: set[int] = set()
    received_video(viewer.subscriber, seen)
    lost: list[int] = []
    lose_a_packet_and_its_first_resend(sender.publisher, lost)
    await eventually(lambda: bool(lost), timeout=10)
    slot = next(s for s in call["sfu"].rooms[1].participants[2].video_slots if s.source)
    assert slot.source is not None and slot.outlet is not None
    wanted = (lost[0] + slot._munger._seq_offset) & 0xFFFF  # the slot's number for it
    await eventually(lambda: wanted in seen, timeout=10)
    assert slot.source.nacks_forwarded >= 1
