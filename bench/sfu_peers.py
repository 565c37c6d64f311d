"""Client peers for bench/sfu.py, one process per role, driven over stdin/stdout.

    sfu_peers.py pub --port PORT --users 1,2        # publishers: moving 640x480 VP8 + Opus tone
    sfu_peers.py sub --port PORT --users 3,4 --viewers 3,4 --expect 1 --mode forward

Each joins the way a browser joins a Hearth call (tests/sfu/peers.py's Peer): a publish offer
with audio, camera and screen transceivers, then an answer to the server's subscribe offer.
Viewers (subscribers that publish nothing) still make a publish connection with no tracks, as
a browser with camera and mic off does. Subscribers decode everything (stock aiortc receivers)
and read the wall-clock time the publisher drew into each video frame (BarTrack), so the
latency measured is glass to glass: from the frame's creation, before encoding, to its decoded
picture. Every bench process runs on this machine, so time.time() is one clock for all.

Protocol on stdout: `READY {json}` once joined (subscribers: once video flows), then on the
line `stop` from stdin, `RESULT {json}`. Signalling is JSON lines over TCP to sfu_server.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiortc.codecs.vpx  # noqa: E402
import av  # noqa: E402
import numpy as np  # noqa: E402
from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError  # noqa: E402
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket  # noqa: E402

from appliance.sfu import hooks  # noqa: E402
from appliance.sfu.room import configuration, prefer_codecs  # noqa: E402
from tests.sfu.peers import ToneTrack  # noqa: E402

VIDEO_RATE = 90_000
BAR_BITS = 24  # wall-clock milliseconds modulo 2**24 (about 4.6 hours)
BAR_W = 26  # 24 bars x 26 px = 624 px: the frame must be at least 640 wide
BAR_H = 32
TEARDOWN = "--- bench: quitting ---"  # on stderr: what follows is teardown


# --- synthetic media with a clock in it ---------------------------------------------------------


class BarTrack(MediaStreamTrack):
    """A moving, noisy 640x480 pattern (a real encoder has work to do), with the wall-clock
    time of the frame's creation in the top rows as 24 black/white bars (the reference
    spike's PatternVideoTrack)."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: int = 30) -> None:
        super().__init__()
        if width < BAR_BITS * BAR_W:
            raise ValueError(f"frames must be at least {BAR_BITS * BAR_W} px wide for the bars")
        self.width, self.height, self.fps = width, height, fps
        yy, xx = np.mgrid[0:height, 0 : width * 2]
        texture = 128 + 60 * np.sin(xx / 23.0) * np.cos(yy / 17.0) + 40 * np.sin((xx + yy) / 9.0)
        texture += np.random.default_rng(1).normal(0, 6, texture.shape)
        self._texture = np.clip(texture, 0, 255).astype(np.uint8)
        self._v = np.full((height // 2, width // 2), 128, np.uint8)
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            delay = self._start + self._count / self.fps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        n = self._count
        self._count += 1
        w, h = self.width, self.height
        offset = (n * 7) % w
        luma = self._texture[:, offset : offset + w].copy()
        bx, by = (n * 5) % (w - 120), 100 + int(80 * np.sin(n / 15))
        luma[by : by + 120, bx : bx + 120] = 255 - luma[by : by + 120, bx : bx + 120]
        ms = int(time.time() * 1000) & ((1 << BAR_BITS) - 1)
        for bit in range(BAR_BITS):
            on = (ms >> (BAR_BITS - 1 - bit)) & 1
            luma[0:BAR_H, bit * BAR_W : (bit + 1) * BAR_W] = 235 if on else 16
        u = np.full((h // 2, w // 2), 128 + (n % 64), np.uint8)
        planes = np.concatenate([luma, u.reshape(-1, w), self._v.reshape(-1, w)])
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = int(n * VIDEO_RATE / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_RATE)
        return frame


def latency_ms(frame: av.VideoFrame, now: float) -> int | None:
    """Milliseconds from the frame's creation (its bars) to `now` (time.time()); None when the
    bars do not read as a plausible time (a corrupt or foreign frame)."""
    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
    sent = 0
    for bit in range(BAR_BITS):
        block = luma[8 : BAR_H - 8, bit * BAR_W + 6 : (bit + 1) * BAR_W - 6]
        sent = (sent << 1) | (1 if block.mean() > 128 else 0)
    delta = (int(now * 1000) - sent) % (1 << BAR_BITS)
    return delta if delta < 10_000 else None


# --- signalling -------------------------------------------------------------------------------


class Signal:
    """Newline-delimited JSON requests to sfu_server.py, one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, timeout: float = 30.0) -> Signal:
        deadline = time.monotonic() + timeout
        while True:  # the server may still be importing aiortc
            try:
                return cls(*await asyncio.open_connection("127.0.0.1", port))
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        self.writer.write((json.dumps(request) + "\n").encode())
        await self.writer.drain()
        line = await self.reader.readline()
        if not line:
            raise ConnectionError("the bench server closed the connection")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{request['op']}: {reply['error']}")
        return reply

    def close(self) -> None:
        self.writer.close()


async def connected(pcs: list[RTCPeerConnection], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(pc.connectionState != "connected" for pc in pcs):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def stdin_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def emit(tag: str, data: dict[str, Any]) -> None:
    sys.stdout.write(f"{tag} {json.dumps(data)}\n")
    sys.stdout.flush()


async def sender_counts(pcs: list[RTCPeerConnection]) -> dict[str, int]:
    counts = {"video_packets": 0, "audio_packets": 0, "video_bytes": 0, "audio_bytes": 0}
    for pc in pcs:
        for sender in pc.getSenders():
            if sender.track is None:
                continue
            for stat in (await sender.getStats()).values():
                if stat.type == "outbound-rtp":
                    counts[f"{sender.kind}_packets"] += stat.packetsSent
                    counts[f"{sender.kind}_bytes"] += stat.bytesSent
    return counts


# --- publishers -------------------------------------------------------------------------------


def fixed_bitrate(sender: Any, bps: int) -> None:
    """Encode at `bps` whatever the server's REMB says, so that every media server compared
    forwards the same stream (each estimates bandwidth its own way: on loopback Janus's
    REMB left aiortc's encoder near 500 kbps, Hearth's let it reach 700)."""
    aiortc.codecs.vpx.DEFAULT_BITRATE = bps  # the encoder's first target (made on frame 1)
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            return
        await original(packet)

    sender._handle_rtcp_packet = handle


async def publishers(args: argparse.Namespace) -> None:
    signal = await Signal.connect(args.port)
    pcs: list[RTCPeerConnection] = []
    keyframe_requests = [0]
    started = time.monotonic()
    for user in args.users:
        pc = RTCPeerConnection(configuration())
        pcs.append(pc)
        mic = pc.addTransceiver(ToneTrack(), direction="sendonly")
        prefer_codecs(mic, "audio")
        camera = pc.addTransceiver(
            BarTrack(args.width, args.height, args.fps), direction="sendonly"
        )
        prefer_codecs(camera, "video")
        prefer_codecs(pc.addTransceiver("video", direction="sendonly"), "video")  # the screen
        original = camera.sender._send_keyframe

        def on_keyframe_request(original: Any = original) -> None:
            keyframe_requests[0] += 1
            original()

        camera.sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]
        if args.bitrate:
            fixed_bitrate(camera.sender, args.bitrate * 1000)
        await pc.setLocalDescription(await pc.createOffer())
        reply = await signal.call({"op": "publish", "user": user, "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
    ok = await connected(pcs, 30)
    emit("READY", {"connected": ok, "join_s": round(time.monotonic() - started, 2)})
    await stdin_line()
    print(TEARDOWN, file=sys.stderr, flush=True)
    counts = await sender_counts(pcs)
    emit("RESULT", {"sent": counts, "keyframe_requests": keyframe_requests[0]})
    signal.close()
    for pc in pcs:
        await pc.close()


# --- subscribers ------------------------------------------------------------------------------


class DecodeErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "failed to decode" in record.getMessage():
            self.count += 1


class Viewer:
    """One subscriber: its subscribe connection, and what arrived on each track."""

    def __init__(self, user: int) -> None:
        self.user = user
        self.publisher: RTCPeerConnection | None = None
        self.pc = RTCPeerConnection(configuration())
        self.video: dict[str, list[tuple[float, int | None]]] = {}  # mid -> (arrival, latency)
        self.audio: dict[str, list[float]] = {}  # mid -> arrival times
        self.sizes: set[tuple[int, int]] = set()
        self.answered_at = 0.0
        self.first_video_at: float | None = None
        self.tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
            self.tasks.append(asyncio.create_task(self._read(str(mid), track)))

    async def _read(self, mid: str, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                now = time.time()
                if isinstance(frame, av.VideoFrame):
                    if self.first_video_at is None:
                        self.first_video_at = time.monotonic()
                    self.sizes.add((frame.width, frame.height))
                    self.video.setdefault(mid, []).append((round(now, 4), latency_ms(frame, now)))
                else:
                    self.audio.setdefault(mid, []).append(round(now, 4))

    def video_tracks_flowing(self, frames: int = 5) -> int:
        return sum(1 for samples in self.video.values() if len(samples) >= frames)

    async def close(self) -> None:
        for pc in (self.publisher, self.pc):
            if pc is not None:
                await pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def subscribers(args: argparse.Namespace) -> None:
    errors = DecodeErrors()
    logging.getLogger("aiortc.rtcrtpreceiver").addHandler(errors)
    signal = await Signal.connect(args.port)
    viewers: list[Viewer] = []
    started = time.monotonic()
    for user in args.users:
        viewer = Viewer(user)
        viewers.append(viewer)
        if user in args.viewers and args.mode not in ("direct", "janus"):
            # (Janus's VideoRoom subscribers need no publish connection.)
            # Camera and mic off: a publish connection with no tracks, as a browser makes.
            pub = viewer.publisher = RTCPeerConnection(configuration())
            for kind in ("audio", "video", "video"):
                prefer_codecs(pub.addTransceiver(kind, direction="sendonly"), kind)
            await pub.setLocalDescription(await pub.createOffer())
            reply = await signal.call(
                {"op": "publish", "user": user, "sdp": pub.localDescription.sdp, "viewer": True}
            )
            await pub.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        offer = await signal.call({"op": "subscribe_offer", "user": user})
        await viewer.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
        await signal.call(
            {"op": "subscribe_answer", "user": user, "sdp": viewer.pc.localDescription.sdp}
        )
        viewer.answered_at = time.monotonic()
    joined = time.monotonic() - started
    deadline = time.monotonic() + args.timeout
    while any(v.video_tracks_flowing() < args.expect for v in viewers):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    emit(
        "READY",
        {
            "join_s": round(joined, 2),
            "complete": all(v.video_tracks_flowing() >= args.expect for v in viewers),
            "video_tracks_flowing": [v.video_tracks_flowing() for v in viewers],
            "first_video_after_answer_s": [
                None if v.first_video_at is None else round(v.first_video_at - v.answered_at, 3)
                for v in viewers
            ],
        },
    )
    await stdin_line()
    print(TEARDOWN, file=sys.stderr, flush=True)
    emit(
        "RESULT",
        {
            "decode_errors": errors.count,
            "viewers": [
                {
                    "user": v.user,
                    "video": v.video,
                    "audio": v.audio,
                    "sizes": sorted(v.sizes),
                }
                for v in viewers
            ],
        },
    )
    signal.close()
    for viewer in viewers:
        await viewer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["pub", "sub"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", required=True, help="comma-separated user ids")
    parser.add_argument("--viewers", default="", help="subscribers that publish nothing")
    parser.add_argument("--expect", type=int, default=1, help="video tracks each should get")
    parser.add_argument(
        "--mode", default="forward", choices=["forward", "relay", "direct", "janus"]
    )
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument(
        "--bitrate", type=int, default=0, help="publishers: fixed video kbps, REMB ignored"
    )
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    args.users = [int(u) for u in args.users.split(",") if u]
    args.viewers = {int(u) for u in args.viewers.split(",") if u}
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    hooks.restrict_host_addresses(["127.0.0.1"])  # loopback only (TESTING.md)
    asyncio.run(publishers(args) if args.role == "pub" else subscribers(args))


if __name__ == "__main__":
    main()
