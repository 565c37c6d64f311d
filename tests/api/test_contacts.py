"""Contacts and blocks: requests, accepting, rejecting, removing, and what a block stops."""

from __future__ import annotations

import pytest

from tests.support.responses import error_of, json_of, no_content
from tests.support.shapes import CONTACTS_FIELDS, user_ids

# On SQLite and again on PostgreSQL (issue 10).
pytestmark = pytest.mark.usefixtures("both_engines")

PUBLIC_USER_FIELDS = {"id", "username", "display_name", "bio", "status_text", "is_admin"}


async def request_contact(person, other, status=201):
    return await json_of(await person.post("/contacts", json={"user_id": other.id}), status)


async def test_nobody_has_contacts_at_first(people):
    (ada,) = await people("ada")
    assert await ada.contacts() == {"contacts": [], "incoming": [], "outgoing": [], "blocked": []}


async def test_a_request_is_outgoing_for_one_and_incoming_for_the_other(people):
    ada, bob = await people("ada", "bob")
    answer = await request_contact(ada, bob)
    assert set(answer) == CONTACTS_FIELDS
    assert user_ids(answer["outgoing"]) == [bob.id]
    assert answer["contacts"] == [] and answer["incoming"] == []
    theirs = await bob.contacts()
    assert user_ids(theirs["incoming"]) == [ada.id]
    assert theirs["contacts"] == [] and theirs["outgoing"] == []


async def test_contacts_list_public_users(people):
    ada, bob = await people("ada", "bob")
    await request_contact(ada, bob)
    (listed,) = (await ada.contacts())["outgoing"]
    assert set(listed) >= PUBLIC_USER_FIELDS
    assert listed["username"] == "bob"
    assert "email" not in listed


async def test_accepting_makes_both_contacts(people):
    ada, bob = await people("ada", "bob")
    await request_contact(ada, bob)
    answer = await json_of(await bob.post(f"/contacts/{ada.id}/accept"), 200)
    assert user_ids(answer["contacts"]) == [ada.id]
    assert answer["incoming"] == []
    mine = await ada.contacts()
    assert user_ids(mine["contacts"]) == [bob.id]
    assert mine["outgoing"] == []


async def test_asking_someone_who_asked_you_accepts_their_request(people):
    ada, bob = await people("ada", "bob")
    await request_contact(ada, bob)
    answer = await request_contact(bob, ada, status=201)
    assert user_ids(answer["contacts"]) == [ada.id]
    assert answer["incoming"] == [] and answer["outgoing"] == []
    assert user_ids((await ada.contacts())["contacts"]) == [bob.id]


async def test_rejecting_drops_the_incoming_request(people):
    ada, bob = await people("ada", "bob")
    await request_contact(ada, bob)
    answer = await json_of(await bob.post(f"/contacts/{ada.id}/reject"), 200)
    assert answer["incoming"] == [] and answer["contacts"] == []
    assert (await bob.contacts())["incoming"] == []
    assert (await ada.contacts())["contacts"] == []


async def test_removing_a_contact_removes_it_for_both(people):
    ada, bob = await people("ada", "bob")
    await request_contact(ada, bob)
    await json_of(await bob.post(f"/contacts/{ada.id}/accept"), 200)
    await no_content(await ada.delete(f"/contacts/{bob.id}"))
    assert (await ada.contacts())["contacts"] == []
    assert (await bob.contacts())["contacts"] == []


async def test_withdrawing_a_request(people):
    ada, bob = await people("ada", "bob")
    await request_contact(ada, bob)
    await no_content(await ada.delete(f"/contacts/{bob.id}"))
    assert (await ada.contacts())["outgoing"] == []
    assert (await bob.contacts())["incoming"] == []


async def test_several_contacts_are_kept_apart(people):
    ada, bob, cy, dan = await people("ada", "bob", "cyd", "dan")
    await request_contact(ada, bob)
    await request_contact(cy, ada)
    await request_contact(ada, dan)
    await json_of(await dan.post(f"/contacts/{ada.id}/accept"), 200)
    mine = await ada.contacts()
    assert user_ids(mine["outgoing"]) == [bob.id]
    assert user_ids(mine["incoming"]) == [cy.id]
    assert user_ids(mine["contacts"]) == [dan.id]


