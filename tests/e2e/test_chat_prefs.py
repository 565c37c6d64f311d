"""Mute, archive and star in the browser (issue 14): a muted chat still counts unread but does
not notify; an archived chat leaves the list for the "Archived" entry and comes back; a starred
message is in the Starred view.

Notifications are observed through the page's Notification hook: a stand-in records each one,
and the page can be made to look hidden (notify.js only notifies a hidden tab)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support import pages

pytestmark = pytest.mark.e2e

# Before the app's scripts: a recording Notification, permission granted, visibility switchable.
NOTIFICATION_HOOK = """
window.__notes = [];
window.__hidden = false;
window.Notification = class {
  constructor(title, options) { window.__notes.push({ title, body: options && options.body }); }
  close() {}
  static get permission() { return 'granted'; }
  static requestPermission() { return Promise.resolve('granted'); }
};
Object.defineProperty(document, 'visibilityState', {
  configurable: true, get: () => (window.__hidden ? 'hidden' : 'visible'),
});
"""


def notes(page) -> list[str]:
    return [note["body"] for note in page.evaluate("window.__notes")]


def send(page, server, chat_id: int, client_id: str, body: str) -> None:
    pages.api(page, server, f"/chats/{chat_id}/messages", {"client_id": client_id, "body": body})


def test_mute_archive_and_star(hearth_server, new_person):
    server = hearth_server
    ada, bob, watches = pages.two_people_in_a_direct_chat(server, new_person)
    chat_id = pages.chat_id(ada)
    bob.add_init_script(NOTIFICATION_HOOK)
    bob.reload()
    expect(bob.locator("#chat-title")).to_have_text("Ada Lovelace")
    item = bob.locator(f'#chat-list [data-chat-id="{chat_id}"]')

    # Bob looks elsewhere, his tab hidden: a message from Ada notifies (the hook works).
    bob.click("#open-contacts")
    bob.evaluate("window.__hidden = true")
    send(ada, server, chat_id, "loud", "first ping")
    pages.until(bob, "window.__notes.length > 0")
    assert notes(bob) == ["first ping"]

    # Bob mutes the chat from its header menu: the next message counts unread, no notification.
    bob.evaluate("window.__hidden = false")
    item.click()
    bob.click("#chat-more")
    bob.click('#chat-menu [data-action="mute-always"]')
    bob.click("#chat-more")
    expect(bob.locator('#chat-menu [data-action="unmute"]')).to_be_visible()
    bob.keyboard.press("Escape")
    bob.click("#open-contacts")
    bob.evaluate("window.__hidden = true")
    send(ada, server, chat_id, "quiet", "quiet please")
    expect(item.locator(".chat-item-preview")).to_contain_text("quiet please")
    expect(item.locator(".unread-badge")).to_have_text("1")
    expect(item.locator(".muted-mark")).to_be_visible()
    assert notes(bob) == ["first ping"]
    bob.evaluate("window.__hidden = false")

    # Archive: out of the list, behind "Archived (1)"; unarchive brings it back.
    item.click()
    bob.click("#chat-more")
    bob.click('#chat-menu [data-action="archive"]')
    expect(item).to_have_count(0)
    toggle = bob.locator("#archived-toggle")
    expect(toggle).to_have_text("Archived (1)")
    toggle.click()
    expect(item).to_be_visible()
    bob.click("#chat-more")
    bob.click('#chat-menu [data-action="unarchive"]')
    expect(toggle).to_be_hidden()
    expect(item).to_be_visible()

    # Star a message from its menu; the Starred view lists it.
    message = pages.last_message(bob, "quiet please")
    pages.open_message_menu(bob, message)
    bob.click('#message-menu [data-action="star"]')
    pages.open_message_menu(bob, message)
    expect(bob.locator('#message-menu [data-action="star"]')).to_have_text("Unstar")
    bob.keyboard.press("Escape")
    bob.click("#open-starred")
    starred = bob.locator("#starred-list .search-hit")
    expect(starred).to_have_count(1)
    expect(starred).to_contain_text("quiet please")
    assert pages.problems(watches) == []
