"""\"Forgot your password?\" (FR1.4): a reset link by email, to a real SMTP server on loopback.
The answer is the same whatever the account; sending happens after it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.app import Client, make_user, running
from tests.support.inbox import Inbox, smtp_server
from tests.support.responses import error_of, json_of, no_content
from tests.support.waiting import eventually

pytestmark = pytest.mark.usefixtures("keep_logging")


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def mailing(tmp_path, smtp) -> AsyncIterator[tuple[Any, Client, Inbox]]:
    inbox, port = smtp
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none"}
    async with running(tmp_path, email=email) as (_, hearth, client):
        yield hearth, client, inbox


async def forgot(client: Client, login: str) -> Any:
    return await client.request("POST", "/api/v1/auth/forgot", json={"login": login})


async def test_a_reset_link_is_emailed_and_sets_a_new_password(mailing):
    hearth, client, inbox = mailing
    user_id = await make_user(hearth, "ada")
    await hearth.accounts.update_profile(user_id, {"email": "Ada@Example.lan"})
    assert (await json_of(await client.request("GET", "/api/v1/info"), 200))["email"] is True

    await no_content(await forgot(client, "Ada@Example.lan"))
    await eventually(lambda: len(inbox.messages) == 1, what="the email")
    to, message = inbox.messages[0]
    assert to == ["Ada@Example.lan"] and "reset link" in message["Subject"]
    text = message.get_payload(decode=True).decode()
    url = next(word for word in text.split() if "/reset?token=" in word)
    assert url.startswith("https://localhost/reset?token=")  # the address the request came to
    token = parse_qs(urlsplit(url).query)["token"][0]
    reset = {"token": token, "password": "a whole new password"}
    await no_content(await client.request("POST", "/api/v1/auth/reset", json=reset))
    login = {"login": "ada", "password": "a whole new password"}
    await json_of(await client.request("POST", "/api/v1/auth/login", json=login), 200)


async def test_the_answer_says_nothing_of_the_account(mailing):
    hearth, client, inbox = mailing
    await make_user(hearth, "bob")  # no email address
    disabled = await make_user(hearth, "cyd")
    await hearth.accounts.update_profile(disabled, {"email": "cyd@example.lan"})
    await hearth.accounts.set_flags(disabled, disabled=True)
    for login in ("bob", "nobody", "nobody@example.lan", "cyd"):
        await no_content(await forgot(client, login))
    await hearth.mailings.wait()  # every send attempt is over
    assert inbox.messages == []


async def test_asking_is_rate_limited(mailing):
    _, client, _ = mailing
    for _ in range(3):
        await no_content(await forgot(client, "dan"))
    await error_of(await forgot(client, "DAN"), 429, "rate_limited")


async def test_without_smtp_it_says_so(tmp_path):
    async with running(tmp_path) as (_, _, client):
        assert (await json_of(await client.request("GET", "/api/v1/info"), 200))["email"] is False
        await error_of(await forgot(client, "ada"), 409, "email_not_set_up")


async def test_a_failing_smtp_server_is_logged_not_raised(tmp_path, caplog):
    from tests.support.server import free_port

    email = {"smtp_host": "127.0.0.1", "smtp_port": free_port(), "security": "none", "attempts": 1}
    async with running(tmp_path, email=email) as (_, hearth, client):
        user_id = await make_user(hearth, "ada")
        await hearth.accounts.update_profile(user_id, {"email": "ada@example.lan"})
        await no_content(await forgot(client, "ada"))
        await hearth.mailings.wait()
    assert "could not email ada their reset link" in caplog.text
    assert "ada@example.lan" not in caplog.text
