"""The WebSocket session: handshake checks, hello, ping, bad frames, the per-connection limit."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.app import PASSWORD
from tests.support.people import ServedPeople
from tests.support.server import HearthServer, roomy_config
from tests.support.wire import open_socket


async def refused_status(server, headers, origin=None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        socket = await open_socket(server, headers, origin)
        await socket.close()
    return refused.value.response.status_code


async def test_handshake_without_credentials_is_401(server):
    assert await refused_status(server, {}) == 401


async def test_handshake_with_a_bad_token_is_401(server):
    assert await refused_status(server, {"Authorization": "Bearer not-a-token"}) == 401


async def test_handshake_with_a_foreign_origin_is_403(server, people):
    (ada,) = await people("ada")
    headers = {"Authorization": f"Bearer {ada.token}"}
    assert await refused_status(server, headers, origin="https://evil.example") == 403


async def test_cookie_handshake_needs_our_origin(server, people):
    (ada,) = await people("ada")
    assert ada.cookie
    headers = {"Cookie": f"hearth_session={ada.cookie}"}
    assert await refused_status(server, headers) == 403
    assert await refused_status(server, headers, origin="https://evil.example") == 403
    socket = await open_socket(server, headers, origin=server.url)
    try:
        assert (await socket.hello())["user_id"] == ada.id
    finally:
        await socket.close()


async def test_hello_reply_shape(people):
    ada, bob = await people("ada", "bob")
    await ada.group("Pair", bob)
    bob_socket = await bob.connect()
    socket = await ada.connect(greet=False)
    reply = await socket.request("hello", {"resume_from": None}, id="h1")
    assert reply["type"] == "result" and reply["id"] == "h1" and reply["ok"] is True
    data = reply["data"]
    assert set(data) == {"user_id", "seq", "presence"}
    assert data["user_id"] == ada.id
    assert isinstance(data["seq"], int) and data["seq"] >= bob_socket.welcome["seq"] > 0
    online = {p["user_id"]: p for p in data["presence"]}
    assert online[bob.id]["status"] == "online"


async def test_ping_answers_the_time(people):
    (ada,) = await people("ada")
    socket = await ada.connect()
    reply = await socket.request("ping", {}, id="p-1")
    assert reply["ok"] is True and reply["id"] == "p-1"
    assert reply["data"]["time"].endswith("Z") and "T" in reply["data"]["time"]


async def test_frames_before_hello_get_hello_required(people):
    (ada,) = await people("ada")
    socket = await ada.connect(greet=False)
    reply = await socket.request("ping", {}, id="early")
    assert reply["ok"] is False and reply["error"]["code"] == "hello_required"
    reply = await socket.request("message.send", {"chat_id": 1, "client_id": "x", "body": "x"})
    assert reply["ok"] is False and reply["error"]["code"] == "hello_required"
    assert (await socket.hello())["user_id"] == ada.id
    await socket.ping_round_trip()


async def error_for_raw(socket, text: str, expected_id=None) -> dict:
    await socket.send_raw(text)
    reply = await socket.result(expected_id)
    assert reply["type"] == "result" and reply["ok"] is False, reply
    assert reply["error"]["message"], reply
    return reply["error"]


async def test_bad_frames_get_error_results_and_the_socket_stays_usable(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    socket = await ada.connect()
    assert (await error_for_raw(socket, "this is not json"))["code"] == "malformed_json"
    assert (await error_for_raw(socket, '{"id": "cut", "type": "pi'))["code"] == "malformed_json"
    assert (await error_for_raw(socket, "[1, 2, 3]"))["code"] == "validation_error"
    assert (await error_for_raw(socket, '"ping"'))["code"] == "validation_error"
    missing_type = json.dumps({"id": "m1", "data": {}})
    assert (await error_for_raw(socket, missing_type, "m1"))["code"] in {
        "validation_error",
        "unknown_op",
    }
    unknown = json.dumps({"id": "u1", "type": "launch.rockets", "data": {}})
    assert (await error_for_raw(socket, unknown, "u1"))["code"] == "unknown_op"
    bad_data = json.dumps({"id": "b1", "type": "message.send", "data": {"chat_id": "seven"}})
    error = await error_for_raw(socket, bad_data, "b1")
    assert error["code"] == "validation_error"
    assert error["fields"], error
    empty_body = {"chat_id": chat["id"], "client_id": "e1", "body": ""}
    reply = await socket.request("message.send", empty_body, id="b2")
    assert reply["ok"] is False and reply["error"]["code"] == "validation_error"
    # Still open and still working.
    await socket.ping_round_trip()
    sent = await socket.ok(
        "message.send", {"chat_id": chat["id"], "client_id": "ok1", "body": "fine"}
    )
    assert sent["body"] == "fine"
    listed = await ada.api("GET", f"/chats/{chat['id']}/messages")
    assert [m["body"] for m in listed["messages"]] == ["fine"]


async def test_ops_follow_the_rest_rules(people):
    """The same service code as REST: not a member is not_a_member over the socket too."""
    ada, bob, eve = await people("ada", "bob", "eve")
    chat = await ada.direct(bob)
    socket = await eve.connect()
    reply = await socket.request(
        "message.send", {"chat_id": chat["id"], "client_id": "in", "body": "hi"}
    )
    assert reply["ok"] is False and reply["error"]["code"] == "not_a_member"
    reply = await socket.request(
        "message.send", {"chat_id": 10**9, "client_id": "in", "body": "hi"}
    )
    assert reply["ok"] is False and reply["error"]["code"] == "chat_not_found"


async def test_a_second_hello_is_refused_without_closing(people):
    (ada,) = await people("ada")
    socket = await ada.connect()
    reply = await socket.request("hello", {"resume_from": None}, id="again")
    assert reply["ok"] is False
    await socket.ping_round_trip()


async def test_per_connection_frame_limit_answers_rate_limited(tmp_path):
    limits = {"ws_frames_per_connection": {"count": 5, "per_seconds": 60}}
    with HearthServer(roomy_config(tmp_path, limits=limits)) as server:
        crowd = ServedPeople(server)
        try:
            (ada,) = await crowd("ada")
            socket = await ada.connect()  # hello is frame 1
            for _ in range(4):
                await socket.ok("ping", {})
            await socket.send_frame("ping", {}, id="sixth")
            reply = await socket.expect(type="result")
            assert reply["ok"] is False and reply["error"]["code"] == "rate_limited", reply
            # The limit is per connection: a fresh socket of the same person still works.
            other = await ada.connect()
            await other.ok("ping", {})
            # The reply carries the request's id, like every other reply, so a client can
            # tell which request was refused.
            assert reply["id"] == "sixth", reply
        finally:
            # Close before the server stops: stop() blocks this loop, so an open socket could
            # not answer the server's close handshake.
            await crowd.close()


async def closed_with(socket, timeout: float) -> int | None:
    """Read until the server closes the socket (or `timeout` passes); its close code."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        while loop.time() < deadline:
            await socket.next_frame(deadline - loop.time())
    return socket.ws.close_code


