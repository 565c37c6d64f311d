"""Stored events over real sockets: one order for everyone, resume after a cut with nothing lost
or repeated, retried sends stored once, replay from the start, sync.reset after pruning."""

from __future__ import annotations

import asyncio

from appliance.config import load as read_config
from tests.support import sqlite
from tests.support.people import ServedPeople, new_client_id
from tests.support.server import HearthServer, roomy_config
from tests.support.wire import Socket, message_ids

SERVED_ON = ("sqlite", "postgresql")  # conftest: each served test on both engines


DAY_MS = 86_400_000


def created_in(chat_id: int):
    """Text messages of one chat (the server's own system notes are left aside)."""
    return lambda frame: frame["data"]["chat_id"] == chat_id and frame["data"]["kind"] == "text"


async def collect_created(socket: Socket, chat_id: int, count: int, timeout: float = 15) -> list:
    frames = []
    while len(frames) < count:
        frames.append(
            await socket.expect("message.created", where=created_in(chat_id), timeout=timeout)
        )
    return frames


async def rest_message_ids(person, chat_id: int) -> list[int]:
    """Every text message of the chat, oldest first, through REST pages."""
    found: list[int] = []
    page = await person.api("GET", f"/chats/{chat_id}/messages?limit=100")
    found = [m["id"] for m in page["messages"] if m["kind"] == "text"]
    while page["has_more_before"]:
        oldest = page["messages"][0]["id"]
        page = await person.api("GET", f"/chats/{chat_id}/messages?limit=100&before={oldest}")
        found = [m["id"] for m in page["messages"] if m["kind"] == "text"] + found
    return found


async def test_every_receiver_sees_one_order_with_no_gap(people):
    ada, bob, cyd, dan = await people("ada", "bob", "cyd", "dan")
    chat = await ada.group("Busy", bob, cyd, dan)
    per_sender = 20
    receivers = [await dan.connect(), await ada.connect(), await bob.connect()]
    senders = [await ada.connect(), await bob.connect(), await cyd.connect()]

    async def burst(socket: Socket, name: str) -> list[int]:
        sent = []
        for n in range(per_sender):
            data = {"chat_id": chat["id"], "client_id": f"{name}-{n}", "body": f"{name} {n}"}
            sent.append((await socket.ok("message.send", data))["id"])
        return sent

    sent_lists, *seen = await asyncio.gather(
        asyncio.gather(*(burst(s, n) for s, n in zip(senders, "abc", strict=True))),
        *(collect_created(r, chat["id"], 3 * per_sender) for r in receivers),
    )
    orders = [[(f["seq"], f["data"]["id"]) for f in frames] for frames in seen]
    assert orders[0] == orders[1] == orders[2]
    seqs = [seq for seq, _ in orders[0]]
    assert seqs == sorted(set(seqs)), "seq must strictly increase"
    delivered = [message_id for _, message_id in orders[0]]
    assert delivered == sorted(delivered)
    assert delivered == await rest_message_ids(ada, chat["id"])
    assert sorted(delivered) == sorted(i for sent in sent_lists for i in sent)
    # Each sender's messages arrive in the order that sender sent them.
    for sent in sent_lists:
        assert [i for i in delivered if i in set(sent)] == sent


async def test_resume_after_a_cut_loses_and_repeats_nothing(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    total = 200
    sender = await ada.connect()
    receiver = await bob.connect()
    progress = {"sent": 0, "sent_at_cut": None}

    async def send_all() -> list[int]:
        ids = []
        for n in range(total):
            data = {"chat_id": chat["id"], "client_id": f"flood-{n}", "body": f"flood {n}"}
            ids.append((await sender.ok("message.send", data))["id"])
            progress["sent"] += 1
        return ids

    async def receive_with_a_cut() -> list[dict]:
        before = await collect_created(receiver, chat["id"], 50)
        progress["sent_at_cut"] = progress["sent"]
        receiver.cut()
        resumed = await bob.connect(resume_from=before[-1]["seq"])
        await collect_created(resumed, chat["id"], total - len(before))
        # Let anything that would be a duplicate arrive too, then take all that came.
        await resumed.ping_round_trip()
        after = resumed.events("message.created", lambda d: d["chat_id"] == chat["id"])
        return before + after

    sent, frames = await asyncio.gather(send_all(), receive_with_a_cut())
    assert progress["sent_at_cut"] < total, "the cut should come while messages still flow"
    delivered = message_ids(frames)
    assert len(delivered) == len(set(delivered)) == total
    assert delivered == sent
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs))


