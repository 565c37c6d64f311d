"""Administration: invites, disabling accounts, admin rights and password reset links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.app import (
    PASSWORD,
    bearer,
    login_response,
    make_user,
    me_status,
    running,
    setup_admin,
    signed_in,
)
from tests.support.responses import error_of, field_error, json_of

NEW_PASSWORD = "reset by the admin"

ADMIN_REQUESTS = [
    ("POST", "/api/v1/admin/invites", {}),
    ("GET", "/api/v1/admin/invites", None),
    ("GET", "/api/v1/admin/users", None),
    ("PATCH", "/api/v1/admin/users/1", {"disabled": True}),
    ("POST", "/api/v1/admin/users/1/reset-link", None),
    ("POST", "/api/v1/admin/users/1/sign-out", None),
    ("DELETE", "/api/v1/admin/invites/somecode", None),
    ("GET", "/api/v1/admin/health", None),
]


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def query_value(url: str, name: str) -> str:
    (value,) = parse_qs(urlsplit(url).query)[name]
    return value


async def member(hearth, new_client, username="grace"):
    """A signed-in non-admin: (client, user id)."""
    user_id = await make_user(hearth, username)
    browser = new_client()
    await signed_in(hearth, browser, username)
    return browser, user_id


async def set_flags(client, user_id, **flags):
    return await client.patch(f"/api/v1/admin/users/{user_id}", json=flags)


async def reset_link(client, user_id):
    body = await json_of(await client.post(f"/api/v1/admin/users/{user_id}/reset-link"), 201)
    return body


async def redeem(client, token, password=NEW_PASSWORD):
    return await client.post("/api/v1/auth/reset", json={"token": token, "password": password})


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_REQUESTS)
async def test_members_get_403_on_admin_endpoints(hearth, admin, new_client, method, path, body):
    browser, _ = await member(hearth, new_client)
    kwargs = {"json": body} if body is not None else {}
    response = await browser.request(method, path, **kwargs)
    await error_of(response, 403, "forbidden")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_REQUESTS)
async def test_strangers_get_401_on_admin_endpoints(app, admin, method, path, body):
    raw = app.test_client()
    kwargs = {"json": body} if body is not None else {}
    response = await raw.open(path, method=method, scheme="https", **kwargs)
    assert response.status_code == 401


async def test_member_cannot_make_themselves_admin(hearth, admin, new_client):
    browser, user_id = await member(hearth, new_client)
    await error_of(await set_flags(browser, user_id, is_admin=True), 403, "forbidden")
    assert (await hearth.accounts.get(user_id)).is_admin is False


# --- invites -------------------------------------------------------------------------------------


async def test_admin_creates_an_invite_link(client, admin):
    response = await client.post("/api/v1/admin/invites", json={"uses": 3, "days": 2})
    body = await json_of(response, 201)
    assert body["max_uses"] == 3
    assert body["uses"] == 0
    assert "/signup?invite=" in body["url"]
    assert query_value(body["url"], "invite") == body["code"]
    expires = parse_time(body["expires_at"])
    expected = datetime.now(UTC) + timedelta(days=2)
    assert abs(expires - expected) < timedelta(minutes=1)


async def test_invite_link_points_at_this_server(client, admin):
    body = await json_of(await client.post("/api/v1/admin/invites", json={}), 201)
    assert body["url"].startswith("https://localhost/signup?invite=")


async def test_invite_and_reset_links_come_at_every_address_people_use(client, admin, hearth):
    """Issue 9: shown with every address, the admin's own first (hearth.local when announced,
    each LAN address, localhost: as `hearth invite create` prints them)."""
    from appliance.net.urls import listening_urls

    everywhere = listening_urls(hearth.config)
    invite = await json_of(await client.post("/api/v1/admin/invites", json={}), 201)
    path = f"/signup?invite={invite['code']}"
    assert invite["urls"][0] == invite["url"] == f"https://localhost{path}"
    assert sorted(set(invite["urls"])) == sorted({invite["url"], *(u + path for u in everywhere)})
    user = await make_user(hearth, "bob")
    link = await json_of(await client.post(f"/api/v1/admin/users/{user}/reset-link"), 201)
    assert link["urls"][0] == link["url"] and len(link["urls"]) == len(invite["urls"])
    assert all("/reset?token=" in url for url in link["urls"])


async def test_invite_link_uses_the_public_url_when_configured(tmp_path):
    async with running(tmp_path, server={"public_url": "https://hearth.example:8443/"}) as (
        _,
        hearth,
        client,
    ):
        await setup_admin(hearth, client)
        body = await json_of(await client.post("/api/v1/admin/invites", json={}), 201)
        assert body["url"] == f"https://hearth.example:8443/signup?invite={body['code']}"


async def test_invite_defaults_to_one_use_and_the_configured_days(client, admin):
    body = await json_of(await client.post("/api/v1/admin/invites", json={}), 201)
    assert body["max_uses"] == 1
    expected = datetime.now(UTC) + timedelta(days=7)
    assert abs(parse_time(body["expires_at"]) - expected) < timedelta(minutes=1)


async def test_created_invite_is_live(client, admin):
    body = await json_of(await client.post("/api/v1/admin/invites", json={"uses": 4}), 201)
    check = await json_of(await client.get(f"/api/v1/invites/{body['code']}"), 200)
    assert check["valid"] is True
    assert check["uses_left"] == 4


async def test_created_invite_lets_someone_sign_up(client, admin, new_client):
    body = await json_of(await client.post("/api/v1/admin/invites", json={}), 201)
    response = await new_client().post(
        "/api/v1/auth/signup",
        json={"username": "grace", "password": PASSWORD, "invite": body["code"]},
    )
    await json_of(response, 201)


@pytest.mark.parametrize(
    ("field", "value"), [("uses", 0), ("uses", 1001), ("days", 0), ("days", 366)]
)
async def test_invite_limits_are_checked(client, admin, field, value):
    await field_error(await client.post("/api/v1/admin/invites", json={field: value}), field)


async def test_admin_lists_invites(client, admin):
    made = await json_of(await client.post("/api/v1/admin/invites", json={"uses": 2}), 201)
    body = await json_of(await client.get("/api/v1/admin/invites"), 200)
    assert made["code"] in [invite["code"] for invite in body["invites"]]


# --- users -------------------------------------------------------------------------------------


async def test_admin_lists_every_user_with_email_and_state(hearth, client, admin):
    grace = await make_user(hearth, "grace")
    await hearth.accounts.update_profile(grace, {"email": "grace@example.org"})
    await hearth.accounts.set_flags(grace, disabled=True)
    body = await json_of(await client.get("/api/v1/admin/users"), 200)
    by_name = {user["username"]: user for user in body["users"]}
    assert set(by_name) == {"admin", "grace"}
    assert by_name["grace"]["disabled"] is True
    assert by_name["grace"]["email"] == "grace@example.org"
    assert by_name["admin"]["disabled"] is False


async def test_disabling_a_user_signs_them_out(hearth, client, admin, new_client):
    browser, user_id = await member(hearth, new_client)
    body = await json_of(await set_flags(client, user_id, disabled=True), 200)
    assert body["disabled"] is True
    assert await me_status(browser) == 401


async def test_disabling_a_user_kills_their_access_token(app, hearth, client, admin, new_client):
    _, user_id = await member(hearth, new_client)
    other = await signed_in(hearth, new_client(), "grace")
    await json_of(await set_flags(client, user_id, disabled=True), 200)
    assert (await bearer(app, "GET", "/api/v1/me", other.access_token)).status_code == 401


async def test_disabled_user_cannot_log_in(hearth, client, admin, new_client):
    _, user_id = await member(hearth, new_client)
    await json_of(await set_flags(client, user_id, disabled=True), 200)
    response = await login_response(new_client(), "grace")
    assert response.status_code == 403


async def test_enabled_again_user_can_log_in(hearth, client, admin, new_client):
    _, user_id = await member(hearth, new_client)
    await json_of(await set_flags(client, user_id, disabled=True), 200)
    assert (await json_of(await set_flags(client, user_id, disabled=False), 200))[
        "disabled"
    ] is False
    await json_of(await login_response(new_client(), "grace"), 200)


async def test_cannot_disable_the_last_admin(hearth, client, admin):
    await error_of(await set_flags(client, admin["user"]["id"], disabled=True), 409, "last_admin")
    assert await me_status(client) == 200


async def test_cannot_demote_the_last_admin(hearth, client, admin):
    await error_of(await set_flags(client, admin["user"]["id"], is_admin=False), 409, "last_admin")
    assert (await hearth.accounts.get(admin["user"]["id"])).is_admin is True


async def test_disabled_admin_does_not_count_as_the_other_admin(hearth, client, admin):
    other = await make_user(hearth, "ops", is_admin=True)
    await json_of(await set_flags(client, other, disabled=True), 200)
    await error_of(await set_flags(client, admin["user"]["id"], disabled=True), 409, "last_admin")


async def test_admin_can_step_down_when_another_admin_exists(hearth, client, admin, new_client):
    browser, grace = await member(hearth, new_client)
    body = await json_of(await set_flags(client, grace, is_admin=True), 200)
    assert body["is_admin"] is True
    await json_of(await set_flags(client, admin["user"]["id"], is_admin=False), 200)
    await error_of(await client.get("/api/v1/admin/users"), 403, "forbidden")
    await json_of(await browser.get("/api/v1/admin/users"), 200)


async def test_flags_for_an_unknown_user_is_404(client, admin):
    await error_of(await set_flags(client, 9999, disabled=True), 404, "not_found")


async def test_flags_must_be_booleans(hearth, client, admin):
    grace = await make_user(hearth, "grace")
    await field_error(await set_flags(client, grace, disabled="yes"), "disabled")
    assert (await hearth.accounts.get(grace)).disabled is False


# --- reset links ----------------------------------------------------------------------------------


async def test_reset_link_is_a_reset_url(hearth, client, admin):
    grace = await make_user(hearth, "grace")
    body = await reset_link(client, grace)
    assert body["url"].startswith("https://localhost/reset?token=")
    assert query_value(body["url"], "token")
    expected = datetime.now(UTC) + timedelta(hours=24)
    assert abs(parse_time(body["expires_at"]) - expected) < timedelta(minutes=1)


async def test_reset_link_for_an_unknown_user_is_404(client, admin):
    await error_of(await client.post("/api/v1/admin/users/9999/reset-link"), 404, "not_found")


async def test_reset_sets_the_new_password(hearth, client, admin, new_client):
    grace = await make_user(hearth, "grace")
    token = query_value((await reset_link(client, grace))["url"], "token")
    assert (await redeem(new_client(), token)).status_code == 204
    assert await hearth.accounts.verify_password(grace, NEW_PASSWORD)
    assert not await hearth.accounts.verify_password(grace, PASSWORD)


async def test_reset_signs_the_user_out_everywhere(hearth, client, admin, new_client):
    browser, grace = await member(hearth, new_client)
    token = query_value((await reset_link(client, grace))["url"], "token")
    assert (await redeem(new_client(), token)).status_code == 204
    assert await me_status(browser) == 401


async def test_reset_password_logs_in_and_the_old_does_not(hearth, client, admin, new_client):
    grace = await make_user(hearth, "grace")
    token = query_value((await reset_link(client, grace))["url"], "token")
    assert (await redeem(new_client(), token)).status_code == 204
    await json_of(await login_response(new_client(), "grace", NEW_PASSWORD), 200)
    await error_of(
        await login_response(new_client(), "grace", PASSWORD), 401, "invalid_credentials"
    )


async def test_reset_link_works_only_once(hearth, client, admin, new_client):
    grace = await make_user(hearth, "grace")
    token = query_value((await reset_link(client, grace))["url"], "token")
    assert (await redeem(new_client(), token)).status_code == 204
    response = await redeem(new_client(), token, password="yet another password")
    await error_of(response, 403, "invalid_token")
    assert await hearth.accounts.verify_password(grace, NEW_PASSWORD)


async def test_expired_reset_link_is_refused(hearth, client, admin, new_client):
    grace = await make_user(hearth, "grace")
    token = query_value((await reset_link(client, grace))["url"], "token")
    async with hearth.db.write() as tx:
        await tx.execute("UPDATE reset_tokens SET expires_at = 0")
    await error_of(await redeem(new_client(), token), 403, "invalid_token")
    assert await hearth.accounts.verify_password(grace, PASSWORD)


async def test_unknown_reset_token_is_refused(admin, new_client):
    await error_of(await redeem(new_client(), "made-up-token"), 403, "invalid_token")


async def test_reset_checks_the_password_rules(hearth, client, admin, new_client):
    grace = await make_user(hearth, "grace")
    token = query_value((await reset_link(client, grace))["url"], "token")
    await field_error(await redeem(new_client(), token, password="short"), "password")
    assert (await redeem(new_client(), token)).status_code == 204


# --- search, sign out everywhere, revoking invites, health (issue 12) ---------------------------


async def test_admin_searches_users_by_name(hearth, client, admin):
    await make_user(hearth, "grace")
    await make_user(hearth, "gregory")
    await make_user(hearth, "linus")
    body = await json_of(await client.get("/api/v1/admin/users?q=GR"), 200)
    assert {user["username"] for user in body["users"]} == {"grace", "gregory"}
    too_long = await client.get("/api/v1/admin/users?q=" + "x" * 101)
    assert too_long.status_code == 400


async def test_sign_out_everywhere_ends_every_session_but_leaves_the_account(
    hearth, client, admin, new_client
):
    browser, user_id = await member(hearth, new_client)
    phone = new_client()
    await signed_in(hearth, phone, "grace")
    body = await json_of(await client.post(f"/api/v1/admin/users/{user_id}/sign-out"), 200)
    assert body == {"sessions_ended": 2}
    assert await me_status(browser) == 401
    assert await me_status(phone) == 401
    assert (await hearth.accounts.get(user_id)).disabled is False
    again = new_client()
    await signed_in(hearth, again, "grace")  # may sign in again
    assert await me_status(again) == 200
    missing = await client.post("/api/v1/admin/users/999999/sign-out")
    await error_of(missing, 404, "not_found")


async def test_a_revoked_invite_no_longer_lets_anyone_sign_up(client, admin, new_client):
    invite = await json_of(await client.post("/api/v1/admin/invites", json={"uses": 5}), 201)
    revoked = await json_of(await client.delete(f"/api/v1/admin/invites/{invite['code']}"), 200)
    assert revoked["revoked"] is True
    check = await client.get(f"/api/v1/invites/{invite['code']}")
    assert check.status_code == 404
    response = await new_client().post(
        "/api/v1/auth/signup",
        json={"username": "grace", "password": PASSWORD, "invite": invite["code"]},
    )
    assert response.status_code in (400, 403, 404)
    listed = await json_of(await client.get("/api/v1/admin/invites"), 200)
    assert [i["revoked"] for i in listed["invites"] if i["code"] == invite["code"]] == [True]
    await error_of(await client.delete("/api/v1/admin/invites/nope"), 404, "not_found")


async def test_admin_health_says_how_the_box_is_doing(hearth, client, admin):
    await make_user(hearth, "grace")
    body = await json_of(await client.get("/api/v1/admin/health"), 200)
    assert body["accounts"] == 2
    assert body["messages"] == 0
    assert body["uptime_seconds"] >= 0
    assert body["disk_free_bytes"] > 0
    assert body["disk_total_bytes"] >= body["disk_free_bytes"]
    assert body["database_bytes"] > 0
    assert body["calls_active"] == 0
    assert body["last_backup"] is None
