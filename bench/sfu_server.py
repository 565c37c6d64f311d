"""The media server process for bench/sfu.py: one mode per process, so its CPU and memory are
its own (read from /proc/PID by the orchestrator, and by the process itself on `stats`).

    sfu_server.py --mode forward|relay|direct --port PORT --publishers P

* forward: Hearth's real SFU (`appliance.sfu.SFU`, encoded frames passed through, never
  decoded), with CallSettings(addresses=("127.0.0.1",)) and otherwise default settings.
* relay: aiortc's stock way to serve one track to many, for comparison: publish offers are
  answered by plain aiortc receivers (which decode), and each subscriber gets
  `aiortc.contrib.media.MediaRelay` proxies of the decoded tracks, which its senders encode
  again (one VP8 and one Opus encoder per subscriber and source).
* janus: Janus's VideoRoom (bench/sfu_janus.py), a C SFU, for comparison; the figures are
  the Janus process's, not this one's.
* direct: no media server: a publisher's offer is handed to the subscriber as its "subscribe
  offer", and the subscriber's answer goes back as the publish answer, so the two peers
  connect to each other (the latency baseline; P = S = 1).

Signalling is the same in every mode, newline-delimited JSON over TCP on 127.0.0.1:
publish {user, sdp, viewer} -> {sdp}; subscribe_offer {user} -> {sdp};
subscribe_answer {user, sdp} -> {}; leave {user} -> {} (forward only); stats -> counters,
CPU and RSS; quit.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import cpu_seconds, rss_mb  # noqa: E402
from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402
from sfu_janus import Janus  # noqa: E402

from appliance import loop as event_loop  # noqa: E402
from appliance.config import CallSettings  # noqa: E402
from appliance.net import heap  # noqa: E402
from appliance.sfu import SFU, hooks  # noqa: E402
from appliance.sfu.room import configuration, prefer_codecs  # noqa: E402

CALL = 1
log = logging.getLogger("bench.sfu_server")


async def _outbound(pcs: list[RTCPeerConnection]) -> dict[str, int]:
    """RTP packets and bytes the server has sent to subscribers (RTCRtpSender.getStats)."""
    totals = {"video_packets": 0, "audio_packets": 0, "video_bytes": 0, "audio_bytes": 0}
    for pc in pcs:
        for sender in pc.getSenders():
            for stat in (await sender.getStats()).values():
                if stat.type == "outbound-rtp":
                    totals[f"{sender.kind}_packets"] += stat.packetsSent
                    totals[f"{sender.kind}_bytes"] += stat.bytesSent
    return totals


async def _inbound(receivers: list[RTCRtpReceiver]) -> dict[str, int]:
    totals = {"video_packets": 0, "audio_packets": 0}
    for receiver in receivers:
        for stat in (await receiver.getStats()).values():
            if stat.type == "inbound-rtp":
                totals[f"{stat.kind}_packets"] += stat.packetsReceived
    return totals


class Forward:
    """Hearth's SFU, driven as the calls service drives it."""

    def __init__(self) -> None:
        self.failed: list[int] = []
        self.notifications: dict[str, int] = {}
        settings = CallSettings(addresses=("127.0.0.1",))
        self.sfu = SFU(settings, self._notify, self._on_failed)
        # The product notices a vanished peer in 6 s; on a shared machine a client process
        # can lag that long, and a measurement must not lose its subscribers (Janus does no
        # such checks). The checks cost the same either way.
        hooks.quick_consent(interval=2, failures=30)

    def _notify(self, user_id: int, name: str, data: dict[str, Any]) -> None:
        self.notifications[name] = self.notifications.get(name, 0) + 1

    async def _on_failed(self, call_id: int, user_id: int) -> None:
        self.failed.append(user_id)
        await self.sfu.leave(call_id, user_id)

    async def publish(self, user: int, sdp: str, viewer: bool) -> str:
        answer = await self.sfu.publish(CALL, user, sdp)
        if viewer:
            self.sfu.set_media(CALL, user, mic=False, camera=False, screen=False)
        return answer

    async def subscribe_offer(self, user: int) -> str:
        return await self.sfu.subscribe_offer(CALL, user)

    async def subscribe_answer(self, user: int, sdp: str) -> None:
        await self.sfu.subscribe_answer(CALL, user, sdp)

    async def stats(self) -> dict[str, Any]:
        room = self.sfu.rooms.get(CALL)
        participants = [] if room is None else list(room.participants.values())
        slots = [s for p in participants for s in p.audio_slots + p.video_slots]
        sources = [s for p in participants for s in p.sources.values()]
        outbound = {"video_packets": 0, "audio_packets": 0, "video_bytes": 0, "audio_bytes": 0}
        for slot in slots:  # the fast path sends around aiortc's sender, and counts itself
            if slot.outlet is not None:
                outbound[f"{slot.kind}_packets"] += slot.outlet.packets
                outbound[f"{slot.kind}_bytes"] += slot.outlet.octets
        return {
            "outbound": outbound,
            "inbound": await _inbound([s.receiver for s in sources]),
            "slots_sent": sum(s.sent for s in slots),
            "slots_dropped": sum(s.dropped for s in slots),
            "slots_showing": sum(1 for s in slots if s.source is not None),
            "source_packets": sum(s.packets for s in sources),
            "retransmitted": sum(s.outlet.retransmitted for s in slots if s.outlet is not None),
            "source_keyframes": sum(s.keyframes for s in sources if s.kind == "video"),
            "failed": self.failed,
            "connection_failures": [f"user {user} failed or closed" for user in self.failed],
            "notifications": self.notifications,
        }

    async def leave(self, user: int) -> None:
        await self.sfu.leave(CALL, user)

    async def close(self) -> None:
        await self.sfu.close()


