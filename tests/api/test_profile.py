"""Your profile (/me) and other people (/users)."""

from __future__ import annotations

import pytest

from tests.support.app import make_user, signed_in
from tests.support.responses import error_of, field_error, json_of

ME = "/api/v1/me"
# One user shape everywhere: last_seen_at is always there, and null on public profiles.
PUBLIC_FIELDS = {
    "id", "username", "display_name", "bio", "status_text", "is_admin", "created_at",
    "last_seen_at", "avatar_url",
}  # fmt: skip


async def patch_me(client, **changes):
    return await client.patch(ME, json=changes)


async def user_named(hearth, username, display_name=None, **flags):
    user_id = await make_user(hearth, username, **flags)
    if display_name is not None:
        await hearth.accounts.update_profile(user_id, {"display_name": display_name})
    return user_id


async def search(client, query, **params):
    response = await client.get("/api/v1/users", query_string={"q": query, **params})
    return [user["username"] for user in (await json_of(response, 200))["users"]]


# --- /me -----------------------------------------------------------------------------------------


async def test_me_has_the_protocol_fields(client, admin):
    body = await json_of(await client.get(ME), 200)
    assert PUBLIC_FIELDS | {"email"} <= set(body)
    assert body["email"] is None
    assert body["id"] == admin["user"]["id"]


async def test_me_needs_authentication(app, admin):
    response = await app.test_client().get(ME, scheme="https")
    await error_of(response, 401, "unauthenticated")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", "Ada Lovelace"),
        ("bio", "Writes programs\nfor engines."),
        ("status_text", "At the mill"),
        ("email", "ada@example.org"),
    ],
)
async def test_patch_me_sets_a_field(client, admin, field, value):
    body = await json_of(await patch_me(client, **{field: value}), 200)
    assert body[field] == value
    assert (await json_of(await client.get(ME), 200))[field] == value


async def test_patch_me_changes_only_the_fields_given(client, admin):
    await json_of(await patch_me(client, bio="first", status_text="busy"), 200)
    body = await json_of(await patch_me(client, bio="second"), 200)
    assert body["bio"] == "second"
    assert body["status_text"] == "busy"


async def test_patch_me_trims_surrounding_spaces(client, admin):
    body = await json_of(await patch_me(client, display_name="  Ada  "), 200)
    assert body["display_name"] == "Ada"


@pytest.mark.parametrize(
    ("field", "limit"), [("display_name", 64), ("bio", 500), ("status_text", 140)]
)
async def test_text_at_its_limit_is_accepted(client, admin, field, limit):
    body = await json_of(await patch_me(client, **{field: "x" * limit}), 200)
    assert body[field] == "x" * limit


@pytest.mark.parametrize(
    ("field", "limit"), [("display_name", 64), ("bio", 500), ("status_text", 140)]
)
async def test_text_over_its_limit_is_refused(client, admin, field, limit):
    await field_error(await patch_me(client, **{field: "x" * (limit + 1)}), field)
    assert (await json_of(await client.get(ME), 200))[field] != "x" * (limit + 1)


@pytest.mark.parametrize("text", ["nul\x00byte", "bell\x07", "\x1b[31mred", "back\x08space"])
async def test_control_characters_are_refused(client, admin, text):
    await field_error(await patch_me(client, display_name=text), "display_name")


@pytest.mark.parametrize("text", ["del\x7f", "csi\x9b31m"])
async def test_del_and_c1_control_characters_are_refused(client, admin, text):
    await field_error(await patch_me(client, status_text=text), "status_text")


async def test_malformed_email_is_refused(client, admin):
    await field_error(await patch_me(client, email="not an email"), "email")


async def test_email_taken_by_someone_else_is_refused(hearth, client, admin, new_client):
    await make_user(hearth, "grace")
    grace = new_client()
    await signed_in(hearth, grace, "grace")
    await json_of(await patch_me(grace, email="grace@example.org"), 200)
    await error_of(await patch_me(client, email="GRACE@example.org"), 409, "email_taken")


@pytest.mark.parametrize("cleared", [None, ""])
async def test_email_can_be_cleared(client, admin, cleared):
    await json_of(await patch_me(client, email="ada@example.org"), 200)
    body = await json_of(await patch_me(client, email=cleared), 200)
    assert body["email"] is None


@pytest.mark.parametrize("field", ["display_name", "bio", "status_text"])
async def test_null_text_field_is_not_a_server_error(client, admin, field):
    response = await patch_me(client, **{field: None})
    assert response.status_code in {200, 400}, await response.get_data(as_text=True)


