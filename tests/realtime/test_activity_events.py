"""Activity as it happens: the `activity` signal tells the people an item concerns their new
unread count (a mention, a reply, a reaction to their message), and activity.read clears the
badge on every device of theirs, nobody else's."""

from __future__ import annotations

from urllib.parse import quote


async def test_the_count_reaches_whom_it_concerns_and_read_reaches_my_devices(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    mine = await ada.send(chat["id"], "keys?")
    laptop, phone, bobs = await ada.connect(), await ada.connect(), await bob.connect()
    await bob.send(chat["id"], "on the hook", reply_to=mine["id"])
    for socket in (laptop, phone):
        frame = await socket.expect("activity")
        assert frame["type"] == "signal" and frame["data"]["unread"] == 1
    await cy.api("PUT", f"/messages/{mine['id']}/reactions/{quote('👍')}", status=204)
    assert await laptop.expect("activity", where=lambda f: f["data"]["unread"] == 2)
    await cy.send(chat["id"], f"@{bob.username} and @{ada.username}")
    assert (await bobs.expect("activity"))["data"]["unread"] == 1
    await phone.expect("activity", where=lambda f: f["data"]["unread"] == 3)

    marked = await ada.api("POST", "/activity/read", {})
    assert marked["unread"] == 0
    for socket in (laptop, phone):
        read = await socket.expect("activity.read")
        assert read["type"] == "event" and read["data"] == marked
    barrier = await ada.send(chat["id"], "barrier")
    await bobs.expect("message.created", where=lambda f: f["data"]["id"] == barrier["id"])
    assert [f for f in bobs.received if f.get("event") == "activity.read"] == []
    # My own message, reply or reaction to myself is nothing new for me.
    await ada.api("PUT", f"/messages/{mine['id']}/reactions/{quote('🎉')}", status=204)
    await ada.send(chat["id"], f"@{ada.username} note to self", reply_to=mine["id"])
    barrier = await bob.send(chat["id"], "second barrier")
    await laptop.expect("message.created", where=lambda f: f["data"]["id"] == barrier["id"])
    assert (await ada.api("GET", "/activity"))["unread"] == 0


async def test_a_thread_reply_tells_the_threads_followers(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    root = await ada.send(chat["id"], "who cooks?")
    await bob.send(chat["id"], "I can", thread_root_id=root["id"])
    adas, bobs = await ada.connect(), await bob.connect()
    await cy.send(chat["id"], "dessert from me", thread_root_id=root["id"])
    assert (await adas.expect("activity"))["data"]["unread"] == 2  # bob's and cy's replies
    assert (await bobs.expect("activity"))["data"]["unread"] == 1  # he replied: he follows
