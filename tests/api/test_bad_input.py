"""Bodies that are not what the endpoint wants: missing, mistyped, not JSON, too large."""

from __future__ import annotations

import json

import pytest

from tests.support.app import PASSWORD, running
from tests.support.responses import error_of, field_error, text_of

SIGNUP = "/api/v1/auth/signup"
LOGIN = "/api/v1/auth/login"


async def post_raw(client, path, data: bytes, content_type: str):
    return await client.post(path, data=data, headers={"Content-Type": content_type})


async def test_missing_fields_name_each_field(client):
    error = await error_of(await client.post(SIGNUP, json={}), 400, "validation_error")
    assert {"username", "password"} <= {item["loc"] for item in error["fields"]}
    assert all(item["message"] for item in error["fields"])


async def test_missing_password_on_login_names_it(client):
    await field_error(await client.post(LOGIN, json={"login": "ada"}), "password")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"username": 12345, "password": PASSWORD}, "username"),
        ({"username": "grace", "password": 12345678}, "password"),
        ({"username": "grace", "password": PASSWORD, "email": ["a@b.c"]}, "email"),
        ({"username": "grace", "password": PASSWORD, "invite": True}, "invite"),
        ({"username": None, "password": PASSWORD}, "username"),
    ],
)
async def test_wrong_typed_field_is_a_validation_error(client, body, loc):
    await field_error(await client.post(SIGNUP, json=body), loc)


@pytest.mark.parametrize("body", [["grace", PASSWORD], "grace", 42, None, True])
async def test_body_that_is_not_an_object_is_a_validation_error(client, body):
    response = await post_raw(client, SIGNUP, json.dumps(body).encode(), "application/json")
    await error_of(response, 400, "validation_error")


NOT_UTF8 = pytest.param(b'{"username": "gr\xe2ce"}', id="not-utf-8")


@pytest.mark.parametrize(
    "data", [b'{"username": ', b"{'username': 'x'}", b"not json at all", NOT_UTF8]
)
async def test_malformed_json_is_400_malformed_json(client, data):
    await error_of(await post_raw(client, SIGNUP, data, "application/json"), 400, "malformed_json")


async def test_empty_json_body_is_refused(client):
    response = await post_raw(client, SIGNUP, b"", "application/json")
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] in {"malformed_json", "validation_error"}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_non_json_content_type_is_415(client, content_type):
    body = b'{"username": "grace", "password": "correct horse battery"}'
    await error_of(
        await post_raw(client, SIGNUP, body, content_type), 415, "unsupported_media_type"
    )


async def test_missing_content_type_is_415(client):
    response = await client.post(SIGNUP, data=b'{"username": "grace"}')
    await error_of(response, 415, "unsupported_media_type")


async def test_oversized_body_is_413(tmp_path):
    async with running(tmp_path, limits={"max_body_bytes": 2048}) as (_, hearth, client):
        response = await client.post(SIGNUP, json={"username": "grace", "password": "p" * 10_000})
        await error_of(response, 413, "payload_too_large")
        assert await hearth.accounts.list_users() == []


async def test_body_just_under_the_limit_is_read(tmp_path):
    """The 413 above is about size: a body under the limit gets as far as the rules."""
    async with running(tmp_path, limits={"max_body_bytes": 2048}) as (_, _, client):
        response = await client.post(SIGNUP, json={"username": "grace", "password": "p" * 1500})
        await field_error(response, "password")


async def test_oversized_login_is_413(tmp_path):
    async with running(tmp_path, limits={"max_body_bytes": 2048}) as (_, _, client):
        response = await client.post(LOGIN, json={"login": "grace", "password": "p" * 10_000})
        await error_of(response, 413, "payload_too_large")


async def test_overlong_password_field_is_refused_before_hashing(client):
    await field_error(
        await client.post(LOGIN, json={"login": "grace", "password": "p" * 5000}), "password"
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/signup", {}),
        ("/api/v1/auth/login", {"login": 1}),
        ("/api/v1/setup", []),
        ("/api/v1/auth/refresh", {"refresh_token": None}),
        ("/api/v1/auth/reset", {"token": ""}),
    ],
)
async def test_validation_errors_never_leak_a_traceback(client, path, body):
    response = await client.post(path, json=body)
    assert response.status_code == 400
    text = await text_of(response)
    assert "Traceback" not in text
    assert 'File "' not in text


async def test_a_nul_in_the_query_is_a_validation_error(people):
    """Searches and lookups never see one (PostgreSQL text cannot hold it)."""
    ada = await people.one("ada")
    for path in ("/api/v1/search?q=a%00b", "/api/v1/users?q=%00"):
        await error_of(await ada.get(path), 400, "validation_error")