async def test_request_to_a_user_that_does_not_exist_is_404(people):
    (ada,) = await people("ada")
    response = await ada.post("/contacts", json={"user_id": 999_999})
    assert response.status_code == 404, await response.get_data(as_text=True)
    assert (await ada.contacts())["outgoing"] == []


@pytest.mark.parametrize("body", [{}, {"user_id": "two"}, {"user_id": None}, {"user_id": [1]}])
async def test_request_body_is_validated(people, body):
    (ada,) = await people("ada")
    await error_of(await ada.post("/contacts", json=body), 400, "validation_error")


async def test_contacts_need_authentication(app):
    response = await app.test_client().get("/api/v1/contacts", scheme="https")
    await error_of(response, 401, "unauthenticated")


# --- blocks -----------------------------------------------------------------------------------


async def test_blocking_lists_the_person_as_blocked(people):
    ada, bob = await people("ada", "bob")
    await no_content(await ada.post("/blocks", json={"user_id": bob.id}))
    assert user_ids((await ada.contacts())["blocked"]) == [bob.id]
    # The blocked person is not told.
    assert (await bob.contacts())["blocked"] == []


async def test_blocking_keeps_the_contact_and_unblocking_finds_it_again(people):
    """Blocking and removing a contact are separate actions (issue 14)."""
    ada, bob = await people("ada", "bob")
    await request_contact(ada, bob)
    await json_of(await bob.post(f"/contacts/{ada.id}/accept"), 200)
    await no_content(await bob.post("/blocks", json={"user_id": ada.id}))
    mine = await bob.contacts()
    assert user_ids(mine["contacts"]) == [ada.id] and user_ids(mine["blocked"]) == [ada.id]
    assert user_ids((await ada.contacts())["contacts"]) == [bob.id]
    await ada.direct(bob, status=403)  # the block still stops what it stops
    await no_content(await bob.delete(f"/blocks/{ada.id}"))
    assert user_ids((await bob.contacts())["contacts"]) == [ada.id]
    await ada.direct(bob, status=201)


async def test_blocking_drops_a_pending_request(people):
    ada, bob = await people("ada", "bob")
    await request_contact(ada, bob)
    await no_content(await bob.post("/blocks", json={"user_id": ada.id}))
    assert (await bob.contacts())["incoming"] == []


async def test_unblocking(people):
    ada, bob = await people("ada", "bob")
    await no_content(await ada.post("/blocks", json={"user_id": bob.id}))
    await no_content(await ada.delete(f"/blocks/{bob.id}"))
    assert (await ada.contacts())["blocked"] == []
    # And a direct chat works again.
    await bob.direct(ada, status=201)


async def test_blocked_person_cannot_add_you_to_a_group(people):
    ada, bob = await people("ada", "bob")
    await no_content(await ada.post("/blocks", json={"user_id": bob.id}))
    response = await bob.post(
        "/chats", json={"kind": "group", "title": "G", "member_ids": [ada.id]}
    )
    if response.status_code == 201:
        # Made without her is acceptable; made with her is not.
        chat = await response.get_json()
        assert ada.id not in await bob.member_ids(chat["id"])
    else:
        await error_of(response, 403, "blocked")
    group = await bob.group("Later")
    response = await bob.post(f"/chats/{group['id']}/members", json={"user_ids": [ada.id]})
    await error_of(response, 403, "blocked")
    assert ada.id not in await bob.member_ids(group["id"])


async def test_group_messages_still_flow_between_people_who_blocked_each_other(people):
    """A block is about direct contact; a shared group keeps working for both."""
    ada, bob, cy = await people("ada", "bob", "cyd")
    group = await cy.group("Club", ada, bob)
    await no_content(await ada.post("/blocks", json={"user_id": bob.id}))
    sent = await bob.send(group["id"], "still here")
    assert sent["id"] in [m["id"] for m in await ada.message_list(group["id"])]


async def test_unblocking_someone_not_blocked_is_harmless(people):
    ada, bob = await people("ada", "bob")
    response = await ada.delete(f"/blocks/{bob.id}")
    assert response.status_code in {204, 404}, await response.get_data(as_text=True)
    assert (await ada.contacts())["blocked"] == []
