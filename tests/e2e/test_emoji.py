"""The emoji picker in the browser: Bob reacts with an emoji he found by searching the picker
(not one of the quick eight), Ada inserts one from the picker and one by `:shortcode`
completion, and each sees what the other did. The picker's data is served by Hearth itself
and loads only when first needed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support import pages

pytestmark = pytest.mark.e2e

TURTLE = "\N{TURTLE}"
WAVE_MEDIUM = "\N{WAVING HAND SIGN}\N{EMOJI MODIFIER FITZPATRICK TYPE-4}"
SMILE = "\N{SMILING FACE WITH SMILING EYES}"


def test_react_and_write_with_any_emoji(hearth_server, new_person):
    watches: list[pages.Watch] = []
    ada = pages.watched_person(new_person, hearth_server, watches)
    loaded: list[str] = []
    ada.on("request", lambda r: loaded.append(r.url) if r.url.endswith("/emoji.json") else None)
    pages.set_up_admin(ada, hearth_server)
    invite = pages.account_invite(ada, hearth_server, uses=1)
    bob = pages.watched_person(new_person, hearth_server, watches)
    pages.sign_up(bob, invite, "bob", "Bob Builder")
    ada.click("#new-chat")
    ada.click("#new-chat-menu #new-dm")
    pages.pick_person(ada, "#user-search", "bob")
    chat_id = pages.chat_id(ada)
    assert loaded == []  # nothing of the picker at start

    # Ada writes "Hi " then picks a waving hand, medium skin tone, from the picker.
    composer = ada.locator("#composer")
    composer.fill("Hi ")
    ada.click("#emoji-button")
    picker = ada.locator("#emoji-picker")
    expect(picker).to_be_visible()
    expect(ada.locator("#emoji-search")).to_be_focused()
    ada.select_option("#emoji-tone", label="Medium")
    ada.locator("#emoji-search").fill("waving hand")
    expect(picker.locator(f'[role="option"][data-emoji="{WAVE_MEDIUM}"]')).to_have_count(1)
    ada.locator("#emoji-search").press("Enter")
    expect(picker).to_have_count(0)
    expect(composer).to_be_focused()  # focus came back to where it was
    expect(composer).to_have_value(f"Hi {WAVE_MEDIUM}")

    # Then " :bl" offers a list (arrow keys move in it), Escape closes it, " :blus" + Tab
    # completes :blush:.
    composer.press("End")
    composer.press_sequentially(" :bl")
    options = ada.locator("#emoji-complete [role='option']")
    expect(options.nth(1)).to_be_visible()
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    composer.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    composer.press("Escape")
    expect(ada.locator("#emoji-complete")).to_be_hidden()
    composer.press_sequentially("us")
    expect(options.first).to_have_attribute("data-emoji", SMILE)
    expect(options.first).to_contain_text(":blush:")
    composer.press("Tab")
    expect(composer).to_have_value(f"Hi {WAVE_MEDIUM} {SMILE}")
    composer.press("Enter")
    text = f"Hi {WAVE_MEDIUM} {SMILE}"
    sent = pages.last_message(ada, "Hi")
    expect(sent.locator(".body")).to_have_text(text)
    assert len(loaded) == 1  # fetched once, when the picker first opened

    # Bob sees it, and reacts with a turtle found by searching the full picker.
    bob.locator(f'#chat-list [data-chat-id="{chat_id}"]').click()
    received = pages.last_message(bob, "Hi")
    expect(received.locator(".body")).to_have_text(text)
    pages.open_message_menu(bob, received)
    bob.click('#message-menu [data-action="react"]')
    bob.click("#reaction-picker #reaction-more")
    expect(bob.locator("#emoji-search")).to_be_focused()
    bob.locator("#emoji-search").fill("turt")
    expect(bob.locator("#emoji-grid [role='option']").first).to_have_attribute("data-emoji", TURTLE)
    expect(bob.locator("#emoji-grid [role='option']").first).to_have_attribute(
        "aria-label", "turtle"
    )
    bob.locator("#emoji-grid [role='option']").first.click()
    expect(bob.locator("#emoji-picker")).to_have_count(0)
    for message in (sent, received):
        expect(message.locator(f'.reactions button[data-emoji="{TURTLE}"]')).to_contain_text("1")

    # The turtle is now Bob's first recent emoji; Escape closes the picker without a pick.
    pages.open_message_menu(bob, received)
    bob.click('#message-menu [data-action="react"]')
    bob.click("#reaction-picker #reaction-more")
    first = bob.locator("#emoji-grid [role='option']").first
    expect(first).to_have_attribute("data-emoji", TURTLE)
    expect(first).to_have_attribute("aria-selected", "true")
    bob.locator("#emoji-search").press("ArrowDown")
    expect(first).to_have_attribute("aria-selected", "false")
    bob.keyboard.press("Escape")
    expect(bob.locator("#emoji-picker")).to_have_count(0)
    expect(sent.locator(".reactions button")).to_have_count(1)

    assert pages.problems(watches) == []
