"""Sign-up: registration modes, invite links, username, email and password rules."""

from __future__ import annotations

import pytest

from tests.support.app import PASSWORD, me_status, running
from tests.support.responses import error_of, field_error, json_of, session_cookie

SIGNUP = "/api/v1/auth/signup"


async def post_signup(client, username, password=PASSWORD, **extra):
    return await client.post(SIGNUP, json={"username": username, "password": password, **extra})


async def invite_code(hearth, uses=1):
    return (await hearth.accounts.create_invite(None, uses)).code


async def expire_invites(hearth):
    async with hearth.db.write() as tx:
        await tx.execute("UPDATE invites SET expires_at = 0")


# --- invite mode (the default) ---------------------------------------------------------------


async def test_invite_mode_refuses_signup_without_an_invite(hearth, client):
    await error_of(await post_signup(client, "grace"), 403, "invalid_invite")
    assert await hearth.accounts.list_users() == []


async def test_invite_mode_signup_with_an_invite_creates_a_member(hearth, client):
    response = await post_signup(client, "grace", invite=await invite_code(hearth))
    body = await json_of(response, 201)
    assert body["user"]["username"] == "grace"
    assert body["user"]["is_admin"] is False
    assert body["user"]["display_name"] == "grace"
    assert body["access_token"] and body["refresh_token"] and body["session_id"]
    assert session_cookie(response)


async def test_signup_cookie_signs_the_browser_in(hearth, client):
    await json_of(await post_signup(client, "grace", invite=await invite_code(hearth)), 201)
    assert await me_status(client) == 200


async def test_single_use_invite_cannot_be_used_twice(hearth, client, new_client):
    code = await invite_code(hearth, uses=1)
    await json_of(await post_signup(client, "grace", invite=code), 201)
    second = await post_signup(new_client(), "linus", invite=code)
    await error_of(second, 403, "invalid_invite")
    assert [u.username for u in await hearth.accounts.list_users()] == ["grace"]


async def test_invite_with_three_uses_admits_three_people(hearth, new_client):
    code = await invite_code(hearth, uses=3)
    for name in ("ann", "ben", "cat"):
        await json_of(await post_signup(new_client(), name, invite=code), 201)
    await error_of(await post_signup(new_client(), "dan", invite=code), 403, "invalid_invite")


async def test_expired_invite_is_refused(hearth, client):
    code = await invite_code(hearth)
    await expire_invites(hearth)
    await error_of(await post_signup(client, "grace", invite=code), 403, "invalid_invite")
    assert await hearth.accounts.list_users() == []


async def test_unknown_invite_is_refused(client):
    await error_of(await post_signup(client, "grace", invite="no-such-code"), 403, "invalid_invite")


async def test_invite_check_reports_a_live_invite(hearth, client):
    code = await invite_code(hearth, uses=2)
    body = await json_of(await client.get(f"/api/v1/invites/{code}"), 200)
    assert body["valid"] is True
    assert body["uses_left"] == 2
    assert body["expires_at"].endswith("Z") or "+00:00" in body["expires_at"]


async def test_invite_check_is_404_once_used_up(hearth, client, new_client):
    code = await invite_code(hearth, uses=1)
    assert (await client.get(f"/api/v1/invites/{code}")).status_code == 200
    await json_of(await post_signup(new_client(), "grace", invite=code), 201)
    await error_of(await client.get(f"/api/v1/invites/{code}"), 404, "invalid_invite")


async def test_invite_check_is_404_when_expired(hearth, client):
    code = await invite_code(hearth)
    await expire_invites(hearth)
    await error_of(await client.get(f"/api/v1/invites/{code}"), 404, "invalid_invite")


async def test_invite_check_is_404_for_an_unknown_code(client):
    response = await client.get("/api/v1/invites/nope")
    assert response.status_code == 404
    assert set((await response.get_json())["error"]) >= {"code", "message"}


async def test_failed_signup_does_not_use_up_the_invite(hearth, client, new_client):
    await json_of(await post_signup(client, "grace", invite=await invite_code(hearth)), 201)
    code = await invite_code(hearth, uses=1)
    await error_of(await post_signup(new_client(), "grace", invite=code), 409, "username_taken")
    body = await json_of(await client.get(f"/api/v1/invites/{code}"), 200)
    assert body["uses_left"] == 1


# --- open and closed modes ------------------------------------------------------------------


async def test_open_mode_needs_no_invite(tmp_path):
    async with running(tmp_path, registration={"mode": "open"}) as (_, _, client):
        assert (await json_of(await client.get("/api/v1/info"), 200))["registration"] == "open"
        body = await json_of(await post_signup(client, "grace"), 201)
        assert body["user"]["username"] == "grace"


async def test_open_mode_still_refuses_a_dead_invite(tmp_path):
    async with running(tmp_path, registration={"mode": "open"}) as (_, _, client):
        await error_of(await post_signup(client, "grace", invite="bogus"), 403, "invalid_invite")


