"""Stopping a server that has WebSocket clients: as clean as stopping one without (see
tests/e2e/test_serve.py::test_stops_cleanly_on_signals): exit 0, no traceback, no waiting out
server.shutdown_timeout_seconds for sockets that are already gone. And, in process, what the
stop steps do in order: calls end and are logged while the database is open, then the sockets
close."""

from __future__ import annotations

import asyncio
import contextlib

from websockets.exceptions import ConnectionClosed

from tests.support import sqlite
from tests.support.people import ServedPeople
from tests.support.server import HearthServer, roomy_config


async def test_stop_with_an_open_socket_closes_it_and_exits_cleanly(tmp_path):
    server = HearthServer(roomy_config(tmp_path, shutdown_timeout=5)).start()
    (ada,) = await ServedPeople(server)("ada")
    socket = await ada.connect()
    code, _ = await server.stop_without_blocking()
    with contextlib.suppress(ConnectionClosed):
        await asyncio.wait_for(socket.ws.recv(), 5)
    assert code == 0, server.log()[-3000:]
    assert "Traceback" not in server.log(), server.log()[-3000:]
    assert "Hearth stopped" in server.log()
    # 1001 "going away": the client reconnects (with backoff) once the server is back.
    assert socket.ws.close_code == 1001, (socket.ws.close_code, socket.ws.close_reason)


async def test_stop_after_sockets_closed_does_not_wait_for_the_timeout(tmp_path):
    server = HearthServer(roomy_config(tmp_path, shutdown_timeout=6)).start()
    ada, bob = await ServedPeople(server)("ada", "bob")
    await ada.direct(bob)
    for person in (ada, bob):
        socket = await person.connect()
        await socket.ping_round_trip()
        await socket.close()
    code, elapsed = await server.stop_without_blocking()
    assert code == 0, server.log()[-3000:]
    assert elapsed < 3.0, f"took {elapsed:.1f}s to stop with no socket open"


async def test_stopping_ends_calls_while_the_database_is_open_then_closes_sockets(local):
    ada, bob = await local.people("ada", "bob")
    chat = await ada.direct(bob)
    a, b = await ada.connect(), await bob.connect()
    call = await a.ok("call.start", {"chat_id": chat["id"], "kind": "audio"})
    await b.ok("call.accept", {"call_id": call["id"]})
    await local.hearth.stop()
    for socket in (a, b):
        ended = await socket.expect("call.ended")
        assert ended["data"]["call"]["outcome"] == "completed"
        logged = await socket.expect("message.created")  # the call log, sent live
        assert logged["data"]["call"]["id"] == call["id"]
        assert await socket.closed() == 1001  # going away: reconnect and resume
    with sqlite.database(local.hearth.config) as conn:
        outcome, message_id = conn.execute(
            "SELECT outcome, message_id FROM calls WHERE id = ?", (call["id"],)
        ).fetchone()
    assert outcome == "completed" and message_id == logged["data"]["id"]