async def test_patch_me_cannot_make_you_an_admin_or_rename_you(hearth, admin, new_client):
    await make_user(hearth, "grace")
    grace = new_client()
    await signed_in(hearth, grace, "grace")
    response = await patch_me(grace, is_admin=True, username="root", disabled=False, bio="hi")
    body = await json_of(response, 200)
    assert body["is_admin"] is False
    assert body["username"] == "grace"
    stored = await hearth.accounts.get_by_username("grace")
    assert stored.is_admin is False


async def test_patch_me_with_a_number_is_a_validation_error(client, admin):
    await field_error(await patch_me(client, bio=42), "bio")


# --- /users ---------------------------------------------------------------------------------------


async def test_search_finds_by_username_prefix(hearth, client, admin):
    await user_named(hearth, "grace")
    await user_named(hearth, "gregory")
    await user_named(hearth, "linus")
    assert await search(client, "gr") == ["grace", "gregory"]
    assert await search(client, "gra") == ["grace"]


async def test_search_ignores_case(hearth, client, admin):
    await user_named(hearth, "grace")
    assert await search(client, "GRA") == ["grace"]


async def test_search_finds_by_display_name_word_prefix(hearth, client, admin):
    await user_named(hearth, "ghop", display_name="Grace Brewster Hopper")
    await user_named(hearth, "linus", display_name="Linus T")
    assert await search(client, "hop") == ["ghop"]
    assert await search(client, "brew") == ["ghop"]
    assert await search(client, "grace") == ["ghop"]


async def test_search_does_not_match_inside_a_word(hearth, client, admin):
    await user_named(hearth, "ghop", display_name="Grace Hopper")
    assert await search(client, "opper") == []
    assert await search(client, "race") == []


async def test_search_treats_like_wildcards_literally(hearth, client, admin):
    await user_named(hearth, "grace")
    assert await search(client, "%") == []
    assert await search(client, "g_ace") == []


async def test_search_leaves_out_disabled_users(hearth, client, admin):
    grace = await user_named(hearth, "grace")
    await user_named(hearth, "gregory")
    await hearth.accounts.set_flags(grace, disabled=True)
    assert await search(client, "gr") == ["gregory"]


async def test_search_results_are_public_profiles(hearth, client, admin):
    grace = await user_named(hearth, "grace")
    await hearth.accounts.update_profile(grace, {"email": "grace@example.org"})
    response = await client.get("/api/v1/users", query_string={"q": "grace"})
    (user,) = (await json_of(response, 200))["users"]
    assert set(user) == PUBLIC_FIELDS
    assert user["last_seen_at"] is None
    assert "grace@example.org" not in await response.get_data(as_text=True)


async def test_search_with_an_empty_query_finds_nobody(hearth, client, admin):
    await user_named(hearth, "grace")
    assert await search(client, "") == []


async def test_search_honours_the_limit(hearth, client, admin):
    for name in ("ann", "anna", "annie"):
        await user_named(hearth, name)
    assert await search(client, "ann", limit=2) == ["ann", "anna"]


@pytest.mark.parametrize("limit", ["0", "51", "many"])
async def test_search_refuses_a_bad_limit(client, admin, limit):
    response = await client.get("/api/v1/users", query_string={"q": "a", "limit": limit})
    await field_error(response, "limit")


async def test_search_needs_authentication(app, hearth, admin):
    await user_named(hearth, "grace")
    response = await app.test_client().get("/api/v1/users?q=gr", scheme="https")
    await error_of(response, 401, "unauthenticated")


async def test_get_user_returns_a_public_profile(hearth, client, admin):
    grace = await user_named(hearth, "grace", display_name="Grace Hopper")
    await hearth.accounts.update_profile(grace, {"email": "grace@example.org"})
    body = await json_of(await client.get(f"/api/v1/users/{grace}"), 200)
    assert set(body) == PUBLIC_FIELDS
    assert body["last_seen_at"] is None
    assert body["username"] == "grace"
    assert body["display_name"] == "Grace Hopper"
    assert body["is_admin"] is False


async def test_get_unknown_user_is_404(client, admin):
    await error_of(await client.get("/api/v1/users/9999"), 404, "not_found")


async def test_get_user_needs_authentication(app, admin):
    response = await app.test_client().get(f"/api/v1/users/{admin['user']['id']}", scheme="https")
    assert response.status_code == 401
