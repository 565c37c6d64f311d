"""Signed-in devices: listing, revoking one, logging out."""

from __future__ import annotations

from tests.support.app import login, make_user, me_status, signed_in
from tests.support.responses import cookie_attributes, error_of, json_of, set_cookies

SESSIONS = "/api/v1/auth/sessions"


async def sessions_of(client):
    return (await json_of(await client.get(SESSIONS), 200))["sessions"]


async def test_logins_from_two_browsers_are_two_sessions(hearth, new_client):
    await make_user(hearth, "grace")
    laptop, phone = new_client(), new_client()
    first = await login(laptop, "grace", device="Firefox on Linux")
    second = await login(phone, "grace", device="Safari on iPhone")
    listed = await sessions_of(laptop)
    assert {s["id"] for s in listed} == {first["session_id"], second["session_id"]}
    assert [s["id"] for s in listed if s["current"]] == [first["session_id"]]
    assert [s["id"] for s in await sessions_of(phone) if s["current"]] == [second["session_id"]]


async def test_session_list_has_the_protocol_fields(hearth, new_client):
    await make_user(hearth, "grace")
    laptop = new_client()
    issued = await signed_in(hearth, laptop, "grace", device="Firefox on Linux")
    (session,) = await sessions_of(laptop)
    assert set(session) == {"id", "device", "ip", "created_at", "last_used_at", "current"}
    assert session["id"] == issued.session_id
    assert session["device"] == "Firefox on Linux"
    assert session["current"] is True


async def test_session_list_shows_exactly_one_current(hearth, new_client):
    await make_user(hearth, "grace")
    laptop, phone, tablet = new_client(), new_client(), new_client()
    await signed_in(hearth, laptop, "grace")
    mine = await signed_in(hearth, phone, "grace")
    await signed_in(hearth, tablet, "grace")
    listed = await sessions_of(phone)
    assert len(listed) == 3
    assert [s["id"] for s in listed if s["current"]] == [mine.session_id]


async def test_session_list_leaves_out_other_users_sessions(hearth, client, admin, new_client):
    await make_user(hearth, "grace")
    await signed_in(hearth, new_client(), "grace")
    listed = await sessions_of(client)
    assert [s["id"] for s in listed] == [admin["session_id"]]


async def test_revoking_another_device_signs_it_out(hearth, new_client):
    await make_user(hearth, "grace")
    laptop, phone = new_client(), new_client()
    await signed_in(hearth, laptop, "grace")
    lost = await signed_in(hearth, phone, "grace")
    assert await me_status(phone) == 200
    assert (await laptop.delete(f"{SESSIONS}/{lost.session_id}")).status_code == 204
    assert await me_status(phone) == 401
    assert await me_status(laptop) == 200
    assert lost.session_id not in {s["id"] for s in await sessions_of(laptop)}


async def test_revoked_session_answers_session_revoked(hearth, new_client):
    await make_user(hearth, "grace")
    laptop, phone = new_client(), new_client()
    await signed_in(hearth, laptop, "grace")
    lost = await signed_in(hearth, phone, "grace")
    await laptop.delete(f"{SESSIONS}/{lost.session_id}")
    await error_of(await phone.get("/api/v1/me"), 401, "session_revoked")


async def test_revoking_someone_elses_session_is_404(hearth, client, admin, new_client):
    await make_user(hearth, "grace")
    victim = new_client()
    theirs = await signed_in(hearth, victim, "grace")
    await error_of(await client.delete(f"{SESSIONS}/{theirs.session_id}"), 404, "not_found")
    assert await me_status(victim) == 200


async def test_revoking_an_unknown_session_is_404(client, admin):
    await error_of(await client.delete(f"{SESSIONS}/s_nope"), 404, "not_found")


async def test_revoking_an_already_revoked_session_is_404(hearth, new_client):
    await make_user(hearth, "grace")
    laptop, phone = new_client(), new_client()
    await signed_in(hearth, laptop, "grace")
    lost = await signed_in(hearth, phone, "grace")
    assert (await laptop.delete(f"{SESSIONS}/{lost.session_id}")).status_code == 204
    await error_of(await laptop.delete(f"{SESSIONS}/{lost.session_id}"), 404, "not_found")


async def test_sessions_need_authentication(app, admin):
    response = await app.test_client().get(SESSIONS, scheme="https")
    await error_of(response, 401, "unauthenticated")


async def test_logout_clears_the_cookie(client, admin):
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 204
    (header,) = set_cookies(response)
    attributes = cookie_attributes(header)
    assert attributes["hearth_session"] == ""
    assert attributes.get("max-age") == "0" or "1970" in attributes.get("expires", "")
    assert attributes["path"] == "/"


async def test_logout_signs_the_browser_out(client, admin):
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    await error_of(await client.get("/api/v1/me"), 401, "unauthenticated")


async def test_logout_leaves_other_devices_signed_in(hearth, client, admin, new_client):
    other = new_client()
    await signed_in(hearth, other, "admin")
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    assert await me_status(other) == 200


async def test_logout_needs_a_session(app, admin):
    response = await app.test_client().post("/api/v1/auth/logout", scheme="https")
    assert response.status_code == 401
