"""Calls over real WebSockets on a real server: ringing on every device, answering on one,
declining, busy, a cut socket, the log event, op errors, and the SFU negotiation with an aiortc
peer. The reconnect grace runs on the clock: those tests use the in-process Hearth on a
ManualClock (`local`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from appliance.services.calls import RECONNECT_GRACE
from tests.realtime.local import LocalSocket
from tests.support.wire import Socket


def for_call(call_id: int):
    def matches(frame: dict[str, Any]) -> bool:
        data = frame["data"]
        return bool(data.get("call_id", data.get("call", {}).get("id")) == call_id)

    return matches


async def start(socket: Socket | LocalSocket, chat_id: int, kind: str = "audio") -> dict[str, Any]:
    call: dict[str, Any] = await socket.ok("call.start", {"chat_id": chat_id, "kind": kind})
    return call


async def error_code(socket: Socket, type: str, data: dict[str, Any]) -> str:
    reply = await socket.request(type, data)
    assert reply["ok"] is False, reply
    code: str = reply["error"]["code"]
    return code


async def test_a_call_rings_every_device_and_one_answers(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    caller, phone, laptop = await ada.connect(), await bob.connect(), await bob.connect()

    call = await start(caller, chat["id"], "video")
    assert call["state"] == "ringing" and call["participants"] == [ada.id]
    ringing = await caller.expect("call.ringing", type="signal")
    assert ringing["data"]["call"]["id"] == call["id"]
    for device in (phone, laptop):
        incoming = await device.expect("call.incoming", type="signal")
        assert incoming["data"]["call"]["id"] == call["id"]
        assert incoming["data"]["call"]["kind"] == "video"

    answered = await phone.ok("call.accept", {"call_id": call["id"]})
    assert answered["state"] == "active" and answered["participants"] == [ada.id, bob.id]
    accepted = {"call_id": call["id"], "user_id": bob.id}
    assert (await laptop.expect("call.accepted"))["data"] == accepted  # the laptop stops ringing
    assert (await caller.expect("call.accepted"))["data"] == accepted
    joined = await caller.expect("call.participant.joined", where=lambda f: f["data"] == accepted)
    assert joined["type"] == "signal"

    await caller.ok("call.leave", {"call_id": call["id"]})
    for device in (caller, phone, laptop):
        ended = await device.expect("call.ended")
        assert ended["data"]["call"]["outcome"] == "completed"
        log = await device.expect("message.created", type="event")
        assert log["data"]["kind"] == "call" and log["data"]["call"]["id"] == call["id"]
        assert log["data"]["call"]["outcome"] == "completed"
    history = await bob.api("GET", f"/calls?chat_id={chat['id']}")
    assert [c["id"] for c in history["calls"]] == [call["id"]]
    assert history["calls"][0]["state"] == "ended"


async def test_declining_ends_a_direct_call_for_both(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    caller, callee = await ada.connect(), await bob.connect()
    call = await start(caller, chat["id"])
    await callee.expect("call.incoming")
    assert await callee.ok("call.decline", {"call_id": call["id"]}) == {}
    declined = await caller.expect("call.declined")
    assert declined["data"] == {"call_id": call["id"], "user_id": bob.id, "reason": "declined"}
    for socket in (caller, callee):
        ended = await socket.expect("call.ended")
        assert ended["data"]["call"]["outcome"] == "declined"
    assert await error_code(callee, "call.accept", {"call_id": call["id"]}) == "call_ended"


async def test_a_busy_callee_is_not_rung(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    bob_cyd, ada_bob = await bob.direct(cyd), await ada.direct(bob)
    a, b, c = await ada.connect(), await bob.connect(), await cyd.connect()
    first = await start(b, bob_cyd["id"])
    await c.ok("call.accept", {"call_id": first["id"]})
    call = await start(a, ada_bob["id"])
    assert call["outcome"] == "busy" and call["state"] == "ended"
    busy = await a.expect("call.declined")
    assert busy["data"] == {"call_id": call["id"], "user_id": bob.id, "reason": "busy"}
    ended = await b.expect("call.ended", where=for_call(call["id"]))
    assert ended["data"]["call"]["outcome"] == "busy"
    assert b.events("call.incoming") == []


def offline(user_id: int):
    return lambda f: f["data"]["user_id"] == user_id and f["data"]["status"] == "offline"


async def test_a_cut_socket_is_noticed_and_its_user_gets_the_grace(people):
    # The server notices a lost network (no close frame) and the user goes offline; they stay
    # in the call for the reconnect grace (what follows it: the `local` tests below).
    ada, bob, cyd = await people("ada", "bob", "cyd")
    chat = await ada.group("Standup", bob, cyd)
    a, b = await ada.connect(), await bob.connect()
    call = await start(a, chat["id"])
    await b.ok("call.join", {"call_id": call["id"]})
    b.cut()
    await a.expect("presence", where=offline(bob.id), timeout=10)
    active = await ada.api("GET", "/calls/active")
    assert [c["participants"] for c in active["calls"]] == [[ada.id, bob.id]]
    await a.ok("call.end", {"call_id": call["id"]})
    assert (await a.expect("call.ended"))["data"]["call"]["outcome"] == "completed"


async def test_closing_the_last_socket_leaves_the_call_after_the_grace(local):
    ada, bob, cyd = await local.people("ada", "bob", "cyd")
    chat = await ada.group("Standup", bob, cyd)
    a, b = await ada.connect(), await bob.connect()
    call = await start(a, chat["id"])
    await b.ok("call.join", {"call_id": call["id"]})
    await b.close()
    await a.expect("presence", where=offline(bob.id))
    await local.clock.advance(RECONNECT_GRACE - 0.1)
    await a.ping_round_trip()
    assert a.events("call.participant.left") == []
    await local.clock.advance(0.1)
    left = await a.expect("call.participant.left")
    assert left["data"] == {"call_id": call["id"], "user_id": bob.id}
    active = await ada.api("GET", "/calls/active")
    assert [c["participants"] for c in active["calls"]] == [[ada.id]]
    await a.ok("call.end", {"call_id": call["id"]})
    assert (await a.expect("call.ended"))["data"]["call"]["outcome"] == "completed"


async def test_reconnecting_within_the_grace_keeps_the_call(local):
    ada, bob = await local.people("ada", "bob")
    chat = await ada.direct(bob)
    a, b = await ada.connect(), await bob.connect()
    call = await start(a, chat["id"])
    await b.ok("call.accept", {"call_id": call["id"]})
    await b.close()
    await a.expect("presence", where=offline(bob.id))
    await local.clock.advance(RECONNECT_GRACE / 2)
    await bob.connect()  # the page is back after a blip
    await local.clock.advance(RECONNECT_GRACE)
    await a.ping_round_trip()
    assert a.events("call.participant.left") == [] and a.events("call.ended") == []
    active = await ada.api("GET", "/calls/active")
    assert [c["participants"] for c in active["calls"]] == [[ada.id, bob.id]]


async def test_media_state_goes_to_the_other_participants(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    a, b = await ada.connect(), await bob.connect()
    call = await start(a, chat["id"], "video")
    await b.ok("call.accept", {"call_id": call["id"]})
    media = {"call_id": call["id"], "mic": False, "camera": True, "screen": False}
    assert await b.ok("call.media", media) == {}
    signal = await a.expect("call.media")
    assert signal["data"] == {**media, "user_id": bob.id}
    await a.ok("call.end", {"call_id": call["id"]})


async def test_call_ops_check_membership_and_data(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    chat = await ada.group("Private", bob)
    a, e = await ada.connect(), await eve.connect()
    assert await error_code(e, "call.start", {"chat_id": chat["id"], "kind": "audio"}) == (
        "not_a_member"
    )
    assert await error_code(a, "call.start", {"chat_id": chat["id"], "kind": "smell"}) == (
        "validation_error"
    )
    assert await error_code(a, "call.join", {"call_id": "1"}) == "validation_error"
    call = await start(a, chat["id"])
    assert await error_code(a, "call.start", {"chat_id": chat["id"], "kind": "audio"}) == (
        "call_in_progress"
    )
    for op in ("call.accept", "call.join", "call.decline", "call.leave", "call.end"):
        assert await error_code(e, op, {"call_id": call["id"]}) == "not_a_member", op
    sdp = {"call_id": call["id"], "sdp": "v=0"}
    media = {"call_id": call["id"], "mic": True, "camera": False, "screen": False}
    assert await error_code(e, "sfu.offer", sdp) == "not_in_call"  # a live call, not theirs
    assert await error_code(e, "sfu.answer", sdp) == "not_in_call"
    assert await error_code(e, "call.media", media) == "not_in_call"
    unknown = {"call_id": 424242}
    assert await error_code(a, "sfu.offer", {**sdp, **unknown}) == "call_not_found"
    assert await error_code(a, "sfu.answer", {**sdp, **unknown}) == "call_not_found"
    assert await error_code(a, "call.media", {**media, **unknown}) == "call_not_found"
    assert await error_code(a, "sfu.offer", {**sdp, "sdp": "not sdp"}) == "validation_error"
    await a.ok("call.end", {"call_id": call["id"]})
    assert e.events("call.ended") == [] and e.events("call.incoming") == []
    assert await error_code(a, "sfu.offer", sdp) == "call_not_found"  # over: no media


# --- media negotiation -----------------------------------------------------------------------------


@pytest.fixture
def loopback_ice() -> Iterator[None]:
    """This process's aiortc peers offer only 127.0.0.1 (the server's are set by its config)."""
    from appliance.sfu import hooks

    hooks.restrict_host_addresses(["127.0.0.1"])
    yield
    hooks.restrict_host_addresses([])


async def negotiate(socket: Socket, call_id: int) -> tuple[Any, Any]:
    """Publish and subscribe peer connections for this socket's user, the way a browser does;
    checks each step and that the SFU deals the slots."""
    from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    configuration = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    publisher, subscriber = RTCPeerConnection(configuration), RTCPeerConnection(configuration)
    for kind in ("audio", "video", "video"):  # mic, camera, screen
        publisher.addTransceiver(kind, direction="sendonly")
    await publisher.setLocalDescription(await publisher.createOffer())
    offer = publisher.localDescription.sdp
    answer = (await socket.ok("sfu.offer", {"call_id": call_id, "sdp": offer}))["sdp"]
    assert answer.startswith("v=0") and answer.count("m=") == 3
    assert "a=candidate:" in answer and "127.0.0.1" in answer
    await publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    server_offer = await socket.expect("sfu.offer", type="signal", timeout=10)
    assert server_offer["data"]["call_id"] == call_id
    await subscriber.setRemoteDescription(
        RTCSessionDescription(server_offer["data"]["sdp"], "offer")
    )
    await subscriber.setLocalDescription(await subscriber.createAnswer())
    reply = await socket.ok(
        "sfu.answer", {"call_id": call_id, "sdp": subscriber.localDescription.sdp}
    )
    assert reply == {}
    slots = await socket.expect("call.slots", type="signal", timeout=10)
    assert slots["data"]["call_id"] == call_id
    assert isinstance(slots["data"]["slots"], list)
    return publisher, subscriber


async def test_sfu_negotiation_over_the_websocket(people, loopback_ice):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    a, b = await ada.connect(), await bob.connect()
    call = await start(a, chat["id"], "video")
    await b.ok("call.accept", {"call_id": call["id"]})
    publisher, subscriber = await negotiate(a, call["id"])
    try:
        assert b.events("sfu.offer") == []  # bob has not published yet
        await a.ok("call.end", {"call_id": call["id"]})  # the SFU closes its side
        assert (await b.expect("call.ended"))["data"]["call"]["outcome"] == "completed"
    finally:
        await publisher.close()
        await subscriber.close()


async def test_a_dropped_peer_connection_is_leaving(people, loopback_ice):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    chat = await ada.group("Dropped", bob, cyd)
    a, b = await ada.connect(), await bob.connect()
    call = await start(a, chat["id"], "audio")
    await b.ok("call.join", {"call_id": call["id"]})
    publisher, subscriber = await negotiate(b, call["id"])
    await publisher.close()  # bob's tab crashed; his WebSocket lives on
    await subscriber.close()
    left = await a.expect("call.participant.left", timeout=10)
    assert left["data"] == {"call_id": call["id"], "user_id": bob.id}
    active = await ada.api("GET", "/calls/active")
    assert [c["participants"] for c in active["calls"]] == [[ada.id]]
    await a.ok("call.end", {"call_id": call["id"]})