class Relay:
    """aiortc's stock relay: decode every published track once, encode per subscriber."""

    def __init__(self, publishers: int) -> None:
        hooks.restrict_host_addresses(["127.0.0.1"])
        hooks.quick_consent()  # as the SFU does, so both modes run the same ICE checks
        self.expected = publishers
        self.relay = MediaRelay()
        self.published: dict[int, dict[str, MediaStreamTrack]] = {}  # user -> mic, camera
        self.ready = asyncio.Event()
        self.pcs: dict[tuple[str, int], RTCPeerConnection] = {}
        self.drains: list[asyncio.Task[None]] = []
        self.connection_failures: list[str] = []

    def _watch(self, pc: RTCPeerConnection, role: str, user: int) -> None:
        @pc.on("connectionstatechange")
        def _changed() -> None:
            if pc.connectionState == "failed":
                self.connection_failures.append(f"{role} {user} at {time.time():.1f}")

    async def publish(self, user: int, sdp: str, viewer: bool) -> str:
        pc = self.pcs["pub", user] = RTCPeerConnection(configuration())
        self._watch(pc, "publisher", user)
        transceivers = []
        for kind in ("audio", "video", "video"):  # mic, camera, screen, as the SFU answers
            transceiver = pc.addTransceiver(kind, direction="recvonly")
            prefer_codecs(transceiver, kind)
            transceivers.append(transceiver)
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        if not viewer:
            tracks = {
                "mic": transceivers[0].receiver.track,
                "camera": transceivers[1].receiver.track,
            }
            self.published[user] = tracks
            # Read (and so decode) each track from the start, subscribers or not, as a
            # decoding server would; the receiver's queue would grow otherwise.
            for track in tracks.values():
                self.drains.append(asyncio.create_task(_drain(self.relay.subscribe(track, False))))
            if len(self.published) >= self.expected:
                self.ready.set()
        return str(pc.localDescription.sdp)

    async def subscribe_offer(self, user: int) -> str:
        await asyncio.wait_for(self.ready.wait(), 60)
        pc = self.pcs["sub", user] = RTCPeerConnection(configuration())
        self._watch(pc, "subscriber", user)
        for publisher, tracks in sorted(self.published.items()):
            if publisher == user:
                continue
            for kind, name in (("audio", "mic"), ("video", "camera")):
                transceiver = pc.addTransceiver(
                    self.relay.subscribe(tracks[name]), direction="sendonly"
                )
                prefer_codecs(transceiver, kind)
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)

    async def subscribe_answer(self, user: int, sdp: str) -> None:
        await self.pcs["sub", user].setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    async def stats(self) -> dict[str, Any]:
        receivers = [
            t.receiver
            for (role, _), pc in self.pcs.items()
            if role == "pub"
            for t in pc.getTransceivers()
        ]
        subscribers = [pc for (role, _), pc in self.pcs.items() if role == "sub"]
        return {
            "outbound": await _outbound(subscribers),
            "inbound": await _inbound(receivers),
            "connection_failures": self.connection_failures,
        }

    async def close(self) -> None:
        for task in self.drains:
            task.cancel()
        for pc in self.pcs.values():
            await pc.close()


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


