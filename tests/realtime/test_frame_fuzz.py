"""Frames no client should send (issue 13: JSON nested 5,000 deep killed the reader, a request
id holding a lone surrogate killed the writer silently, frames over 256 KiB closed the socket
where the protocol promises a `payload_too_large` result). Every bad frame gets an error result,
and the socket and the server stay up."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.people import ServedPerson as Person
from tests.support.wire import Socket

MAX_FRAME_CHARS = 64 * 1024


async def answered_with(socket: Socket, text: str | bytes) -> dict[str, Any]:
    """Send one raw frame and return the error result it gets (id null: no usable id)."""
    await socket.ws.send(text)
    reply = await socket.expect(type="result", where=lambda f: f.get("id") is None)
    assert reply["ok"] is False, reply
    return reply["error"]


@pytest.fixture
async def ada(people) -> Person:
    (person,) = await people("ada")
    return person


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("[" * 5000 + "]" * 5000, "malformed_json"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "malformed_json"),
        ('{"id": "\\ud800", "type": "ping", "data": {}}', "malformed_json"),
        ('{"id": "x", "type": "message.send", "data": {"body": "\\udfff"}}', "malformed_json"),
        ("x" * (MAX_FRAME_CHARS + 1), "payload_too_large"),
        ('{"type": "ping", "pad": "' + "y" * (300 * 1024) + '"}', "payload_too_large"),
        (b"\x00\x01binary", "validation_error"),
    ],
    ids=["deep-array", "deep-object", "surrogate-id", "surrogate-data", "over-64k", "300k",
         "binary"],
)  # fmt: skip
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_up(ada, frame, code):
    socket = await ada.connect()
    assert (await answered_with(socket, frame))["code"] == code
    await socket.ping_round_trip()


async def test_a_surrogate_pair_is_text_and_works(ada, people):
    (bob,) = await people("bob")
    chat = await ada.direct(bob)
    socket = await ada.connect()
    frame = {"id": "pair", "type": "message.send",
             "data": {"chat_id": chat["id"], "client_id": "pair-1", "body": "\ud83d\ude00"}}  # fmt: skip
    await socket.send_raw(json.dumps(frame))  # ensure_ascii: the emoji travels as a pair
    reply = await socket.result("pair")
    assert reply["ok"] is True and reply["data"]["body"] == "\U0001f600"


async def test_a_seeded_fuzz_of_bad_frames_never_closes_the_socket(ada):
    """200 frames from a fixed seed: truncated, mistyped, unknown, deep, huge and badly
    encoded. Each gets exactly one error result; then the socket still answers."""
    rng = random.Random(1313)
    socket = await ada.connect()
    valid = json.dumps({"id": "v", "type": "message.send", "data": {"chat_id": 1, "body": "hi"}})
    makers = [
        lambda: valid[: rng.randrange(1, len(valid))],  # cut short
        lambda: json.dumps({"type": rng.choice(["", "nope", "message.", "hello2"]), "data": {}}),
        lambda: json.dumps({"type": "message.send", "data": rng.choice([[], "x", 5, None])}),
        lambda: json.dumps(rng.choice([[], 5, "ping", None, True])),
        lambda: "[" * rng.randrange(2000, 9000),
        lambda: '{"type": "ping", "data": {"s": "\\ud' + rng.choice("89ab") + '00"}}',
        lambda: "z" * rng.randrange(MAX_FRAME_CHARS + 1, 2 * MAX_FRAME_CHARS),
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))),
    ]
    for _ in range(200):
        frame = rng.choice(makers)()
        await socket.ws.send(frame)
    errors = 0
    while errors < 200:
        reply = await socket.expect(type="result")
        assert reply["ok"] is False, reply
        errors += 1
    await socket.ping_round_trip()


async def test_only_a_frame_over_a_mebibyte_closes_the_socket(ada):
    socket = await ada.connect()
    await socket.ws.send("z" * (1024 * 1024 + 1))
    with pytest.raises(ConnectionClosed) as closed:
        await socket.ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    again = await ada.connect()  # the server is fine
    await again.ping_round_trip()
