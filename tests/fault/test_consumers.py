"""Clients that do not read (issue 13, item 7). A client that stopped reading kept its TCP
connection, 2.8 MB queued for it, a handler task and kernel buffers until it read again; and a
stop with one connected took 35 s, past systemd's TimeoutStopSec.

Now a frozen consumer is cut off (reset) within server.write_timeout_seconds of the server's
writes to it stalling, and everything the server held for it is released while the others
carry on; a slow consumer that keeps reading is never cut off; and a stop ends within
server.shutdown_timeout_seconds whatever clients do.

Frozen clients are real TLS WebSocket clients whose socket has a small receive buffer and that
stop reading after `hello`; the server's side of their connection is watched in /proc/net/tcp.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from pathlib import Path

import yaml
from websockets.asyncio.client import connect

from tests.support.people import ServedPeople, ServedPerson, new_client_id
from tests.support.server import HearthServer, insecure_context, roomy_config
from tests.support.wire import Socket, ws_url

BODY = "x" * 60_000  # one 60 KB frame per message: a few MB fill every buffer on the way
FLOOD = 100  # messages; 6 MB, well over what the kernels and asyncio buffer for one client


def consumer_config(folder: Path, write_timeout: float, shutdown_timeout: float = 1.0) -> Path:
    path = roomy_config(folder, shutdown_timeout=shutdown_timeout)
    raw = yaml.safe_load(path.read_text())
    raw["server"]["write_timeout_seconds"] = write_timeout
    raw["messages"] = {"max_length": len(BODY)}
    path.write_text(yaml.safe_dump(raw))
    return path


def server_side(server: HearthServer, client_port: int) -> list[int]:
    """The send queues (bytes) of the server's end of connections from `client_port`."""
    queues = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local, remote = (int(fields[i].rsplit(":", 1)[1], 16) for i in (1, 2))
                if local == server.port and remote == client_port:
                    queues.append(int(fields[4].split(":")[0], 16))
    return queues


def open_fds(server: HearthServer) -> int:
    assert server.process is not None
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


async def eventually(check, timeout: float, what: str) -> float:
    """Poll `check()` until true; the seconds it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while not check():
        if loop.time() - began > timeout:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.05)
    return loop.time() - began


async def reluctant_socket(server: HearthServer, person: ServedPerson) -> tuple[Socket, int]:
    """A greeted socket with a small receive buffer and no keepalive pings; its local port."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", server.port))
    ws = await connect(
        ws_url(server),
        sock=raw,
        server_hostname="localhost",
        additional_headers={"Authorization": f"Bearer {person.token}"},
        ssl=insecure_context(),
        proxy=None,
        open_timeout=10,
        ping_interval=None,
        max_queue=4,
    )
    client = Socket(ws)
    client.welcome = await client.hello()
    return client, raw.getsockname()[1]


async def flood(sender: Socket, chat_id: int, count: int = FLOOD) -> list[int]:
    ids = []
    for _ in range(count):
        message = await sender.ok(
            "message.send", {"chat_id": chat_id, "client_id": new_client_id(), "body": BODY}
        )
        ids.append(message["id"])
    return ids


async def received_messages(client: Socket, last_id: int, timeout: float = 30.0) -> list[int]:
    ids: list[int] = []
    while not ids or ids[-1] != last_id:
        frame = await client.expect("message.created", timeout=timeout)
        ids.append(frame["data"]["id"])
    return ids


