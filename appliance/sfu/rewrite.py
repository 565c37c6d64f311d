"""Per-packet RTP rewriting for a subscriber's slot, pure (no I/O, no aiortc): what LiveKit keeps
in `rtpmunger.go` and its VP8 munger.

A slot shows one source at a time and may switch. Its outgoing stream must look like one
stream: sequence numbers with no gap or jump, timestamps that never step back, and for VP8 a
picture id and TL0PICIDX that keep counting. `Munger` keeps those offsets; `vp8_descriptor`
finds the fields in a VP8 payload (RFC 7741 §4.2) and says whether a packet starts a keyframe.
"""

from __future__ import annotations

import struct

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
HALF_SEQ = 1 << 15
HALF_TS = 1 << 31
# Packets older than this behind the newest a slot took are dropped as late (a subscriber's
# jitter buffer has long given up on them, and the outlet's NACK history is 512 packets).
# The bound of what is "before the source started" trails the newest by this much: a bound
# that stayed at the first packet would be half the sequence space behind after 32,768
# packets (four minutes of video), and every packet then looked older than it.
TRAIL = 1 << 12

_HEADER = struct.Struct("!HII")  # sequence number, timestamp, SSRC at byte 2 of an RTP header
_PICTURE_ID_15 = struct.Struct("!H")

# What vp8_descriptor returns for a payload it cannot read.
UNREADABLE = (False, -1, 0, -1)


def vp8_descriptor(payload: bytes) -> tuple[bool, int, int, int]:
    """(starts a keyframe, picture id offset or -1, picture id bits 7 or 15, TL0PICIDX
    offset or -1), offsets into the RTP payload."""
    size = len(payload)
    if size < 1:
        return UNREADABLE
    first = payload[0]
    at = 1
    picture_at, bits, tl0_at = -1, 0, -1
    if first & 0x80:  # X: an extension byte follows
        if size < 2:
            return UNREADABLE
        flags = payload[1]
        at = 2
        if flags & 0x80:  # I: picture id
            if size <= at:
                return UNREADABLE
            picture_at = at
            if payload[at] & 0x80:  # M: 15 bits
                bits, at = 15, at + 2
            else:
                bits, at = 7, at + 1
        if flags & 0x40:  # L: TL0PICIDX
            tl0_at, at = at, at + 1
        if flags & 0x30:  # T or K: TID/Y/KEYIDX
            at += 1
    if size <= at:
        return UNREADABLE
    # The payload header's P bit is 0 on a keyframe (RFC 6386 §9.1); it is only there in
    # the first packet of a frame: start of partition (S) of partition 0.
    starts = bool(first & 0x10) and (first & 0x07) == 0
    keyframe = starts and not (payload[at] & 0x01)
    return keyframe, picture_at, bits, tl0_at


