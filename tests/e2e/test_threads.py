"""A thread conversation between two people in the browser (issue 14): Ada replies in a thread
from the message menu, Bob sees the count and his unread on the root, opens the panel and
replies; Ada sees his reply live in her open panel, and neither reply is in the main timeline;
a later reply notifies Ada while her tab is hidden.
axe-core finds no serious or critical WCAG 2.1 AA violation with the panel open."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import axe
from tests.e2e.test_chat_prefs import NOTIFICATION_HOOK
from tests.support import pages

pytestmark = pytest.mark.e2e


def test_a_thread_conversation(hearth_server, new_person):
    server = hearth_server
    ada, bob, watches = pages.two_people_in_a_direct_chat(server, new_person)
    bob_id = pages.my_id(bob, server)
    ada.add_init_script(NOTIFICATION_HOOK)  # records notifications; the tab can look hidden
    ada.reload()
    garden = pages.api(
        ada, server, "/chats", {"kind": "group", "title": "Garden", "member_ids": [bob_id]}
    )
    for page in (ada, bob):
        page.click(f'#chat-list [data-chat-id="{garden["id"]}"]')
        expect(page.locator("#chat-title")).to_have_text("Garden")
    pages.api(
        bob,
        server,
        f"/chats/{garden['id']}/messages",
        {"client_id": "root-1", "body": "Who waters the roses?"},
    )

    # Ada: "Reply in thread" opens the panel with the root; her reply stays out of the timeline.
    root = pages.last_message(ada, "Who waters the roses?")
    root_id = int(root.get_attribute("data-message-id"))
    pages.open_message_menu(ada, root)
    ada.click('#message-menu [data-action="thread"]')
    panel = ada.locator("#thread-panel")
    expect(panel.locator(".message").first).to_contain_text("Who waters the roses?")
    ada.fill("#thread-composer", "I will, on Sunday")
    ada.keyboard.press("Enter")
    expect(panel.locator("#thread-messages")).to_contain_text("I will, on Sunday")
    expect(root.locator(".thread-count")).to_have_text("1 reply")

    # Bob: the count, who took part and his unread on the root; opening the thread reads it.
    bobs_root = pages.last_message(bob, "Who waters the roses?")
    summary = bobs_root.locator(".thread-open")
    expect(summary.locator(".thread-count")).to_have_text("1 reply")
    expect(summary.locator(".thread-unread")).to_have_text("1 unread")
    expect(summary.locator(".thread-people .avatar")).to_have_count(2)
    expect(bob.locator("#conversation .message", has_text="I will, on Sunday")).to_have_count(0)
    assert axe.report("thread summary", axe.violations(bob)) == []
    summary.click()
    expect(bob.locator("#thread-messages")).to_contain_text("I will, on Sunday")
    expect(summary.locator(".thread-unread")).to_have_count(0)
    # The panel passes axe-core like every other view (WCAG 2.1 AA), here in the dark theme.
    bob.emulate_media(reduced_motion="reduce", color_scheme="dark")  # no transition mid-check
    assert axe.report("thread panel, dark", axe.violations(bob)) == []
    bob.fill("#thread-composer", "Thanks, I'll bring the hose")
    bob.keyboard.press("Enter")

    # Ada sees it live in her open panel and on the root's summary.
    expect(panel.locator("#thread-messages")).to_contain_text("Thanks, I'll bring the hose")
    expect(root.locator(".thread-count")).to_have_text("2 replies")
    expect(ada.locator("#conversation .message", has_text="bring the hose")).to_have_count(0)
    ada.click("#thread-close")
    expect(panel).to_have_count(0)

    # Ada took part: a new reply while her tab is hidden notifies her, like a mention.
    ada.evaluate("window.__hidden = true")
    pages.api(
        bob,
        server,
        f"/chats/{garden['id']}/messages",
        {"client_id": "reply-3", "body": "See you Sunday", "thread_root_id": root_id},
    )
    pages.until(ada, "window.__notes.length > 0")
    assert ada.evaluate("window.__notes") == [
        {"title": "Bob Builder replied in a thread in Garden", "body": "See you Sunday"}
    ]

    # Activity lists the replies in her thread; one opens the chat with the thread open.
    ada.evaluate("window.__hidden = false")
    ada.click("#open-activity")
    item = ada.locator('#activity-list .activity-item[data-kind="thread_reply"]').first
    expect(item).to_contain_text("Bob Builder replied in a thread")
    expect(item).to_contain_text("See you Sunday")
    item.click()
    expect(ada.locator("#thread-panel #thread-messages")).to_contain_text("See you Sunday")
    assert pages.problems(watches) == []
