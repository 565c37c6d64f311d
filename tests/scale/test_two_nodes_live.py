"""What two `hearth serve` processes on one PostgreSQL and one Redis tell each other that is never
stored (issue 10): presence and typing of people connected to the other process; a call started
through one process and joined through the other, with two aiortc peers decoding each other's
video through the SFU of the process holding the call; busy across processes; and a call whose
process is killed ends for those on the other."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.scale.conftest import on
from tests.sfu.peers import Peer
from tests.support.waiting import eventually
from tests.support.wire import Socket

CROSS = 15.0  # seconds for what crosses processes (a process's death takes DEAD_AFTER and more)


@pytest.fixture
def loopback_ice() -> Iterator[None]:
    """This process's aiortc peers offer only 127.0.0.1, as the servers do (roomy_config)."""
    from appliance.sfu import hooks

    hooks.restrict_host_addresses(["127.0.0.1"])
    yield
    hooks.restrict_host_addresses([])


def about(user_id: int):
    return lambda frame: frame["data"].get("user_id") == user_id


async def test_presence_and_typing_reach_people_on_the_other_process(nodes, people):
    _, b = nodes
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    here = await ada.connect()  # on a
    there = await on(bob, b).connect()
    online = await here.expect("presence", where=about(bob.id), timeout=CROSS)
    assert online["data"]["status"] == "online"
    second = await on(ada, b).connect()  # a second device, on b: sees bob online at once
    assert {"user_id": bob.id, "status": "online", "last_seen_at": None} in second.welcome[
        "presence"
    ]
    await second.close()

    await there.ok("presence.set", {"status": "away"})
    away = await here.expect("presence", where=about(bob.id), timeout=CROSS)
    assert away["data"]["status"] == "away"

    await there.ok("typing.start", {"chat_id": chat["id"]})
    typing = await here.expect("typing", where=about(bob.id), timeout=CROSS)
    assert typing["data"] == {"chat_id": chat["id"], "user_id": bob.id, "typing": True}
    await there.ok("typing.stop", {"chat_id": chat["id"]})
    stopped = await here.expect("typing", where=about(bob.id), timeout=CROSS)
    assert stopped["data"]["typing"] is False

    await there.close()
    offline = await here.expect("presence", where=about(bob.id), timeout=CROSS)
    assert offline["data"]["status"] == "offline" and offline["data"]["last_seen_at"]


class OverTheSocket:
    """The SFU as a browser reaches it: through its WebSocket, on whichever process."""

    def __init__(self, socket: Socket) -> None:
        self.socket = socket

    async def publish(self, call_id: int, user_id: int, sdp: str) -> str:
        answer: str = (await self.socket.ok("sfu.offer", {"call_id": call_id, "sdp": sdp}))["sdp"]
        return answer

    async def subscribe_offer(self, call_id: int, user_id: int) -> str:
        offer = await self.socket.expect("sfu.offer", type="signal", timeout=CROSS)
        sdp: str = offer["data"]["sdp"]
        return sdp

    async def subscribe_answer(self, call_id: int, user_id: int, sdp: str) -> None:
        await self.socket.ok("sfu.answer", {"call_id": call_id, "sdp": sdp})


async def joined(peer: Peer, socket: Socket) -> None:
    """The peer publishes its camera and microphone and takes the SFU's offer."""
    media = {"call_id": peer.call_id, "mic": True, "camera": True, "screen": False}
    await socket.ok("call.media", media)
    await peer.join(OverTheSocket(socket))


async def slots(peer: Peer, socket: Socket, of: int) -> None:
    """Wait until the SFU dealt `peer` a slot with `of`'s camera."""

    def dealt(frame: dict[str, Any]) -> bool:
        return any(s["user_id"] == of and s["source"] == "camera" for s in frame["data"]["slots"])

    frame = await socket.expect("call.slots", where=dealt, timeout=CROSS)
    peer.slots = frame["data"]["slots"]


async def test_a_call_started_through_one_process_is_joined_through_the_other(
    nodes, people, loopback_ice
):
    _a, b = nodes
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    caller = await ada.connect()  # on a: the call lives there
    callee = await on(bob, b).connect()
    call = await caller.ok("call.start", {"chat_id": chat["id"], "kind": "video"})
    incoming = await callee.expect("call.incoming", timeout=CROSS)
    assert incoming["data"]["call"]["id"] == call["id"]
    answered = await callee.ok("call.accept", {"call_id": call["id"]})  # forwarded to a
    assert answered["state"] == "active" and answered["participants"] == [ada.id, bob.id]
    await caller.expect("call.accepted", timeout=CROSS)
    active = await on(bob, b).api("GET", "/calls/active")  # asked of b, answered by a
    assert [c["participants"] for c in active["calls"]] == [[ada.id, bob.id]]
    history = await on(bob, b).api("GET", "/calls")  # the history too, for a call going on
    assert [c["participants"] for c in history["calls"]] == [[ada.id, bob.id]]

    peers = [Peer(call["id"], ada.id), Peer(call["id"], bob.id)]
    try:
        await joined(peers[0], caller)
        await joined(peers[1], callee)
        await slots(peers[0], caller, of=bob.id)
        await slots(peers[1], callee, of=ada.id)

        def decoded() -> bool:
            seen = [peers[0].video_from(bob.id), peers[1].video_from(ada.id)]
            return all(s is not None and s.frames >= 10 and s.size == (320, 240) for s in seen)

        await eventually(decoded, timeout=CROSS, what="each peer decodes the other's video")
        await callee.ok("call.end", {"call_id": call["id"]})  # forwarded to a
    finally:
        for peer in peers:
            await peer.close()
    for socket in (caller, callee):
        ended = await socket.expect("call.ended", timeout=CROSS)
        assert ended["data"]["call"]["outcome"] == "completed"


