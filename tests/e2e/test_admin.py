"""The Admin sections of Settings in Chromium (issue 12): an admin disables a colleague and
the colleague's open tab is signed out; the admin enables them again, issues a reset link,
and the colleague uses it; the admin revokes an invite link and it stops working; the health
panel shows the box's figures. Every request stays on the Hearth server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support import pages

pytestmark = pytest.mark.e2e

BOB_PASSWORD = "bob password 12"
NEW_PASSWORD = "a brand new password"


def test_admin_manages_people_and_invites_from_the_web_app(hearth_server, new_person):
    admin = new_person()
    admin_watch = pages.Watch(admin, hearth_server.url)
    pages.set_up_admin(admin, hearth_server)
    invite_url = pages.account_invite(admin, hearth_server, uses=1, days=7)
    bob = new_person()
    pages.sign_up(bob, invite_url, "bob", "Bob Builder", password=BOB_PASSWORD)

    admin.click("#open-settings")
    row = admin.locator("#admin-user-list li[data-username=bob]")
    expect(row).to_be_visible()
    expect(admin.locator("#admin-health-facts dd[data-fact=accounts]")).to_have_text("2")

    # Search narrows the list.
    admin.fill("#admin-user-search", "bo")
    expect(admin.locator("#admin-user-list li[data-username=ada]")).to_have_count(0)
    expect(row).to_be_visible()

    # Disable Bob: his open tab is signed out.
    row.locator(".admin-toggle-disabled").click()
    expect(row).to_contain_text("disabled")
    expect(bob.locator("#login-form")).to_be_visible(timeout=15_000)
    expect(bob.locator("#login-notice")).to_contain_text(re.compile("signed out", re.I))

    # Enable him again and give him a reset link, which he uses.
    row.locator(".admin-toggle-disabled").click()
    expect(row.locator(".admin-toggle-disabled")).to_have_text("Disable")
    row.locator(".admin-reset-link").click()
    reset_url = row.locator(".admin-reset-url").input_value()
    assert reset_url.startswith(hearth_server.url + "/reset?token="), reset_url
    bob.goto(reset_url)
    bob.fill("#reset-password", NEW_PASSWORD)
    bob.fill("#reset-confirm", NEW_PASSWORD)
    bob.click("#reset-form button[type=submit]")
    expect(bob.locator("#login-form")).to_be_visible()
    bob.fill("#login-login", "bob")
    bob.fill("#login-password", NEW_PASSWORD)
    bob.click("#login-form button[type=submit]")
    expect(bob.locator("#me-name")).to_have_text("Bob Builder")

    # A new invite appears in the list; revoking it stops it working.
    admin.fill("#invite-uses", "3")
    admin.click("#invite-form button[type=submit]")
    expect(admin.locator("#invite-url")).to_have_value(re.compile("invite="))
    new_invite = admin.input_value("#invite-url")
    code = new_invite.rsplit("=", 1)[1]
    # The same link at the other addresses (the server listens on 127.0.0.1: localhost).
    expect(admin.locator("#invite-other-urls")).to_contain_text(
        f"https://localhost:{hearth_server.port}/signup?invite={code}"
    )
    listed = admin.locator(f"#admin-invite-list li[data-code='{code}']")
    expect(listed).to_contain_text("0 of 3 used")
    listed.locator(".admin-revoke").click()
    expect(listed.locator(".admin-invite-state")).to_have_text("revoked")
    carol = new_person()
    carol.goto(new_invite)
    expect(carol.locator("#auth-page")).to_contain_text(re.compile("no longer valid", re.I))

    assert admin_watch.requests_elsewhere == [], admin_watch.requests_elsewhere


def test_a_member_sees_no_admin_sections(hearth_server, new_person):
    admin = new_person()
    pages.set_up_admin(admin, hearth_server)
    invite_url = pages.account_invite(admin, hearth_server, uses=1)
    bob = new_person()
    pages.sign_up(bob, invite_url, "bob", "Bob Builder", password=BOB_PASSWORD)
    bob.click("#open-settings")
    expect(bob.locator("#settings-profile")).to_be_visible()
    expect(bob.locator("#admin-users")).to_have_count(0)
    expect(bob.locator("#admin-invite-list")).to_have_count(0)
