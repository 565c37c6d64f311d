"""The server reaches into Hypercorn and asyncio to bound writes and cut off stuck clients
(appliance/net/transports.py). This fails loudly, naming the missing piece, when an upgrade
moves any of it; and checks, with a real Hypercorn and a client that never reads, that the hook
is still the one Hypercorn serves through."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

from hypercorn.asyncio import serve

from appliance.net import transports
from tests.support.server import free_port

BODY_CHUNK = b"x" * 65536
CHUNKS = 200  # 13 MB: more than the kernel and asyncio buffer for a client that never reads


def test_the_internals_the_server_uses_are_there():
    transports.check()


async def _big_response(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(CHUNKS):
        await send({"type": "http.response.body", "body": BODY_CHUNK, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def test_a_client_that_never_reads_is_cut_off_after_the_write_timeout():
    transports.install()
    port = free_port()
    connections = transports.Transports(write_timeout=1.0, shutdown_timeout=1.0)
    config = transports.ServingConfig()
    connections.configure(config)
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(_big_response, config, shutdown_trigger=stop.wait))
    client = socket.socket()
    try:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        for _ in range(100):
            with contextlib.suppress(ConnectionRefusedError):
                client.connect(("127.0.0.1", port))
                break
            await asyncio.sleep(0.05)
        client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        began = time.monotonic()
        while not len(connections):
            await asyncio.sleep(0.02)
        while len(connections) and time.monotonic() - began < 10:
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - began
        assert not len(connections), "the connection of a client that never reads stayed open"
        assert 0.9 < elapsed < 5, f"cut off after {elapsed:.1f}s, with a write timeout of 1s"
        # It was reset, not closed in order: what the kernel still held for it was dropped.
        client.setblocking(False)
        reset = False
        with contextlib.suppress(BlockingIOError):
            for _ in range(10_000):
                try:
                    if not client.recv(65536):
                        break
                except ConnectionResetError:
                    reset = True
                    break
        assert reset, "the server closed the connection without resetting it"
    finally:
        client.close()
        stop.set()
        await asyncio.wait_for(server, 10)
