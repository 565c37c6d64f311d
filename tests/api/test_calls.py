"""Calls without media: ringing, answer, decline, busy, ring timeout, leave and end, the
reconnect grace, the call log in the chat, REST history, permissions, shutdown. The service is
driven directly (the WebSocket ops are thin wrappers, tested in tests/realtime/test_calls.py),
its signals are recorded instead of going to sockets, and its clock is a ManualClock the tests
advance past the ring timeout and the grace."""

from __future__ import annotations

import pytest
from calls_helpers import WireCalls, call_log, until

from appliance.services.calls import RECONNECT_GRACE
from appliance.services.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from appliance.store import calls as call_store
from tests.support import sqlite
from tests.support.app import Client, running
from tests.support.people import AppPeople
from tests.support.responses import error_of, json_of, not_a_member
from tests.support.shapes import MESSAGE_FIELDS

CALL_FIELDS = {
    "id", "chat_id", "kind", "started_by", "state", "started_at", "answered_at", "ended_at",
    "outcome", "participants", "duration_seconds",
}  # fmt: skip


pytestmark = pytest.mark.manual_clock


@pytest.fixture
async def pair(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    return ada, bob, chat["id"]


@pytest.fixture
async def trio(people):
    """ada (owner), bob and cy in a group: (ada, bob, cy, chat_id)."""
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    return ada, bob, cy, chat["id"]


# --- a direct call from ring to log ------------------------------------------------------------


async def test_direct_call_rings_is_answered_and_logged(pair, calls, signals):
    ada, bob, chat_id = pair
    call = await calls.start(ada.id, chat_id, "video")
    assert set(call) == CALL_FIELDS
    assert call["state"] == "ringing" and call["participants"] == [ada.id]
    assert call["started_by"] == ada.id and call["answered_at"] is None
    assert signals.to(bob.id, "call.incoming") == [{"call": call}]
    assert signals.to(ada.id, "call.ringing") == [{"call": call}]
    assert signals.to(bob.id, "call.ringing") == []

    answered = await calls.accept(bob.id, call["id"])
    assert answered["state"] == "active" and answered["answered_at"] is not None
    assert answered["participants"] == [ada.id, bob.id]
    accepted = {"call_id": call["id"], "user_id": bob.id}
    assert signals.to(ada.id, "call.accepted") == [accepted]
    assert signals.to(bob.id, "call.accepted") == [accepted]  # so bob's other devices stop
    assert accepted in signals.to(ada.id, "call.participant.joined")

    await calls.leave(bob.id, call["id"])  # in a direct call, either leaving ends it
    (ended,) = signals.to(ada.id, "call.ended")
    assert signals.to(bob.id, "call.ended") == [ended]
    assert ended["call"]["state"] == "ended" and ended["call"]["outcome"] == "completed"
    assert ended["call"]["participants"] == []
    assert ended["call"]["duration_seconds"] == 0

    message = await call_log(bob, chat_id)
    assert set(message) == MESSAGE_FIELDS
    assert message["sender_id"] == ada.id and message["body"] == ""
    assert message["call"] == {
        "id": call["id"], "kind": "video", "outcome": "completed", "duration_seconds": 0,
        "started_by": ada.id, "participants": [ada.id, bob.id],
    }  # fmt: skip
    stored = await json_of(await ada.get(f"/calls/{call['id']}"), 200)
    assert stored == ended["call"]


async def test_the_call_log_is_stored_with_its_event(pair, calls, hearth):
    ada, _, chat_id = pair
    call = await calls.start(ada.id, chat_id, "audio")
    await calls.end(ada.id, call["id"])
    message = await call_log(ada, chat_id)
    async with hearth.db.read() as conn:
        async with conn.execute(
            "SELECT type, data FROM events WHERE chat_id = ? ORDER BY seq DESC LIMIT 1", (chat_id,)
        ) as cur:
            kind, data = await cur.fetchone()
        row = await call_store.get(conn, call["id"])
    assert kind == "message.created" and f'"id":{message["id"]}' in data
    assert row is not None and row.message_id == message["id"] and row.outcome == "missed"


async def test_a_group_call_log_is_unread_only_for_the_members_who_missed_it(trio, calls):
    ada, bob, cy, chat_id = trio
    call = await calls.start(ada.id, chat_id, "video")
    await calls.accept(bob.id, call["id"])
    await calls.decline(cy.id, call["id"])
    await calls.end(ada.id, call["id"])
    message = await call_log(ada, chat_id)
    assert message["call"]["participants"] == [ada.id, bob.id]
    assert (await cy.chat_in_list(chat_id))["unread_count"] == 1  # she missed it
    assert (await bob.chat_in_list(chat_id))["unread_count"] == 0  # he was in it
    assert (await ada.chat_in_list(chat_id))["unread_count"] == 0


async def test_a_missed_call_is_unread_for_the_callee_only(pair, calls, signals, clock):
    ada, bob, chat_id = pair
    await calls.start(ada.id, chat_id, "audio")
    await clock.advance(calls.ring_timeout)
    await until(lambda: bool(signals.to(ada.id, "call.ended")))  # logged by then
    assert (await bob.chat_in_list(chat_id))["unread_count"] == 1
    assert (await ada.chat_in_list(chat_id))["unread_count"] == 0
    last = (await bob.chat_in_list(chat_id))["last_message"]
    assert last["kind"] == "call" and last["call"]["outcome"] == "missed"
    assert last["call"]["duration_seconds"] is None


async def test_ring_timeout_makes_a_missed_call(pair, calls, signals, clock):
    ada, bob, chat_id = pair
    call = await calls.start(ada.id, chat_id, "audio")
    await clock.advance(calls.ring_timeout - 0.1)
    assert calls.book.get(call["id"]) is not None  # still ringing just before the timeout
    assert signals.to(bob.id, "call.missed") == []
    await clock.advance(0.1)
    assert calls.book.get(call["id"]) is None  # over the moment the timer fires
    await until(lambda: bool(signals.to(ada.id, "call.ended")))
    assert signals.to(bob.id, "call.missed") == [{"call_id": call["id"]}]
    assert signals.to(ada.id, "call.missed") == []
    assert signals.to(bob.id, "call.ended")[0]["call"]["outcome"] == "missed"
    with pytest.raises(ConflictError) as caught:
        await calls.accept(bob.id, call["id"])
    assert caught.value.code == "call_ended"


async def test_callee_declining_ends_a_direct_call(pair, calls, signals):
    ada, bob, chat_id = pair
    call = await calls.start(ada.id, chat_id, "video")
    await calls.decline(bob.id, call["id"])
    declined = {"call_id": call["id"], "user_id": bob.id, "reason": "declined"}
    assert signals.to(ada.id, "call.declined") == [declined]
    assert signals.to(bob.id, "call.declined") == [declined]
    assert signals.to(ada.id, "call.ended")[0]["call"]["outcome"] == "declined"
    assert (await call_log(ada, chat_id))["call"]["outcome"] == "declined"


async def test_caller_hanging_up_before_an_answer_is_a_missed_call(pair, calls, signals):
    ada, bob, chat_id = pair
    call = await calls.start(ada.id, chat_id, "audio")
    await calls.leave(ada.id, call["id"])
    assert signals.to(bob.id, "call.missed") == [{"call_id": call["id"]}]
    assert signals.to(bob.id, "call.ended")[0]["call"]["outcome"] == "missed"


async def test_calling_someone_busy_ends_at_once(people, calls, signals):
    ada, bob, cy = await people("ada", "bob", "cyd")
    bob_cy = (await bob.direct(cy))["id"]
    ada_bob = (await ada.direct(bob))["id"]
    first = await calls.start(bob.id, bob_cy, "audio")
    await calls.accept(cy.id, first["id"])
    call = await calls.start(ada.id, ada_bob, "audio")
    assert call["state"] == "ended" and call["outcome"] == "busy"
    assert signals.to(ada.id, "call.declined") == [
        {"call_id": call["id"], "user_id": bob.id, "reason": "busy"}
    ]
    assert signals.to(bob.id, "call.incoming") == []  # no ring while in a call
    assert (await call_log(ada, ada_bob))["call"]["outcome"] == "busy"
    assert calls.book.get(first["id"]).participants == {bob.id, cy.id}  # untouched


# --- group calls ---------------------------------------------------------------------------------


async def test_group_call_late_join_and_the_silent_member_stops_ringing(
    trio, calls, signals, clock
):
    ada, bob, cy, chat_id = trio
    call = await calls.start(ada.id, chat_id, "video")
    assert {u for u, name, _ in signals.sent if name == "call.incoming"} == {bob.id, cy.id}
    await clock.advance(calls.ring_timeout / 2)
    await calls.accept(bob.id, call["id"])
    # cy still rings, and is told bob answered
    assert signals.to(cy.id, "call.accepted") == [{"call_id": call["id"], "user_id": bob.id}]
    await clock.advance(calls.ring_timeout / 2)
    assert signals.to(cy.id, "call.missed") == [{"call_id": call["id"]}]
    assert calls.book.get(call["id"]).ringing == set()
    assert signals.to(ada.id, "call.ended") == []  # the call goes on
    joined = await calls.join(cy.id, call["id"])  # members may join late
    assert joined["participants"] == [ada.id, bob.id, cy.id]
    await calls.leave(ada.id, call["id"])
    await calls.leave(bob.id, call["id"])
    assert signals.to(cy.id, "call.participant.left") == [
        {"call_id": call["id"], "user_id": ada.id},
        {"call_id": call["id"], "user_id": bob.id},
    ]
    assert signals.to(cy.id, "call.ended") == []
    await calls.leave(cy.id, call["id"])  # the last one out ends it
    assert signals.to(bob.id, "call.ended")[0]["call"]["outcome"] == "completed"


async def test_everyone_declining_a_group_call_ends_it(trio, calls, signals):
    ada, bob, cy, chat_id = trio
    call = await calls.start(ada.id, chat_id, "audio")
    await calls.decline(bob.id, call["id"])
    assert signals.to(ada.id, "call.ended") == []
    await calls.decline(cy.id, call["id"])
    assert signals.to(ada.id, "call.ended")[0]["call"]["outcome"] == "declined"


async def test_who_may_end_a_group_call(trio, calls, people, signals):
    ada, bob, cy, chat_id = trio
    call = await calls.start(bob.id, chat_id, "audio")
    await calls.accept(cy.id, call["id"])
    with pytest.raises(ForbiddenError) as caught:
        await calls.end(cy.id, call["id"])  # neither the starter nor a manager
    assert caught.value.code == "not_allowed"
    await calls.end(ada.id, call["id"])  # the owner, even from outside the call
    assert signals.to(cy.id, "call.ended")[0]["call"]["outcome"] == "completed"


async def test_one_call_per_chat_and_one_call_per_person(trio, calls, people):
    ada, bob, _, chat_id = trio
    call = await calls.start(ada.id, chat_id, "audio")
    with pytest.raises(ConflictError) as caught:
        await calls.start(bob.id, chat_id, "video")
    assert caught.value.code == "call_in_progress"
    other = (await ada.direct(bob))["id"]
    with pytest.raises(ConflictError) as caught:
        await calls.start(ada.id, other, "audio")
    assert caught.value.code == "in_another_call"
    await calls.end(ada.id, call["id"])
    assert (await calls.start(bob.id, chat_id, "video"))["state"] == "ringing"


# --- who may --------------------------------------------------------------------------------------


async def test_outsiders_can_neither_call_nor_see_calls(trio, calls, people):
    ada, _, _, chat_id = trio
    (eve,) = await people("eve")
    with pytest.raises(ForbiddenError) as caught:
        await calls.start(eve.id, chat_id, "audio")
    assert caught.value.code == "not_a_member"
    call = await calls.start(ada.id, chat_id, "audio")
    for attempt in (calls.join, calls.accept, calls.decline, calls.leave, calls.end):
        with pytest.raises(ForbiddenError) as caught:
            await attempt(eve.id, call["id"])
        assert caught.value.code == "not_a_member", attempt
    await not_a_member(await eve.get(f"/calls/{call['id']}"))
    await not_a_member(await eve.get("/calls", query_string={"chat_id": chat_id}))
    assert (await json_of(await eve.get("/calls"), 200))["calls"] == []
    assert (await json_of(await eve.get("/calls/active"), 200))["calls"] == []
    await error_of(await eve.get("/calls/999999"), 404, "call_not_found")
    with pytest.raises(ConflictError):
        await calls.publish(eve.id, call["id"], "v=0")  # media needs being in the call


async def test_a_block_forbids_calling_in_a_direct_chat(pair, calls):
    ada, bob, chat_id = pair
    await bob.post("/blocks", json={"user_id": ada.id})
    for caller in (ada, bob):
        with pytest.raises(ForbiddenError) as caught:
            await calls.start(caller.id, chat_id, "audio")
        assert caught.value.code == "blocked"


async def test_a_stranger_cannot_call_someone_who_takes_contacts_only(pair, calls):
    ada, bob, chat_id = pair  # Ada started the chat; they are not contacts
    await bob.api("PATCH", "/me", {"dm_policy": "contacts"})
    with pytest.raises(ForbiddenError) as caught:
        await calls.start(ada.id, chat_id, "audio")
    assert caught.value.code == "contacts_only"


async def test_bad_kind_and_unknown_call(pair, calls):
    ada, _, chat_id = pair
    with pytest.raises(InvalidError):
        await calls.start(ada.id, chat_id, "hologram")
    with pytest.raises(NotFoundError):
        await calls.join(ada.id, 424242)


async def test_media_ops_tell_a_call_that_is_not_live_from_one_you_are_not_in(trio, calls):
    ada, bob, _, chat_id = trio
    call = await calls.start(ada.id, chat_id, "audio")
    media = {"mic": True, "camera": False, "screen": False}
    attempts = {
        "sfu.offer": lambda user_id, call_id: calls.publish(user_id, call_id, "v=0"),
        "sfu.answer": lambda user_id, call_id: calls.subscribe_answer(user_id, call_id, "v=0"),
        "call.media": lambda user_id, call_id: calls.set_media(user_id, call_id, **media),
    }
    for op, attempt in attempts.items():
        with pytest.raises(ConflictError) as caught:
            await attempt(bob.id, call["id"])  # rung, but not in it
        assert caught.value.code == "not_in_call", op
        with pytest.raises(NotFoundError) as missing:
            await attempt(ada.id, 424242)
        assert missing.value.code == "call_not_found", op
    await calls.end(ada.id, call["id"])
    for op, attempt in attempts.items():
        with pytest.raises(NotFoundError) as missing:
            await attempt(ada.id, call["id"])  # it was hers, but it is over
        assert missing.value.code == "call_not_found", op


async def test_calls_can_be_turned_off(tmp_path):
    async with running(tmp_path, calls={"enabled": False}) as (_, context, _client):
        with pytest.raises(ForbiddenError) as caught:
            await context.calls.start(1, 1, "audio")
        assert caught.value.code == "calls_disabled"


# --- REST -----------------------------------------------------------------------------------------


async def test_rest_history_and_active_calls(trio, calls):
    ada, bob, cy, group_id = trio
    direct_id = (await ada.direct(bob))["id"]
    private = await calls.start(ada.id, direct_id, "audio")  # not cy's business
    await calls.end(ada.id, private["id"])
    first = await calls.start(ada.id, group_id, "audio")
    await calls.end(ada.id, first["id"])
    second = await calls.start(bob.id, group_id, "video")

    active = await json_of(await cy.get("/calls/active"), 200)
    assert [c["id"] for c in active["calls"]] == [second["id"]]
    assert active["calls"][0]["state"] == "ringing"
    assert active["calls"][0]["participants"] == [bob.id]

    listed = await json_of(await cy.get("/calls"), 200)
    assert [c["id"] for c in listed["calls"]] == [second["id"], first["id"]]  # newest first
    assert set(listed["calls"][1]) == CALL_FIELDS
    assert listed["calls"][1]["outcome"] == "missed"
    limited = await json_of(await cy.get("/calls", query_string={"limit": 1}), 200)
    assert [c["id"] for c in limited["calls"]] == [second["id"]]
    by_chat = await json_of(await cy.get("/calls", query_string={"chat_id": group_id}), 200)
    assert len(by_chat["calls"]) == 2
    mine = await json_of(await ada.get("/calls"), 200)
    assert [c["id"] for c in mine["calls"]] == [second["id"], first["id"], private["id"]]
    await error_of(await cy.get("/calls", query_string={"limit": 0}), 400, "validation_error")


# --- the reconnect grace --------------------------------------------------------------------------


async def test_a_participant_whose_sockets_stay_closed_leaves_after_the_grace(
    trio, calls, signals, clock
):
    ada, bob, _, chat_id = trio
    signals.connected = {ada.id, bob.id}
    call = await calls.start(ada.id, chat_id, "audio")
    await calls.join(bob.id, call["id"])
    signals.connected.discard(bob.id)
    calls.user_disconnected(bob.id)  # the hub: bob's last socket closed
    await clock.advance(RECONNECT_GRACE - 0.1)
    assert calls.book.get(call["id"]).participants == {ada.id, bob.id}
    await clock.advance(0.1)
    assert calls.book.get(call["id"]).participants == {ada.id}  # the group call goes on
    left = {"call_id": call["id"], "user_id": bob.id}
    assert signals.to(ada.id, "call.participant.left") == [left]
    await until(lambda: not calls._follow_ups)  # the stint's end is written
    async with calls.call_log.work.read() as conn:
        (open_stints,) = await (
            await conn.execute(
                "SELECT count(*) FROM call_participants WHERE call_id = ? AND left_at IS NULL",
                (call["id"],),
            )
        ).fetchone()
    assert open_stints == 1  # ada's


async def test_coming_back_within_the_grace_keeps_the_call(pair, calls, signals, clock):
    ada, bob, chat_id = pair
    signals.connected = {ada.id, bob.id}
    call = await calls.start(ada.id, chat_id, "video")
    await calls.accept(bob.id, call["id"])
    signals.connected.discard(bob.id)
    calls.user_disconnected(bob.id)
    await clock.advance(RECONNECT_GRACE / 2)
    signals.connected.add(bob.id)  # a network blip: bob's page reconnected
    await clock.advance(RECONNECT_GRACE)
    assert calls.book.get(call["id"]).participants == {ada.id, bob.id}
    assert signals.to(ada.id, "call.participant.left") == []
    assert signals.to(ada.id, "call.ended") == []


# --- shutdown and restart -------------------------------------------------------------------------


async def test_shutdown_ends_and_logs_ongoing_calls(tmp_path):
    async with running(tmp_path) as (app, context, _):
        people = AppPeople(context, lambda: Client(app))
        ada, bob = await people("ada", "bob")
        chat_id = (await ada.direct(bob))["id"]
        call = await WireCalls(context.calls).start(ada.id, chat_id, "audio")
        await context.calls.accept(bob.id, call["id"])
    with sqlite.database(context.config) as conn:
        outcome, message_id = conn.execute(
            "SELECT outcome, message_id FROM calls WHERE id = ?", (call["id"],)
        ).fetchone()
        kind = conn.execute("SELECT kind FROM messages WHERE id = ?", (message_id,)).fetchone()
        open_stints = conn.execute(
            "SELECT count(*) FROM call_participants WHERE left_at IS NULL"
        ).fetchone()
    assert outcome == "completed" and kind == ("call",) and open_stints == (0,)


async def test_calls_left_open_by_a_crash_end_at_the_next_start(tmp_path):
    async with running(tmp_path) as (app, context, _):
        people = AppPeople(context, lambda: Client(app))
        ada, bob = await people("ada", "bob")
        chat_id = (await ada.direct(bob))["id"]
        async with context.db.write() as tx:  # as if the server died mid-ring
            row = await call_store.create(
                tx, chat_id=chat_id, kind="audio", started_by=ada.id, now=1
            )
    async with running(tmp_path) as (_, context, _client), context.db.read() as conn:
        ended = await call_store.get(conn, row.id)
    assert ended is not None and ended.outcome == "missed" and ended.message_id is not None
