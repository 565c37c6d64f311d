"""Does memory come back after calls? One process: Hearth's SFU and aiortc client peers (the
tests' Peer: a moving pattern and a tone), on loopback. RSS idle (aiortc imported, no call),
then after each of `--calls` calls of `--people` people lasting `--seconds`, once everyone
has left. The target (issue 11): back within 10 MB of idle, no growth from call to call.

    .venv/bin/python bench/sfu_memory.py --calls 5 --people 3 --seconds 4
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import rss_mb  # noqa: E402

from appliance.config import CallSettings  # noqa: E402
from appliance.sfu import SFU  # noqa: E402
from tests.sfu.peers import Peer  # noqa: E402


async def one_call(sfu: SFU, call_id: int, people: int, seconds: float) -> int:
    peers = [Peer(call_id, user) for user in range(1, people + 1)]
    for peer in peers:
        await peer.join(sfu)
    await asyncio.sleep(seconds)
    frames = sum(r.frames for p in peers for r in p.received.values())
    for peer in peers:
        await peer.close()
        await sfu.leave(call_id, peer.user_id)
    return frames


async def main(args: argparse.Namespace) -> None:
    async def failed(call_id: int, user_id: int) -> None:
        await sfu.leave(call_id, user_id)

    sfu = SFU(CallSettings(addresses=("127.0.0.1",)), lambda *a: None, failed)
    pid = os.getpid()
    gc.collect()
    idle = rss_mb(pid)
    after = []
    for n in range(1, args.calls + 1):
        frames = await one_call(sfu, n, args.people, args.seconds)
        await asyncio.sleep(1.0)  # the peers' and the SFU's closing tasks finish
        gc.collect()
        after.append({"call": n, "frames_received": frames, "rss_mb": round(rss_mb(pid), 1)})
        print(f"# call {n}: {after[-1]}", file=sys.stderr, flush=True)
    await sfu.close()
    result = {
        "idle_rss_mb": round(idle, 1),
        "after_each_call": after,
        "above_idle_after_last_mb": round(after[-1]["rss_mb"] - idle, 1),
        "growth_first_to_last_mb": round(after[-1]["rss_mb"] - after[0]["rss_mb"], 1),
        "people": args.people,
        "seconds": args.seconds,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    asyncio.run(main(parser.parse_args()))
