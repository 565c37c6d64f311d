"""API tokens: Bearer access tokens, expiry, forgery, rotating refresh tokens and replay."""

from __future__ import annotations

import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.support.app import PASSWORD, bearer, running, setup_admin, with_cookie
from tests.support.responses import error_of, json_of, session_cookie

ACCESS_SALT = "hearth.access-token"  # as in appliance/services/sessions.py


def access_token(
    settings, session_id: str, age_seconds: int = 0, secret: bytes | None = None
) -> str:
    """An access token as the server makes them, signed `age_seconds` ago."""

    class AgedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    key = secret if secret is not None else (settings.data_dir / "secret.key").read_bytes()
    return URLSafeTimedSerializer(key, salt=ACCESS_SALT, signer=AgedSigner).dumps(session_id)


async def refresh(client, token):
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def setup_with_cookie(hearth, client):
    """Set up the first admin; return the login result and the cookie value it set."""
    token = await hearth.accounts.setup_token()
    response = await client.post(
        "/api/v1/setup", json={"token": token, "username": "admin", "password": PASSWORD}
    )
    return await json_of(response, 201), session_cookie(response)


# --- Bearer access tokens ---------------------------------------------------------------------


async def test_bearer_token_works_without_a_cookie(app, admin):
    body = await json_of(await bearer(app, "GET", "/api/v1/me", admin["access_token"]), 200)
    assert body["username"] == "admin"


async def test_bearer_write_needs_no_origin(app, admin):
    response = await bearer(
        app, "PATCH", "/api/v1/me", admin["access_token"], json={"bio": "from a script"}
    )
    assert (await json_of(response, 200))["bio"] == "from a script"


async def test_bearer_post_needs_no_origin(app, admin):
    response = await bearer(app, "POST", "/api/v1/admin/invites", admin["access_token"], json={})
    assert response.status_code == 201, await response.get_data(as_text=True)


async def test_request_without_credentials_is_401(app, admin):
    response = await app.test_client(use_cookies=False).get("/api/v1/me", scheme="https")
    await error_of(response, 401, "unauthenticated")


async def test_other_authorization_schemes_are_refused(app, admin):
    response = await app.test_client(use_cookies=False).get(
        "/api/v1/me", scheme="https", headers={"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="}
    )
    assert response.status_code == 401


async def test_token_made_like_the_server_does_is_accepted(app, settings, admin):
    """The token factory below is right: a fresh one works, so the refusals that follow mean something."""
    token = access_token(settings, admin["session_id"])
    await json_of(await bearer(app, "GET", "/api/v1/me", token), 200)


async def test_expired_access_token_is_refused(app, settings, admin):
    token = access_token(settings, admin["session_id"], age_seconds=15 * 60 + 5)
    await error_of(await bearer(app, "GET", "/api/v1/me", token), 401, "token_expired")


async def test_access_token_just_inside_its_lifetime_is_accepted(app, settings, admin):
    token = access_token(settings, admin["session_id"], age_seconds=15 * 60 - 30)
    await json_of(await bearer(app, "GET", "/api/v1/me", token), 200)


async def test_access_token_lifetime_follows_the_config(tmp_path):
    async with running(tmp_path, auth={"access_token_minutes": 1}) as (app, hearth, client):
        login = await setup_admin(hearth, client)
        assert login["expires_in"] == 60
        token = access_token(hearth.config, login["session_id"], age_seconds=65)
        await error_of(await bearer(app, "GET", "/api/v1/me", token), 401, "token_expired")


async def test_tampered_signature_is_refused(app, admin):
    token = admin["access_token"]
    payload, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    forged = f"{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    assert forged != token
    response = await bearer(app, "GET", "/api/v1/me", forged)
    assert response.status_code == 401
    assert (await response.get_json())["error"]["code"] != "token_expired"


