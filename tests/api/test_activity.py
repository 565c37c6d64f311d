"""Activity (issue 14): what concerns you across your chats, newest first: mentions of you,
replies to your messages, reactions to them, calls you missed; unread after your mark, and only
what you can still see."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.support.responses import field_error, json_of

# On SQLite and again on PostgreSQL (issue 10).
pytestmark = pytest.mark.usefixtures("both_engines")


async def activity(person, **query):
    return await person.api("GET", f"/activity?{urlencode(query)}")


async def kinds(person):
    return [(item["kind"], item["message"]["id"]) for item in (await activity(person))["items"]]


async def test_mentions_replies_reactions_newest_first_and_not_my_own(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    mine = await ada.send(chat["id"], "who has the keys?")
    reply = await bob.send(chat["id"], "I do", reply_to=mine["id"])
    mention = await cy.send(chat["id"], "@ada they are on the hook")
    await cy.api("PUT", f"/messages/{mine['id']}/reactions/👍", status=204)
    await ada.api("PUT", f"/messages/{mine['id']}/reactions/🎉", status=204)
    await ada.send(chat["id"], "@bob thanks")  # about bob, not ada
    page = await activity(ada)
    assert [(i["kind"], i["message"]["id"], i["actor_id"]) for i in page["items"]] == [
        ("reaction", mine["id"], cy.id),
        ("mention", mention["id"], cy.id),
        ("reply", reply["id"], bob.id),
    ]
    assert page["items"][0]["emoji"] == "👍"
    assert page["unread"] == 3 and all(i["unread"] for i in page["items"])
    assert page["next_cursor"] is None
    assert [i["kind"] for i in (await activity(bob))["items"]] == ["mention"]
    assert (await activity(cy))["items"] == []


async def test_a_reply_that_also_mentions_me_is_one_item(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Pair", bob)
    mine = await ada.send(chat["id"], "question")
    both = await bob.send(chat["id"], "@ada answer", reply_to=mine["id"])
    assert await kinds(ada) == [("mention", both["id"])]


async def test_marking_read_clears_the_count_and_reaches_a_limit_of_now(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Pair", bob)
    first = await bob.send(chat["id"], "@ada one")
    page = await activity(ada)
    assert page["unread"] == 1
    marked = await ada.api("POST", "/activity/read", {"up_to": page["items"][0]["at"]})
    assert marked["unread"] == 0 and marked["read_at"] == page["items"][0]["at"]
    second = await bob.send(chat["id"], "@ada two")
    page = await activity(ada)
    assert page["unread"] == 1
    assert [(i["message"]["id"], i["unread"]) for i in page["items"]] == [
        (second["id"], True), (first["id"], False),
    ]  # fmt: skip
    # A mark never moves back, and one in the future stops at now.
    again = await ada.api("POST", "/activity/read", {"up_to": "2000-01-01T00:00:00Z"})
    assert again["unread"] == 1
    future = await ada.api("POST", "/activity/read", {"up_to": "2999-01-01T00:00:00Z"})
    assert future["unread"] == 0 and future["read_at"] < "2999"
    assert (await ada.api("POST", "/activity/read", {}))["unread"] == 0


async def test_pages_go_back_with_the_cursor(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Pair", bob)
    sent = [await bob.send(chat["id"], f"@ada {n}") for n in range(5)]
    first = await activity(ada, limit=2)
    second = await activity(ada, limit=2, cursor=first["next_cursor"])
    third = await activity(ada, limit=2, cursor=second["next_cursor"])
    ids = [i["message"]["id"] for page in (first, second, third) for i in page["items"]]
    assert ids == [m["id"] for m in reversed(sent)]
    assert len(third["items"]) == 1 and third["next_cursor"] is None


async def test_what_i_can_no_longer_see_drops_out(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    group = await ada.group("Kitchen", bob, cy)
    deleted = await bob.send(group["id"], "@ada oops")
    await bob.api("DELETE", f"/messages/{deleted['id']}?for=everyone", status=204)
    hidden = await bob.send(group["id"], "@ada hide me")
    await ada.api("DELETE", f"/messages/{hidden['id']}?for=me", status=204)
    assert await kinds(ada) == []
    await cy.send(group["id"], "@ada from cy")
    await ada.block(cy)
    assert await kinds(ada) == []  # blocked people's items go
    kept = await bob.send(group["id"], "@ada kept")
    assert await kinds(ada) == [("mention", kept["id"])]
    await ada.api("POST", f"/chats/{group['id']}/clear")
    assert await kinds(ada) == []
    again = await bob.send(group["id"], "@ada after the clear")
    assert await kinds(ada) == [("mention", again["id"])]
    await ada.api("DELETE", f"/chats/{group['id']}/members/{ada.id}", status=204)
    assert await kinds(ada) == []


async def test_bad_cursors_and_limits_are_clear_errors(people):
    (ada,) = await people("ada")
    await field_error(await ada.get("/activity?cursor=abc"), "cursor")
    await field_error(await ada.get("/activity?limit=0"), "limit")
    await field_error(await ada.post("/activity/read", json={"up_to": "yesterday"}), "up_to")
    await json_of(await ada.get("/activity"), 200)


@pytest.mark.manual_clock
async def test_a_missed_call_is_activity_for_whom_missed_it_only(people, calls):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    call = await calls.start(ada.id, chat["id"], "video")
    await calls.accept(bob.id, call["id"])
    await calls.end(ada.id, call["id"])
    log = (await cy.chat_in_list(chat["id"]))["last_message"]
    assert log["kind"] == "call"
    items = (await activity(cy))["items"]
    assert [(i["kind"], i["message"]["id"], i["actor_id"]) for i in items] == [
        ("missed_call", log["id"], ada.id)
    ]
    assert (await activity(bob))["items"] == [] and (await activity(ada))["items"] == []


async def test_replies_in_threads_i_follow(people):
    """A thread is followed by its root's author, whoever replied in it and whoever opened it;
    they see the replies of others in it (the whole thread, as its panel shows it)."""
    ada, bob, cy, dan = await people("ada", "bob", "cyd", "dan")
    chat = await ada.group("Kitchen", bob, cy, dan)
    root = await ada.send(chat["id"], "who cooks tonight?")
    first = await bob.send(chat["id"], "I can", thread_root_id=root["id"])
    await dan.api(
        "POST",
        f"/chats/{chat['id']}/threads/{root['id']}/read",
        {"message_id": first["id"]},
        status=200,
    )
    second = await cy.send(chat["id"], "I'll bring dessert", thread_root_id=root["id"])
    third = await bob.send(
        chat["id"], "@ada salad?", thread_root_id=root["id"]
    )  # a mention: one item
    assert await kinds(ada) == [
        ("mention", third["id"]), ("thread_reply", second["id"]), ("thread_reply", first["id"]),
    ]  # fmt: skip
    assert await kinds(bob) == [("thread_reply", second["id"])]  # he replied: he follows
    assert await kinds(cy) == [("thread_reply", third["id"]), ("thread_reply", first["id"])]
    assert await kinds(dan) == [
        ("thread_reply", third["id"]), ("thread_reply", second["id"]), ("thread_reply", first["id"]),
    ]  # fmt: skip
