"""Messages: send (once per client_id), reply, forward, mentions, edit, delete, reactions, pins,
history pages, read and delivered cursors, search, body rules and the send rate limit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from appliance.services.errors import InvalidError
from appliance.services.messaging import check_emoji
from tests.support.app import Client, make_settings, running
from tests.support.people import AppPeople, new_client_id
from tests.support.responses import error_of, field_error, json_of, no_content
from tests.support.shapes import HEART, MESSAGE_FIELDS, THUMBS_UP, emoji_path, ids

# On SQLite and again on PostgreSQL (issue 10).
pytestmark = pytest.mark.usefixtures("both_engines")

# Sending 120 messages in a test must not trip the send limit; one test below sets it low.
GENEROUS = {"messages_per_user": {"count": 10_000, "per_seconds": 1}}


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "data", limits=GENEROUS)


@pytest.fixture
async def pair(people):
    """ada and bob in a direct chat: (ada, bob, chat_id)."""
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    return ada, bob, chat["id"]


async def post_message(person, chat_id, **payload):
    return await person.post(f"/chats/{chat_id}/messages", json=payload)


# --- sending ----------------------------------------------------------------------------------


async def test_send_answers_201_with_the_message(pair):
    ada, bob, chat_id = pair
    response = await post_message(ada, chat_id, client_id="first-1", body="hello bob")
    message = await json_of(response, 201)
    assert set(message) == MESSAGE_FIELDS
    assert message["chat_id"] == chat_id
    assert message["sender_id"] == ada.id
    assert message["client_id"] == "first-1"
    assert message["kind"] == "text"
    assert message["body"] == "hello bob"
    assert message["edited_at"] is None
    assert message["deleted"] is False
    assert message["reply_to"] is None and message["forwarded_from"] is None
    assert message["mentions"] == [] and message["reactions"] == []
    assert message["pinned"] is False
    assert message["created_at"].endswith("Z")
    assert await bob.message_list(chat_id) == [message]


async def test_a_retried_send_stores_once(pair):
    ada, bob, chat_id = pair
    first = await json_of(await post_message(ada, chat_id, client_id="retry-1", body="once"), 201)
    again = await json_of(await post_message(ada, chat_id, client_id="retry-1", body="once"), 200)
    assert again["id"] == first["id"]
    assert again == first
    listed = await bob.message_list(chat_id)
    assert ids(listed) == [first["id"]]


async def test_a_retry_with_another_body_still_returns_the_stored_message(pair):
    ada, _, chat_id = pair
    first = await json_of(await post_message(ada, chat_id, client_id="retry-2", body="one"), 201)
    again = await json_of(await post_message(ada, chat_id, client_id="retry-2", body="two"), 200)
    assert again["id"] == first["id"] and again["body"] == "one"
    assert [m["body"] for m in await ada.message_list(chat_id)] == ["one"]


async def test_concurrent_retries_store_once(pair):
    ada, bob, chat_id = pair
    payload = {"client_id": "race-1", "body": "sent from a flaky network"}
    responses = await asyncio.gather(*(post_message(ada, chat_id, **payload) for _ in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201], statuses
    bodies = [await r.get_json() for r in responses]
    assert len({b["id"] for b in bodies}) == 1
    assert ids(await bob.message_list(chat_id)) == [bodies[0]["id"]]


async def test_client_id_is_unique_per_sender_not_globally(pair):
    ada, bob, chat_id = pair
    mine = await json_of(await post_message(ada, chat_id, client_id="same", body="a"), 201)
    theirs = await json_of(await post_message(bob, chat_id, client_id="same", body="b"), 201)
    assert mine["id"] != theirs["id"]
    assert ids(await ada.message_list(chat_id)) == [mine["id"], theirs["id"]]


async def test_messages_come_oldest_first(pair):
    ada, bob, chat_id = pair
    sent = [
        await ada.send(chat_id, "one"),
        await bob.send(chat_id, "two"),
        await ada.send(chat_id, "three"),
    ]
    listed = await bob.message_list(chat_id)
    assert [m["body"] for m in listed] == ["one", "two", "three"]
    assert ids(listed) == ids(sent)
    assert ids(sent) == sorted(ids(sent))


async def test_newline_and_tab_are_kept(pair):
    ada, _, chat_id = pair
    message = await ada.send(chat_id, "line one\n\tline two")
    assert message["body"] == "line one\n\tline two"


async def test_reply_carries_a_preview_of_the_original(pair):
    ada, bob, chat_id = pair
    original = await ada.send(chat_id, "x" * 300)
    reply = await bob.send(chat_id, "answer", reply_to=original["id"])
    assert reply["reply_to"] == {
        "id": original["id"],
        "sender_id": ada.id,
        "body": "x" * 200,
        "deleted": False,
    }
    listed = await ada.message(chat_id, reply["id"])
    assert listed["reply_to"]["id"] == original["id"]


async def test_reply_to_a_deleted_message_shows_it_deleted(pair):
    ada, bob, chat_id = pair
    original = await ada.send(chat_id, "regret this")
    reply = await bob.send(chat_id, "what?", reply_to=original["id"])
    await no_content(
        await ada.delete(f"/messages/{original['id']}", query_string={"for": "everyone"})
    )
    seen = await bob.message(chat_id, reply["id"])
    assert seen["reply_to"]["deleted"] is True
    assert "regret" not in seen["reply_to"]["body"]


async def test_reply_to_a_message_that_does_not_exist_is_refused(pair):
    ada, _, chat_id = pair
    response = await post_message(
        ada, chat_id, client_id=new_client_id(), body="hm", reply_to=987_654
    )
    assert response.status_code in {400, 404}, await response.get_data(as_text=True)
    assert await ada.message_list(chat_id) == []


async def test_forward_copies_a_message_into_another_chat(people):
    ada, bob = await people("ada", "bob")
    cy = await people.one("cyd", display_name="Cy")
    source = await cy.group("Source", ada)
    original = await cy.send(source["id"], "worth sharing")
    target = await ada.direct(bob)
    forwarded = await ada.send(target["id"], "", forward_of=original["id"])
    assert forwarded["chat_id"] == target["id"]
    assert forwarded["sender_id"] == ada.id
    assert forwarded["body"] == "worth sharing"
    assert forwarded["forwarded_from"] == {
        "message_id": original["id"],
        "sender_id": cy.id,
        "sender_name": "Cy",
    }
    assert ids(await bob.message_list(target["id"])) == [forwarded["id"]]


async def test_forward_of_a_message_you_cannot_read_is_refused(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    secret_chat = await cy.direct(bob)
    secret = await cy.send(secret_chat["id"], "secret")
    target = await ada.direct(bob)
    response = await post_message(
        ada, target["id"], client_id=new_client_id(), body="", forward_of=secret["id"]
    )
    assert response.status_code in {403, 404}, await response.get_data(as_text=True)
    assert await bob.message_list(target["id"]) == []


async def test_mentions_are_parsed_from_member_usernames(people):
    ada, bob, cy, dan = await people("ada", "bob", "cyd", "dan")
    chat = await ada.group("Kitchen", bob, cy)
    message = await ada.send(chat["id"], "@bob and @cyd, dinner? (not @dan, not @nobody)")
    assert sorted(message["mentions"]) == sorted([bob.id, cy.id])
    assert dan.id not in message["mentions"]


async def test_mention_count_and_unread_count_in_the_chat_list(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cyd)
    for title in ("Kitchen 2", "Kitchen 3", "Kitchen 4"):
        assert (await ada.patch(f"/chats/{chat['id']}", json={"title": title})).status_code == 200
    # The server's own notes ("ada added bob", "ada renamed the group") are not unread.
    assert (await bob.chat_in_list(chat["id"]))["unread_count"] == 0
    bob_before = 0
    await ada.send(chat["id"], "plain")
    await ada.send(chat["id"], "@bob look")
    await cyd.send(chat["id"], "@cyd talks to herself, @bob too")
    seen = await bob.chat_in_list(chat["id"])
    assert seen["unread_count"] == bob_before + 3
    assert seen["mention_count"] == 2
    mine = await ada.chat_in_list(chat["id"])
    assert mine["unread_count"] == 1  # cyd's: sending moved her own cursor past everything before
    assert mine["mention_count"] == 0


async def test_a_new_group_is_not_unread_for_its_creator(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    mine = await ada.chat_in_list(chat["id"])
    assert mine["unread_count"] == 0
    assert mine["last_read_id"] == mine["last_message"]["id"]


# --- editing ----------------------------------------------------------------------------------


async def test_edit_changes_the_body_and_keeps_history(pair):
    ada, bob, chat_id = pair
    message = await ada.send(chat_id, "version one")
    first = await json_of(
        await ada.patch(f"/messages/{message['id']}", json={"body": "version two"}), 200
    )
    assert first["id"] == message["id"]
    assert first["body"] == "version two"
    assert first["edited_at"] is not None
    await json_of(
        await ada.patch(f"/messages/{message['id']}", json={"body": "version three"}), 200
    )
    seen = await bob.message(chat_id, message["id"])
    assert seen["body"] == "version three" and seen["edited_at"] is not None
    edits = await json_of(await bob.get(f"/messages/{message['id']}/edits"), 200)
    assert [e["body"] for e in edits["edits"]] == ["version one", "version two"]
    assert all(e["edited_at"] for e in edits["edits"])


async def test_an_unedited_message_has_no_history(pair):
    ada, _, chat_id = pair
    message = await ada.send(chat_id, "as is")
    assert await json_of(await ada.get(f"/messages/{message['id']}/edits"), 200) == {"edits": []}


async def test_only_the_sender_edits(pair):
    ada, bob, chat_id = pair
    message = await ada.send(chat_id, "mine")
    response = await bob.patch(f"/messages/{message['id']}", json={"body": "yours now"})
    assert response.status_code == 403, await response.get_data(as_text=True)
    assert (await ada.message(chat_id, message["id"]))["body"] == "mine"


async def test_edit_follows_the_body_rules(pair):
    ada, _, chat_id = pair
    message = await ada.send(chat_id, "keep")
    await field_error(await ada.patch(f"/messages/{message['id']}", json={"body": " "}), "body")
    await field_error(
        await ada.patch(f"/messages/{message['id']}", json={"body": "a\x00b"}), "body"
    )
    assert (await ada.message(chat_id, message["id"]))["body"] == "keep"


async def test_a_deleted_message_cannot_be_edited(pair):
    ada, _, chat_id = pair
    message = await ada.send(chat_id, "gone")
    await no_content(
        await ada.delete(f"/messages/{message['id']}", query_string={"for": "everyone"})
    )
    response = await ada.patch(f"/messages/{message['id']}", json={"body": "back"})
    assert 400 <= response.status_code < 500, await response.get_data(as_text=True)
    seen = await ada.message(chat_id, message["id"])
    assert seen["deleted"] is True and seen["body"] == ""


async def test_a_system_message_cannot_be_edited(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob)
    await json_of(await ada.post(f"/chats/{chat['id']}/members", json={"user_ids": [cy.id]}), 200)
    system = [m for m in await ada.message_list(chat["id"]) if m["kind"] == "system"]
    if not system:
        pytest.skip("adding a member wrote no system message to try")
    response = await ada.patch(f"/messages/{system[-1]['id']}", json={"body": "rewritten"})
    assert 400 <= response.status_code < 500, await response.get_data(as_text=True)
    assert (await ada.message(chat["id"], system[-1]["id"]))["body"] == system[-1]["body"]


async def test_editing_a_message_that_does_not_exist_is_404(pair):
    ada, _, _ = pair
    response = await ada.patch("/messages/999999", json={"body": "x"})
    assert response.status_code == 404, await response.get_data(as_text=True)


# --- deleting ---------------------------------------------------------------------------------


async def test_delete_for_me_hides_it_only_for_me(pair):
    ada, bob, chat_id = pair
    keep = await ada.send(chat_id, "keep")
    hide = await bob.send(chat_id, "hide from ada")
    await no_content(await ada.delete(f"/messages/{hide['id']}", query_string={"for": "me"}))
    assert ids(await ada.message_list(chat_id)) == [keep["id"]]
    theirs = await bob.message_list(chat_id)
    assert ids(theirs) == [keep["id"], hide["id"]]
    assert theirs[1]["deleted"] is False and theirs[1]["body"] == "hide from ada"


async def test_delete_for_everyone_leaves_a_placeholder(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    message = await bob.send(chat["id"], "oops @cyd")
    await no_content(await ada.put(f"/messages/{message['id']}/reactions/{emoji_path(THUMBS_UP)}"))
    await no_content(
        await bob.delete(f"/messages/{message['id']}", query_string={"for": "everyone"})
    )
    for person in (ada, bob, cy):
        seen = await person.message(chat["id"], message["id"])
        assert seen["deleted"] is True
        assert seen["body"] == ""
        assert seen["reactions"] == []
        assert seen["mentions"] == []


async def test_owner_deletes_anyones_message_for_everyone(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    message = await bob.send(chat["id"], "spam")
    await no_content(
        await ada.delete(f"/messages/{message['id']}", query_string={"for": "everyone"})
    )
    assert (await bob.message(chat["id"], message["id"]))["deleted"] is True


async def test_admin_deletes_a_members_message_for_everyone(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    await json_of(
        await ada.patch(f"/chats/{chat['id']}/members/{bob.id}", json={"role": "admin"}), 200
    )
    message = await cy.send(chat["id"], "spam")
    await no_content(
        await bob.delete(f"/messages/{message['id']}", query_string={"for": "everyone"})
    )
    assert (await cy.message(chat["id"], message["id"]))["deleted"] is True


async def test_delete_with_an_unknown_scope_is_refused(pair):
    ada, _, chat_id = pair
    message = await ada.send(chat_id, "stay")
    await error_of(
        await ada.delete(f"/messages/{message['id']}", query_string={"for": "nobody"}),
        400,
        "validation_error",
    )
    assert (await ada.message(chat_id, message["id"]))["deleted"] is False


# --- deleted text never comes back ------------------------------------------------------------


async def test_edit_history_of_a_deleted_message_is_gone(pair):
    ada, bob, chat_id = pair
    message = await ada.send(chat_id, "first secret")
    await json_of(await ada.patch(f"/messages/{message['id']}", json={"body": "second"}), 200)
    await no_content(
        await ada.delete(f"/messages/{message['id']}", query_string={"for": "everyone"})
    )
    response = await bob.get(f"/messages/{message['id']}/edits")
    if response.status_code == 200:
        assert (await response.get_json())["edits"] == []
    else:
        assert response.status_code in {403, 404, 410}, await response.get_data(as_text=True)


async def test_a_deleted_message_leaves_the_pins_and_the_chat_list_preview(pair):
    ada, bob, chat_id = pair
    message = await ada.send(chat_id, "pinned secret")
    await no_content(await ada.put(f"/messages/{message['id']}/pin"))
    await no_content(
        await ada.delete(f"/messages/{message['id']}", query_string={"for": "everyone"})
    )
    pins = await json_of(await bob.get(f"/chats/{chat_id}/pins"), 200)
    assert all("secret" not in m["body"] for m in pins["messages"]), pins
    preview = (await bob.chat_in_list(chat_id))["last_message"]
    assert preview is None or (preview["deleted"] is True and preview["body"] == ""), preview


async def test_a_deleted_message_cannot_be_forwarded(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    source = await ada.direct(bob)
    gone = await ada.send(source["id"], "retracted words")
    await no_content(await ada.delete(f"/messages/{gone['id']}", query_string={"for": "everyone"}))
    target = await bob.direct(cyd)
    response = await post_message(
        bob, target["id"], client_id="fw-gone", body="", forward_of=gone["id"]
    )
    assert 400 <= response.status_code < 500, await response.get_data(as_text=True)
    assert all("retracted" not in m["body"] for m in await cyd.message_list(target["id"]))


async def test_hidden_messages_do_not_shorten_a_page(pair):
    ada, bob, chat_id = pair
    sent = [await bob.send(chat_id, f"m{n}") for n in range(10)]
    for message in sent[5:]:
        await no_content(await ada.delete(f"/messages/{message['id']}", query_string={"for": "me"}))
    page = await ada.messages(chat_id, limit=3)
    assert ids(page["messages"]) == [m["id"] for m in sent[2:5]]
    assert page["has_more_before"] is True and page["has_more_after"] is False
    page = await ada.messages(chat_id, after=sent[3]["id"], limit=3)
    assert ids(page["messages"]) == [sent[4]["id"]]
    assert page["has_more_after"] is False


# --- reactions --------------------------------------------------------------------------------


async def test_reactions_are_idempotent_and_grouped_by_emoji(pair):
    ada, bob, chat_id = pair
    message = await ada.send(chat_id, "react to me")
    path = f"/messages/{message['id']}/reactions/{emoji_path(THUMBS_UP)}"
    await no_content(await ada.put(path))
    await no_content(await ada.put(path))
    await no_content(await bob.put(path))
    await no_content(await bob.put(f"/messages/{message['id']}/reactions/{emoji_path(HEART)}"))
    seen = await ada.message(chat_id, message["id"])
    by_emoji = {r["emoji"]: sorted(r["user_ids"]) for r in seen["reactions"]}
    assert by_emoji == {THUMBS_UP: sorted([ada.id, bob.id]), HEART: [bob.id]}
    await no_content(await ada.delete(path))
    await no_content(await ada.delete(path))
    seen = await bob.message(chat_id, message["id"])
    by_emoji = {r["emoji"]: sorted(r["user_ids"]) for r in seen["reactions"]}
    assert by_emoji == {THUMBS_UP: [bob.id], HEART: [bob.id]}
    await no_content(await bob.delete(path))
    seen = await bob.message(chat_id, message["id"])
    assert [r["emoji"] for r in seen["reactions"]] == [HEART]


@pytest.mark.parametrize(
    "emoji",
    ["a", "ok", "1", "#", "!", "1\u20e3x", "\N{THUMBS UP SIGN}" * 17, "x\N{THUMBS UP SIGN}"],
)
async def test_a_reaction_must_be_an_emoji(pair, emoji):
    ada, _, chat_id = pair
    message = await ada.send(chat_id, "react")
    response = await ada.put(f"/messages/{message['id']}/reactions/{emoji_path(emoji)}")
    await error_of(response, 400, "validation_error")
    assert (await ada.message(chat_id, message["id"]))["reactions"] == []


# Any emoji of the picker's set, the hard ones: a skin tone, a keycap, a subdivision flag
# (tags), a country flag, a family of joined people with tones, text presentation + selector.
ANY_EMOJI = [
    "\N{WAVING HAND SIGN}\N{EMOJI MODIFIER FITZPATRICK TYPE-4}",
    "1\ufe0f\u20e3",
    "#\ufe0f\u20e3",
    "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    "\U0001f1eb\U0001f1f7",
    "\U0001f469\U0001f3fb\u200d\u2764\ufe0f\u200d\U0001f48b\u200d\U0001f468\U0001f3fc",
    "\u00a9\ufe0f",
    "\u2139\ufe0f",
    "\U0001fae8",
]


@pytest.mark.parametrize("emoji", ANY_EMOJI)
async def test_any_emoji_is_a_reaction_and_comes_back_as_given(pair, emoji):
    ada, bob, chat_id = pair
    message = await ada.send(chat_id, "react")
    await no_content(await bob.put(f"/messages/{message['id']}/reactions/{emoji_path(emoji)}"))
    seen = await ada.message(chat_id, message["id"])
    assert seen["reactions"] == [{"emoji": emoji, "user_ids": [bob.id]}]


def test_every_emoji_the_picker_offers_is_a_reaction():
    data = json.loads((Path(__file__).parents[2] / "webui/js/emoji/emoji.json").read_text())
    offered = [e for row in data["emoji"] for e in [row[0], *(row[5] if len(row) > 5 else [])]]
    assert len(offered) > 3000
    refused = []
    for emoji in offered:
        try:
            check_emoji(emoji)
        except InvalidError:
            refused.append(emoji)
    assert refused == []


# --- pins -------------------------------------------------------------------------------------


async def test_pins_newest_first_and_unpin(pair):
    ada, bob, chat_id = pair
    first = await ada.send(chat_id, "first")
    second = await bob.send(chat_id, "second")
    await no_content(await ada.put(f"/messages/{second['id']}/pin"))
    await asyncio.sleep(0.002)  # a later millisecond: see the test below for the same one
    await no_content(await bob.put(f"/messages/{first['id']}/pin"))
    pins = await json_of(await ada.get(f"/chats/{chat_id}/pins"), 200)
    assert ids(pins["messages"]) == [first["id"], second["id"]]
    assert all(m["pinned"] is True for m in pins["messages"])
    assert (await bob.message(chat_id, second["id"]))["pinned"] is True
    await no_content(await ada.delete(f"/messages/{first['id']}/pin"))
    pins = await json_of(await bob.get(f"/chats/{chat_id}/pins"), 200)
    assert ids(pins["messages"]) == [second["id"]]
    assert (await ada.message(chat_id, first["id"]))["pinned"] is False


@pytest.mark.manual_clock
async def test_pins_in_the_same_millisecond_keep_their_order(pair):
    """Stored times have millisecond resolution; two pins within one must still list newest
    first (a busy admin pinning a few messages in a row)."""
    ada, _, chat_id = pair
    sent = [await ada.send(chat_id, f"rule {n}") for n in range(3)]
    # The clock stands still: every pin below lands in the same millisecond.
    for message in (sent[1], sent[0], sent[2]):
        await no_content(await ada.put(f"/messages/{message['id']}/pin"))
    pins = await json_of(await ada.get(f"/chats/{chat_id}/pins"), 200)
    assert ids(pins["messages"]) == [sent[2]["id"], sent[0]["id"], sent[1]["id"]]


async def test_admins_pin_in_groups(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    message = await bob.send(chat["id"], "important")
    await no_content(await ada.put(f"/messages/{message['id']}/pin"))
    pins = await json_of(await bob.get(f"/chats/{chat['id']}/pins"), 200)
    assert ids(pins["messages"]) == [message["id"]]


# --- history pages ----------------------------------------------------------------------------


@pytest.fixture
async def long_chat(pair):
    """120 messages from ada to bob: (bob, chat_id, their ids oldest first)."""
    ada, bob, chat_id = pair
    sent = [(await ada.send(chat_id, f"message {n}"))["id"] for n in range(120)]
    return bob, chat_id, sent


async def test_newest_page_by_default(long_chat):
    bob, chat_id, sent = long_chat
    page = await bob.messages(chat_id)
    assert ids(page["messages"]) == sent[-50:]
    assert page["has_more_before"] is True
    assert page["has_more_after"] is False


async def test_paging_backwards_to_the_start(long_chat):
    bob, chat_id, sent = long_chat
    seen: list[int] = []
    page = await bob.messages(chat_id, limit=40)
    seen = ids(page["messages"]) + seen
    while page["has_more_before"]:
        page = await bob.messages(chat_id, before=seen[0], limit=40)
        assert page["has_more_after"] is True
        seen = ids(page["messages"]) + seen
    assert seen == sent


async def test_before_a_message(long_chat):
    bob, chat_id, sent = long_chat
    page = await bob.messages(chat_id, before=sent[70], limit=50)
    assert ids(page["messages"]) == sent[20:70]
    assert page["has_more_before"] is True and page["has_more_after"] is True
    page = await bob.messages(chat_id, before=sent[20], limit=50)
    assert ids(page["messages"]) == sent[:20]
    assert page["has_more_before"] is False and page["has_more_after"] is True


async def test_after_a_message(long_chat):
    bob, chat_id, sent = long_chat
    page = await bob.messages(chat_id, after=sent[9], limit=30)
    assert ids(page["messages"]) == sent[10:40]
    assert page["has_more_before"] is True and page["has_more_after"] is True
    page = await bob.messages(chat_id, after=sent[99], limit=50)
    assert ids(page["messages"]) == sent[100:]
    assert page["has_more_before"] is True and page["has_more_after"] is False


async def test_around_a_message(long_chat):
    bob, chat_id, sent = long_chat
    page = await bob.messages(chat_id, around=sent[60], limit=10)
    got = ids(page["messages"])
    assert len(got) == 10 and sent[60] in got
    start = sent.index(got[0])
    assert got == sent[start : start + 10]
    assert 50 <= start <= 60
    assert page["has_more_before"] is True and page["has_more_after"] is True
    page = await bob.messages(chat_id, around=sent[1], limit=10)
    assert ids(page["messages"])[0] == sent[0] and sent[1] in ids(page["messages"])
    assert page["has_more_before"] is False


async def test_limit_of_one_hundred(long_chat):
    bob, chat_id, sent = long_chat
    page = await bob.messages(chat_id, limit=100)
    assert ids(page["messages"]) == sent[-100:]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "many"},
        {"before": 5, "after": 1},
        {"before": 5, "around": 3},
        {"before": "x"},
    ],
)
async def test_bad_page_queries_are_refused(pair, query):
    ada, _, chat_id = pair
    response = await ada.get(f"/chats/{chat_id}/messages", query_string=query)
    await error_of(response, 400, "validation_error")


async def test_a_short_chat_has_nothing_more(pair):
    ada, _, chat_id = pair
    sent = [await ada.send(chat_id, "a"), await ada.send(chat_id, "b")]
    page = await ada.messages(chat_id)
    assert ids(page["messages"]) == ids(sent)
    assert page["has_more_before"] is False and page["has_more_after"] is False


# --- read and delivered cursors ---------------------------------------------------------------


async def test_read_cursor_moves_forward_and_counts_follow(pair):
    ada, bob, chat_id = pair
    sent = [await ada.send(chat_id, f"m{n}") for n in range(3)]
    assert (await bob.chat_in_list(chat_id))["unread_count"] == 3
    await no_content(await bob.post(f"/chats/{chat_id}/read", json={"message_id": sent[1]["id"]}))
    seen = await bob.chat_in_list(chat_id)
    assert seen["unread_count"] == 1
    assert seen["last_read_id"] == sent[1]["id"]
    assert seen["last_delivered_id"] >= sent[1]["id"]  # read implies delivered
    # Never back.
    await no_content(await bob.post(f"/chats/{chat_id}/read", json={"message_id": sent[0]["id"]}))
    assert (await bob.chat_in_list(chat_id))["last_read_id"] == sent[1]["id"]
    await no_content(await bob.post(f"/chats/{chat_id}/read", json={"message_id": sent[2]["id"]}))
    seen = await bob.chat_in_list(chat_id)
    assert seen["unread_count"] == 0 and seen["last_read_id"] == sent[2]["id"]


async def test_delivered_cursor_is_separate_from_read(pair):
    ada, bob, chat_id = pair
    sent = [await ada.send(chat_id, f"m{n}") for n in range(3)]
    await no_content(
        await bob.post(f"/chats/{chat_id}/delivered", json={"message_id": sent[2]["id"]})
    )
    seen = await bob.chat_in_list(chat_id)
    assert seen["last_delivered_id"] == sent[2]["id"]
    assert seen["unread_count"] == 3
    await no_content(
        await bob.post(f"/chats/{chat_id}/delivered", json={"message_id": sent[0]["id"]})
    )
    assert (await bob.chat_in_list(chat_id))["last_delivered_id"] == sent[2]["id"]


async def test_cursors_show_in_the_members_for_receipts(pair):
    ada, bob, chat_id = pair
    sent = [await ada.send(chat_id, f"m{n}") for n in range(2)]
    await no_content(
        await bob.post(f"/chats/{chat_id}/delivered", json={"message_id": sent[1]["id"]})
    )
    await no_content(await bob.post(f"/chats/{chat_id}/read", json={"message_id": sent[0]["id"]}))
    members = {m["user"]["id"]: m for m in (await ada.chat(chat_id))["members"]}
    assert members[bob.id]["last_read_id"] == sent[0]["id"]
    assert members[bob.id]["last_delivered_id"] == sent[1]["id"]


async def test_reading_clears_the_mention_count(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    message = await ada.send(chat["id"], "@bob hi")
    assert (await bob.chat_in_list(chat["id"]))["mention_count"] == 1
    await no_content(
        await bob.post(f"/chats/{chat['id']}/read", json={"message_id": message["id"]})
    )
    seen = await bob.chat_in_list(chat["id"])
    assert seen["mention_count"] == 0 and seen["unread_count"] == 0


# --- search -----------------------------------------------------------------------------------


async def search(person, q, **query):
    response = await person.get("/search", query_string={"q": q, **query})
    return (await json_of(response, 200))["results"]


async def test_search_finds_words_newest_first(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    older = await ada.send(chat["id"], "apples are red")
    await ada.send(chat["id"], "pears are green")
    newer = await bob.send(chat["id"], "more apples please")
    results = await search(ada, "apples")
    assert ids(results) == [newer["id"], older["id"]]
    assert results[0]["body"] == "more apples please"


async def test_search_matches_a_prefix_of_the_last_word(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    message = await ada.send(chat["id"], "the lighthouse keeper")
    assert ids(await search(ada, "lightho")) == [message["id"]]
    assert ids(await search(ada, "the lightho")) == [message["id"]]


async def test_search_only_covers_chats_you_are_in(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    mine = await ada.direct(bob)
    theirs = await bob.direct(cy)
    found = await ada.send(mine["id"], "secret recipe")
    await bob.send(theirs["id"], "secret plan")
    assert ids(await search(ada, "secret")) == [found["id"]]
    assert len(await search(bob, "secret")) == 2


async def test_search_within_one_chat(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    one = await ada.direct(bob)
    two = await ada.direct(cy)
    in_one = await ada.send(one["id"], "garden party")
    await ada.send(two["id"], "garden tools")
    assert ids(await search(ada, "garden", chat_id=one["id"])) == [in_one["id"]]


async def test_search_in_a_chat_you_are_not_in_finds_nothing(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    theirs = await bob.direct(cy)
    await bob.send(theirs["id"], "hidden treasure")
    response = await ada.get("/search", query_string={"q": "treasure", "chat_id": theirs["id"]})
    await error_of(response, 404, "chat_not_found")


async def test_search_forgets_chats_you_left_and_chats_deleted(people):
    ada, bob = await people("ada", "bob")
    left = await ada.group("Left", bob)
    await ada.send(left["id"], "marmalade recipe")
    deleted = await bob.group("Deleted", ada)
    await bob.send(deleted["id"], "marmalade jars")
    assert len(await search(bob, "marmalade")) == 2
    await no_content(await bob.delete(f"/chats/{left['id']}/members/{bob.id}"))
    await no_content(await bob.delete(f"/chats/{deleted['id']}"))
    assert await search(bob, "marmalade") == []
    assert [m["body"] for m in await search(ada, "marmalade")] == ["marmalade recipe"]


async def test_deleted_and_hidden_messages_are_not_found(pair):
    ada, bob, chat_id = pair
    gone = await ada.send(chat_id, "vanishing ink")
    hidden = await bob.send(chat_id, "vanishing cream")
    await no_content(await ada.delete(f"/messages/{gone['id']}", query_string={"for": "everyone"}))
    assert ids(await search(bob, "vanishing")) == [hidden["id"]]
    await no_content(await ada.delete(f"/messages/{hidden['id']}", query_string={"for": "me"}))
    assert await search(ada, "vanishing") == []
    assert ids(await search(bob, "vanishing")) == [hidden["id"]]


async def test_search_sees_the_edited_text(pair):
    ada, _, chat_id = pair
    message = await ada.send(chat_id, "tuesday meeting")
    await json_of(
        await ada.patch(f"/messages/{message['id']}", json={"body": "wednesday meeting"}), 200
    )
    assert ids(await search(ada, "wednesday")) == [message["id"]]
    assert await search(ada, "tuesday") == []


async def test_search_with_punctuation_is_not_a_server_error(pair):
    ada, _, chat_id = pair
    await ada.send(chat_id, "hello world")
    for q in ['"', "hello AND", "(", "*", "NEAR(", "hello OR -world", "'; DROP TABLE messages"]:
        response = await ada.get("/search", query_string={"q": q})
        assert response.status_code in {200, 400}, (q, await response.get_data(as_text=True))


@pytest.mark.parametrize("q", ["", "x" * 201])
async def test_search_query_length_is_checked(pair, q):
    ada, _, _ = pair
    await error_of(await ada.get("/search", query_string={"q": q}), 400, "validation_error")


# --- body rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"client_id": "v", "body": ""}, "body"),
        ({"client_id": "v", "body": "   \n\t "}, "body"),
        ({"client_id": "v", "body": "x" * 4001}, "body"),
        ({"client_id": "v", "body": "bell\x07"}, "body"),
        ({"client_id": "v", "body": "nul\x00"}, "body"),
        ({"client_id": "v", "body": "esc\x1b[31m"}, "body"),
        ({"client_id": "v", "body": "del\x7f"}, "body"),
        ({"client_id": "v", "body": 42}, "body"),
        ({"client_id": "v", "body": None}, "body"),
        ({"client_id": "v", "body": ["hi"]}, "body"),
        ({"client_id": "v"}, "body"),
        ({"body": "no client id"}, "client_id"),
        ({"client_id": "", "body": "hi"}, "client_id"),
        ({"client_id": "x" * 65, "body": "hi"}, "client_id"),
        ({"client_id": 7, "body": "hi"}, "client_id"),
        ({"client_id": "v", "body": "hi", "reply_to": "first"}, "reply_to"),
    ],
)
async def test_message_body_rules(pair, payload, loc):
    ada, _, chat_id = pair
    await field_error(await post_message(ada, chat_id, **payload), loc)
    assert await ada.message_list(chat_id) == []


async def test_body_at_the_length_limit_is_accepted(pair):
    ada, _, chat_id = pair
    message = await ada.send(chat_id, "y" * 4000)
    assert len(message["body"]) == 4000


async def test_client_id_of_64_characters_is_accepted(pair):
    ada, _, chat_id = pair
    message = await ada.send(chat_id, "ok", client_id="k" * 64)
    assert message["client_id"] == "k" * 64


async def test_max_length_follows_the_config(tmp_path):
    async with running(tmp_path, messages={"max_length": 100}) as (app, hearth, _):
        people = AppPeople(hearth, lambda: Client(app))
        ada, bob = await people("ada", "bob")
        chat = await ada.direct(bob)
        await ada.send(chat["id"], "z" * 100)
        await field_error(
            await post_message(ada, chat["id"], client_id="long", body="z" * 101), "body"
        )


@pytest.mark.parametrize("data", [b'{"client_id": "m", "body": ', b"body=hi", b"\xff\xfe"])
async def test_malformed_json_is_refused(pair, data):
    ada, _, chat_id = pair
    response = await ada.post(
        f"/chats/{chat_id}/messages", data=data, headers={"Content-Type": "application/json"}
    )
    await error_of(response, 400, "malformed_json")


@pytest.mark.parametrize("body", [["hi"], "hi", 42, None])
async def test_a_body_that_is_not_an_object_is_refused(pair, body):
    ada, _, chat_id = pair
    response = await ada.post(
        f"/chats/{chat_id}/messages",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    await error_of(response, 400, "validation_error")


# --- the send rate limit ----------------------------------------------------------------------


async def test_sends_over_the_limit_answer_429(tmp_path):
    limit = {"messages_per_user": {"count": 3, "per_seconds": 60}}
    async with running(tmp_path, limits=limit) as (app, hearth, _):
        people = AppPeople(hearth, lambda: Client(app))
        ada, bob = await people("ada", "bob")
        chat = await ada.direct(bob)
        for n in range(3):
            await ada.send(chat["id"], f"m{n}")
        response = await post_message(ada, chat["id"], client_id="over", body="one too many")
        await error_of(response, 429, "rate_limited")
        assert 1 <= int(response.headers["Retry-After"]) <= 61
        assert [m["body"] for m in await bob.message_list(chat["id"])] == ["m0", "m1", "m2"]
        # The limit is per user: bob still sends.
        await bob.send(chat["id"], "my turn")
