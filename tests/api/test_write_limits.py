"""Rate limits on writes that reach other people or cost CPU (issue 13: 300 edits, reaction
toggles and new chats in two seconds were all accepted, and wrong current passwords on
/me/password were checked with bcrypt without end). Each limit is from config."""

from __future__ import annotations

import pytest

from tests.support.app import PASSWORD, make_settings
from tests.support.responses import error_of, json_of, no_content
from tests.support.shapes import THUMBS_UP, emoji_path

LIMITS = {
    "changes_per_user": {"count": 4, "per_seconds": 10},
    "chats_per_user": {"count": 3, "per_seconds": 60},
    "password_checks_per_account": {"count": 3, "per_seconds": 300},
}

pytestmark = pytest.mark.manual_clock


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "data", limits=LIMITS)


async def test_edits_and_reactions_share_a_limit_that_frees_up_with_time(people, clock):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    sent = await ada.send(chat["id"], "draft")
    for n in range(2):
        await json_of(await ada.patch(f"/messages/{sent['id']}", json={"body": f"v{n}"}), 200)
    reaction = f"/messages/{sent['id']}/reactions/{emoji_path(THUMBS_UP)}"
    await no_content(await ada.put(reaction))
    await no_content(await ada.delete(reaction))
    response = await ada.patch(f"/messages/{sent['id']}", json={"body": "one too many"})
    await error_of(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 11
    await error_of(await ada.put(reaction), 429, "rate_limited")
    await no_content(await bob.put(reaction))  # a limit per person
    await clock.advance(10)
    await json_of(await ada.patch(f"/messages/{sent['id']}", json={"body": "final"}), 200)


async def test_new_chats_are_limited_per_person(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    await ada.group("One")
    await ada.direct(bob)
    await ada.channel("Three")
    response = await ada.post("/chats", json={"kind": "group", "title": "Four"})
    await error_of(response, 429, "rate_limited")
    assert [chat["title"] for chat in await ada.chats()].count("Four") == 0
    await cy.group("Cy's own")


async def test_wrong_current_passwords_are_limited_per_account(people, clock):
    ada, bob = await people("ada", "bob")
    wrong = {"current_password": "not it at all", "new_password": "a brand new passphrase"}
    for _ in range(3):
        await error_of(await ada.post("/me/password", json=wrong), 400, "validation_error")
    right = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    await error_of(await ada.post("/me/password", json=right), 429, "rate_limited")
    await error_of(await bob.post("/me/password", json=wrong), 400, "validation_error")
    await clock.advance(300)
    await no_content(await ada.post("/me/password", json=right))