async def test_a_revoked_session_loses_its_socket(people):
    """Revoking a session (say, a lost phone) must cut that session's live feed with 4001,
    not leave it reading new messages."""
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    login = await ada.rest.call(
        "POST", "/auth/login", {"login": ada.username, "password": PASSWORD, "device": "phone"}
    )
    assert login.status == 200, login.body
    phone = await open_socket(ada.server, {"Authorization": f"Bearer {login.body['access_token']}"})
    try:
        await phone.hello()
        await ada.api("DELETE", f"/auth/sessions/{login.body['session_id']}", status=204)
        await bob.send(chat["id"], "not for the lost phone")
        code = await closed_with(phone, timeout=5)
        assert phone.events("message.created") == [], "a revoked session still gets messages"
        assert code == 4001
    finally:
        await phone.close()


async def test_signing_out_closes_the_socket(people):
    (ada,) = await people("ada")
    socket = await ada.connect()
    await ada.api("POST", "/auth/logout", status=204)
    assert await closed_with(socket, timeout=5) == 4001


async def test_the_send_limit_counts_rest_and_socket_together(tmp_path):
    limits = {"messages_per_user": {"count": 3, "per_seconds": 60}}
    with HearthServer(roomy_config(tmp_path, limits=limits)) as server:
        crowd = ServedPeople(server)
        try:
            ada, bob = await crowd("ada", "bob")
            chat = await ada.direct(bob)
            socket = await ada.connect()
            await ada.send(chat["id"], "rest one")
            await ada.send(chat["id"], "rest two")
            data = {"chat_id": chat["id"], "client_id": "ws-1", "body": "socket three"}
            await socket.ok("message.send", data)
            reply = await socket.request("message.send", {**data, "client_id": "ws-2"})
            assert reply["ok"] is False and reply["error"]["code"] == "rate_limited", reply
            over = await ada.rest.call(
                "POST",
                f"/chats/{chat['id']}/messages",
                {"client_id": "rest-3", "body": "rest four"},
                token=ada.token,
            )
            assert over.status == 429 and over.body["error"]["code"] == "rate_limited"
            assert int(over.headers["Retry-After"]) >= 1
            listed = await bob.api("GET", f"/chats/{chat['id']}/messages")
            assert [m["body"] for m in listed["messages"]] == [
                "rest one",
                "rest two",
                "socket three",
            ]
        finally:
            await crowd.close()


async def test_compression_is_declined(people):
    # websockets offers permessage-deflate as browsers do; the server turns it down (LAN
    # bandwidth is cheap, a Pi's CPU and memory per socket are not).
    (ada,) = await people("ada")
    socket = await ada.connect()
    assert socket.ws.response is not None
    assert "Sec-WebSocket-Extensions" not in socket.ws.response.headers
    assert "permessage-deflate" in (socket.ws.request.headers.get("Sec-WebSocket-Extensions") or "")
    await socket.ping_round_trip()


async def test_a_password_change_closes_the_other_devices_sockets(people):
    (ada,) = await people("ada")
    login = await ada.rest.call(
        "POST", "/auth/login", {"login": ada.username, "password": PASSWORD, "device": "phone"}
    )
    assert login.status == 200, login.body
    phone = await open_socket(ada.server, {"Authorization": f"Bearer {login.body['access_token']}"})
    laptop = await ada.connect()
    try:
        await phone.hello()
        change = {"current_password": PASSWORD, "new_password": PASSWORD + " 2"}
        await ada.api("POST", "/me/password", change, status=204)
        assert await closed_with(phone, timeout=5) == 4001
        await laptop.ping_round_trip()  # the session that changed it stays
    finally:
        await phone.close()
