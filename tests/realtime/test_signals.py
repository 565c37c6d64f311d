"""Signals: typing (ending by itself), presence to those who share a chat and to nobody else.

Typing's timer runs on the clock: those tests use the in-process Hearth on a ManualClock
(`local`); the others a real server."""

from __future__ import annotations

from appliance.realtime.typing_indicator import TYPING_SECONDS


def about(user_id: int):
    return lambda frame: frame["data"]["user_id"] == user_id


def presence_of(socket, user_id: int) -> list[dict]:
    return [
        f["data"]
        for f in socket.received
        if f.get("event") == "presence" and f["data"]["user_id"] == user_id
    ]


async def test_typing_reaches_the_other_member_only(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    chat = await ada.group("Typing", bob)
    await cyd.group("Elsewhere", ada)
    mine, theirs, outsider = await ada.connect(), await bob.connect(), await cyd.connect()
    await mine.ok("typing.start", {"chat_id": chat["id"]})
    frame = await theirs.expect("typing", type="signal")
    assert frame["data"] == {"chat_id": chat["id"], "user_id": ada.id, "typing": True}
    assert "seq" not in frame
    # Not to yourself, not to someone outside the chat.
    await mine.ping_round_trip()
    await outsider.ping_round_trip()
    assert mine.events("typing") == [] and outsider.events("typing") == []


async def test_typing_stops_by_itself_after_six_seconds(local):
    ada, bob = await local.people("ada", "bob")
    chat = await ada.group("Typing", bob)
    mine, theirs = await ada.connect(), await bob.connect()
    await mine.ok("typing.start", {"chat_id": chat["id"]})
    started = await theirs.expect("typing", type="signal")
    assert started["data"] == {"chat_id": chat["id"], "user_id": ada.id, "typing": True}
    await local.clock.advance(TYPING_SECONDS - 0.1)
    await theirs.ping_round_trip()
    assert theirs.pending == [], "no typing stop before six seconds"
    await local.clock.advance(0.1)
    stopped = await theirs.expect("typing", type="signal")
    assert stopped["data"] == {"chat_id": chat["id"], "user_id": ada.id, "typing": False}


async def test_typing_again_renews_the_timer(local):
    ada, bob = await local.people("ada", "bob")
    chat = await ada.direct(bob)
    mine, theirs = await ada.connect(), await bob.connect()
    await mine.ok("typing.start", {"chat_id": chat["id"]})
    await theirs.expect("typing", where=lambda f: f["data"]["typing"] is True)
    await local.clock.advance(4)
    await mine.ok("typing.start", {"chat_id": chat["id"]})  # still typing: no new signal
    await local.clock.advance(TYPING_SECONDS - 0.1)
    await theirs.ping_round_trip()
    assert theirs.pending == [] and len(theirs.events("typing")) == 1
    await local.clock.advance(0.1)
    assert (await theirs.expect("typing"))["data"]["typing"] is False


async def test_a_message_ends_typing_at_once(local):
    ada, bob = await local.people("ada", "bob")
    chat = await ada.direct(bob)
    mine, theirs = await ada.connect(), await bob.connect()
    await mine.ok("typing.start", {"chat_id": chat["id"]})
    await theirs.expect("typing", where=lambda f: f["data"]["typing"] is True)
    await ada.send(chat["id"], "done typing")
    stopped = await theirs.expect("typing")
    assert stopped["data"]["typing"] is False
    assert theirs.events("message.created")  # the message came first or with it


async def test_typing_stop_is_sent_at_once(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    mine, theirs = await ada.connect(), await bob.connect()
    await mine.ok("typing.start", {"chat_id": chat["id"]})
    await theirs.expect("typing", where=lambda f: f["data"]["typing"] is True)
    await mine.ok("typing.stop", {"chat_id": chat["id"]})
    frame = await theirs.expect("typing", timeout=2)
    assert frame["data"]["typing"] is False


async def test_typing_in_a_chat_you_are_not_in_is_refused(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    chat = await ada.direct(bob)
    socket = await eve.connect()
    reply = await socket.request("typing.start", {"chat_id": chat["id"]})
    assert reply["ok"] is False and reply["error"]["code"] == "not_a_member"


async def test_presence_goes_to_people_who_share_a_chat_only(people):
    ada, bob, cyd, dan = await people("ada", "bob", "cyd", "dan")
    await ada.group("Friends", bob)
    await dan.group("Blocked pair", ada)
    await cyd.group("Not with ada", bob)
    await dan.block(ada)
    watchers = {"bob": await bob.connect(), "cyd": await cyd.connect(), "dan": await dan.connect()}
    mine = await ada.connect()
    online = await watchers["bob"].expect("presence", where=about(ada.id))
    assert online["type"] == "signal"
    assert online["data"]["status"] == "online"
    # ada's own hello lists who is online with her: bob, not dan (a block either way).
    listed = {p["user_id"]: p["status"] for p in mine.welcome["presence"]}
    assert listed.get(bob.id) == "online"
    assert dan.id not in listed and cyd.id not in listed
    await mine.close()
    offline = await watchers["bob"].expect(
        "presence",
        where=lambda f: f["data"]["user_id"] == ada.id and f["data"]["status"] == "offline",
    )
    assert offline["data"]["last_seen_at"] and offline["data"]["last_seen_at"].endswith("Z")
    for name in ("cyd", "dan"):
        await watchers[name].ping_round_trip()
        assert presence_of(watchers[name], ada.id) == [], name


async def test_hello_lists_who_is_online(people):
    ada, bob, dan = await people("ada", "bob", "dan")
    await ada.group("Friends", bob)
    await ada.group("Friends too", dan)
    await ada.block(dan)
    await ada.connect()
    theirs = await bob.connect()
    listed = {p["user_id"]: p for p in theirs.welcome["presence"]}
    assert listed[ada.id]["status"] == "online"
    blocked = await dan.connect()
    assert ada.id not in {p["user_id"] for p in blocked.welcome["presence"]}


async def test_online_while_any_connection_is_open(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    watcher = await bob.connect()
    laptop = await ada.connect()
    await watcher.expect("presence", where=about(ada.id))
    phone = await ada.connect()
    await laptop.close()
    # Still online through the phone: a message sent now is the barrier for any presence.
    barrier = await ada.send(chat["id"], "still here")
    await watcher.expect("message.created", where=lambda f: f["data"]["id"] == barrier["id"])
    await watcher.ping_round_trip()
    assert [p["status"] for p in presence_of(watcher, ada.id)] == ["online"]
    await phone.close()
    offline = await watcher.expect(
        "presence",
        where=lambda f: f["data"]["user_id"] == ada.id and f["data"]["status"] == "offline",
    )
    assert offline["data"]["last_seen_at"]


async def test_away_when_set(people):
    ada, bob = await people("ada", "bob")
    await ada.direct(bob)
    watcher = await bob.connect()
    mine = await ada.connect()
    await watcher.expect("presence", where=about(ada.id))
    await mine.ok("presence.set", {"status": "away"})
    frame = await watcher.expect(
        "presence", where=lambda f: f["data"]["user_id"] == ada.id and f["data"]["status"] == "away"
    )
    assert frame["data"]["status"] == "away"
    reply = await mine.request("presence.set", {"status": "invisible"})
    assert reply["ok"] is False and reply["error"]["code"] == "validation_error"


async def test_people_who_start_sharing_a_group_learn_each_others_presence_once(people):
    """Creating a group adds its members in one commit: each pair is introduced once (issue
    13: each peer got two or three identical presence signals)."""
    ada, bob, cyd = await people("ada", "bob", "cyd")
    sockets = {name: await person.connect() for name, person in
               (("ada", ada), ("bob", bob), ("cyd", cyd))}  # fmt: skip
    chat = await ada.group("Trio", bob, cyd)
    for socket in sockets.values():
        await socket.expect("chat.created", where=lambda f: f["data"]["id"] == chat["id"])
        await socket.ping_round_trip()  # whatever was queued before now has arrived
    for name, person in (("ada", ada), ("bob", bob), ("cyd", cyd)):
        for other_name, socket in sockets.items():
            if other_name != name:
                assert len(presence_of(socket, person.id)) == 1, (name, other_name)