class Direct:
    """No server in the media path: pair the publisher's offer with the subscriber's answer."""

    def __init__(self) -> None:
        hooks.restrict_host_addresses(["127.0.0.1"])
        self.offers: asyncio.Queue[tuple[str, asyncio.Future[str]]] = asyncio.Queue()
        self.pending: dict[int, asyncio.Future[str]] = {}

    async def publish(self, user: int, sdp: str, viewer: bool) -> str:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        await self.offers.put((sdp, answer))
        return await asyncio.wait_for(answer, 60)

    async def subscribe_offer(self, user: int) -> str:
        sdp, answer = await asyncio.wait_for(self.offers.get(), 60)
        self.pending[user] = answer
        return sdp

    async def subscribe_answer(self, user: int, sdp: str) -> None:
        self.pending.pop(user).set_result(sdp)

    async def stats(self) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        return None


class Server:
    def __init__(self, media: Forward | Relay | Direct | Janus, mode: str) -> None:
        self.media = media
        self.mode = mode
        self.done = asyncio.Event()
        self.errors: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import json

        try:
            while line := await reader.readline():
                request = json.loads(line)
                try:
                    reply = await self.dispatch(request)
                except Exception as error:
                    self.errors.append(f"{request.get('op')}: {error!r}")
                    log.error("%s failed:\n%s", request.get("op"), traceback.format_exc())
                    reply = {"error": repr(error)}
                writer.write((json.dumps(reply) + "\n").encode())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass  # a client went away, or the server is quitting with clients still connected
        finally:
            writer.close()

    async def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        if op == "publish":
            sdp = await self.media.publish(
                request["user"], request["sdp"], request.get("viewer", False)
            )
            return {"sdp": sdp}
        if op == "subscribe_offer":
            return {"sdp": await self.media.subscribe_offer(request["user"])}
        if op == "subscribe_answer":
            await self.media.subscribe_answer(request["user"], request["sdp"])
            return {}
        if op == "leave" and isinstance(self.media, Forward):
            await self.media.leave(request["user"])
            return {}
        if op == "stats":
            pid = media_pid(self.media)
            started = time.time()
            media = await self.media.stats()
            user_s, system_s = user_system_seconds(pid)
            return {
                "mode": self.mode,
                "time": started,
                "cpu_s": cpu_seconds(pid),
                "user_s": user_s,  # the media server's threads, user mode
                "system_s": system_s,  # and in the kernel (UDP sends on loopback)
                "rss_mb": round(rss_mb(pid), 1),
                "threads": len(os.listdir(f"/proc/{pid}/task")),
                "stats_took_ms": round((time.time() - started) * 1000, 2),
                "errors": self.errors,
                **media,
            }
        if op == "objects":  # what is alive, by type (bench/sfu_memory.py --objects)
            alive = gc.get_objects()
            kinds = collections.Counter(type(o).__qualname__ for o in alive)
            return {"objects": len(alive), "by_type": dict(kinds.most_common(500))}
        if op == "quit":
            print("--- bench: quitting ---", file=sys.stderr, flush=True)
            self.done.set()
            return {}
        raise ValueError(f"unknown op {op!r}")


def media_pid(media: object) -> int:
    """The process doing the media work: Janus's own, or this one."""
    return int(getattr(media, "pid", os.getpid()))


def user_system_seconds(pid: int) -> tuple[float, float]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


async def serve(args: argparse.Namespace) -> None:
    media: Forward | Relay | Direct | Janus
    if args.mode == "forward":
        media = Forward()
        # As `hearth serve` does at start (appliance/server.py, appliance/net/heap.py).
        heap.fix_mmap_threshold()
        heap.freeze_startup_objects()
    elif args.mode == "relay":
        media = Relay(args.publishers)
    elif args.mode == "janus":
        media = Janus()
    else:
        media = Direct()
    try:
        if isinstance(media, Janus):
            await media.start()
        server = Server(media, args.mode)
        listener = await asyncio.start_server(server.handle, "127.0.0.1", args.port)
        print(f"READY {media_pid(media)}", flush=True)
        async with listener:
            await server.done.wait()
    finally:
        await media.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["forward", "relay", "direct", "janus"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--publishers", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if os.environ.get("SFU_BENCH_PROFILE"):  # a cProfile of the event loop, for diagnosis
        import cProfile

        cProfile.runctx(
            "asyncio.run(serve(args))",
            globals(),
            locals(),
            f"{os.environ['SFU_BENCH_PROFILE']}.{args.mode}",  # one file per server mode
        )
        return
    event_loop.run(serve(args))  # uvloop's, as `hearth serve` runs (appliance/loop.py)


if __name__ == "__main__":
    main()