async def test_a_frozen_consumer_is_cut_off_in_time_and_released_while_others_carry_on(tmp_path):
    write_timeout = 2.0
    with HearthServer(consumer_config(tmp_path, write_timeout)) as server:
        people = ServedPeople(server)
        ada, bob, cat = await people("ada", "bob", "cat")
        chat = await bob.group("frozen", ada, cat)
        sender, watcher = await bob.connect(), await cat.connect()
        baseline = open_fds(server)

        frozen, port = await reluctant_socket(server, ada)
        frozen.ws.transport.pause_reading()  # ada's tab freezes: nothing is read from now on
        assert server_side(server, port), "no connection for the frozen consumer"
        sent = await flood(sender, chat["id"])

        # The server's writes to ada stalled during the flood: within the write timeout of the
        # last send at the latest, her connection is reset, and what was queued for it is gone.
        took = await eventually(lambda: not server_side(server, port), write_timeout + 3,
                                "the frozen consumer's connection closes")  # fmt: skip
        assert took <= write_timeout + 1.5, f"cut off {took:.1f}s after the last send"
        await eventually(lambda: open_fds(server) == baseline, 5, "the server's fds return")
        offline = await sender.expect(
            "presence", where=lambda f: f["data"] == {**f["data"], "user_id": ada.id,
                                                      "status": "offline"})  # fmt: skip
        assert offline["data"]["last_seen_at"] is not None  # the hub let go of her connection

        # Others carry on: everything reached cat, in order, and both sockets still answer.
        assert await received_messages(watcher, sent[-1]) == sent
        await sender.ping_round_trip()
        await watcher.ping_round_trip()

        # Ada comes back and resumes without a gap.
        frozen.cut()
        again = await ada.connect(resume_from=frozen.welcome["seq"])
        assert await received_messages(again, sent[-1]) == sent

        log = server.log()
        assert log.count(f"cut off the connection from 127.0.0.1:{port}:") == 1, log[-3000:]
        assert "stopped reading" in log
        assert "Traceback" not in log, log[-3000:]
        await people.close()


async def test_a_slow_consumer_that_keeps_reading_is_never_cut_off(tmp_path):
    write_timeout = 1.0
    with HearthServer(consumer_config(tmp_path, write_timeout)) as server:
        people = ServedPeople(server)
        ada, bob = await people("ada", "bob")
        chat = await bob.group("slow", ada)
        sender = await bob.connect()
        slow, port = await reluctant_socket(server, ada)
        sent = await flood(sender, chat["id"], 60)  # 3.6 MB for ada, read at about 600 KB/s

        loop = asyncio.get_running_loop()
        began = loop.time()
        backlog_seen_for = 0.0
        received: list[int] = []
        while len(received) < len(sent):
            frame = await slow.expect("message.created", timeout=10)
            received.append(frame["data"]["id"])
            if any(queue > 0 for queue in server_side(server, port)):
                backlog_seen_for = loop.time() - began  # the server is still waiting on her
            await asyncio.sleep(0.1)
        assert received == sent
        # The server waited on her well past the write timeout, and never gave up on her.
        assert backlog_seen_for > 2 * write_timeout, backlog_seen_for
        await slow.ping_round_trip()
        assert server_side(server, port), "the slow consumer's connection was closed"
        assert "cut off" not in server.log()
        await people.close()


async def stop_and_time(server: HearthServer, timeout: float = 20.0) -> tuple[int, float]:
    """SIGTERM, then wait for the exit while this loop keeps running; the exit code and the
    seconds it took."""
    assert server.process is not None
    loop = asyncio.get_running_loop()
    began = loop.time()
    server.process.send_signal(signal.SIGTERM)
    while server.process.poll() is None:
        if loop.time() - began > timeout:
            server.process.kill()
            server.process.wait()
            raise AssertionError(f"hearth serve still running {timeout}s after SIGTERM")
        await asyncio.sleep(0.02)
    took = loop.time() - began
    server._log_file.close()
    return server.process.returncode, took


async def test_a_stop_with_a_frozen_client_ends_within_the_shutdown_timeout(tmp_path):
    shutdown_timeout = 4.0  # the write timeout (30 s) cannot be what frees the frozen client
    server = HearthServer(consumer_config(tmp_path, 30.0, shutdown_timeout)).start()
    try:
        people = ServedPeople(server)
        ada, bob = await people("ada", "bob")
        chat = await bob.group("stop", ada)
        sender = await bob.connect()
        frozen, port = await reluctant_socket(server, ada)
        frozen.ws.transport.pause_reading()
        await flood(sender, chat["id"], 80)
        assert max(server_side(server, port)) > 0  # the server holds data it cannot send her
    finally:
        code, took = await stop_and_time(server)
    frozen.cut()
    log = server.log()
    assert code == 0, log[-3000:]
    print(f"stopped {took:.2f}s after SIGTERM")
    assert took < shutdown_timeout, f"stopped {took:.1f}s after SIGTERM"
    assert "cut off 1 connection(s) still open" in log, log[-3000:]
    assert "Traceback" not in log and "SSL shutdown timed out" not in log, log[-3000:]
    assert "Hearth stopped" in log
