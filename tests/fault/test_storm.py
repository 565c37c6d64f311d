"""A reconnect storm (issue 13, item 16): 400 WebSocket clients connected and gone left the
server at 220 MB from 76 MB, 30 s after they closed. None of its Python objects were left; the
memory was the allocators': a 256 KiB TLS read buffer per connection, glibc's heap keeping what
they freed, and Python's small-object arenas pinned by a few survivors each
(appliance/net/heap.py has the measurements).

Here several hundred clients connect, say hello and close, twice over, against a server run
the way systemd/hearth.service runs it (its Environment= lines); once idle again, the server's
RSS is within 15 MB of what it was before the storm and its file descriptors are back where
they were.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from websockets.asyncio.client import connect

from appliance.net.heap import TRIM_DELAY
from tests.support.people import ServedPeople, ServedPerson
from tests.support.server import HearthServer, insecure_context, roomy_config
from tests.support.wire import Socket, ws_url

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "hearth.service"
SOCKETS = 300
ROUNDS = 2
AT_ONCE = 20  # handshakes in flight: below Hypercorn's listen backlog of 100
BUDGET_MB = 15.0


def unit_environment() -> dict[str, str]:
    pairs = re.findall(r"^Environment=(\w+)=(\S+)$", UNIT.read_text(), re.MULTILINE)
    return dict(pairs)


def rss_mb(server: HearthServer) -> float:
    assert server.process is not None
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def open_fds(server: HearthServer) -> int:
    assert server.process is not None
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


async def storm(server: HearthServer, people: list[ServedPerson], count: int) -> None:
    """`count` sockets open at once (each greeted), then all closed."""
    context = insecure_context()
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(person: ServedPerson) -> Socket:
        async with gate:
            ws = await connect(
                ws_url(server),
                additional_headers={"Authorization": f"Bearer {person.token}"},
                ssl=context,
                proxy=None,
                open_timeout=30,
            )
            socket = Socket(ws)
            await socket.hello()
            return socket

    sockets = await asyncio.gather(*(one(people[i % len(people)]) for i in range(count)))
    await asyncio.gather(*(socket.close() for socket in sockets))


async def idle_rss(server: HearthServer) -> float:
    """RSS once memory freed by closed connections had its chance to go back (the server
    releases it TRIM_DELAY after connections close)."""
    await asyncio.sleep(TRIM_DELAY + 1.5)
    return rss_mb(server)


async def test_memory_and_fds_come_back_after_a_reconnect_storm(tmp_path, monkeypatch):
    environment = unit_environment()
    assert environment.get("PYTHONMALLOC") == "malloc", "the unit no longer sets PYTHONMALLOC"
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with HearthServer(roomy_config(tmp_path)) as server:
        people = await ServedPeople(server)(*(f"storm{i}" for i in range(20)))
        await storm(server, people, len(people))  # everything a connection uses is loaded
        before, fds = await idle_rss(server), open_fds(server)

        peak = before
        for _ in range(ROUNDS):
            await storm(server, people, SOCKETS)
            peak = max(peak, rss_mb(server))
        after = await idle_rss(server)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while after > before + BUDGET_MB and loop.time() < deadline:
            await asyncio.sleep(0.5)
            after = rss_mb(server)

        print(f"RSS before {before:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB")
        assert peak > before + 10, "the storm did not use memory: it measures nothing"
        assert after <= before + BUDGET_MB, (
            f"RSS {after:.0f} MB after the storm, {before:.0f} MB before (peak {peak:.0f} MB)"
        )
        assert open_fds(server) == fds
        assert "Traceback" not in server.log()
