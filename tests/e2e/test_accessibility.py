"""Accessibility, measured (issue 14): axe-core finds no serious or critical WCAG 2.1 AA
violation on any view, in the light and the dark theme, and screen readers hear new messages
and incoming calls through live regions.

One walk through the app with two people: login, the chat list (with an unread group), a
conversation with a picture, a reply and a reaction, the chat menu, the emoji picker, group
settings, settings, starred messages, an incoming call and a call in progress (fake media).
Each view is checked once per theme; every violation is collected, so one run lists them all.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e import axe
from tests.support import pages

pytestmark = pytest.mark.e2e

THEMES = ("light", "dark")
# The default theme on a computer set to dark: the same palette through a media query, and the
# rules outside the palette (the dimmed sender colours) have to follow it too.
SYSTEM_DARK = "system"
THUMBS_UP = "\N{THUMBS UP SIGN}"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (40, 120, 200)).save(out, "PNG")
    return out.getvalue()


class Audit:
    """Runs axe on a page in each theme and keeps every blocking violation, with where."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, page: Any, where: str, themes: tuple[str, ...] = THEMES) -> None:
        for theme in themes:
            # Reduced motion: no colour transition is caught half-way when the theme flips.
            scheme = "dark" if theme == SYSTEM_DARK else "light"
            page.emulate_media(reduced_motion="reduce", color_scheme=scheme)
            page.evaluate("t => { document.documentElement.dataset.theme = t; }", theme)
            label = f"{theme} theme, OS {scheme}" if theme == SYSTEM_DARK else f"{theme} theme"
            self.failures += axe.report(f"{where} [{label}]", axe.violations(page))


def _send(page: Any, server: Any, chat_id: int, client_id: str, **body: Any) -> dict[str, Any]:
    message: dict[str, Any] = pages.api(
        page, server, f"/chats/{chat_id}/messages", {"client_id": client_id, **body}
    )
    return message


def _put(page: Any, server: Any, path: str) -> None:
    response = page.request.put(f"{server.url}/api/v1{path}", headers={"Origin": server.url})
    assert response.ok, (path, response.status, response.text())


def _upload_picture(page: Any, server: Any) -> int:
    response = page.request.post(
        f"{server.url}/api/v1/files",
        data=_png(),
        headers={
            "Origin": server.url,
            "Content-Type": "image/png",
            "X-File-Name": quote("whiteboard.png"),
        },
    )
    assert response.ok, response.text()
    return int(json.loads(response.text())["id"])


