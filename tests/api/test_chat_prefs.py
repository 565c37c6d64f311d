"""Each member's own view of a chat (issue 14): mute, archive, clear history, delete a direct
chat for me; and starred messages. Only your own state, only in chats you are in."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.responses import error_of, field_error, json_of, no_content, not_a_member


async def prefs(person, chat_id, status=200, **body):
    return await json_of(await person.patch(f"/chats/{chat_id}/prefs", json=body), status)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_mute_for_8_hours_a_week_always_and_off(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    before = datetime.now().astimezone()
    eight = await prefs(ada, chat["id"], mute="8h")
    assert timedelta(hours=7, minutes=59) < when(eight["muted_until"]) - before
    assert when(eight["muted_until"]) - before < timedelta(hours=8, minutes=1)
    week = await prefs(ada, chat["id"], mute="week")
    assert (
        timedelta(days=6, hours=23)
        < when(week["muted_until"]) - before
        < timedelta(days=7, hours=1)
    )
    always = await prefs(ada, chat["id"], mute="always")
    assert when(always["muted_until"]).year == 9999
    assert when((await ada.chat_in_list(chat["id"]))["muted_until"]).year == 9999
    assert (await bob.chat_in_list(chat["id"]))["muted_until"] is None  # mine only
    off = await prefs(ada, chat["id"], mute="off")
    assert off["muted_until"] is None
    assert (await ada.chat(chat["id"]))["muted_until"] is None


async def test_a_muted_chat_still_counts_unread(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    await prefs(bob, chat["id"], mute="always")
    await ada.send(chat["id"], "still counts")
    assert (await bob.chat_in_list(chat["id"]))["unread_count"] == 1


async def test_a_bad_mute_is_a_clear_error(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    await field_error(await ada.patch(f"/chats/{chat['id']}/prefs", json={"mute": "1y"}), "mute")


async def test_archive_until_a_new_message_arrives(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    await ada.send(chat["id"], "first")
    archived = await prefs(bob, chat["id"], archived=True)
    assert archived["archived"] is True
    assert (await bob.chat_in_list(chat["id"]))["archived"] is True
    assert (await ada.chat_in_list(chat["id"]))["archived"] is False
    await ada.send(chat["id"], "wake up")
    assert (await bob.chat_in_list(chat["id"]))["archived"] is False
    await prefs(bob, chat["id"], archived=True)
    assert (await prefs(bob, chat["id"], archived=False))["archived"] is False
    assert (await bob.chat_in_list(chat["id"]))["archived"] is False


async def test_clear_history_is_for_me_only(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    old = await ada.send(chat["id"], "old words")
    cleared = await json_of(await bob.post(f"/chats/{chat['id']}/clear"), 200)
    assert cleared["cleared_through"] == old["id"]
    assert await bob.message_list(chat["id"]) == []
    assert (await bob.chat_in_list(chat["id"]))["unread_count"] == 0
    found = await json_of(await bob.get("/search", query_string={"q": "old"}), 200)
    assert found["results"] == []
    assert [m["id"] for m in await ada.message_list(chat["id"])] == [old["id"]]
    new = await ada.send(chat["id"], "new words")
    assert [m["id"] for m in await bob.message_list(chat["id"])] == [new["id"]]


async def test_delete_a_direct_chat_for_me(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    await ada.send(chat["id"], "before")
    gone = await json_of(await bob.post(f"/chats/{chat['id']}/delete-for-me"), 200)
    assert gone["hidden"] is True
    assert chat["id"] not in [c["id"] for c in await bob.chats()]
    assert chat["id"] in [c["id"] for c in await ada.chats()]
    back = await ada.send(chat["id"], "after")
    mine = await bob.chat_in_list(chat["id"])
    assert mine["unread_count"] == 1
    assert [m["id"] for m in await bob.message_list(chat["id"])] == [back["id"]]


async def test_a_group_is_left_not_deleted_for_me(people):
    ada, bob = await people("ada", "bob")
    group = await ada.group("Kitchen", bob)
    await error_of(await bob.post(f"/chats/{group['id']}/delete-for-me"), 400, "not_direct")


async def test_a_non_member_has_no_prefs_in_the_chat(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    group = await ada.group("Kitchen", bob)
    message = await ada.send(group["id"], "private")
    await not_a_member(await eve.patch(f"/chats/{group['id']}/prefs", json={"mute": "always"}))
    await not_a_member(await eve.post(f"/chats/{group['id']}/clear"))
    await not_a_member(await eve.post(f"/chats/{group['id']}/delete-for-me"))
    await not_a_member(await eve.put(f"/messages/{message['id']}/star"))
    assert (await json_of(await eve.get("/starred"), 200))["messages"] == []


async def test_star_and_list_starred_latest_first(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    one = await ada.send(chat["id"], "one")
    two = await ada.send(chat["id"], "two")
    await no_content(await bob.put(f"/messages/{one['id']}/star"))
    await no_content(await bob.put(f"/messages/{two['id']}/star"))
    await no_content(await bob.put(f"/messages/{one['id']}/star"))  # again: no change
    starred = (await json_of(await bob.get("/starred"), 200))["messages"]
    assert [m["id"] for m in starred] == [two["id"], one["id"]]
    assert starred[0]["body"] == "two"
    assert (await json_of(await ada.get("/starred"), 200))["messages"] == []  # bob's own
    await no_content(await bob.delete(f"/messages/{two['id']}/star"))
    starred = (await json_of(await bob.get("/starred"), 200))["messages"]
    assert [m["id"] for m in starred] == [one["id"]]


async def test_stars_of_a_chat_you_left_or_cleared_are_not_listed(people):
    ada, bob = await people("ada", "bob")
    group = await ada.group("Kitchen", bob)
    direct = await ada.direct(bob)
    in_group = await ada.send(group["id"], "group words")
    in_direct = await ada.send(direct["id"], "direct words")
    await no_content(await bob.put(f"/messages/{in_group['id']}/star"))
    await no_content(await bob.put(f"/messages/{in_direct['id']}/star"))
    await no_content(await bob.delete(f"/chats/{group['id']}/members/{bob.id}"))
    await json_of(await bob.post(f"/chats/{direct['id']}/clear"), 200)
    assert (await json_of(await bob.get("/starred"), 200))["messages"] == []


async def test_starring_a_deleted_or_missing_message_is_refused(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    message = await ada.send(chat["id"], "oops")
    await no_content(
        await ada.delete(f"/messages/{message['id']}", query_string={"for": "everyone"})
    )
    await error_of(await bob.put(f"/messages/{message['id']}/star"), 400, "message_deleted")
    await error_of(await bob.put("/messages/999999/star"), 404, "message_not_found")