async def test_someone_in_a_call_on_one_process_is_busy_for_a_call_through_the_other(nodes, people):
    _a, b = nodes
    ada, bob, cyd = await people("ada", "bob", "cyd")
    ours, theirs = await ada.direct(bob), await cyd.direct(bob)
    caller, callee = await ada.connect(), await bob.connect()  # both on a
    call = await caller.ok("call.start", {"chat_id": ours["id"], "kind": "audio"})
    await callee.ok("call.accept", {"call_id": call["id"]})
    other = await on(cyd, b).connect()
    second = await other.ok("call.start", {"chat_id": theirs["id"], "kind": "audio"})
    ended = await other.expect("call.ended", timeout=CROSS)
    assert ended["data"]["call"]["id"] == second["id"]
    assert ended["data"]["call"]["outcome"] == "busy"
    refused = await other.request("call.start", {"chat_id": ours["id"], "kind": "audio"})
    assert refused["error"]["code"] == "not_a_member"
    again = await callee.request("call.start", {"chat_id": ours["id"], "kind": "audio"})
    assert again["error"]["code"] == "call_in_progress"
    through_b = await on(bob, b).connect()  # nor through b: a holds that chat's call
    taken = await through_b.request("call.start", {"chat_id": ours["id"], "kind": "audio"})
    assert taken["error"]["code"] == "call_in_progress"


async def answered_across(nodes, people) -> tuple[Any, ...]:
    """Ada, on the first process, calls Bob, on the second, who answers: the call lives on
    the first. (Ada, Bob, their chat, their sockets, the call.)"""
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    caller = await ada.connect()
    callee = await on(bob, nodes[1]).connect()
    call = await caller.ok("call.start", {"chat_id": chat["id"], "kind": "audio"})
    await callee.ok("call.accept", {"call_id": call["id"]})
    return ada, bob, chat, caller, callee, call


async def test_a_call_ends_for_everyone_when_its_process_is_killed(nodes, people):
    a, b = nodes
    ada, _, chat, _, callee, call = await answered_across(nodes, people)
    a.stop(signal.SIGKILL)
    ended = await callee.expect("call.ended", timeout=CROSS)
    assert ended["data"]["call"]["id"] == call["id"]
    assert ended["data"]["call"]["outcome"] == "completed"
    logged = await callee.expect("message.created", where=lambda f: f["data"]["kind"] == "call")
    assert logged["data"]["call"]["id"] == call["id"]
    gone = await callee.expect("presence", where=about(ada.id), timeout=CROSS)
    assert gone["data"]["status"] == "offline"
    again = await callee.ok("call.start", {"chat_id": chat["id"], "kind": "audio"})  # b holds it
    assert again["state"] == "ringing"
    assert b.log().count("Traceback") == 0


async def test_a_call_across_processes_goes_on_through_a_redis_restart(nodes, shared, people):
    """Redis restarts empty in the middle of a call held by one process: an op forwarded
    meanwhile fails at once and says why; afterwards the holder holds the chat again and ops
    reach it; nobody is taken for dead and the call goes on."""
    _, b = nodes
    _, redis = shared
    _, bob, _, caller, callee, call = await answered_across(nodes, people)
    media = {"call_id": call["id"], "mic": False, "camera": False, "screen": False}
    redis.halt()
    try:
        refused = await callee.request("call.media", media)
        assert refused["error"]["code"] == "host_unreachable", refused
    finally:
        redis.start()  # empty: the claims and the liveness keys are gone
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CROSS
    while (reply := await callee.request("call.media", media))["ok"] is not True:
        assert loop.time() < deadline, reply
        await asyncio.sleep(0.2)
    changed = await caller.expect("call.media", where=about(bob.id), timeout=CROSS)
    assert changed["data"]["mic"] is False
    assert caller.events("call.ended") == [] and callee.events("call.ended") == []
    await callee.ok("call.end", {"call_id": call["id"]})
    for socket in (caller, callee):
        ended = await socket.expect("call.ended", timeout=CROSS)
        assert ended["data"]["call"]["outcome"] == "completed"
    assert "taken for dead" not in b.log()
