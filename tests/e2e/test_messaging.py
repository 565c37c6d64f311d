"""Messaging in the browser: a direct chat between two people, a group joined by invite link,
and a long history (scrolling, search, replies) that survives a server restart.

Each browser context is one person. Everything the pages load, WebSockets included, must come
from the Hearth server itself, the pages must raise no script error, and the CSP must never
have to block anything.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support import pages
from tests.support.server import HearthServer, write_config

pytestmark = pytest.mark.e2e


def test_direct_chat_typing_receipts_reactions_edit_delete(hearth_server, new_person):
    watches: list[pages.Watch] = []
    ada = pages.watched_person(new_person, hearth_server, watches)
    pages.set_up_admin(ada, hearth_server)
    invite = pages.account_invite(ada, hearth_server, uses=1)
    bob = pages.watched_person(new_person, hearth_server, watches)
    pages.sign_up(bob, invite, "bob", "Bob Builder")

    # Ada starts a direct chat with Bob from the new chat menu.
    ada.click("#new-chat")
    ada.click("#new-chat-menu #new-dm")
    pages.pick_person(ada, "#user-search", "bob")
    chat_id = pages.chat_id(ada)
    expect(ada.locator("#chat-title")).to_have_text("Bob Builder")

    # Bob's list shows the new chat; Ada typing shows there before anything is sent.
    bob_item = bob.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    expect(bob_item).to_contain_text("Ada Lovelace")
    # press_sequentially types into whatever has focus and does not wait, as fill does, for
    # the composer to be enabled once the chat has loaded: keys typed before would be lost.
    expect(ada.locator("#composer")).to_be_editable()
    ada.locator("#composer").press_sequentially("Hello Bob, see https://example.org/x")
    expect(bob_item.locator(".chat-item-preview")).to_have_text("typing…")

    # Ada sends: pending, then stored; Bob's app has it (delivered) but has not opened it.
    ada.click("#send")
    expect(ada.locator("#composer")).to_have_value("")
    message_id = pages.last_message(ada, "Hello Bob").get_attribute("data-message-id")
    sent = ada.locator(f'#conversation .message[data-message-id="{message_id}"]')
    expect(bob_item.locator(".chat-item-preview")).to_contain_text("Hello Bob")
    expect(bob_item.locator(".unread-badge")).to_have_text("1")
    expect(bob).to_have_title("(1) Hearth")
    expect(sent.locator(".ticks")).to_have_attribute("data-state", "delivered")

    # Bob opens the chat: he sees the message, with its link made safe, and Ada's tick turns read.
    bob_item.click()
    received = bob.locator(f'#conversation .message[data-message-id="{message_id}"]')
    expect(received.locator(".body")).to_have_text("Hello Bob, see https://example.org/x")
    link = received.locator(".body a")
    expect(link).to_have_attribute("href", "https://example.org/x")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(bob_item.locator(".unread-badge")).to_have_count(0)
    expect(sent.locator(".ticks")).to_have_attribute("data-state", "read")
    expect(bob).to_have_title("Ada Lovelace · Hearth")

    # Bob typing shows in Ada's conversation.
    bob.locator("#composer").press_sequentially("hm")
    expect(ada.locator("#typing")).to_have_text("Bob Builder is typing…")
    bob.fill("#composer", "")
    bob.locator("#composer").blur()

    # Bob reacts through the message menu; Escape closes a menu first.
    pages.open_message_menu(bob, received)
    bob.keyboard.press("Escape")
    expect(bob.locator("#message-menu")).to_have_count(0)
    pages.open_message_menu(bob, received)
    bob.click('#message-menu [data-action="react"]')
    bob.click('#reaction-picker [data-emoji="👍"]')
    reaction = sent.locator('.reactions button[data-emoji="👍"]')
    expect(reaction).to_contain_text("1")
    expect(reaction).to_have_attribute("aria-pressed", "false")
    expect(received.locator('.reactions button[data-emoji="👍"]')).to_have_attribute(
        "aria-pressed", "true"
    )

    # Ada edits from the context menu (right click); Bob sees the new text marked "edited".
    sent.locator("time").click(button="right")
    ada.click('#message-menu [data-action="edit"]')
    expect(ada.locator("#composer")).to_have_value("Hello Bob, see https://example.org/x")
    ada.fill("#composer", "Hello Bob, edited")
    ada.locator("#composer").press("Enter")
    expect(received.locator(".body")).to_have_text("Hello Bob, edited")
    expect(received.locator(".edited")).to_be_visible()

    # Ada deletes it for everyone; both see the placeholder in its place.
    pages.open_message_menu(ada, sent)
    ada.click('#message-menu [data-action="delete-everyone"]')
    ada.click("#confirm-ok")
    for message in (sent, received):
        expect(message).to_have_class(re.compile(r"\bdeleted\b"))
        expect(message.locator(".body")).to_have_text("This message was deleted")
    expect(received.locator(".reactions")).to_have_count(0)

    # Presence in Ada's header follows Bob's connection: back online, then gone.
    presence = ada.locator("#chat-header .presence")
    bob.reload()
    expect(presence).to_have_attribute("data-status", "online")
    expect(presence).to_have_text("online")
    bob.close()
    expect(presence).to_have_attribute("data-status", "offline")
    expect(presence).to_have_text("last seen just now")

    assert pages.problems(watches) == []


def test_third_person_joins_group_by_invite_link(hearth_server, new_person):
    watches: list[pages.Watch] = []
    ada = pages.watched_person(new_person, hearth_server, watches)
    pages.set_up_admin(ada, hearth_server)
    invite = pages.account_invite(ada, hearth_server, uses=2)
    bob = pages.watched_person(new_person, hearth_server, watches)
    pages.sign_up(bob, invite, "bob", "Bob Builder")
    carol = pages.watched_person(new_person, hearth_server, watches)
    pages.sign_up(carol, invite, "carol", "Carol Shaw")

    # Ada creates a group with Bob.
    ada.click("#new-chat")
    ada.click("#new-chat-menu #new-group")
    ada.fill("#new-chat-title", "Kitchen")
    ada.fill("#new-chat-topic", "Who cooks tonight")
    pages.pick_person(ada, "#new-chat-member-search", "bob")
    expect(ada.locator("#new-chat-members [data-user-id]")).to_have_count(1)
    ada.click("#new-chat-form button[type=submit]")
    chat_id = pages.chat_id(ada)
    expect(ada.locator("#chat-title")).to_have_text("Kitchen")
    expect(ada.locator("#chat-header")).to_contain_text("2 members")

    # Bob has it too and opens it; Carol, not a member, does not.
    bob_item = bob.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    expect(bob_item).to_contain_text("Kitchen")
    bob_item.click()
    expect(bob.locator("#chat-title")).to_have_text("Kitchen")
    expect(carol.locator(f'#chat-list [data-chat-id="{chat_id}"]')).to_have_count(0)

    # Ada makes an invite link in the group settings.
    ada.click("#chat-settings")
    expect(ada.locator("#group-panel")).to_be_visible()
    owner_row = ada.locator('#group-members [data-user-id][data-role="owner"]')
    expect(owner_row).to_contain_text("Ada Lovelace")
    # Her own row has no actions: no button, and no stray "0" where it would be (issue 14).
    expect(owner_row.locator(".member-actions")).to_have_count(0)
    expect(owner_row).not_to_contain_text("0")
    ada.click("#invite-link-create")
    expect(ada.locator("#invite-link-url")).to_have_value(re.compile(r"/join/[\w-]+$"))
    link = ada.input_value("#invite-link-url")
    assert link.startswith(hearth_server.url), link
    ada.keyboard.press("Escape")
    expect(ada.locator("#group-panel")).to_have_count(0)

    # Carol opens the link, sees what she joins, joins, and lands in the chat.
    carol.goto(link)
    expect(carol.locator("#join-title")).to_have_text("Kitchen")
    carol.click("#join-chat")
    assert pages.chat_id(carol) == chat_id
    expect(carol.locator("#chat-title")).to_have_text("Kitchen")
    expect(ada.locator("#chat-header")).to_contain_text("3 members")

    # What Carol writes reaches both others at once.
    carol.fill("#composer", "Hi all, Carol here")
    carol.click("#send")
    carol_message = pages.last_message(carol, "Carol here")
    message_id = carol_message.get_attribute("data-message-id")
    for page in (ada, bob):
        seen = page.locator(f'#conversation .message[data-message-id="{message_id}"]')
        expect(seen.locator(".body")).to_have_text("Hi all, Carol here")
        expect(seen.locator(".sender")).to_have_text("Carol Shaw")
    # Read by both: the tick is read only once every other member has read it.
    expect(carol_message.locator(".ticks")).to_have_attribute("data-state", "read")

    assert pages.problems(watches) == []


def test_history_search_reply_and_retry_after_server_restart(tmp_path, new_person):
    config = write_config(tmp_path, limits={"messages_per_user": {"count": 500, "per_seconds": 1}})
    with HearthServer(config) as server:
        watches: list[pages.Watch] = []
        ada = pages.watched_person(new_person, server, watches)
        pages.set_up_admin(ada, server)
        invite = pages.account_invite(ada, server, uses=1)
        bob = pages.watched_person(new_person, server, watches)
        pages.sign_up(bob, invite, "bob", "Bob Builder")
        bob_id = pages.my_id(bob, server)
        chat_id = pages.api(ada, server, "/chats", {"kind": "direct", "user_id": bob_id})["id"]
        for number in range(120):
            body = {"client_id": f"seed-{number}", "body": f"note {number} about bread"}
            if number == 7:
                body["body"] = "the sourdough starter lives in the fridge"
            pages.api(ada, server, f"/chats/{chat_id}/messages", body)

        # Bob opens the chat at its newest page; scrolling up loads every older page.
        bob.goto(f"{server.url}/chats/{chat_id}")
        messages = bob.locator("#conversation .message")
        expect(messages.last).to_contain_text("note 119 about bread")
        expect(messages).to_have_count(50)

        # The conversation is one Tab stop (issue 14): focus lands on the newest message, the
        # arrow keys move between messages, and no other message's controls are tab stops.
        bob.locator("#conversation").focus()
        expect(messages.last).to_be_focused()
        bob.keyboard.press("ArrowUp")
        expect(messages.nth(-2)).to_be_focused()
        expect(bob.locator("#conversation .message[tabindex='0']")).to_have_count(1)
        outside = "#conversation .message[tabindex='-1'] :is(button, a[href]):not([tabindex='-1'])"
        expect(bob.locator(outside)).to_have_count(0)
        bob.keyboard.press("End")
        expect(messages.last).to_be_focused()
        bob.keyboard.press("Tab")  # into that message's own controls: its menu button
        expect(messages.last.locator(".menu-btn")).to_be_focused()
        bob.locator("#conversation").hover()
        for _ in range(30):
            if messages.count() == 120:
                break
            bob.mouse.wheel(0, -2_000)
            bob.wait_for_timeout(150)
        expect(messages).to_have_count(120)
        expect(messages.first).to_contain_text("note 0 about bread")

        # Ada searches, jumps to an old message that is not loaded, and replies to it.
        ada.fill("#chat-search", "sourdough")
        hit = ada.locator("#search-results .search-hit")
        expect(hit).to_have_count(1)
        hit.click()
        expect(ada).to_have_url(re.compile(rf"/chats/{chat_id}\?around=\d+$"))
        old = ada.locator("#conversation .message.highlight")
        expect(old).to_contain_text("sourdough starter")
        expect(ada.locator("#conversation .message", has_text="note 119")).to_have_count(0)
        pages.open_message_menu(ada, old)
        ada.click('#message-menu [data-action="reply"]')
        expect(ada.locator("#composer-context")).to_contain_text("sourdough starter")
        ada.fill("#composer", "is it still alive?")
        ada.locator("#composer").press("Enter")
        expect(pages.last_message(ada, "still alive").locator(".quote")).to_contain_text(
            "sourdough"
        )

        # Bob clicks the quote: the original is scrolled to and highlighted.
        reply = pages.last_message(bob, "still alive")
        reply.locator(".quote").click()
        expect(bob.locator("#conversation .message.highlight")).to_contain_text("sourdough starter")

        # The server goes away: Bob no longer sees Ada online (nobody can tell), his message
        # fails, then goes through on retry, once.
        presence = bob.locator("#chat-header .presence")
        expect(presence).to_have_text("online")
        server.stop()
        expect(presence).to_have_attribute("data-status", "unknown")
        expect(presence).to_have_text("")
        bob.fill("#composer", "sent during the outage")
        bob.click("#send")
        failed = bob.locator("#conversation .message.failed")
        expect(failed.locator(".retry")).to_be_visible()
        expect(bob.locator("#connection-status")).to_have_text("Connecting…")
        server.start()
        pages.api(
            ada, server, f"/chats/{chat_id}/messages", {"client_id": "after", "body": "back up"}
        )
        # Bob's socket comes back by itself and resumes: he gets what he missed.
        # (within the longest reconnect backoff, 8 s, and the time the server takes to start)
        pages.last_message(bob, "back up", timeout=20_000)
        expect(bob.locator("#connection-status")).to_have_text("")
        expect(presence).to_have_text("online", timeout=20_000)  # once Ada's tab is back too
        failed.locator(".retry").click()
        expect(bob.locator("#conversation .message.failed")).to_have_count(0)
        expect(
            ada.locator("#conversation .message", has_text="sent during the outage")
        ).to_have_count(1, timeout=20_000)

        assert pages.problems(watches) == []


def test_keyboard_shortcuts_switch_chats(hearth_server, new_person):
    """Issue 14: Ctrl+K jumps to any chat, Alt+Up/Down steps through the list, "?" lists the
    shortcuts."""
    ada, bob, watches = pages.two_people_in_a_direct_chat(hearth_server, new_person)
    bob_id = pages.my_id(bob, hearth_server)
    garden = pages.api(
        ada, hearth_server, "/chats", {"kind": "group", "title": "Garden", "member_ids": [bob_id]}
    )
    expect(ada.locator(f'#chat-list [data-chat-id="{garden["id"]}"]')).to_be_visible()
    ada.locator("#chat-title").click()  # focus out of the composer: "?" is a character there

    ada.keyboard.press("?")
    expect(ada.locator("#shortcuts")).to_contain_text("Jump to a chat or person")
    ada.keyboard.press("Escape")
    expect(ada.locator("#shortcuts")).to_have_count(0)

    ada.keyboard.press("Control+k")
    ada.locator("#switcher-input").fill("gard")
    expect(ada.locator("#switcher-results [role=option]").first).to_contain_text("Garden")
    ada.keyboard.press("Enter")
    expect(ada.locator("#chat-title")).to_have_text("Garden")

    ada.keyboard.press("Alt+ArrowDown")  # Garden is the newest; the direct chat comes next
    expect(ada.locator("#chat-title")).to_have_text("Bob Builder")
    ada.keyboard.press("Alt+ArrowUp")
    expect(ada.locator("#chat-title")).to_have_text("Garden")
    assert pages.problems(watches) == []