async def test_a_retried_send_is_stored_once(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    mine, theirs = await ada.connect(), await bob.connect()
    data = {"chat_id": chat["id"], "client_id": "retry-me", "body": "only once"}
    first = await mine.ok("message.send", data)
    second = await mine.ok("message.send", data)
    assert first["id"] == second["id"]
    assert second["body"] == "only once"
    # Over REST too, the same client_id gives back the same message.
    again = await ada.rest.call("POST", f"/chats/{chat['id']}/messages", data, token=ada.token)
    assert again.status == 200 and again.body["id"] == first["id"]
    # A later message is the barrier: everything about the retried one came before it.
    barrier = await mine.ok(
        "message.send", {"chat_id": chat["id"], "client_id": new_client_id(), "body": "after"}
    )
    await theirs.expect("message.created", where=lambda f: f["data"]["id"] == barrier["id"])
    created = theirs.events("message.created", lambda d: d["client_id"] == "retry-me")
    assert message_ids(created) == [first["id"]]
    assert await rest_message_ids(bob, chat["id"]) == [first["id"], barrier["id"]]


async def test_two_connections_of_one_person_both_get_events(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    laptop, phone = await ada.connect(), await ada.connect()
    sent = await bob.send(chat["id"], "to all your tabs")
    for socket in (laptop, phone):
        frame = await socket.expect(
            "message.created", where=lambda f: f["data"]["id"] == sent["id"]
        )
        assert frame["data"]["body"] == "to all your tabs"
    # A delete for me reaches my other device, and not the other person.
    bob_socket = await bob.connect()
    await laptop.ok("message.delete", {"message_id": sent["id"], "for": "me"})
    frame = await phone.expect("message.deleted", where=lambda f: f["data"]["id"] == sent["id"])
    assert frame["data"] == {"id": sent["id"], "chat_id": chat["id"], "for": "me"}
    barrier = await ada.send(chat["id"], "barrier")
    await bob_socket.expect("message.created", where=lambda f: f["data"]["id"] == barrier["id"])
    assert bob_socket.events("message.deleted") == []


async def test_resume_from_zero_replays_what_concerns_you(people):
    ada, bob, cyd, dan = await people("ada", "bob", "cyd", "dan")
    elsewhere = await cyd.direct(dan)
    await cyd.send(elsewhere["id"], "not for bob")
    chat = await ada.group("Replay", bob)
    sent = [await ada.send(chat["id"], f"old {n}") for n in range(3)]
    socket = await bob.connect(resume_from=0)
    replayed = await collect_created(socket, chat["id"], 3)
    assert message_ids(replayed) == [m["id"] for m in sent]
    assert all(f["seq"] <= socket.welcome["seq"] for f in replayed)
    live = await ada.send(chat["id"], "new")
    frame = await socket.expect("message.created", where=lambda f: f["data"]["id"] == live["id"])
    assert frame["seq"] > socket.welcome["seq"]
    events = [f for f in socket.received if f["type"] == "event"]
    seqs = [f["seq"] for f in events]
    assert seqs == sorted(set(seqs)), "replay then live, in order, nothing twice"
    assert all(f["data"].get("chat_id") != elsewhere["id"] for f in events)
    # The group's creation reached bob in the replay as well.
    assert any(
        f["event"] in {"chat.created", "member.added"}
        and f["data"].get("chat_id", f["data"].get("id")) == chat["id"]
        for f in events
    )


async def test_resume_with_the_latest_seq_replays_nothing(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    await ada.send(chat["id"], "seen already")
    first = await bob.connect()
    await first.close()
    socket = await bob.connect(resume_from=first.welcome["seq"])
    live = await ada.send(chat["id"], "new one")
    await socket.expect("message.created", where=lambda f: f["data"]["id"] == live["id"])
    assert message_ids(socket.events("message.created")) == [live["id"]]


async def test_resume_older_than_the_kept_events_gets_sync_reset(tmp_path):
    """Events past messages.event_retention_days are pruned (at start-up, among other times);
    a client asking to resume from before them is told to reload instead."""
    config = roomy_config(tmp_path)
    with HearthServer(config) as server:
        crowd = ServedPeople(server)
        ada, bob = await crowd("ada", "bob")
        chat = await ada.direct(bob)
        for n in range(3):
            await ada.send(chat["id"], f"long ago {n}")
    # Age every stored event past the retention window while the server is down.
    with sqlite.database(read_config(config)) as db:
        db.execute("UPDATE events SET created_at = created_at - ?", (40 * DAY_MS,))
    with HearthServer(config) as server:
        ada.server = bob.server = server
        socket = await bob.connect(resume_from=1)
        try:
            reset = await socket.expect("sync.reset", type="signal")
            assert reset["data"] == {"seq": socket.welcome["seq"]}
            live = await ada.send(chat["id"], "after the reset")
            frame = await socket.expect(
                "message.created", where=lambda f: f["data"]["id"] == live["id"]
            )
            assert frame["seq"] > reset["data"]["seq"]
            old = [f for f in socket.events("message.created") if f["data"]["id"] != live["id"]]
            assert old == [], "nothing pruned may be replayed"
        finally:
            await socket.close()


async def test_the_same_send_from_two_tabs_at_once_is_stored_once(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    tabs = [await ada.connect() for _ in range(3)]
    theirs = await bob.connect()
    data = {"chat_id": chat["id"], "client_id": "raced", "body": "one of me"}
    results = await asyncio.gather(*(tab.ok("message.send", data) for tab in tabs))
    assert len({r["id"] for r in results}) == 1
    barrier = await ada.send(chat["id"], "barrier")
    await theirs.expect("message.created", where=lambda f: f["data"]["id"] == barrier["id"])
    raced = theirs.events("message.created", lambda d: d["client_id"] == "raced")
    assert message_ids(raced) == [results[0]["id"]]
