"""Threads (issue 14): replies kept beside the main timeline, the root's summary, each person's
read mark and unread count, and membership checked on every access."""

from __future__ import annotations

import pytest

from tests.support.responses import error_of, field_error, json_of, not_a_member

# On SQLite and again on PostgreSQL (issue 10).
pytestmark = pytest.mark.usefixtures("both_engines")


async def texts(person, chat_id):
    return [m for m in await person.message_list(chat_id) if m["kind"] == "text"]


async def thread(person, chat_id, root_id, **query):
    response = await person.get(f"/chats/{chat_id}/threads/{root_id}", query_string=query)
    return await json_of(response, 200)


async def test_replies_stay_out_of_the_timeline_unless_also_sent_to_the_chat(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cyd)
    root = await ada.send(chat["id"], "who buys milk?")
    quiet = await bob.send(chat["id"], "I will", thread_root_id=root["id"])
    loud = await cyd.send(chat["id"], "me too", thread_root_id=root["id"], also_to_chat=True)
    assert quiet["thread_root_id"] == root["id"] and quiet["also_to_chat"] is False
    assert loud["also_to_chat"] is True
    timeline = await texts(ada, chat["id"])
    assert [m["id"] for m in timeline] == [root["id"], loud["id"]]
    summary = timeline[0]["thread"]
    assert summary["reply_count"] == 2
    assert summary["last_reply_id"] == loud["id"]
    assert summary["last_reply_sender_id"] == cyd.id
    assert summary["participants"] == [ada.id, cyd.id, bob.id]  # author, then latest first
    assert summary["last_reply_at"] == loud["created_at"]
    page = await thread(bob, chat["id"], root["id"])
    assert page["root"]["id"] == root["id"]
    assert [m["id"] for m in page["replies"]] == [quiet["id"], loud["id"]]
    assert page["has_more_before"] is False and page["has_more_after"] is False


async def test_a_quiet_reply_is_not_the_chats_latest_nor_unread(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    root = await ada.send(chat["id"], "root")
    await ada.api("POST", f"/chats/{chat['id']}/read", {"message_id": root["id"]}, status=204)
    await bob.send(chat["id"], "in the thread", thread_root_id=root["id"])
    listed = await ada.chat_in_list(chat["id"])
    assert listed["last_message"]["id"] == root["id"]
    assert listed["unread_count"] == 0
    loud = await bob.send(chat["id"], "to all", thread_root_id=root["id"], also_to_chat=True)
    listed = await ada.chat_in_list(chat["id"])
    assert listed["last_message"]["id"] == loud["id"]
    assert listed["unread_count"] == 1


async def test_thread_pages_go_back_and_forth(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.channel("News", bob)
    root = await ada.send(chat["id"], "root")
    replies = [
        (await bob.send(chat["id"], f"reply {n}", thread_root_id=root["id"]))["id"]
        for n in range(5)
    ]
    newest = await thread(ada, chat["id"], root["id"], limit=2)
    assert [m["id"] for m in newest["replies"]] == replies[3:]
    assert newest["has_more_before"] is True and newest["has_more_after"] is False
    older = await thread(ada, chat["id"], root["id"], before=replies[3], limit=2)
    assert [m["id"] for m in older["replies"]] == replies[1:3]
    after = await thread(ada, chat["id"], root["id"], after=replies[0], limit=2)
    assert [m["id"] for m in after["replies"]] == replies[1:3]
    assert after["has_more_before"] is True and after["has_more_after"] is True


async def test_unread_in_a_thread_you_follow_until_you_read_it(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cyd)
    root = await ada.send(chat["id"], "root")
    first = await bob.send(chat["id"], "one", thread_root_id=root["id"])
    second = await cyd.send(chat["id"], "two", thread_root_id=root["id"])

    async def unread(person):
        (listed,) = [m for m in await texts(person, chat["id"]) if m["id"] == root["id"]]
        return listed["thread_unread"]

    assert await unread(ada) == 2  # her root: she follows it
    assert await unread(bob) == 1  # replied: cyd's reply since
    assert (await thread(bob, chat["id"], root["id"]))["root"]["thread_unread"] == 1
    assert await unread(cyd) == 0
    mark = await ada.api(
        "POST", f"/chats/{chat['id']}/threads/{root['id']}/read", {"message_id": first["id"]}
    )
    assert mark == {"chat_id": chat["id"], "root_id": root["id"], "last_read_id": first["id"]}
    assert await unread(ada) == 1
    latest = await ada.api("POST", f"/chats/{chat['id']}/threads/{root['id']}/read", {})
    assert latest["last_read_id"] == second["id"]
    assert await unread(ada) == 0
    back = await ada.api(
        "POST", f"/chats/{chat['id']}/threads/{root['id']}/read", {"message_id": first["id"]}
    )
    assert back["last_read_id"] == second["id"]  # never back
    assert (await thread(ada, chat["id"], root["id"]))["last_read_id"] == second["id"]


async def test_deleting_a_reply_updates_the_summary(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    root = await ada.send(chat["id"], "root")
    reply = await bob.send(chat["id"], "oops", thread_root_id=root["id"])
    await bob.api("DELETE", f"/messages/{reply['id']}?for=everyone", status=204)
    (listed,) = await texts(ada, chat["id"])
    assert listed["thread"] is None


async def test_a_non_member_cannot_read_post_or_mark_a_thread(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    chat = await ada.group("Kitchen", bob)
    root = await ada.send(chat["id"], "members only")
    await bob.send(chat["id"], "secret reply", thread_root_id=root["id"])
    path = f"/chats/{chat['id']}/threads/{root['id']}"
    await not_a_member(await eve.get(path))
    await not_a_member(await eve.post(f"{path}/read", json={}))
    sent = await eve.post(
        f"/chats/{chat['id']}/messages",
        json={"client_id": "eve-1", "body": "let me in", "thread_root_id": root["id"]},
    )
    await not_a_member(sent)
    assert len((await thread(ada, chat["id"], root["id"]))["replies"]) == 1


async def test_bad_thread_roots_are_clear_errors(people):
    ada, bob = await people("ada", "bob")
    group = await ada.group("Kitchen", bob)
    other = await ada.group("Garden", bob)
    root = await ada.send(group["id"], "root")
    reply = await bob.send(group["id"], "reply", thread_root_id=root["id"])
    elsewhere = await ada.send(other["id"], "elsewhere")
    direct = await ada.direct(bob)
    in_direct = await ada.send(direct["id"], "hi")

    async def refused(chat_id, root_id):
        response = await ada.post(
            f"/chats/{chat_id}/messages",
            json={"client_id": f"bad-{chat_id}-{root_id}", "body": "x", "thread_root_id": root_id},
        )
        await field_error(response, "thread_root_id")

    await refused(group["id"], reply["id"])  # no thread in a thread
    await refused(group["id"], elsewhere["id"])  # another chat's message
    await refused(group["id"], 999_999)
    await refused(direct["id"], in_direct["id"])  # not in direct chats
    await error_of(
        await ada.get(f"/chats/{group['id']}/threads/{reply['id']}"), 404, "message_not_found"
    )
    await error_of(
        await ada.get(f"/chats/{other['id']}/threads/{root['id']}"), 404, "message_not_found"
    )
    await json_of(await ada.get(f"/chats/{group['id']}/threads/{root['id']}?limit=0"), 400)
