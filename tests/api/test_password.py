"""Changing your password: the current one is checked, every other session ends."""

from __future__ import annotations

from tests.support.app import PASSWORD, login_response, make_user, me_status, signed_in
from tests.support.responses import error_of, field_error, json_of

NEW_PASSWORD = "a brand new passphrase"
CHANGE = "/api/v1/me/password"


async def change(client, current=PASSWORD, new=NEW_PASSWORD):
    return await client.post(CHANGE, json={"current_password": current, "new_password": new})


async def test_wrong_current_password_is_refused(hearth, client, admin):
    response = await change(client, current="not my password")
    error = await field_error(response, "current_password")
    assert error["fields"][0]["loc"] == "current_password"
    assert await hearth.accounts.verify_password(admin["user"]["id"], PASSWORD)


async def test_too_short_new_password_is_refused(hearth, client, admin):
    await field_error(await change(client, new="short"), "new_password")
    assert await hearth.accounts.verify_password(admin["user"]["id"], PASSWORD)


async def test_too_long_new_password_is_refused(hearth, client, admin):
    await field_error(await change(client, new="p" * 257), "new_password")


async def test_missing_fields_are_a_validation_error(client, admin):
    response = await client.post(CHANGE, json={"new_password": NEW_PASSWORD})
    await field_error(response, "current_password")


async def test_change_answers_204_and_sets_the_password(hearth, client, admin):
    response = await change(client)
    assert response.status_code == 204
    user_id = admin["user"]["id"]
    assert await hearth.accounts.verify_password(user_id, NEW_PASSWORD)
    assert not await hearth.accounts.verify_password(user_id, PASSWORD)


async def test_change_signs_out_every_other_session(hearth, client, admin, new_client):
    phone, tablet = new_client(), new_client()
    await signed_in(hearth, phone, "admin")
    await signed_in(hearth, tablet, "admin")
    assert (await change(client)).status_code == 204
    assert await me_status(phone) == 401
    assert await me_status(tablet) == 401


async def test_change_keeps_the_current_session(hearth, client, admin):
    assert (await change(client)).status_code == 204
    assert await me_status(client) == 200
    sessions = (await json_of(await client.get("/api/v1/auth/sessions"), 200))["sessions"]
    assert [s["id"] for s in sessions] == [admin["session_id"]]


async def test_change_leaves_other_users_signed_in(hearth, client, admin, new_client):
    await make_user(hearth, "grace")
    grace = new_client()
    await signed_in(hearth, grace, "grace")
    assert (await change(client)).status_code == 204
    assert await me_status(grace) == 200


async def test_login_uses_the_new_password(hearth, client, admin, new_client):
    assert (await change(client)).status_code == 204
    await json_of(await login_response(new_client(), "admin", NEW_PASSWORD), 200)


async def test_login_with_the_old_password_fails(hearth, client, admin, new_client):
    assert (await change(client)).status_code == 204
    await error_of(
        await login_response(new_client(), "admin", PASSWORD), 401, "invalid_credentials"
    )


async def test_change_needs_authentication(app, admin):
    response = await app.test_client().post(
        CHANGE, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, scheme="https"
    )
    assert response.status_code == 401
