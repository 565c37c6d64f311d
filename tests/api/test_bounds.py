"""Lists that could grow without end are bounded, each from config (issue 13: 200 different
reactions on one message, every edit kept, a chat with 301 members answered in 84 KB)."""

from __future__ import annotations

import pytest

from tests.support.app import make_settings
from tests.support.responses import error_of, json_of, no_content
from tests.support.shapes import HEART, THUMBS_UP, emoji_path

SMILE, PARTY = "\U0001f600", "\U0001f389"


@pytest.fixture
def settings(tmp_path):
    return make_settings(
        tmp_path / "data",
        messages={"max_reactions": 3, "max_edits": 2},
        chats={"max_members": 3},
    )


pytestmark = pytest.mark.manual_clock


async def test_a_message_carries_a_bounded_number_of_different_reactions(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    sent = await ada.send(chat["id"], "lunch?")
    path = f"/messages/{sent['id']}/reactions/"
    for emoji in (THUMBS_UP, HEART, SMILE):
        await no_content(await ada.put(path + emoji_path(emoji)))
    await error_of(await bob.put(path + emoji_path(PARTY)), 409, "too_many_reactions")
    await no_content(await bob.put(path + emoji_path(HEART)))  # joining one that is there
    reactions = (await bob.message(chat["id"], sent["id"]))["reactions"]
    assert {r["emoji"]: len(r["user_ids"]) for r in reactions} == {THUMBS_UP: 1, HEART: 2,
                                                                   SMILE: 1}  # fmt: skip


async def test_only_the_newest_earlier_versions_of_a_message_are_kept(people):
    (ada,) = await people("ada")
    chat = await ada.group("Notes")
    sent = await ada.send(chat["id"], "v0")
    for n in range(1, 5):
        await json_of(await ada.patch(f"/messages/{sent['id']}", json={"body": f"v{n}"}), 200)
    edits = await json_of(await ada.get(f"/messages/{sent['id']}/edits"), 200)
    assert [edit["body"] for edit in edits["edits"]] == ["v2", "v3"]


async def test_a_chat_has_a_bounded_number_of_members(people):
    ada, bob, cy, dan = await people("ada", "bob", "cyd", "dan")
    group = await ada.group("Trio", bob, cy)
    response = await ada.post(f"/chats/{group['id']}/members", json={"user_ids": [dan.id]})
    await error_of(response, 409, "chat_full")
    channel = await ada.channel("Square", bob, cy)
    await error_of(await dan.post(f"/chats/{channel['id']}/join"), 409, "chat_full")
    invite = await json_of(await ada.post(f"/chats/{group['id']}/invites", json={}), 201)
    await error_of(await dan.post(f"/invites/{invite['code']}/join"), 409, "chat_full")
    assert dan.id not in await ada.member_ids(group["id"])
    response = await ada.post("/chats", json={"kind": "group", "title": "Four",
                                              "member_ids": [bob.id, cy.id, dan.id]})  # fmt: skip
    await error_of(response, 409, "chat_full")


async def test_the_chat_list_comes_a_page_at_a_time(people, clock):
    (ada,) = await people("ada")
    made = []
    for n in range(5):
        made.append((await ada.group(f"Group {n}"))["id"])
        await clock.advance(0.002)  # each a later activity
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await json_of(await ada.get("/chats", query_string=query), 200)
        assert len(page["chats"]) <= 2
        seen += [chat["id"] for chat in page["chats"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == made[::-1]  # latest activity first, each once
    everything = await json_of(await ada.get("/chats"), 200)
    assert [c["id"] for c in everything["chats"]] == seen and everything["next"] is None
    response = await ada.get("/chats", query_string={"cursor": "not-a-cursor"})
    await error_of(response, 400, "validation_error")
