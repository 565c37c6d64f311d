"""Activity in the browser (issue 14): what concerns Ada while she looks elsewhere (a reply to
her message, a reaction to it, a mention) shows as a count on the Activity entry; the view
lists them newest first, marked new; opening it clears the count, and an item opens the chat
at its message. Something new while the view is open shows at once."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.support import pages

pytestmark = pytest.mark.e2e


def test_activity_counts_lists_and_opens_the_message(hearth_server, new_person):
    server = hearth_server
    ada, bob, watches = pages.two_people_in_a_direct_chat(server, new_person)
    chat_id = pages.chat_id(ada)
    mine = pages.api(ada, server, f"/chats/{chat_id}/messages", {"client_id": "k", "body": "keys?"})
    ada.click("#open-contacts")
    badge = ada.locator("#open-activity .unread-badge")
    expect(badge).to_be_hidden()

    send = f"/chats/{chat_id}/messages"
    pages.api(bob, server, send, {"client_id": "r", "body": "on the hook", "reply_to": mine["id"]})
    response = bob.request.put(
        f"{server.url}/api/v1/messages/{mine['id']}/reactions/{quote('👍')}",
        headers={"Origin": server.url},
    )
    assert response.ok, response.text()
    pages.api(bob, server, send, {"client_id": "m", "body": "@ada the spare is in the drawer"})
    expect(badge).to_have_text("3")
    expect(ada.locator("#open-activity")).to_have_attribute("aria-label", "Activity, 3 new")

    ada.click("#open-activity")
    items = ada.locator("#activity-list .activity-item")
    expect(items).to_have_count(3)
    assert [items.nth(i).get_attribute("data-kind") for i in range(3)] == [
        "mention", "reaction", "reply",
    ]  # fmt: skip
    expect(items.nth(0)).to_contain_text("Bob Builder mentioned you")
    expect(items.nth(1)).to_contain_text("reacted 👍 to your message")
    expect(ada.locator("#activity-list .activity-item.is-new")).to_have_count(3)
    expect(badge).to_be_hidden()  # seen, on every device of hers

    # Something new while the view is open: listed at once, and seen.
    pages.api(bob, server, send, {"client_id": "m2", "body": "@ada and the bike lock"})
    expect(items).to_have_count(4)
    expect(items.nth(0)).to_contain_text("the bike lock")
    expect(badge).to_be_hidden()

    # An item opens the chat at its message.
    items.nth(2).click()
    expect(ada).to_have_url(f"{server.url}/chats/{chat_id}?around={mine['id']}")
    expect(ada.locator(f'.message[data-message-id="{mine["id"]}"]')).to_be_visible()
    assert pages.problems(watches) == []
