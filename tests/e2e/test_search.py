"""Search in the browser (issue 14): inside a chat from its header, stepping through the hits
(one of them older than the loaded history) with the words marked; and the sidebar's search
narrowed by a filter, a hit opening its chat at the message."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support import pages
from tests.support.server import HearthServer, write_config

pytestmark = pytest.mark.e2e

FILLER = 50  # more than one page of history (50): the oldest hit is loaded by the jump to it


def send(page, server, chat_id: int, client_id: str, body: str) -> int:
    path = f"/chats/{chat_id}/messages"
    return int(pages.api(page, server, path, {"client_id": client_id, "body": body})["id"])


@pytest.fixture
def server(tmp_path):
    config = write_config(tmp_path, limits={"messages_per_user": {"count": 500, "per_seconds": 1}})
    with HearthServer(config) as running:
        yield running


def test_search_in_a_chat_and_with_a_filter(server, new_person):
    ada, bob, watches = pages.two_people_in_a_direct_chat(server, new_person)
    chat_id = pages.chat_id(ada)
    oldest = send(ada, server, chat_id, "k1", "the old kettle whistles")
    for i in range(FILLER):
        send(ada if i % 2 else bob, server, chat_id, f"f{i}", f"filler line {i}")
    by_bob = send(bob, server, chat_id, "k2", "Bob fixed the kettle lid")
    newest = send(ada, server, chat_id, "k3", "new kettle arrives Monday")
    ada.goto(f"{server.url}/chats/{chat_id}")  # its newest page only
    pages.last_message(ada, "new kettle arrives")
    old = ada.locator(f'#conversation .message[data-message-id="{oldest}"]')
    expect(old).to_have_count(0)  # not loaded yet

    # Ada searches this chat from its header: the newest hit first, its word marked.
    ada.click("#chat-find")
    box = ada.locator("#chat-find-input")
    expect(box).to_be_focused()
    box.fill("kettle")
    count = ada.locator("#chat-find-count")
    expect(count).to_have_text("1 of 3")
    current = ada.locator("#conversation .message.search-current")
    expect(current).to_have_attribute("data-message-id", str(newest))
    expect(current.locator("mark.search-mark")).to_have_text("kettle")

    # Enter goes to older hits, down to one outside the loaded history; the focus stays.
    box.press("Enter")
    expect(count).to_have_text("2 of 3")
    expect(current).to_have_attribute("data-message-id", str(by_bob))
    box.press("Enter")
    expect(count).to_have_text("3 of 3")
    expect(current).to_have_attribute("data-message-id", str(oldest))
    expect(old.locator("mark.search-mark")).to_have_text("kettle")
    expect(ada.locator("#conversation mark.search-mark")).to_have_count(1)
    expect(box).to_be_focused()
    # Shift+Enter and the arrows go back and forth; the buttons too.
    box.press("Shift+Enter")
    expect(count).to_have_text("2 of 3")
    box.press("ArrowUp")
    expect(count).to_have_text("3 of 3")
    ada.click("#chat-find-newer")
    expect(count).to_have_text("2 of 3")

    # Esc closes and takes the marks away; Ctrl+F opens it again.
    box.press("Escape")
    expect(ada.locator("#chat-find-bar")).to_have_count(0)
    expect(ada.locator("#conversation mark.search-mark")).to_have_count(0)
    ada.keyboard.press("Control+f")
    expect(ada.locator("#chat-find-input")).to_be_focused()
    ada.keyboard.press("Escape")

    # Bob searches everything for "kettle", then only what Ada wrote.
    bob.fill("#chat-search", "kettle")
    hits = bob.locator("#search-results .search-hit")
    expect(hits).to_have_count(3)
    bob.click("#search-filters-toggle")
    bob.select_option("#search-from", label="Ada Lovelace")
    expect(hits).to_have_count(2)
    expect(bob.locator("#search-filters-toggle")).to_have_text("Filters (1)")
    bob.check("#search-has-file")
    expect(bob.locator("#search-results .hint")).to_have_text("No messages found.")
    bob.uncheck("#search-has-file")
    expect(hits).to_have_count(2)
    hits.last.click()
    expect(bob).to_have_url(re.compile(rf"/chats/{chat_id}\?around={oldest}$"))
    expect(bob.locator(f'#conversation .message[data-message-id="{oldest}"]')).to_be_visible()
    assert pages.problems(watches) == []
