"""Does memory come back after calls? Hearth's SFU in a process of its own (bench/sfu_server.py
--mode forward), calls made by aiortc client peers in this process (the tests' Peer: a moving
pattern and a tone), on loopback. The server's RSS idle (aiortc imported, no call yet), then
after each of `--calls` calls of `--people` people lasting `--seconds`, once everyone has
left. The target (issue 11): back within 10 MB of idle, no growth from call to call.

    .venv/bin/python bench/sfu_memory.py --calls 20 --people 3 --seconds 4

Writes bench/results/sfu_memory.json and a plot beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import write_result  # noqa: E402

from tests.sfu.peers import Peer  # noqa: E402

# After a call: the SFU hands memory back TRIM_DELAY (1 s) after it, then is measured.
SETTLE_SECONDS = 2.5


class RemoteSFU:
    """The SFU methods a Peer calls, sent to sfu_server.py (newline-delimited JSON over TCP)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()

    async def rpc(self, request: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            self._writer.write((json.dumps(request) + "\n").encode())
            await self._writer.drain()
            reply: dict[str, Any] = json.loads(await self._reader.readline())
        if "error" in reply:
            raise RuntimeError(f"{request['op']}: {reply['error']}")
        return reply

    async def publish(self, call_id: int, user_id: int, sdp: str) -> str:
        return str((await self.rpc({"op": "publish", "user": user_id, "sdp": sdp}))["sdp"])

    async def subscribe_offer(self, call_id: int, user_id: int) -> str:
        return str((await self.rpc({"op": "subscribe_offer", "user": user_id}))["sdp"])

    async def subscribe_answer(self, call_id: int, user_id: int, sdp: str) -> None:
        await self.rpc({"op": "subscribe_answer", "user": user_id, "sdp": sdp})

    async def leave(self, call_id: int, user_id: int) -> None:
        await self.rpc({"op": "leave", "user": user_id})


async def one_call(sfu: RemoteSFU, call_id: int, people: int, seconds: float) -> int:
    peers = [Peer(call_id, user) for user in range(1, people + 1)]
    for peer in peers:
        await peer.join(sfu)
    await asyncio.sleep(seconds)
    frames = sum(r.frames for p in peers for r in p.received.values())
    for peer in peers:
        await peer.close()
        await sfu.leave(call_id, peer.user_id)
    return frames


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def main(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    env = dict(os.environ)
    if not args.pymalloc:
        env["PYTHONMALLOC"] = "malloc"  # as systemd/hearth.service runs Hearth
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "sfu_server.py"), "--mode", "forward",
         "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        ready = await asyncio.wait_for(asyncio.to_thread(server.stdout.readline), 60)
        if not ready.startswith("READY"):
            raise RuntimeError(f"sfu_server.py did not start: {ready!r}")
        sfu = RemoteSFU(*await asyncio.open_connection("127.0.0.1", port))
        idle = (await sfu.rpc({"op": "stats"}))["rss_mb"]
        after: list[dict[str, Any]] = []
        counts: list[dict[str, int]] = []  # live objects by type after each call
        for n in range(1, args.calls + 1):
            frames = await one_call(sfu, 1, args.people, args.seconds)
            await asyncio.sleep(SETTLE_SECONDS)
            stats = await sfu.rpc({"op": "stats"})
            after.append({"call": n, "frames_received": frames, "rss_mb": stats["rss_mb"]})
            if args.objects:
                alive = await sfu.rpc({"op": "objects"})
                after[-1]["objects"] = alive["objects"]
                counts.append(alive["by_type"])
            print(f"# call {n}: {after[-1]}", file=sys.stderr, flush=True)
        await sfu.rpc({"op": "quit"})
    finally:
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    rss = [a["rss_mb"] for a in after]
    half = len(rss) // 2
    grown = {}
    if len(counts) > 2:  # from the second call on (the first one imports and caches)
        first, last = counts[1], counts[-1]
        grown = {
            kind: last[kind] - first.get(kind, 0)
            for kind in last
            if last[kind] - first.get(kind, 0) >= len(counts) - 2
        }
    return {
        "server_idle_rss_mb": idle,
        "after_each_call": after,
        "above_idle_after_last_mb": round(rss[-1] - idle, 1),
        "max_above_idle_mb": round(max(rss) - idle, 1),
        # Growth: the last half of the calls against the first half (one call is noise).
        "growth_second_half_mb": round(max(rss[half:]) - max(rss[:half] or rss[:1]), 1),
        "target": "within 10 MB of idle after calls; no growth from call to call",
        # Object types with at least one more alive per call, from the second call to the
        # last (--objects): what a leak would be made of.
        "objects_grown_by_type": dict(sorted(grown.items(), key=lambda kv: -kv[1])),
        "allocator": "pymalloc" if args.pymalloc else "PYTHONMALLOC=malloc (the systemd unit's)",
        "calls": args.calls,
        "people": args.people,
        "seconds": args.seconds,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calls = [a["call"] for a in result["after_each_call"]]
    rss = [a["rss_mb"] for a in result["after_each_call"]]
    idle = result["server_idle_rss_mb"]
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(calls, rss, marker="o", label="after the call ended")
    axis.axhline(idle, color="#6b7280", linestyle=":", label="idle, before any call")
    axis.axhline(idle + 10, color="#111827", linestyle="--", label="target: idle + 10 MB")
    axis.set_xlabel("call")
    axis.set_ylabel("SFU process RSS (MB)")
    axis.set_title(f"SFU memory after {len(calls)} calls of {result['people']} people")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument(
        "--objects", action="store_true", help="count live objects by type after each call"
    )
    parser.add_argument(
        "--pymalloc", action="store_true", help="Python's own allocator (`make run`'s) instead"
    )
    result = asyncio.run(main(parser.parse_args()))
    path = write_result("sfu_memory", result)
    plot(result, path.with_suffix(".png"))
    print(json.dumps(result, indent=2))
