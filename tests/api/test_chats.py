"""Chats: direct, group and channel; members, roles, ownership, deletion, invite links."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest

from tests.support.responses import (
    chat_not_found,
    error_of,
    field_error,
    forbidden,
    json_of,
    no_content,
    not_a_member,
)
from tests.support.shapes import CHAT_FIELDS, MEMBER_FIELDS, ids

# On SQLite and again on PostgreSQL (issue 10).
pytestmark = pytest.mark.usefixtures("both_engines")


async def add(person, chat_id, *others, status=200):
    response = await person.post(
        f"/chats/{chat_id}/members", json={"user_ids": [o.id for o in others]}
    )
    return await json_of(response, status)


async def set_role(person, chat_id, other, role, status=200):
    response = await person.patch(f"/chats/{chat_id}/members/{other.id}", json={"role": role})
    return await json_of(response, status)


async def make_invite(person, chat_id, **body):
    return await json_of(await person.post(f"/chats/{chat_id}/invites", json=body), 201)


# --- direct chats -----------------------------------------------------------------------------


async def test_direct_chat_has_the_protocol_shape(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    assert set(chat) >= CHAT_FIELDS
    assert chat["kind"] == "direct"
    assert chat["title"] == ""
    assert chat["is_public"] is False
    assert chat["created_by"] == ada.id
    assert chat["member_count"] == 2
    assert chat["peer"]["id"] == bob.id
    assert chat["peer"]["username"] == "bob"
    assert chat["last_message"] is None
    assert chat["unread_count"] == 0 and chat["mention_count"] == 0


async def test_the_peer_is_the_other_person_for_each_side(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    theirs = await bob.chat(chat["id"])
    assert theirs["peer"]["id"] == ada.id
    assert {m["user"]["id"] for m in theirs["members"]} == {ada.id, bob.id}


async def test_one_direct_chat_per_pair_in_either_direction(people):
    ada, bob = await people("ada", "bob")
    first = await ada.direct(bob, status=201)
    again = await ada.direct(bob, status=200)
    reverse = await bob.direct(ada, status=200)
    assert first["id"] == again["id"] == reverse["id"]
    assert ids(await ada.chats()) == [first["id"]]
    assert ids(await bob.chats()) == [first["id"]]


async def test_direct_chats_with_different_people_are_different(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    with_bob = await ada.direct(bob)
    with_cy = await ada.direct(cy)
    assert with_bob["id"] != with_cy["id"]
    assert {c["id"] for c in await ada.chats()} == {with_bob["id"], with_cy["id"]}


async def test_direct_chat_with_a_user_that_does_not_exist_is_404(people):
    (ada,) = await people("ada")
    response = await ada.post("/chats", json={"kind": "direct", "user_id": 424_242})
    assert response.status_code == 404, await response.get_data(as_text=True)
    assert await ada.chats() == []


async def test_direct_chat_cannot_be_renamed(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    response = await ada.patch(f"/chats/{chat['id']}", json={"title": "Us"})
    assert response.status_code in {400, 403}, await response.get_data(as_text=True)
    assert (await ada.chat(chat["id"]))["title"] == ""


async def test_a_direct_chat_stays_between_two(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    chat = await ada.direct(bob)
    response = await ada.post(f"/chats/{chat['id']}/members", json={"user_ids": [cyd.id]})
    assert 400 <= response.status_code < 500, await response.get_data(as_text=True)
    response = await ada.post(f"/chats/{chat['id']}/invites", json={})
    assert 400 <= response.status_code < 500, await response.get_data(as_text=True)
    assert await ada.member_ids(chat["id"]) == {ada.id, bob.id}
    assert await cyd.chats() == []


# --- groups -----------------------------------------------------------------------------------


async def test_group_creator_is_the_owner_and_members_are_added(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy, topic="Dinner plans")
    assert set(chat) >= CHAT_FIELDS
    assert chat["kind"] == "group"
    assert chat["title"] == "Kitchen"
    assert chat["topic"] == "Dinner plans"
    assert chat["is_public"] is False
    assert chat["role"] == "owner"
    assert chat["peer"] is None
    assert chat["member_count"] == 3
    assert chat["created_by"] == ada.id
    full = await ada.chat(chat["id"])
    assert all(set(m) >= MEMBER_FIELDS for m in full["members"])
    assert await ada.roles(chat["id"]) == {ada.id: "owner", bob.id: "member", cy.id: "member"}
    assert (await bob.chat(chat["id"]))["role"] == "member"


async def test_a_group_appears_in_every_members_list(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob)
    assert ids(await bob.chats()) == [chat["id"]]
    assert await cy.chats() == []


async def test_groups_are_never_public(people):
    ada, bob = await people("ada", "bob")
    response = await ada.post("/chats", json={"kind": "group", "title": "G", "is_public": True})
    if response.status_code == 201:
        chat = await response.get_json()
        assert chat["is_public"] is False
    else:
        await error_of(response, 400, "validation_error")
    channels = await json_of(await bob.get("/channels"), 200)
    assert channels["channels"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "group"},
        {"kind": "group", "title": ""},
        {"kind": "group", "title": "   "},
        {"kind": "group", "title": 42},
        {"kind": "group", "title": "G", "member_ids": "bob"},
        {"kind": "party", "title": "G"},
        {"kind": "direct"},
        {"title": "no kind"},
    ],
)
async def test_chat_creation_is_validated(people, body):
    (ada,) = await people("ada")
    await error_of(await ada.post("/chats", json=body), 400, "validation_error")
    assert await ada.chats() == []


async def test_rename_and_topic(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    renamed = await json_of(
        await ada.patch(f"/chats/{chat['id']}", json={"title": "Garden", "topic": "Weeds"}), 200
    )
    assert renamed["title"] == "Garden" and renamed["topic"] == "Weeds"
    seen = await bob.chat(chat["id"])
    assert seen["title"] == "Garden" and seen["topic"] == "Weeds"
    # Changing only the topic keeps the title.
    await json_of(await ada.patch(f"/chats/{chat['id']}", json={"topic": ""}), 200)
    seen = await bob.chat(chat["id"])
    assert seen["title"] == "Garden" and seen["topic"] == ""


async def test_rename_to_an_empty_title_is_refused(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    await field_error(await ada.patch(f"/chats/{chat['id']}", json={"title": ""}), "title")
    assert (await ada.chat(chat["id"]))["title"] == "Kitchen"


async def test_owner_adds_members(people):
    ada, bob, cy, dan = await people("ada", "bob", "cyd", "dan")
    chat = await ada.group("Kitchen", bob)
    answer = await add(ada, chat["id"], cy, dan)
    assert {m["user"]["id"] for m in answer["members"]} == {ada.id, bob.id, cy.id, dan.id}
    assert answer["member_count"] == 4
    assert (await cy.chat(chat["id"]))["role"] == "member"
    assert chat["id"] in ids(await dan.chats())


async def test_owner_removes_a_member(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    await no_content(await ada.delete(f"/chats/{chat['id']}/members/{bob.id}"))
    assert await ada.member_ids(chat["id"]) == {ada.id, cy.id}
    await not_a_member(await bob.get(f"/chats/{chat['id']}"))
    assert await bob.chats() == []


async def test_a_member_leaves(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    await no_content(await bob.delete(f"/chats/{chat['id']}/members/{bob.id}"))
    assert await ada.member_ids(chat["id"]) == {ada.id, cy.id}
    assert (await ada.chat(chat["id"]))["member_count"] == 2
    await not_a_member(await bob.get(f"/chats/{chat['id']}/messages"))


async def test_adding_writes_a_system_message(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob)
    await add(ada, chat["id"], cy)
    system = [m for m in await ada.message_list(chat["id"]) if m["kind"] == "system"]
    assert system, "adding a member should leave a system message"
    assert all(m["body"] for m in system)


# --- roles and ownership ----------------------------------------------------------------------


async def test_owner_makes_an_admin_who_can_then_manage(people):
    ada, bob, cy, dan = await people("ada", "bob", "cyd", "dan")
    chat = await ada.group("Kitchen", bob, cy)
    member = await set_role(ada, chat["id"], bob, "admin")
    assert member["user"]["id"] == bob.id and member["role"] == "admin"
    assert (await bob.chat(chat["id"]))["role"] == "admin"
    # An admin renames, adds and removes plain members.
    await json_of(await bob.patch(f"/chats/{chat['id']}", json={"title": "Bob's"}), 200)
    await add(bob, chat["id"], dan)
    await no_content(await bob.delete(f"/chats/{chat['id']}/members/{cy.id}"))
    assert await ada.member_ids(chat["id"]) == {ada.id, bob.id, dan.id}


async def test_admin_cannot_change_roles(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    await set_role(ada, chat["id"], bob, "admin")
    response = await bob.patch(f"/chats/{chat['id']}/members/{cy.id}", json={"role": "admin"})
    await forbidden(response)
    assert (await ada.roles(chat["id"]))[cy.id] == "member"


async def test_admin_cannot_remove_the_owner_or_another_admin(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    await set_role(ada, chat["id"], bob, "admin")
    await set_role(ada, chat["id"], cy, "admin")
    await forbidden(await bob.delete(f"/chats/{chat['id']}/members/{ada.id}"))
    await forbidden(await bob.delete(f"/chats/{chat['id']}/members/{cy.id}"))
    assert await ada.member_ids(chat["id"]) == {ada.id, bob.id, cy.id}


async def test_demoting_an_admin(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    await set_role(ada, chat["id"], bob, "admin")
    member = await set_role(ada, chat["id"], bob, "member")
    assert member["role"] == "member"
    await forbidden(await bob.patch(f"/chats/{chat['id']}", json={"title": "Mine"}))


async def test_handing_ownership_over(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cy)
    member = await set_role(ada, chat["id"], bob, "owner")
    assert member["role"] == "owner"
    assert await ada.roles(chat["id"]) == {ada.id: "admin", bob.id: "owner", cy.id: "member"}
    # The new owner changes roles; the old one no longer can.
    await set_role(bob, chat["id"], cy, "admin")
    await forbidden(
        await ada.patch(f"/chats/{chat['id']}/members/{cy.id}", json={"role": "member"})
    )
    assert (await bob.roles(chat["id"]))[cy.id] == "admin"


async def test_owner_who_leaves_hands_over_to_the_oldest_admin(people):
    ada, bob, cy, dan = await people("ada", "bob", "cyd", "dan")
    chat = await ada.group("Kitchen", bob)
    await add(ada, chat["id"], cy)
    await add(ada, chat["id"], dan)
    await set_role(ada, chat["id"], dan, "admin")
    await set_role(ada, chat["id"], cy, "admin")
    await no_content(await ada.delete(f"/chats/{chat['id']}/members/{ada.id}"))
    # cy joined before dan: cy is the oldest admin, though bob is the oldest member.
    assert await bob.roles(chat["id"]) == {bob.id: "member", cy.id: "owner", dan.id: "admin"}


async def test_owner_who_leaves_without_admins_hands_over_to_the_oldest_member(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob)
    await add(ada, chat["id"], cy)
    await no_content(await ada.delete(f"/chats/{chat['id']}/members/{ada.id}"))
    assert await cy.roles(chat["id"]) == {bob.id: "owner", cy.id: "member"}


@pytest.mark.parametrize("role", ["boss", "", None, 3])
async def test_unknown_role_is_a_validation_error(people, role):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    response = await ada.patch(f"/chats/{chat['id']}/members/{bob.id}", json={"role": role})
    await error_of(response, 400, "validation_error")
    assert (await ada.roles(chat["id"]))[bob.id] == "member"


# --- deleting ---------------------------------------------------------------------------------


async def test_owner_deletes_a_group_for_everyone(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    await bob.send(chat["id"], "soon gone")
    await no_content(await ada.delete(f"/chats/{chat['id']}"))
    await chat_not_found(await bob.get(f"/chats/{chat['id']}"))
    await chat_not_found(await ada.get(f"/chats/{chat['id']}/messages"))
    assert await ada.chats() == [] and await bob.chats() == []


async def test_admin_cannot_delete_the_chat(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    await set_role(ada, chat["id"], bob, "admin")
    await forbidden(await bob.delete(f"/chats/{chat['id']}"))
    assert (await ada.chat(chat["id"]))["title"] == "Kitchen"


async def test_a_chat_that_does_not_exist_is_404(people):
    (ada,) = await people("ada")
    await chat_not_found(await ada.get("/chats/987654"))


# --- channels ---------------------------------------------------------------------------------


async def test_channels_are_public_and_listed(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.channel("News", topic="Town news")
    assert chat["kind"] == "channel" and chat["is_public"] is True and chat["role"] == "owner"
    listing = await json_of(await bob.get("/channels"), 200)
    assert listing["channels"] == [
        {
            "id": chat["id"],
            "title": "News",
            "topic": "Town news",
            "member_count": 1,
            "joined": False,
        }
    ]
    (mine,) = (await json_of(await ada.get("/channels"), 200))["channels"]
    assert mine["joined"] is True


async def test_joining_a_public_channel(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.channel("News")
    await not_a_member(await bob.get(f"/chats/{chat['id']}"))
    joined = await json_of(await bob.post(f"/chats/{chat['id']}/join"), 200)
    assert joined["id"] == chat["id"] and joined["role"] == "member"
    assert joined["member_count"] == 2
    assert ids(await bob.chats()) == [chat["id"]]
    (listed,) = (await json_of(await bob.get("/channels"), 200))["channels"]
    assert listed["joined"] is True and listed["member_count"] == 2
    await bob.send(chat["id"], "hello channel")


async def test_channel_search_by_title(people):
    ada, bob = await people("ada", "bob")
    news = await ada.channel("News")
    await ada.channel("Sports")
    listing = await json_of(await bob.get("/channels", query_string={"q": "new"}), 200)
    assert [c["id"] for c in listing["channels"]] == [news["id"]]


async def test_private_channel_is_neither_listed_nor_joinable(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.channel("Staff", is_public=False)
    assert chat["is_public"] is False
    assert (await json_of(await bob.get("/channels"), 200))["channels"] == []
    await not_a_member(await bob.post(f"/chats/{chat['id']}/join"))
    assert await bob.chats() == []


async def test_making_a_channel_private_hides_it(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.channel("News")
    patched = await json_of(await ada.patch(f"/chats/{chat['id']}", json={"is_public": False}), 200)
    assert patched["is_public"] is False
    assert (await json_of(await bob.get("/channels"), 200))["channels"] == []


async def test_a_group_cannot_be_joined_without_being_added(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen")
    await not_a_member(await bob.post(f"/chats/{chat['id']}/join"))
    assert bob.id not in await ada.member_ids(chat["id"])


# --- chat invite links ------------------------------------------------------------------------


async def test_invite_link_create_preview_join(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", topic="Dinner")
    invite = await make_invite(ada, chat["id"])
    assert set(invite) >= {"code", "url", "expires_at", "max_uses", "uses"}
    assert urlsplit(invite["url"]).path == f"/join/{invite['code']}"
    assert invite["max_uses"] == 100 and invite["uses"] == 0
    preview = await json_of(await bob.get(f"/chat-invites/{invite['code']}"), 200)
    assert preview["chat"] == {
        "id": chat["id"],
        "kind": "group",
        "title": "Kitchen",
        "topic": "Dinner",
        "member_count": 1,
    }
    assert preview["already_member"] is False
    assert preview["expires_at"] == invite["expires_at"]
    joined = await json_of(await bob.post(f"/invites/{invite['code']}/join"), 200)
    assert joined["id"] == chat["id"] and joined["role"] == "member"
    assert await ada.member_ids(chat["id"]) == {ada.id, bob.id}
    again = await json_of(await bob.get(f"/chat-invites/{invite['code']}"), 200)
    assert again["already_member"] is True and again["chat"]["member_count"] == 2


async def test_invite_link_with_uses_and_days(people):
    ada, _ = await people("ada", "bob")
    chat = await ada.group("Kitchen")
    invite = await make_invite(ada, chat["id"], uses=3, days=2)
    assert invite["max_uses"] == 3
    created = datetime.fromisoformat((await ada.chat(chat["id"]))["created_at"])
    lifetime = datetime.fromisoformat(invite["expires_at"]) - created
    assert timedelta(days=2) - timedelta(minutes=1) < lifetime < timedelta(days=2, minutes=1)


async def test_a_used_up_invite_link_is_invalid(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen")
    invite = await make_invite(ada, chat["id"], uses=1)
    await json_of(await bob.post(f"/invites/{invite['code']}/join"), 200)
    await error_of(await cy.get(f"/chat-invites/{invite['code']}"), 404, "invalid_invite")
    await error_of(await cy.post(f"/invites/{invite['code']}/join"), 404, "invalid_invite")
    assert cy.id not in await ada.member_ids(chat["id"])


@pytest.mark.manual_clock
async def test_an_expired_invite_link_is_invalid(people, clock):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen")
    invite = await make_invite(ada, chat["id"], days=1)
    await clock.advance(2 * 86_400)
    await error_of(await bob.get(f"/chat-invites/{invite['code']}"), 404, "invalid_invite")
    await error_of(await bob.post(f"/invites/{invite['code']}/join"), 404, "invalid_invite")
    assert bob.id not in await ada.member_ids(chat["id"])


async def test_an_unknown_invite_code_is_invalid(people):
    (bob,) = await people("bob")
    await error_of(await bob.get("/chat-invites/nope-nope"), 404, "invalid_invite")
    await error_of(await bob.post("/invites/nope-nope/join"), 404, "invalid_invite")


async def test_joining_twice_through_a_link_counts_once(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen")
    invite = await make_invite(ada, chat["id"], uses=5)
    await json_of(await bob.post(f"/invites/{invite['code']}/join"), 200)
    response = await bob.post(f"/invites/{invite['code']}/join")
    assert response.status_code in {200, 409}, await response.get_data(as_text=True)
    assert (await ada.chat(chat["id"]))["member_count"] == 2


async def test_a_deleted_chats_invite_is_invalid(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen")
    invite = await make_invite(ada, chat["id"])
    await no_content(await ada.delete(f"/chats/{chat['id']}"))
    await error_of(await bob.post(f"/invites/{invite['code']}/join"), 404, "invalid_invite")


# --- the chat list ----------------------------------------------------------------------------


@pytest.mark.manual_clock
async def test_chat_list_is_ordered_by_last_activity(people, clock):
    ada, bob, cy, dan = await people("ada", "bob", "cyd", "dan")
    first = await ada.direct(bob)
    second = await ada.direct(cy)
    third = await ada.group("Trio", dan)
    assert ids(await ada.chats()) == [third["id"], second["id"], first["id"]]
    await clock.advance(0.002)  # stored times are milliseconds: the next change is later
    sent = await bob.send(first["id"], "bump")
    chats = await ada.chats()
    assert ids(chats) == [first["id"], third["id"], second["id"]]
    assert chats[0]["last_message"]["id"] == sent["id"]
    assert chats[0]["last_message"]["body"] == "bump"
    assert chats[0]["last_activity_at"] >= chats[1]["last_activity_at"]
    await cy.send(second["id"], "me too")
    assert ids(await ada.chats()) == [second["id"], first["id"], third["id"]]