async def test_token_signed_with_another_key_is_refused(app, settings, admin):
    forged = access_token(settings, admin["session_id"], secret=b"x" * 32)
    assert (await bearer(app, "GET", "/api/v1/me", forged)).status_code == 401


async def test_session_cookie_is_not_an_access_token(app, hearth, client):
    """The cookie and the access token are signed for different purposes (salts)."""
    _, cookie = await setup_with_cookie(hearth, client)
    assert (await bearer(app, "GET", "/api/v1/me", cookie)).status_code == 401


async def test_refresh_token_is_not_an_access_token(app, admin):
    assert (await bearer(app, "GET", "/api/v1/me", admin["refresh_token"])).status_code == 401


# --- refresh ------------------------------------------------------------------------------------


async def test_refresh_rotates_both_tokens(app, client, admin):
    body = await json_of(await refresh(client, admin["refresh_token"]), 200)
    assert set(body) == {"session_id", "access_token", "refresh_token", "expires_in"}
    assert body["session_id"] == admin["session_id"]
    assert body["refresh_token"] != admin["refresh_token"]
    assert body["access_token"]
    assert body["expires_in"] == 900
    await json_of(await bearer(app, "GET", "/api/v1/me", body["access_token"]), 200)


async def test_refresh_needs_no_cookie_and_no_origin(app, admin):
    response = await app.test_client(use_cookies=False).post(
        "/api/v1/auth/refresh", json={"refresh_token": admin["refresh_token"]}, scheme="https"
    )
    await json_of(response, 200)


async def test_new_refresh_token_works_again(client, admin):
    second = await json_of(await refresh(client, admin["refresh_token"]), 200)
    third = await json_of(await refresh(client, second["refresh_token"]), 200)
    assert third["refresh_token"] not in {admin["refresh_token"], second["refresh_token"]}


async def test_unknown_refresh_token_is_refused(client, admin):
    response = await refresh(client, "not-a-refresh-token")
    assert response.status_code == 401


async def test_reused_refresh_token_is_refused(client, admin):
    await json_of(await refresh(client, admin["refresh_token"]), 200)
    await error_of(await refresh(client, admin["refresh_token"]), 401, "token_reused")


async def test_reused_refresh_token_revokes_the_session(app, client, admin):
    rotated = await json_of(await refresh(client, admin["refresh_token"]), 200)
    await error_of(await refresh(client, admin["refresh_token"]), 401, "token_reused")
    assert (await bearer(app, "GET", "/api/v1/me", rotated["access_token"])).status_code == 401
    assert (await bearer(app, "GET", "/api/v1/me", admin["access_token"])).status_code == 401
    assert (await refresh(client, rotated["refresh_token"])).status_code == 401


async def test_reused_refresh_token_signs_the_browser_out_too(app, hearth, client):
    login, cookie = await setup_with_cookie(hearth, client)
    await json_of(await refresh(client, login["refresh_token"]), 200)
    await error_of(await refresh(client, login["refresh_token"]), 401, "token_reused")
    assert (await with_cookie(app, "GET", "/api/v1/me", cookie)).status_code == 401


async def test_refresh_after_logout_is_refused(app, client, admin):
    await bearer(app, "POST", "/api/v1/auth/logout", admin["access_token"])
    assert (await refresh(client, admin["refresh_token"])).status_code == 401


# --- logout -------------------------------------------------------------------------------------


async def test_logout_revokes_cookie_and_access_token(app, hearth, client):
    login, cookie = await setup_with_cookie(hearth, client)
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    assert (await with_cookie(app, "GET", "/api/v1/me", cookie)).status_code == 401
    assert (await bearer(app, "GET", "/api/v1/me", login["access_token"])).status_code == 401


async def test_logout_by_bearer_ends_the_session(app, admin):
    response = await bearer(app, "POST", "/api/v1/auth/logout", admin["access_token"])
    assert response.status_code == 204
    assert (await bearer(app, "GET", "/api/v1/me", admin["access_token"])).status_code == 401
