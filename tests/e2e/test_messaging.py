"""Messaging in the browser: a direct chat between two people, a group joined by invite link,
and a long history (scrolling, search, replies) that survives a server restart.

Each browser context is one person. Everything the pages load, WebSockets included, must come
from the Hearth server itself, the pages must raise no script error, and the CSP must never
have to block anything.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.server import HearthServer, write_config

pytestmark = pytest.mark.e2e

PASSWORD = "a long password 1"


class Watch:
    """What a page did that it should not: requests elsewhere, script errors, CSP reports."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.problems: list[str] = []
        socket_base = base_url.replace("https://", "wss://", 1)

        def on_request(request: Any) -> None:
            url = request.url
            if not url.startswith(base_url) and not url.startswith(("data:", "blob:")):
                self.problems.append(f"request to {url}")

        def on_socket(socket: Any) -> None:
            if not socket.url.startswith(socket_base):
                self.problems.append(f"websocket to {socket.url}")

        def on_console(message: Any) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                self.problems.append(f"CSP: {message.text}")

        page.on("request", on_request)
        page.on("websocket", on_socket)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))


def _person(new_person: Any, server: Any, watches: list[Watch]) -> Any:
    page = new_person()
    watches.append(Watch(page, server.url))
    return page


def _set_up_admin(page: Any, server: Any) -> None:
    page.goto(f"{server.url}/setup?token={server.setup_token()}")
    page.fill("#setup-username", "ada")
    page.fill("#setup-display-name", "Ada Lovelace")
    page.fill("#setup-password", PASSWORD)
    page.fill("#setup-confirm", PASSWORD)
    page.click("#setup-form button[type=submit]")
    expect(page.locator("#me-name")).to_have_text("Ada Lovelace")


def _account_invite(page: Any, server: Any, uses: int) -> str:
    page.click("#open-settings")
    page.fill("#invite-uses", str(uses))
    page.click("#invite-form button[type=submit]")
    expect(page.locator("#invite-url")).to_have_value(re.compile("invite="))
    url: str = page.input_value("#invite-url")
    page.goto(f"{server.url}/")
    return url


def _sign_up(page: Any, invite_url: str, username: str, display_name: str) -> None:
    page.goto(invite_url)
    page.fill("#signup-username", username)
    page.fill("#signup-display-name", display_name)
    page.fill("#signup-password", PASSWORD)
    page.fill("#signup-confirm", PASSWORD)
    page.click("#signup-form button[type=submit]")
    expect(page.locator("#me-name")).to_have_text(display_name)


def _chat_id(page: Any) -> int:
    expect(page).to_have_url(re.compile(r"/chats/\d+$"))
    match = re.search(r"/chats/(\d+)$", page.url)
    assert match is not None
    return int(match.group(1))


def _pick_person(page: Any, search_box: str, username: str) -> None:
    page.fill(search_box, username)
    page.locator(".user-result", has_text=f"@{username}").click()


def _last_message(page: Any, text: str) -> Any:
    """The confirmed message with this text (it has its server id once the send is done)."""
    message = page.locator("#conversation .message[data-message-id]", has_text=text).last
    expect(message).to_be_visible()
    return message


def _open_message_menu(page: Any, message: Any) -> None:
    message.hover()
    message.locator(".menu-btn").click()
    expect(page.locator("#message-menu")).to_be_visible()


def _api(page: Any, server: Any, path: str, body: dict[str, Any]) -> Any:
    """A write as the page's signed-in person, through the page's own cookies."""
    response = page.request.post(
        f"{server.url}/api/v1{path}",
        data=json.dumps(body),
        headers={"Origin": server.url, "Content-Type": "application/json"},
    )
    assert response.ok, (path, response.status, response.text())
    return response.json()


def test_direct_chat_typing_receipts_reactions_edit_delete(hearth_server, new_person):
    watches: list[Watch] = []
    ada = _person(new_person, hearth_server, watches)
    _set_up_admin(ada, hearth_server)
    invite = _account_invite(ada, hearth_server, uses=1)
    bob = _person(new_person, hearth_server, watches)
    _sign_up(bob, invite, "bob", "Bob Builder")

    # Ada starts a direct chat with Bob from the new chat menu.
    ada.click("#new-chat")
    ada.click("#new-chat-menu #new-dm")
    _pick_person(ada, "#user-search", "bob")
    chat_id = _chat_id(ada)
    expect(ada.locator("#chat-title")).to_have_text("Bob Builder")

    # Bob's list shows the new chat; Ada typing shows there before anything is sent.
    bob_item = bob.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    expect(bob_item).to_contain_text("Ada Lovelace")
    ada.locator("#composer").press_sequentially("Hello Bob, see https://example.org/x")
    expect(bob_item.locator(".chat-item-preview")).to_have_text("typing…")

    # Ada sends: pending, then stored; Bob's app has it (delivered) but has not opened it.
    ada.click("#send")
    expect(ada.locator("#composer")).to_have_value("")
    message_id = _last_message(ada, "Hello Bob").get_attribute("data-message-id")
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
    _open_message_menu(bob, received)
    bob.keyboard.press("Escape")
    expect(bob.locator("#message-menu")).to_have_count(0)
    _open_message_menu(bob, received)
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
    _open_message_menu(ada, sent)
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

    problems = [p for w in watches for p in w.problems]
    assert problems == [], problems