async def test_closed_mode_refuses_signup(tmp_path):
    async with running(tmp_path, registration={"mode": "closed"}) as (_, hearth, client):
        code = await invite_code(hearth)
        await error_of(await post_signup(client, "grace", invite=code), 403, "registration_closed")
        assert await hearth.accounts.list_users() == []


# --- usernames --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username",
    [
        "ab",
        "a" * 33,
        "has space",
        "semi;colon",
        "_starts_with_underscore",
        ".dot",
        "-dash",
        "émile",
        "",
    ],
)
async def test_bad_usernames_are_refused(hearth, client, username):
    response = await post_signup(client, username, invite=await invite_code(hearth))
    await field_error(response, "username")
    assert await hearth.accounts.list_users() == []


@pytest.mark.parametrize("username", ["abc", "a" * 32, "x.y_z-9", "7up"])
async def test_usernames_at_the_limits_are_accepted(hearth, client, username):
    await json_of(await post_signup(client, username, invite=await invite_code(hearth)), 201)


async def test_username_is_stored_lower_case(hearth, client):
    body = await json_of(await post_signup(client, "GraceH", invite=await invite_code(hearth)), 201)
    assert body["user"]["username"] == "graceh"
    assert (await hearth.accounts.get_by_username("graceh")).id == body["user"]["id"]


async def test_duplicate_username_is_refused(hearth, client, new_client):
    await json_of(await post_signup(client, "grace", invite=await invite_code(hearth)), 201)
    again = await post_signup(new_client(), "grace", invite=await invite_code(hearth))
    await error_of(again, 409, "username_taken")


async def test_username_differing_only_in_case_is_taken(hearth, client, new_client):
    await json_of(await post_signup(client, "grace", invite=await invite_code(hearth)), 201)
    again = await post_signup(new_client(), "GRACE", invite=await invite_code(hearth))
    await error_of(again, 409, "username_taken")


# --- email --------------------------------------------------------------------------------------


async def test_duplicate_email_is_refused(hearth, client, new_client):
    first = await post_signup(
        client, "grace", invite=await invite_code(hearth), email="g@example.org"
    )
    assert (await json_of(first, 201))["user"]["email"] == "g@example.org"
    again = await post_signup(
        new_client(), "linus", invite=await invite_code(hearth), email="g@example.org"
    )
    await error_of(again, 409, "email_taken")


async def test_email_differing_only_in_case_is_taken(hearth, client, new_client):
    await json_of(
        await post_signup(client, "grace", invite=await invite_code(hearth), email="g@example.org"),
        201,
    )
    again = await post_signup(
        new_client(), "linus", invite=await invite_code(hearth), email="G@Example.ORG"
    )
    await error_of(again, 409, "email_taken")


async def test_malformed_email_is_refused(hearth, client):
    response = await post_signup(
        client, "grace", invite=await invite_code(hearth), email="not-an-email"
    )
    await field_error(response, "email")


# --- passwords ----------------------------------------------------------------------------------


async def test_password_shorter_than_8_is_refused(hearth, client):
    response = await post_signup(
        client, "grace", password="1234567", invite=await invite_code(hearth)
    )
    error = await error_of(response, 400, "validation_error")
    assert error["fields"][0]["loc"] == "password"
    assert await hearth.accounts.list_users() == []


async def test_password_longer_than_256_is_refused(hearth, client):
    response = await post_signup(
        client, "grace", password="p" * 257, invite=await invite_code(hearth)
    )
    await field_error(response, "password")


@pytest.mark.parametrize("length", [8, 256])
async def test_password_at_the_limits_is_accepted(hearth, client, length):
    response = await post_signup(
        client, "grace", password="p" * length, invite=await invite_code(hearth)
    )
    await json_of(response, 201)


async def test_long_passwords_differing_after_72_bytes_are_different(hearth, client, new_client):
    """bcrypt reads 72 bytes; the server must not let a shared prefix stand for the password."""
    password = "x" * 100
    await json_of(
        await post_signup(client, "grace", password=password, invite=await invite_code(hearth)), 201
    )
    wrong = await new_client().post(
        "/api/v1/auth/login", json={"login": "grace", "password": "x" * 72 + "y" * 28}
    )
    await error_of(wrong, 401, "invalid_credentials")


async def test_signup_rate_limit_per_address(tmp_path):
    limits = {"signup_per_address": {"count": 2, "per_seconds": 3600}}
    async with running(tmp_path, registration={"mode": "open"}, limits=limits) as (_, _, client):
        await json_of(await post_signup(client, "ann"), 201)
        await json_of(await post_signup(client, "ben"), 201)
        response = await post_signup(client, "cat")
        await error_of(response, 429, "rate_limited")
        assert int(response.headers["Retry-After"]) > 0