def test_every_view_passes_axe_in_both_themes_and_live_regions_speak(hearth_server, new_person):
    server = hearth_server
    audit = Audit()

    ada, bob, watches = pages.two_people_in_a_direct_chat(server, new_person)
    direct = pages.chat_id(ada)
    bob_id = pages.my_id(bob, server)
    visitor = new_person()
    visitor.goto(f"{server.url}/login")
    expect(visitor.locator("#login-form")).to_be_visible()
    audit(visitor, "login")

    # A conversation with a picture, a reply to it and a reaction; a group with unread for Bob.
    # Each new message from someone else is read out to Bob by a live region, his own are not.
    heard = bob.locator("#message-announcer")
    expect(heard).to_have_attribute("aria-live", "polite")
    _send(bob, server, direct, "a1", body="Morning! The plan is on the whiteboard.")
    picture = _send(
        ada, server, direct, "a2", body="This one?", attachments=[_upload_picture(ada, server)]
    )
    expect(heard).to_have_text("Ada Lovelace: This one?")
    reply = _send(bob, server, direct, "a3", body="Yes, that one.", reply_to=picture["id"])
    answer = pages.last_message(bob, "Yes, that one.")
    expect(heard).to_have_text("Ada Lovelace: This one?")
    _put(ada, server, f"/messages/{reply['id']}/reactions/{quote(THUMBS_UP)}")
    _put(ada, server, f"/messages/{reply['id']}/star")
    group = pages.api(
        ada, server, "/chats", {"kind": "group", "title": "Kitchen", "member_ids": [bob_id]}
    )
    kitchen = bob.locator(f'#chat-list [data-chat-id="{group["id"]}"]')
    # Known to Bob's page first: a chat's very first message can come before the chat itself,
    # and then it is not announced (nor notified): a separate defect of messaging/chats.js.
    expect(kitchen).to_be_visible()
    _send(ada, server, group["id"], "a4", body="Lunch at noon, @bob?")
    expect(heard).to_have_text("Ada Lovelace in Kitchen: Lunch at noon, @bob?")

    expect(answer.locator(f'.reactions button[data-emoji="{THUMBS_UP}"]')).to_be_visible()
    expect(answer.locator(".quote")).to_be_visible()
    expect(bob.locator("#conversation .message img").first).to_be_visible()
    expect(kitchen.locator(".unread-badge")).to_have_text("1")
    audit(bob, "chat list and conversation")

    # The group, where names of senders show: also in the OS-dark default theme.
    kitchen.click()
    expect(pages.last_message(bob, "Lunch at noon").locator(".sender")).to_be_visible()
    audit(bob, "group conversation", (*THEMES, SYSTEM_DARK))

    bob.click("#chat-more")
    expect(bob.locator("#chat-menu")).to_be_visible()
    audit(bob, "chat menu")
    bob.keyboard.press("Escape")

    bob.click("#emoji-button")
    expect(bob.locator("#emoji-picker [role='option']").first).to_be_visible()
    audit(bob, "emoji picker")
    bob.keyboard.press("Escape")
    expect(bob.locator("#emoji-picker")).to_have_count(0)

    pages.open_message_menu(bob, pages.last_message(bob, "Lunch at noon"))
    audit(bob, "message menu")
    bob.keyboard.press("Escape")

    bob.locator("#conversation").press("Control+k")
    bob.locator("#switcher-input").fill("ada")
    expect(bob.locator("#switcher-results [role='option']").first).to_be_visible()
    audit(bob, "quick switcher")
    bob.click("#switcher .dialog-close")  # Escape in a filled search box only empties it
    expect(bob.locator("#switcher")).to_have_count(0)

    bob.click("#open-contacts")
    expect(bob.locator("#contacts-page")).to_be_visible()
    audit(bob, "contacts")

    # Activity: Ada's reaction to Bob's message and her mention of him.
    bob.click("#open-activity")
    expect(bob.locator("#activity-list .activity-item")).to_have_count(2)
    audit(bob, "activity")

    ada.click(f'#chat-list [data-chat-id="{group["id"]}"]')
    ada.click("#chat-settings")
    expect(ada.locator("#group-panel #group-members li")).to_have_count(2)
    audit(ada, "group settings")
    ada.keyboard.press("Escape")

    ada.click("#open-settings")
    expect(ada.locator("#profile-form")).to_be_visible()
    audit(ada, "settings")

    ada.click("#open-starred")
    expect(ada.locator("#starred-list .search-hit")).to_have_count(1)
    audit(ada, "starred")

    # A call: Bob's incoming call screen, then the call in progress on both sides.
    ada.click(f'#chat-list [data-chat-id="{direct}"]')
    ada.click("#call-video")
    expect(bob.locator("#incoming-call")).to_be_visible()
    expect(bob.locator("#announcer")).to_have_attribute("aria-live", "polite")
    expect(bob.locator("#announcer")).to_have_text("Ada Lovelace: Incoming video call")
    audit(bob, "incoming call")
    bob.click("#call-accept")
    for page in (ada, bob):
        expect(page.locator("#call-view .call-tile")).to_have_count(2)
        expect(page.locator("#call-timer")).not_to_have_text("")
    audit(ada, "call in progress")
    ada.click("#call-hangup")
    expect(bob.locator("#call-view")).to_have_count(0)

    assert audit.failures == [], "axe-core found WCAG 2.1 AA violations:\n" + "\n".join(
        audit.failures
    )
    assert pages.problems(watches) == []