class Munger:
    """Maps one source's sequence numbers, timestamps and VP8 picture ids onto a slot's
    continuous ones. `switch()` before the first packet of a new source (or after a gap
    the slot chose to skip); `rewrite()` maps each packet and writes it into the header."""

    __slots__ = (
        "_first_in",
        "_last_pic",
        "_last_tl0",
        "_pic_offset",
        "_rebase",
        "_seq_offset",
        "_started",
        "_step",
        "_tl0_offset",
        "_ts_offset",
        "last_seq",
        "last_ts",
    )

    def __init__(self, step: int) -> None:
        self._step = step  # output clock step across a switch: one frame interval
        self._rebase = True
        self._started = False
        self._seq_offset = 0
        self._ts_offset = 0
        self._pic_offset = 0
        self._tl0_offset = 0
        self._first_in = 0
        self.last_seq = 0  # the newest sequence number written
        self.last_ts = 0
        self._last_pic = -1
        self._last_tl0 = -1

    def switch(self) -> None:
        self._rebase = True

    @property
    def ts_offset(self) -> int:
        """Source timestamp -> slot timestamp (for sender reports)."""
        return self._ts_offset

    def source_seq(self, out_seq: int, within: int) -> int:
        """The current source's sequence number that the slot's `out_seq` stands for, if that
        is one of the source's packets (sent or never received) at most `within` behind the
        newest; else -1. What a subscriber's NACK asks of the source."""
        if self._rebase:
            return -1
        behind = (self.last_seq - out_seq) & 0xFFFF
        seq = (out_seq - self._seq_offset) & 0xFFFF
        if behind >= within or (seq - self._first_in) & 0xFFFF >= HALF_SEQ:
            return -1
        return seq

    def rewrite(
        self,
        packet: bytearray,
        seq: int,
        ts: int,
        ssrc: int,
        header: int,
        vp8: tuple[int, int, int],
    ) -> int:
        """Write the slot's sequence number, timestamp and SSRC into `packet` (an RTP packet
        whose payload starts at `header`), and for VP8 its picture id and TL0PICIDX
        (`vp8`: offsets as vp8_descriptor returns them). Returns the sequence number written,
        or -1: drop the packet (it comes from before the current source started in this
        slot, or over TRAIL packets behind the newest). Runs for every packet and every
        slot: the wrapping comparisons are inline."""
        if self._rebase:
            self._start(packet, seq, ts, header, vp8)
        else:
            ahead = (seq - self._first_in) & 0xFFFF
            if ahead >= HALF_SEQ:  # from before the source started here, or far too late
                return -1
            if ahead > TRAIL:  # keep the bound TRAIL behind the newest, so it never wraps
                self._first_in = (seq - TRAIL) & 0xFFFF
        out_seq = (seq + self._seq_offset) & 0xFFFF
        out_ts = (ts + self._ts_offset) & 0xFFFFFFFF
        _HEADER.pack_into(packet, 2, out_seq, out_ts, ssrc)
        if 0 < (out_seq - self.last_seq) & 0xFFFF < HALF_SEQ:  # newer
            self.last_seq = out_seq
            if 0 < (out_ts - self.last_ts) & 0xFFFFFFFF < HALF_TS:
                self.last_ts = out_ts
        picture_at, bits, tl0_at = vp8
        if picture_at >= 0:
            at = header + picture_at
            last = self._last_pic
            if bits == 15:
                picture = ((packet[at] & 0x7F) << 8 | packet[at + 1]) + self._pic_offset
                picture &= 0x7FFF
                packet[at] = 0x80 | picture >> 8
                packet[at + 1] = picture & 0xFF
                if last < 0 or 0 < (picture - last) & 0x7FFF < 0x4000:
                    self._last_pic = picture
            else:
                picture = ((packet[at] & 0x7F) + self._pic_offset) & 0x7F
                packet[at] = picture
                if last < 0 or 0 < (picture - last) & 0x7F < 0x40:
                    self._last_pic = picture
        if tl0_at >= 0:
            at = header + tl0_at
            tl0 = (packet[at] + self._tl0_offset) & 0xFF
            packet[at] = tl0
            if self._last_tl0 < 0 or 0 < (tl0 - self._last_tl0) & 0xFF < 0x80:
                self._last_tl0 = tl0
        return out_seq

    def _start(
        self, packet: bytearray, seq: int, ts: int, header: int, vp8: tuple[int, int, int]
    ) -> None:
        """The first packet of a source in this slot: offsets that continue the slot's stream."""
        self._rebase = False
        self._first_in = seq
        if self._started:
            self._seq_offset = (self.last_seq + 1 - seq) % SEQ_MOD
            self._ts_offset = (self.last_ts + self._step - ts) % TS_MOD
        else:
            self._seq_offset = 0
            self._ts_offset = 0
            self.last_seq = (seq - 1) % SEQ_MOD
            self.last_ts = ts
        self._started = True
        picture_at, bits, tl0_at = vp8
        if picture_at >= 0:
            picture = _read_picture_id(packet, header + picture_at, bits)
            modulo = 1 << bits
            following = 0 if self._last_pic < 0 else self._last_pic + 1
            self._pic_offset = (following - picture) % modulo
        if tl0_at >= 0:
            following = 0 if self._last_tl0 < 0 else self._last_tl0 + 1
            self._tl0_offset = (following - packet[header + tl0_at]) % 256


def _read_picture_id(packet: bytearray, at: int, bits: int) -> int:
    if bits == 15:
        return int(_PICTURE_ID_15.unpack_from(packet, at)[0]) & 0x7FFF
    return packet[at] & 0x7F
