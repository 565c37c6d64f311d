"""Login by username or email, wrong credentials and disabled accounts."""

from __future__ import annotations

from tests.support.app import login, login_response, make_user, me_status, setup_admin
from tests.support.responses import error_of, json_of, session_cookie


async def test_login_by_username(hearth, client, new_client):
    await make_user(hearth, "grace")
    other = new_client()
    response = await login_response(other, "grace")
    body = await json_of(response, 200)
    assert body["user"]["username"] == "grace"
    assert body["access_token"] and body["refresh_token"] and body["session_id"]
    assert body["expires_in"] == 900
    assert session_cookie(response)
    assert await me_status(other) == 200


async def test_login_by_username_ignores_case(hearth, client):
    await make_user(hearth, "grace")
    body = await login(client, "GRACE")
    assert body["user"]["username"] == "grace"


async def test_login_by_email(hearth, client, admin, new_client):
    response = await client.patch("/api/v1/me", json={"email": "admin@example.org"})
    await json_of(response, 200)
    body = await login(new_client(), "admin@example.org")
    assert body["user"]["username"] == "admin"
    assert body["user"]["email"] == "admin@example.org"


async def test_login_by_email_ignores_case(hearth, client, admin, new_client):
    await json_of(await client.patch("/api/v1/me", json={"email": "admin@example.org"}), 200)
    body = await login(new_client(), "Admin@Example.org")
    assert body["user"]["username"] == "admin"


async def test_login_records_the_device(hearth, client):
    await make_user(hearth, "grace")
    await login(client, "grace", device="Firefox on Linux")
    sessions = await json_of(await client.get("/api/v1/auth/sessions"), 200)
    assert [s["device"] for s in sessions["sessions"]] == ["Firefox on Linux"]


async def test_wrong_password_is_refused(hearth, client):
    await make_user(hearth, "grace")
    response = await login_response(client, "grace", "wrong password")
    await error_of(response, 401, "invalid_credentials")
    assert not response.headers.getlist("Set-Cookie")
    assert await me_status(client) == 401


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(hearth, client):
    await make_user(hearth, "grace")
    wrong = await error_of(
        await login_response(client, "grace", "wrong password"), 401, "invalid_credentials"
    )
    unknown = await error_of(await login_response(client, "nobody"), 401, "invalid_credentials")
    assert unknown == wrong


async def test_disabled_user_cannot_log_in(hearth, client):
    user_id = await make_user(hearth, "grace")
    await hearth.accounts.set_flags(user_id, disabled=True)
    response = await login_response(client, "grace")
    assert response.status_code == 403
    assert not response.headers.getlist("Set-Cookie")


async def test_disabled_user_with_a_wrong_password_learns_nothing_more(hearth, client):
    user_id = await make_user(hearth, "grace")
    await hearth.accounts.set_flags(user_id, disabled=True)
    await error_of(
        await login_response(client, "grace", "wrong password"), 401, "invalid_credentials"
    )


async def test_login_after_setup_works_from_another_browser(hearth, client, new_client):
    await setup_admin(hearth, client, username="ada")
    body = await login(new_client(), "ada")
    assert body["user"]["is_admin"] is True