def test_third_person_joins_group_by_invite_link(hearth_server, new_person):
    watches: list[Watch] = []
    ada = _person(new_person, hearth_server, watches)
    _set_up_admin(ada, hearth_server)
    invite = _account_invite(ada, hearth_server, uses=2)
    bob = _person(new_person, hearth_server, watches)
    _sign_up(bob, invite, "bob", "Bob Builder")
    carol = _person(new_person, hearth_server, watches)
    _sign_up(carol, invite, "carol", "Carol Shaw")

    # Ada creates a group with Bob.
    ada.click("#new-chat")
    ada.click("#new-chat-menu #new-group")
    ada.fill("#new-chat-title", "Kitchen")
    ada.fill("#new-chat-topic", "Who cooks tonight")
    _pick_person(ada, "#new-chat-member-search", "bob")
    expect(ada.locator("#new-chat-members [data-user-id]")).to_have_count(1)
    ada.click("#new-chat-form button[type=submit]")
    chat_id = _chat_id(ada)
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
    expect(ada.locator('#group-members [data-user-id][data-role="owner"]')).to_contain_text(
        "Ada Lovelace"
    )
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
    assert _chat_id(carol) == chat_id
    expect(carol.locator("#chat-title")).to_have_text("Kitchen")
    expect(ada.locator("#chat-header")).to_contain_text("3 members")

    # What Carol writes reaches both others at once.
    carol.fill("#composer", "Hi all, Carol here")
    carol.click("#send")
    carol_message = _last_message(carol, "Carol here")
    message_id = carol_message.get_attribute("data-message-id")
    for page in (ada, bob):
        seen = page.locator(f'#conversation .message[data-message-id="{message_id}"]')
        expect(seen.locator(".body")).to_have_text("Hi all, Carol here")
        expect(seen.locator(".sender")).to_have_text("Carol Shaw")
    # Read by both: the tick is read only once every other member has read it.
    expect(carol_message.locator(".ticks")).to_have_attribute("data-state", "read")

    problems = [p for w in watches for p in w.problems]
    assert problems == [], problems


def test_history_search_reply_and_retry_after_server_restart(tmp_path, new_person):
    config = write_config(tmp_path, limits={"messages_per_user": {"count": 500, "per_seconds": 1}})
    with HearthServer(config) as server:
        watches: list[Watch] = []
        ada = _person(new_person, server, watches)
        _set_up_admin(ada, server)
        invite = _account_invite(ada, server, uses=1)
        bob = _person(new_person, server, watches)
        _sign_up(bob, invite, "bob", "Bob Builder")
        bob_id = bob.request.get(f"{server.url}/api/v1/me").json()["id"]
        chat_id = _api(ada, server, "/chats", {"kind": "direct", "user_id": bob_id})["id"]
        for number in range(120):
            body = {"client_id": f"seed-{number}", "body": f"note {number} about bread"}
            if number == 7:
                body["body"] = "the sourdough starter lives in the fridge"
            _api(ada, server, f"/chats/{chat_id}/messages", body)

        # Bob opens the chat at its newest page; scrolling up loads every older page.
        bob.goto(f"{server.url}/chats/{chat_id}")
        messages = bob.locator("#conversation .message")
        expect(messages.last).to_contain_text("note 119 about bread")
        expect(messages).to_have_count(50)
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
        _open_message_menu(ada, old)
        ada.click('#message-menu [data-action="reply"]')
        expect(ada.locator("#composer-context")).to_contain_text("sourdough starter")
        ada.fill("#composer", "is it still alive?")
        ada.locator("#composer").press("Enter")
        expect(_last_message(ada, "still alive").locator(".quote")).to_contain_text("sourdough")

        # Bob clicks the quote: the original is scrolled to and highlighted.
        reply = _last_message(bob, "still alive")
        reply.locator(".quote").click()
        expect(bob.locator("#conversation .message.highlight")).to_contain_text("sourdough starter")

        # The server goes away: Bob's message fails, then goes through on retry, once.
        server.stop()
        bob.fill("#composer", "sent during the outage")
        bob.click("#send")
        failed = bob.locator("#conversation .message.failed")
        expect(failed.locator(".retry")).to_be_visible()
        expect(bob.locator("#connection-status")).to_have_text("Connecting…")
        server.start()
        _api(ada, server, f"/chats/{chat_id}/messages", {"client_id": "after", "body": "back up"})
        # Bob's socket comes back by itself and resumes: he gets what he missed.
        expect(_last_message(bob, "back up")).to_be_visible(timeout=20_000)
        expect(bob.locator("#connection-status")).to_have_text("")
        failed.locator(".retry").click()
        expect(bob.locator("#conversation .message.failed")).to_have_count(0)
        expect(
            ada.locator("#conversation .message", has_text="sent during the outage")
        ).to_have_count(1, timeout=20_000)

        problems = [p for w in watches for p in w.problems]
        assert problems == [], problems
