"""What waking the event loop costs on this machine: the floor under the SFU's fixed cost.

At one subscriber the SFU wakes about 100 times a second for the publisher's packets (a
wake-up reads 2.2 of them in bench/sfu.py), and a few more for timers. This measures, in this
process, on loopback, with exact per-process CPU time (CLOCK_PROCESS_CPUTIME_ID):

* an asyncio timer every 2 ms: a task's `asyncio.sleep` (two turns of the loop: the timer,
  then the task) against a bare `loop.call_later` callback (one);
* a datagram every 2 ms from another process, read by a reader callback on the loop (the
  wake-up, one `recvfrom`, and the `recvfrom` that finds the socket empty);
* the same calls in a tight loop, where nothing sleeps and the caches stay warm: `recvfrom`
  of a waiting datagram, one that finds none, and `sendto` (on loopback it delivers too).

The difference between a wake-up and the warm calls is the price of sleeping and being woken
(and of cold caches after it), which Janus pays as well, but with far less code to run cold.

    .venv/bin/python bench/wakeups.py [--count 3000]

Prints JSON and writes bench/results/wakeups.{json,png}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import write_result  # noqa: E402

INTERVAL = 0.002  # s between wake-ups: 500/s, sparse enough that the loop sleeps between
PAYLOAD = bytes(1100)  # an RTP packet's size


def per_call_us(cpu: float, count: int) -> float:
    return round(cpu / count * 1e6, 2)


async def task_sleeps(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(INTERVAL)


async def bare_timers(count: int) -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    left = [count]

    def tick() -> None:
        left[0] -= 1
        if left[0]:
            loop.call_later(INTERVAL, tick)
        else:
            done.set_result(None)

    loop.call_later(INTERVAL, tick)
    await done


async def datagrams(count: int) -> None:
    """A reader on the loop; another process sends `count` datagrams, INTERVAL apart."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    done = loop.create_future()
    got = [0]

    def ready() -> None:
        while True:
            try:
                sock.recvfrom(65535)
            except BlockingIOError:
                return
            got[0] += 1
            if got[0] == count and not done.done():
                done.set_result(None)

    loop.add_reader(sock.fileno(), ready)
    host, port = sock.getsockname()
    sender = (
        "import socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"for _ in range({count}):\n"
        f"    s.sendto(bytes({len(PAYLOAD)}), ({host!r}, {port}))\n"
        f"    time.sleep({INTERVAL})\n"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", sender)
    try:
        await asyncio.wait_for(done, timeout=count * INTERVAL * 5 + 10)
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()
        await process.wait()


def on_loop(work: Callable[[int], object], count: int) -> float:
    """CPU seconds of this process while the loop runs `work(count)`."""
    start = time.process_time()
    asyncio.run(work(count))  # type: ignore[arg-type]
    return time.process_time() - start


def warm_calls(count: int) -> dict[str, float]:
    """Back to back, in rounds of 50 (what the socket buffer surely holds)."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    address = receiver.getsockname()
    spent = {"sendto_us": 0.0, "recvfrom_us": 0.0, "recvfrom_empty_us": 0.0}
    rounds = max(1, count // 50)
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(50):
            sender.sendto(PAYLOAD, address)
        sent = time.process_time()
        for _ in range(50):
            receiver.recvfrom(65535)
        read = time.process_time()
        for _ in range(50):
            with contextlib.suppress(BlockingIOError):
                receiver.recvfrom(65535)
        spent["sendto_us"] += sent - start
        spent["recvfrom_us"] += read - sent
        spent["recvfrom_empty_us"] += time.process_time() - read
    receiver.close()
    sender.close()
    return {name: per_call_us(cpu, rounds * 50) for name, cpu in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="wake-ups (and calls) each")
    args = parser.parse_args()
    count = args.count
    # Forked before anything is measured: the sender's start-up is not this process's CPU.
    figures = {
        "task_sleep_wakeup_us": per_call_us(on_loop(task_sleeps, count), count),
        "call_later_wakeup_us": per_call_us(on_loop(bare_timers, count), count),
        "datagram_wakeup_us": per_call_us(on_loop(datagrams, count), count),
        **warm_calls(count * 10),
    }
    result = {
        "figures": figures,
        "count": count,
        "interval_ms": INTERVAL * 1000,
        "python": sys.version.split()[0],
        "note": "CPU of this process per event, from CLOCK_PROCESS_CPUTIME_ID; the warm calls "
        "run back to back (no sleeping between them).",
    }
    path = write_result("wakeups", result)
    plot(figures, path.with_suffix(".png"))
    print(json.dumps(result, indent=2))


def plot(figures: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(figures)
    fig, axis = plt.subplots(figsize=(8, 3.5))
    colors = ["#dc2626" if "wakeup" in name else "#2563eb" for name in names]
    axis.barh([name.removesuffix("_us") for name in names], [figures[n] for n in names],
              color=colors)  # fmt: skip
    axis.set_xlabel("CPU per event (us)")
    axis.set_title("Waking the event loop (red) against warm calls (blue)")
    axis.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
