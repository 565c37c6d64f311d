"""Losing access to a chat ends your part in its call, at once: removed from a group (or
leaving it), the chat deleted, a block in a direct chat, a disabled account, signed out
everywhere. The others are told, the stint is recorded, the SFU lets go of the person's media,
and whoever was still being rung stops ringing. The service is driven directly with its
signals recorded (as in test_calls.py); what the commit announces reaches it as in the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from calls_helpers import SfuDrops, call_log

from appliance.services.errors import ConflictError, ForbiddenError
from tests.support.responses import json_of, no_content

pytestmark = pytest.mark.manual_clock


@pytest.fixture
def sfu(hearth, monkeypatch):
    return SfuDrops(hearth.calls.media, monkeypatch)


@pytest.fixture
async def trio(people):
    """ada (owner), bob and cy in a group: (ada, bob, cy, chat_id)."""
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    return ada, bob, cy, chat["id"]


@pytest.fixture
async def pair(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    return ada, bob, chat["id"]


async def settled(calls) -> None:
    """What followed a loss of access (the record, the SFU) is done."""
    await calls.service._follow_ups.wait()


async def open_stints(hearth, call_id: int) -> set[int]:
    async with hearth.db.read() as conn:
        cursor = await conn.execute(
            "SELECT user_id FROM call_participants WHERE call_id = ? AND left_at IS NULL",
            (call_id,),
        )
        return {row[0] for row in await cursor.fetchall()}


async def all_in(calls, trio) -> dict[str, Any]:
    """ada's group call, answered by bob and cy."""
    ada, bob, cy, chat_id = trio
    call = await calls.start(ada.id, chat_id, "video")
    await calls.accept(bob.id, call["id"])
    await calls.join(cy.id, call["id"])
    return call


# --- removed from a group, or leaving it ---------------------------------------------------------


@pytest.mark.parametrize("how", ["removed", "leaves the chat"])
async def test_whoever_is_out_of_a_group_is_out_of_its_call_at_once(
    trio, calls, signals, sfu, hearth, how
):
    ada, bob, cy, chat_id = trio
    call = await all_in(calls, trio)
    by = ada if how == "removed" else bob
    await no_content(await by.delete(f"/chats/{chat_id}/members/{bob.id}"))

    # At once: as the removal commits, not when bob's page gets round to leaving.
    assert calls.book.get(call["id"]).participants == {ada.id, cy.id}
    left = {"call_id": call["id"], "user_id": bob.id}
    for person in (ada, bob, cy):
        assert signals.to(person.id, "call.participant.left") == [left]
    await settled(calls)
    assert sfu.left == [(call["id"], bob.id)] and sfu.ended == []
    assert await open_stints(hearth, call["id"]) == {ada.id, cy.id}
    assert signals.to(ada.id, "call.ended") == []  # the call goes on without him

    with pytest.raises(ConflictError) as caught:
        await calls.publish(bob.id, call["id"], "v=0")  # no media for him any more
    assert caught.value.code == "not_in_call"
    with pytest.raises(ForbiddenError) as refused:
        await calls.join(bob.id, call["id"])
    assert refused.value.code == "not_a_member"


async def test_a_member_removed_while_rung_stops_ringing(trio, calls, signals, sfu):
    ada, bob, cy, chat_id = trio
    call = await calls.start(ada.id, chat_id, "audio")
    await no_content(await ada.delete(f"/chats/{chat_id}/members/{cy.id}"))
    assert calls.book.get(call["id"]).ringing == {bob.id}
    assert signals.to(cy.id, "call.missed") == [{"call_id": call["id"]}]  # his devices stop
    assert signals.to(ada.id, "call.ended") == []  # bob still rings

    await no_content(await bob.delete(f"/chats/{chat_id}/members/{bob.id}"))
    assert calls.book.get(call["id"]) is None  # nobody left to answer
    await settled(calls)
    assert signals.to(bob.id, "call.missed") == [{"call_id": call["id"]}]
    (ended,) = signals.to(ada.id, "call.ended")
    assert ended["call"]["outcome"] == "missed"
    assert sfu.ended == [call["id"]]


async def test_the_last_participant_removed_ends_the_call(trio, calls, signals, sfu):
    ada, bob, cy, chat_id = trio
    call = await calls.start(bob.id, chat_id, "audio")
    await calls.accept(cy.id, call["id"])
    await calls.leave(cy.id, call["id"])
    await no_content(await ada.delete(f"/chats/{chat_id}/members/{bob.id}"))
    assert calls.book.get(call["id"]) is None
    await settled(calls)
    assert signals.to(bob.id, "call.ended")[0]["call"]["outcome"] == "completed"
    assert (await call_log(ada, chat_id))["call"]["id"] == call["id"]
    assert sfu.ended == [call["id"]]


