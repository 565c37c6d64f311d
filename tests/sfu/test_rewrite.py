"""The per-packet rewriting a slot does, without peers (LiveKit's rtpmunger_test.go, here)."""

from __future__ import annotations

import struct

from aiortc.rtp import RtpPacket

from appliance.sfu.media import template
from appliance.sfu.rewrite import TRAIL, UNREADABLE, Munger, vp8_descriptor


def vp8(
    picture: int | None, tl0: int | None, key: bool, start: bool = True, bits: int = 15
) -> bytes:
    """A VP8 payload: descriptor (RFC 7741) and the first byte of the VP8 payload header."""
    first = (0x10 if start else 0) | (0x80 if picture is not None or tl0 is not None else 0)
    out = bytes([first])
    if first & 0x80:
        flags = (0x80 if picture is not None else 0) | (0x40 if tl0 is not None else 0)
        out += bytes([flags])
        if picture is not None:
            out += struct.pack("!H", 0x8000 | picture) if bits == 15 else bytes([picture])
        if tl0 is not None:
            out += bytes([tl0])
    return out + bytes([0x00 if key else 0x01]) + b"frame"


def rtp(seq: int, ts: int, payload: bytes) -> bytearray:
    return bytearray(struct.pack("!BBHII", 0x80, 96, seq, ts, 1234)) + payload


def fields(packet: bytearray, vp8_offsets: tuple[int, int, int]) -> tuple[int, int, int, int]:
    seq, ts, _ssrc = struct.unpack_from("!HII", packet, 2)
    picture_at, bits, tl0_at = vp8_offsets
    picture = -1
    if picture_at >= 0:
        raw = packet[12 + picture_at : 12 + picture_at + 2]
        picture = (struct.unpack("!H", raw)[0] & 0x7FFF) if bits == 15 else raw[0] & 0x7F
    tl0 = packet[12 + tl0_at] if tl0_at >= 0 else -1
    return seq, ts, picture, tl0


def test_the_vp8_descriptor_is_read():
    assert vp8_descriptor(vp8(300, 7, key=True)) == (True, 2, 15, 4)
    assert vp8_descriptor(vp8(5, None, key=False, bits=7)) == (False, 2, 7, -1)
    assert vp8_descriptor(vp8(None, None, key=True)) == (True, -1, 0, -1)
    # Only the first packet of a frame can say it is a keyframe.
    assert vp8_descriptor(vp8(300, 7, key=True, start=False))[0] is False
    assert vp8_descriptor(b"") == UNREADABLE
    assert vp8_descriptor(b"\x90\x80") == UNREADABLE  # a picture id announced, then nothing


