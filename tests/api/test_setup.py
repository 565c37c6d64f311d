"""First run: /api/v1/info says setup is needed until the one-time token makes the first admin."""

from __future__ import annotations

from tests.support.app import PASSWORD, setup_admin
from tests.support.responses import cookie_attributes, error_of, json_of, set_cookies

SETUP = "/api/v1/setup"


async def test_info_describes_a_fresh_hearth(client):
    body = await json_of(await client.get("/api/v1/info"), 200)
    assert body["name"] == "Hearth"
    assert body["registration"] == "invite"
    assert body["setup_needed"] is True
    assert isinstance(body["version"], str) and body["version"]
    # The upload limits as configured (the shipped defaults here).
    assert (body["max_image_bytes"], body["max_file_bytes"]) == (10 * 1000**2, 50 * 1000**2)


async def test_info_says_setup_is_done_after_the_first_admin(hearth, client):
    await setup_admin(hearth, client)
    body = await json_of(await client.get("/api/v1/info"), 200)
    assert body["setup_needed"] is False


async def test_setup_with_a_wrong_token_is_refused(hearth, client):
    await hearth.accounts.setup_token()
    response = await client.post(
        SETUP, json={"token": "not-the-token", "username": "ada", "password": PASSWORD}
    )
    await error_of(response, 403, "invalid_token")
    assert await hearth.accounts.setup_needed() is True


async def test_setup_before_any_token_was_made_is_refused(client):
    response = await client.post(
        SETUP, json={"token": "guess", "username": "ada", "password": PASSWORD}
    )
    await error_of(response, 403, "invalid_token")


async def test_setup_creates_the_first_admin_and_returns_tokens(hearth, client):
    token = await hearth.accounts.setup_token()
    response = await client.post(
        SETUP,
        json={
            "token": token,
            "username": "Ada",
            "password": PASSWORD,
            "display_name": "Ada L",
            "email": "ada@example.org",
        },
    )
    body = await json_of(response, 201)
    assert body["user"]["username"] == "ada"
    assert body["user"]["display_name"] == "Ada L"
    assert body["user"]["email"] == "ada@example.org"
    assert body["user"]["is_admin"] is True
    assert body["session_id"].startswith("s_")
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert body["expires_in"] == 15 * 60


async def test_setup_sets_a_secure_httponly_lax_cookie(hearth, client):
    token = await hearth.accounts.setup_token()
    response = await client.post(
        SETUP, json={"token": token, "username": "ada", "password": PASSWORD}
    )
    assert response.status_code == 201
    (header,) = set_cookies(response)
    attributes = cookie_attributes(header)
    assert attributes["hearth_session"]
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"


async def test_setup_cookie_signs_the_browser_in(hearth, client):
    await setup_admin(hearth, client, username="ada")
    body = await json_of(await client.get("/api/v1/me"), 200)
    assert body["username"] == "ada"
    assert body["is_admin"] is True


async def test_second_setup_is_refused(hearth, client):
    token = await hearth.accounts.setup_token()
    first = await client.post(SETUP, json={"token": token, "username": "ada", "password": PASSWORD})
    assert first.status_code == 201
    again = await client.post(SETUP, json={"token": token, "username": "eve", "password": PASSWORD})
    await error_of(again, 409, "setup_done")
    assert [user.username for user in await hearth.accounts.list_users()] == ["ada"]


async def test_setup_token_is_gone_once_setup_is_done(hearth, client):
    await setup_admin(hearth, client)
    assert await hearth.accounts.setup_token() is None


async def test_setup_checks_the_password_rules(hearth, client):
    token = await hearth.accounts.setup_token()
    response = await client.post(
        SETUP, json={"token": token, "username": "ada", "password": "short"}
    )
    error = await error_of(response, 400, "validation_error")
    assert error["fields"][0]["loc"] == "password"
    assert await hearth.accounts.setup_needed() is True