async def test_a_deleted_chat_ends_its_call(trio, calls, signals, sfu):
    ada, bob, cy, chat_id = trio
    call = await calls.start(ada.id, chat_id, "video")
    await calls.accept(bob.id, call["id"])  # cy still rings
    await no_content(await ada.delete(f"/chats/{chat_id}"))
    assert calls.book.get(call["id"]) is None
    await settled(calls)
    for person in (ada, bob):
        (ended,) = signals.to(person.id, "call.ended")
        assert ended["call"]["outcome"] == "completed" and ended["call"]["participants"] == []
    assert signals.to(cy.id, "call.missed") == [{"call_id": call["id"]}]
    assert sfu.ended == [call["id"]]
    assert (await json_of(await ada.get("/calls/active"), 200))["calls"] == []


# --- blocks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("answered", [True, False], ids=["answered", "ringing"])
async def test_a_block_ends_a_direct_call(pair, calls, signals, sfu, answered):
    ada, bob, chat_id = pair
    call = await calls.start(ada.id, chat_id, "video")
    if answered:
        await calls.accept(bob.id, call["id"])
    await no_content(await bob.post("/blocks", json={"user_id": ada.id}))
    assert calls.book.get(call["id"]) is None
    await settled(calls)
    outcome = "completed" if answered else "missed"
    for person in (ada, bob):
        assert signals.to(person.id, "call.ended")[0]["call"]["outcome"] == outcome
    assert signals.to(bob.id, "call.missed") == ([] if answered else [{"call_id": call["id"]}])
    assert sfu.ended == [call["id"]]
    assert (await call_log(ada, chat_id))["call"]["outcome"] == outcome


async def test_a_block_between_two_people_in_a_group_call_changes_nothing(
    trio, calls, signals, sfu
):
    ada, bob, cy, _ = trio
    call = await all_in(calls, trio)
    await no_content(await bob.post("/blocks", json={"user_id": ada.id}))
    await settled(calls)
    assert calls.book.get(call["id"]).participants == {ada.id, bob.id, cy.id}
    assert signals.to(ada.id, "call.participant.left") == [] and sfu.left == []


# --- accounts and sessions -------------------------------------------------------------------


async def disable(hearth, user_id: int) -> None:
    await hearth.accounts.set_flags(user_id, disabled=True)


async def reset(hearth, user_id: int) -> None:
    link = await hearth.accounts.create_reset_link(user_id)
    await hearth.accounts.redeem_reset_link(link.token, "a whole new passphrase")


async def sign_out(hearth, user_id: int) -> None:
    (only,) = await hearth.sessions.active(user_id)
    await hearth.sessions.revoke(user_id, only.id)


@pytest.mark.parametrize("end_sessions", [disable, reset, sign_out])
async def test_no_session_left_means_no_call(trio, calls, signals, sfu, hearth, end_sessions):
    ada, bob, cy, chat_id = trio
    call = await calls.start(ada.id, chat_id, "audio")
    await calls.accept(bob.id, call["id"])  # cy still rings
    await end_sessions(hearth, bob.id)
    await end_sessions(hearth, cy.id)
    await settled(calls)
    assert calls.book.get(call["id"]).participants == {ada.id}
    assert calls.book.get(call["id"]).ringing == set()
    assert signals.to(ada.id, "call.participant.left") == [
        {"call_id": call["id"], "user_id": bob.id}
    ]
    assert signals.to(cy.id, "call.missed") == [{"call_id": call["id"]}]
    assert sfu.left == [(call["id"], bob.id)]
    assert await open_stints(hearth, call["id"]) == {ada.id}


async def test_signed_in_on_another_device_keeps_the_call(trio, calls, signals, hearth):
    ada, bob, _, _ = trio
    laptop = await hearth.sessions.start(await hearth.accounts.get(bob.id), "laptop", "::1")
    call = await all_in(calls, trio)
    await hearth.sessions.revoke(bob.id, laptop.session_id)  # one device signed out
    (phone,) = await hearth.sessions.active(bob.id)
    await hearth.accounts.change_password(bob.id, "correct horse battery", "a new passphrase",
                                          keep_session=phone.id)  # fmt: skip
    await settled(calls)
    assert bob.id in calls.book.get(call["id"]).participants
    assert signals.to(ada.id, "call.participant.left") == []
    await hearth.sessions.revoke(bob.id, phone.id)  # the last one
    await settled(calls)
    assert bob.id not in calls.book.get(call["id"]).participants