def test_a_slot_stream_stays_continuous_across_a_source_switch():
    munger = Munger(step=3000)
    out = []
    first = [(1000 + i, 50_000 + 3000 * (i // 2), 700 + i // 2, 20) for i in range(4)]
    for seq, ts, picture, tl0 in first:
        payload = vp8(picture, tl0, key=seq == 1000)
        packet = rtp(seq, ts, payload)
        offsets = vp8_descriptor(payload)[1:]
        assert munger.rewrite(packet, seq, ts, 99, 12, offsets) == (packet[2] << 8 | packet[3])
        out.append(fields(packet, offsets))
    munger.switch()  # another source, whose counters are far away and behind
    for seq, ts, picture in [(40_000, 7, 32_760), (40_001, 7, 32_760), (40_002, 3007, 32_761)]:
        payload = vp8(picture, 200, key=seq == 40_000)
        packet = rtp(seq, ts, payload)
        offsets = vp8_descriptor(payload)[1:]
        assert munger.rewrite(packet, seq, ts, 99, 12, offsets) == (packet[2] << 8 | packet[3])
        out.append(fields(packet, offsets))
        assert struct.unpack_from("!I", packet, 8)[0] == 99  # the slot's SSRC
    seqs = [o[0] for o in out]
    stamps = [o[1] for o in out]
    pictures = [o[2] for o in out]
    assert seqs == list(range(seqs[0], seqs[0] + 7))
    assert stamps[4] - stamps[3] == 3000  # one frame interval across the switch
    assert stamps == sorted(stamps)
    assert pictures == [pictures[0] + d for d in (0, 0, 1, 1, 2, 2, 3)]
    assert [o[3] for o in out] == [0, 0, 0, 0, 1, 1, 1]  # TL0PICIDX counts on, too


def test_a_late_packet_from_before_the_switch_point_is_dropped():
    munger = Munger(step=960)
    packet = rtp(500, 1000, b"opus")
    assert munger.rewrite(packet, 500, 1000, 1, 12, (-1, 0, -1)) >= 0
    assert munger.rewrite(rtp(499, 40, b"opus"), 499, 40, 1, 12, (-1, 0, -1)) == -1
    # A reordered packet after the start keeps its place (its own sequence number).
    late = rtp(502, 1960, b"opus")
    assert munger.rewrite(late, 502, 1960, 1, 12, (-1, 0, -1)) >= 0
    assert munger.rewrite(rtp(501, 1000, b"opus"), 501, 1000, 1, 12, (-1, 0, -1)) >= 0
    assert munger.last_seq == struct.unpack_from("!H", late, 2)[0]


def test_a_call_longer_than_half_the_sequence_space_keeps_flowing():
    # 140 video packets a second reach 32,768 past the switch point in four minutes; then,
    # and for as long again, every packet looked as if it came from before the switch.
    munger = Munger(step=3000)
    first = 1000
    for n in range(70_000):  # past a whole wrap of the sequence numbers
        seq = (first + n) & 0xFFFF
        assert munger.rewrite(rtp(seq, n * 3000, b"x"), seq, n * 3000, 1, 12, (-1, 0, -1)) == seq
    newest = (first + 69_999) & 0xFFFF
    late = (newest - 100) & 0xFFFF  # reordered, or a retransmission: still sent
    assert munger.rewrite(rtp(late, 0, b"x"), late, 0, 1, 12, (-1, 0, -1)) == late
    ancient = (newest - TRAIL - 1) & 0xFFFF  # no use to anyone any more
    assert munger.rewrite(rtp(ancient, 0, b"x"), ancient, 0, 1, 12, (-1, 0, -1)) == -1
    assert munger.last_seq == newest


def test_a_nacked_slot_sequence_number_maps_back_to_the_current_sources():
    # What a subscriber's NACK for a packet its slot never sent asks of the source.
    munger = Munger(step=960)
    assert munger.source_seq(0, within=512) == -1  # nothing started yet
    for seq in (100, 101, 102):
        munger.rewrite(rtp(seq, seq * 960, b"x"), seq, seq * 960, 1, 12, (-1, 0, -1))
    munger.switch()  # another source, from 65,530 on: across the wrap
    assert munger.source_seq(102, within=512) == -1  # before its first packet
    for seq in (65_530, 65_532, 65_535, 0, 1):  # 65,531, 65,533 and 65,534 never came
        out = munger.rewrite(rtp(seq, 0, b"x"), seq, 0, 1, 12, (-1, 0, -1))
    assert out == munger.last_seq == 110  # 103 (65,530) ... 110 (1)
    assert [munger.source_seq(n, within=512) for n in (104, 106, 107, 110)] == [
        65_531,
        65_533,
        65_534,
        1,
    ]
    assert munger.source_seq(102, within=512) == -1  # the first source's
    assert munger.source_seq(111, within=512) == -1  # not sent yet
    assert munger.source_seq(104, within=4) == -1  # too far behind to be worth asking for
    assert munger.source_seq(107, within=4) == 65_534


def test_sequence_numbers_wrap():
    munger = Munger(step=960)
    for seq in (65_534, 65_535, 0, 1):
        packet = rtp(seq, seq * 960, b"x")
        assert munger.rewrite(packet, seq, seq * 960, 1, 12, (-1, 0, -1)) == seq
    assert munger.last_seq == 1


def test_a_template_carries_the_negotiated_payload_type_and_extension_ids():
    packet = RtpPacket(payload_type=111, marker=1, sequence_number=9, timestamp=5, ssrc=77)
    packet.payload = b"opus-frame"
    packet.extensions.audio_level = (True, 30)
    packet.extensions.abs_send_time = 0x123456
    data, header = template(packet, (109, 3, 5))
    parsed = RtpPacket.parse(data)
    assert parsed.payload_type == 109 and parsed.marker == 1
    assert parsed.payload == b"opus-frame"
    assert header == len(data) - len(b"opus-frame")
    # one-byte extensions: id 3 (audio level, voice bit set) and id 5 (abs-send-time)
    assert data[12:14] == b"\xbe\xde"
    assert bytes(data[16:18]) == bytes([0x30, 0x80 | 30])
    assert bytes(data[18:22]) == bytes([0x52, 0x12, 0x34, 0x56])
    bare, bare_header = template(packet, (109, 0, 0))
    assert bare_header == 12 and bare[0] == 0x80
