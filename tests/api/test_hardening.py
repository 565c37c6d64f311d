"""Issue 13's REST edge: nested JSON of any depth, unknown paths whatever the method, HSTS, the
harmless default of DELETE /messages/{id}, and invite links pasted whole into sign-up."""

from __future__ import annotations

import pytest

from appliance.api.jsontext import MAX_DEPTH
from tests.support.app import PASSWORD, login, make_user
from tests.support.people import AppPerson as Person
from tests.support.responses import error_of, json_of

DEEP = 5000
NESTED = {
    "arrays": "[" * DEEP + "]" * DEEP,
    "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "mixed": '{"a":[' * DEEP + "]}" * DEEP,
    "unclosed": "[" * DEEP,
    "in-a-field": '{"username": ' + "[" * DEEP + "]" * DEEP + "}",
}


# --- bad JSON of any shape is a 400 -------------------------------------------------------------


@pytest.mark.parametrize("text", NESTED.values(), ids=NESTED.keys())
@pytest.mark.parametrize(
    "path", ["/api/v1/auth/login", "/api/v1/auth/signup", "/api/v1/setup", "/api/v1/chats"]
)
async def test_deeply_nested_json_is_a_400(client, admin, path, text):
    response = await client.post(
        path, data=text.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, await response.get_data(as_text=True)
    assert (await response.get_json())["error"]["code"] in {"malformed_json", "validation_error"}


async def test_deeply_nested_json_on_a_patch_is_a_400(client, admin):
    response = await client.patch(
        "/api/v1/me", data=NESTED["objects"].encode(), headers={"Content-Type": "application/json"}
    )
    await error_of(response, 400, "malformed_json")


async def test_nesting_within_the_depth_limit_is_still_a_validation_error(client):
    """Up to jsontext.MAX_DEPTH the JSON parses and the model refuses it; one level more is
    malformed, on every Python (3.12+ would parse 5,000 levels, 3.11 not)."""
    for depth, code in ((MAX_DEPTH - 1, "validation_error"), (MAX_DEPTH, "malformed_json")):
        text = '{"login": ' + "[" * depth + "]" * depth + ', "password": "x"}'
        response = await client.post(
            "/api/v1/auth/login", data=text.encode(), headers={"Content-Type": "application/json"}
        )
        await error_of(response, 400, code)


# --- unknown paths are 404 whatever the method; real routes keep their 405 -----------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/nope/deeper", "/no-such-file.js"])
async def test_an_unknown_path_is_404_whatever_the_method(client, method, path):
    response = await client.request(method, path)
    await error_of(response, 404, "not_found")


async def test_a_path_too_long_for_a_file_name_is_404(client):
    await error_of(await client.get("/" + "a" * 5000 + ".js"), 404, "not_found")
    await error_of(await client.get("/chats/" + "9" * 5000), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/info", "GET"),
        ("POST", "/api/v1/me", "GET"),
        ("GET", "/api/v1/auth/logout", "POST"),
        ("PUT", "/api/v1/chats", "POST"),
        ("POST", "/login", "GET"),
    ],
)
async def test_a_real_route_with_the_wrong_method_is_405(client, method, path, allowed):
    response = await client.request(method, path)
    await error_of(response, 405, "method_not_allowed")
    assert allowed in response.headers["Allow"]


# --- HSTS ---------------------------------------------------------------------------------------

YEAR = 365 * 24 * 3600


@pytest.mark.parametrize("path", ["/api/v1/info", "/", "/api/v1/nope", "/openapi.json"])
async def test_https_responses_carry_hsts_for_a_year(client, path):
    response = await client.get(path)
    assert response.headers["Strict-Transport-Security"] == f"max-age={YEAR}"


async def test_hsts_is_not_sent_over_plain_http(app):
    response = await app.test_client().get("/api/v1/info", scheme="http")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


# --- DELETE /messages/{id} without `for` hides it for the caller only ------------------------------


async def test_delete_without_for_deletes_for_me_only(hearth, client, new_client, admin):
    ada = Person(admin["user"]["id"], "admin", client)
    bob_client = new_client()
    bob_id = await make_user(hearth, "bob")
    await login(bob_client, "bob")
    bob = Person(bob_id, "bob", bob_client)
    chat = await json_of(await ada.post("/chats", json={"kind": "direct", "user_id": bob.id}), 201)
    message = await ada.send(chat["id"], "oops")

    response = await ada.delete(f"/messages/{message['id']}")
    assert response.status_code == 204

    mine = await json_of(await ada.get(f"/chats/{chat['id']}/messages"), 200)
    theirs = await json_of(await bob.get(f"/chats/{chat['id']}/messages"), 200)
    assert message["id"] not in [m["id"] for m in mine["messages"]]
    (seen,) = [m for m in theirs["messages"] if m["id"] == message["id"]]
    assert not seen["deleted"] and seen["body"] == "oops"


async def test_delete_for_everyone_still_says_so(hearth, client, admin):
    ada = Person(admin["user"]["id"], "admin", client)
    chat = await json_of(await ada.post("/chats", json={"kind": "group", "title": "Notes"}), 201)
    message = await ada.send(chat["id"], "gone")
    response = await ada.delete(f"/messages/{message['id']}", query_string={"for": "everyone"})
    assert response.status_code == 204
    page = await json_of(await ada.get(f"/chats/{chat['id']}/messages"), 200)
    (gone,) = [m for m in page["messages"] if m["id"] == message["id"]]
    assert gone["deleted"]


# --- sign-up takes the invite link as people have it ------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "{code}",
        "  {code} ",
        "https://hearth.local:8443/signup?invite={code}",
        "https://192.168.1.20/signup?invite={code}&from=mail",
        "/signup?invite={code}",
        "signup?invite={code}",
    ],
)
async def test_signup_takes_the_code_or_the_link(hearth, client, given):
    invite = await hearth.accounts.create_invite(None)
    response = await client.post(
        "/api/v1/auth/signup",
        json={"username": "grace", "password": PASSWORD, "invite": given.format(code=invite.code)},
    )
    body = await json_of(response, 201)
    assert body["user"]["username"] == "grace"


@pytest.mark.parametrize(
    "given", ["https://hearth.local/signup?invite=nope", "https://hearth.local/signup", "nope"]
)
async def test_a_link_without_a_good_code_is_an_invalid_invite(hearth, client, given):
    await hearth.accounts.create_invite(None)
    response = await client.post(
        "/api/v1/auth/signup", json={"username": "grace", "password": PASSWORD, "invite": given}
    )
    await error_of(response, 403, "invalid_invite")


async def test_the_link_an_admin_makes_is_accepted_as_is(client, new_client, admin):
    invite = await json_of(await client.post("/api/v1/admin/invites", json={}), 201)
    response = await new_client().post(
        "/api/v1/auth/signup",
        json={"username": "grace", "password": PASSWORD, "invite": invite["url"]},
    )
    await json_of(response, 201)