async def test_a_direct_call_ends_when_the_callee_is_disabled(pair, calls, signals, sfu, hearth):
    ada, bob, chat_id = pair
    call = await calls.start(ada.id, chat_id, "audio")
    await calls.accept(bob.id, call["id"])
    await disable(hearth, bob.id)
    await settled(calls)
    assert calls.book.get(call["id"]) is None
    assert signals.to(ada.id, "call.ended")[0]["call"]["outcome"] == "completed"
    assert sfu.ended == [call["id"]]


# --- a removal that commits while a call operation is reading -----------------------------------


async def test_a_join_whose_read_came_before_a_removal_is_refused(trio, calls, hearth, monkeypatch):
    ada, bob, cy, chat_id = trio
    call = await calls.start(ada.id, chat_id, "audio")
    read_membership = hearth.calls.call_log.member

    async def removed_meanwhile(call_id: int, user_id: int, chat: int | None) -> Any:
        member = await read_membership(call_id, user_id, chat)
        await hearth.chats.remove_member(ada.id, chat_id, user_id)  # commits after the read
        return member

    monkeypatch.setattr(hearth.calls.call_log, "member", removed_meanwhile)
    with pytest.raises(ForbiddenError) as refused:
        await calls.join(cy.id, call["id"])
    assert refused.value.code == "not_a_member"
    assert calls.book.get(call["id"]).people == {ada.id, bob.id}


async def test_a_call_opened_while_a_member_is_removed_does_not_ring_them(
    trio, calls, signals, hearth, monkeypatch
):
    ada, bob, cy, chat_id = trio
    write_start = hearth.calls.call_log.started

    async def removed_meanwhile(*args: Any) -> Any:
        row = await write_start(*args)
        await hearth.chats.remove_member(ada.id, chat_id, cy.id)
        return row

    monkeypatch.setattr(hearth.calls.call_log, "started", removed_meanwhile)
    call = await calls.start(ada.id, chat_id, "audio")
    assert calls.book.get(call["id"]).ringing == {bob.id}
    assert signals.to(cy.id, "call.incoming") == []


async def test_a_direct_call_opened_across_a_fresh_block_ends(
    pair, calls, signals, hearth, monkeypatch
):
    ada, bob, chat_id = pair
    write_start = hearth.calls.call_log.started

    async def blocked_meanwhile(*args: Any) -> Any:
        row = await write_start(*args)
        await hearth.contacts.block(bob.id, ada.id)
        return row

    monkeypatch.setattr(hearth.calls.call_log, "started", blocked_meanwhile)
    with pytest.raises(ForbiddenError) as refused:
        await calls.start(ada.id, chat_id, "audio")
    assert refused.value.code == "blocked"
    assert signals.to(bob.id, "call.incoming") == []
    assert (await call_log(ada, chat_id))["call"]["outcome"] == "missed"
    assert (await json_of(await ada.get("/calls/active"), 200))["calls"] == []


# --- the SFU itself --------------------------------------------------------------------------------


@pytest.fixture
def loopback_ice() -> Iterator[None]:
    from appliance.sfu import hooks

    hooks.restrict_host_addresses(["127.0.0.1"])
    yield
    hooks.restrict_host_addresses([])


@pytest.fixture
async def publisher(loopback_ice) -> AsyncIterator[Any]:
    """A browser's publish peer connection: mic, camera and screen, offered sendonly."""
    from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    for kind in ("audio", "video", "video"):
        pc.addTransceiver(kind, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    yield pc
    await pc.close()


async def test_the_sfu_closes_the_removed_persons_peer_connection(trio, calls, hearth, publisher):
    ada, bob, _, chat_id = trio
    call = await all_in(calls, trio)
    answer = await calls.publish(bob.id, call["id"], publisher.localDescription.sdp)
    assert answer.startswith("v=0")
    room = hearth.calls.media.sfu.rooms[call["id"]]
    server_side = room.participants[bob.id].publisher
    await no_content(await ada.delete(f"/chats/{chat_id}/members/{bob.id}"))
    await settled(calls)
    assert bob.id not in room.participants
    assert server_side.connectionState == "closed"
