"""\"Forgot your password?\" in the browser: a reset link by email (a real SMTP server on
loopback), opened, a new password set, and signed in with it."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.support import pages
from tests.support.inbox import smtp_server
from tests.support.server import HearthServer, write_config
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def test_a_forgotten_password_is_reset_through_an_emailed_link(tmp_path, new_person):
    with smtp_server() as (inbox, port):
        email = {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none"}
        with HearthServer(write_config(tmp_path, email=email)) as server:
            watches: list[pages.Watch] = []
            ada = pages.watched_person(new_person, server, watches)
            pages.set_up_admin(ada, server)
            response = ada.request.patch(
                f"{server.url}/api/v1/me",
                data=json.dumps({"email": "ada@example.lan"}),
                headers={"Origin": server.url, "Content-Type": "application/json"},
            )
            assert response.ok, response.text()
            ada.click("#logout")

            ada.click("#to-forgot")
            ada.fill("#forgot-login", "ada@example.lan")
            ada.click("#forgot-form button[type=submit]")
            expect(ada.locator("#forgot-sent")).to_contain_text("on its way")

            wait_for(lambda: inbox.messages, what="the email with the link")
            text = inbox.messages[0][1].get_payload(decode=True).decode()
            link = next(word for word in text.split() if "/reset?token=" in word)
            assert link.startswith(server.url), link  # the address Ada's browser used
            ada.goto(link)
            ada.fill("#reset-password", "a brand new secret")
            ada.fill("#reset-confirm", "a brand new secret")
            ada.click("#reset-form button[type=submit]")
            ada.fill("#login-login", "ada")
            ada.fill("#login-password", "a brand new secret")
            ada.click("#login-form button[type=submit]")
            expect(ada.locator("#app-frame")).to_be_visible()
            assert pages.problems(watches) == []
