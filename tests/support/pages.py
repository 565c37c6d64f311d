"""The web app in Chromium (Playwright's sync API): the steps the end-to-end tests share, and a
watch on what a page does that it should not.

Each browser context is one person; `new_person` (tests/e2e/conftest.py) opens one and returns
its first page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.support.server import HearthServer
from tests.support.waiting import wait_for

PASSWORD = "a long password 1"


class Watch:
    """What a page did that it should not: requests elsewhere, script errors, CSP reports."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.problems: list[str] = []
        # Only what went elsewhere than Hearth (plain URLs, requests only).
        self.requests_elsewhere: list[str] = []
        socket_base = base_url.replace("https://", "wss://", 1)

        def on_request(request: Any) -> None:
            url = request.url
            if not url.startswith(base_url) and not url.startswith(("data:", "blob:")):
                self.requests_elsewhere.append(url)
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


def watched_person(
    new_person: Callable[[], Any], server: HearthServer, watches: list[Watch]
) -> Any:
    """A new person's page, its Watch added to `watches`."""
    page = new_person()
    watches.append(Watch(page, server.url))
    return page


def problems(watches: list[Watch]) -> list[str]:
    return [problem for watch in watches for problem in watch.problems]


def set_up_admin(
    page: Any,
    server: HearthServer,
    *,
    display_name: str = "Ada Lovelace",
    password: str = PASSWORD,
) -> None:
    """The first admin, "ada", through the printed setup link; ends in the app."""
    page.goto(f"{server.url}/setup?token={server.setup_token()}")
    page.fill("#setup-username", "ada")
    page.fill("#setup-display-name", display_name)
    page.fill("#setup-password", password)
    page.fill("#setup-confirm", password)
    page.click("#setup-form button[type=submit]")
    expect(page.locator("#me-name")).to_have_text(display_name)


def account_invite(page: Any, server: HearthServer, uses: int, days: int | None = None) -> str:
    """An invite link made in the settings (the form's default validity unless `days`); the
    page goes back to the chat list after."""
    page.click("#open-settings")
    page.fill("#invite-uses", str(uses))
    if days is not None:
        page.fill("#invite-days", str(days))
    page.click("#invite-form button[type=submit]")
    # Locator assertions, not wait_for_function: the app's CSP forbids eval, rightly.
    expect(page.locator("#invite-url")).to_have_value(re.compile("invite="))
    url: str = page.input_value("#invite-url")
    page.goto(f"{server.url}/")
    return url


def sign_up(
    page: Any, invite_url: str, username: str, display_name: str, password: str = PASSWORD
) -> None:
    page.goto(invite_url)
    page.fill("#signup-username", username)
    page.fill("#signup-display-name", display_name)
    page.fill("#signup-password", password)
    page.fill("#signup-confirm", password)
    page.click("#signup-form button[type=submit]")
    expect(page.locator("#me-name")).to_have_text(display_name)


def my_id(page: Any, server: HearthServer) -> int:
    response = page.request.get(f"{server.url}/api/v1/me")
    assert response.ok, response.text()
    return int(response.json()["id"])


def api(page: Any, server: HearthServer, path: str, body: dict[str, Any]) -> Any:
    """A write as the page's signed-in person, through the page's own cookies."""
    response = page.request.post(
        f"{server.url}/api/v1{path}",
        data=json.dumps(body),
        headers={"Origin": server.url, "Content-Type": "application/json"},
    )
    assert response.ok, (path, response.status, response.text())
    return response.json()


def chat_id(page: Any) -> int:
    """The id of the chat the page shows (from its URL, once it is there)."""
    expect(page).to_have_url(re.compile(r"/chats/\d+$"))
    match = re.search(r"/chats/(\d+)$", page.url)
    assert match is not None
    return int(match.group(1))


def pick_person(page: Any, search_box: str, username: str) -> None:
    page.fill(search_box, username)
    page.locator(".user-result", has_text=f"@{username}").click()


def last_message(page: Any, text: str, timeout: float | None = None) -> Any:
    """The confirmed message with this text (it has its server id once the send is done),
    waited for up to `timeout` ms (Playwright's default, 5 s, if None)."""
    message = page.locator("#conversation .message[data-message-id]", has_text=text).last
    expect(message).to_be_visible(timeout=timeout)
    return message


def open_message_menu(page: Any, message: Any) -> None:
    message.hover()
    message.locator(".menu-btn").click()
    expect(page.locator("#message-menu")).to_be_visible()


def two_people_in_a_direct_chat(
    server: HearthServer, new_person: Callable[[], Any]
) -> tuple[Any, Any, list[Watch]]:
    """Ada (the admin) and Bob (signed up by her invite), each with their direct chat open."""
    watches: list[Watch] = []
    ada = watched_person(new_person, server, watches)
    set_up_admin(ada, server)
    invite = account_invite(ada, server, uses=1)
    bob = watched_person(new_person, server, watches)
    sign_up(bob, invite, "bob", "Bob Builder")
    ada.click("#new-chat")
    ada.click("#new-chat-menu #new-dm")
    pick_person(ada, "#user-search", "bob")
    chat = chat_id(ada)
    bob.click(f'#chat-list [data-chat-id="{chat}"]')
    expect(bob.locator("#chat-title")).to_have_text("Ada Lovelace")
    return ada, bob, watches


def until(page: Any, script: str, arg: Any = None, timeout: float = 10.0) -> Any:
    """The first truthy value of `script` (a JavaScript expression or function, given `arg`) in
    the page, polled from here. Not `page.wait_for_function`: past its first try it evaluates
    the script with eval inside the page, which the app's CSP refuses (no 'unsafe-eval'),
    so it failed whenever the condition was not already true."""
    return wait_for(lambda: page.evaluate(script, arg), timeout=timeout, interval=0.05, what=script)
