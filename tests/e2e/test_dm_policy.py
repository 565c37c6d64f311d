"""Who can message me, in the browser (issue 14): Bob takes messages from contacts only; Carol,
a stranger, is refused and offered a contact request; once Bob accepts, her message arrives.
In the direct chat's panel, removing the contact and blocking are separate actions; a refused
send offers the request too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support import pages

pytestmark = pytest.mark.e2e


def test_contacts_only_needs_an_accepted_request_first(hearth_server, new_person):
    server = hearth_server
    watches: list[pages.Watch] = []
    ada = pages.watched_person(new_person, server, watches)
    pages.set_up_admin(ada, server)
    invite = pages.account_invite(ada, server, uses=2)
    bob = pages.watched_person(new_person, server, watches)
    pages.sign_up(bob, invite, "bob", "Bob Builder")
    carol = pages.watched_person(new_person, server, watches)
    pages.sign_up(carol, invite, "carol", "Carol Shaw")
    ada.close()

    # Bob chooses "My contacts only" in Settings > Privacy; it is saved at once.
    bob.click("#open-settings")
    bob.click("#settings-sections [data-section=settings-privacy]")
    bob.check("#dm-policy-contacts")
    expect(bob.locator("#privacy-saved")).to_have_text("Saved.")

    # Carol tries to message him: refused, told why, offered a contact request.
    carol.click("#new-chat")
    carol.click("#new-chat-menu #new-dm")
    pages.pick_person(carol, "#user-search", "bob")
    dialog = carol.locator("#contacts-only-dialog")
    expect(dialog).to_contain_text("Bob Builder only takes messages from their contacts.")
    expect(carol.locator("#chat-list .chat-item")).to_have_count(0)  # no chat was made
    carol.click("#ask-contact")
    expect(carol.locator("#ask-contact-status")).to_contain_text("Request sent.")

    # Bob accepts the request on his Contacts page.
    bob.click("#open-contacts")
    bob.locator("#contacts-incoming .person", has_text="Carol Shaw").locator(".accept").click()
    expect(bob.locator("#contacts-list .person", has_text="Carol Shaw")).to_be_visible()

    # Carol picks Bob again: the chat opens and her message reaches him.
    dialog.locator("button", has_text="Close").click()
    carol.locator(".user-result", has_text="@bob").click()
    expect(carol.locator("#chat-title")).to_have_text("Bob Builder")
    carol.fill("#composer", "Hi Bob, thanks for accepting")
    carol.click("#send")
    chat = pages.chat_id(carol)
    bob.click(f'#chat-list [data-chat-id="{chat}"]')
    pages.last_message(bob, "Hi Bob, thanks for accepting")

    # In the chat's contact panel, being a contact and blocking are separate buttons.
    bob.click("#chat-settings")
    expect(bob.locator("#contact-toggle")).to_have_text("Remove contact")
    expect(bob.locator("#block-user")).to_have_text("Block Carol Shaw")
    bob.click("#contact-toggle")
    expect(bob.locator("#contact-toggle")).to_have_text("Add contact")
    expect(bob.locator("#block-user")).to_have_text("Block Carol Shaw")

    # No longer a contact, Carol's next message is refused where she wrote it, with the offer.
    carol.fill("#composer", "One more thing")
    carol.click("#send")
    failed = carol.locator("#conversation .send-error")
    expect(failed).to_contain_text("contacts only")
    failed.locator(".ask-contact").click()
    carol.click("#ask-contact")
    expect(carol.locator("#ask-contact-status")).to_contain_text("Request sent.")
    assert pages.problems(watches) == []
