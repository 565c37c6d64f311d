"""Helpers shared by the accounts-slice API tests (tests/api/test_*.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from quart import Quart

from appliance.app import create_app
from appliance.context import Hearth
from tests.conftest import PASSWORD, Client, make_settings

COOKIE = "hearth_session"


# --- apps with other settings ---------------------------------------------------------------


@asynccontextmanager
async def running(tmp_path: Path, **sections: Any) -> AsyncIterator[tuple[Quart, Hearth, Client]]:
    """A real app on its own data folder with config overrides, started and stopped."""
    app = create_app(make_settings(tmp_path / "data", **sections))
    async with app.test_app():
        context: Hearth = app.extensions["hearth"]
        yield app, context, Client(app)


# --- responses ------------------------------------------------------------------------------


async def text_of(response: Any) -> str:
    data: str = await response.get_data(as_text=True)
    return data


async def json_of(response: Any, status: int) -> Any:
    """The JSON body, after checking the status (the body is shown when it is wrong)."""
    assert response.status_code == status, await text_of(response)
    return await response.get_json()


async def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check the one error shape of the protocol and return the inner `error` object."""
    body = await json_of(response, status)
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    return error


async def field_error(response: Any, loc: str) -> dict[str, Any]:
    """A 400 validation_error whose fields name `loc`."""
    error = await error_of(response, 400, "validation_error")
    assert loc in [item["loc"] for item in error["fields"]], error
    return error


def set_cookies(response: Any) -> list[str]:
    return [
        value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{COOKIE}=")
    ]


def cookie_attributes(header: str) -> dict[str, str]:
    """'name=value; Secure; SameSite=Lax' -> {'name': 'value', 'secure': '', 'samesite': 'Lax'}."""
    parts = [part.strip() for part in header.split(";")]
    name, _, value = parts[0].partition("=")
    attributes = {name: value}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val
    return attributes


def session_cookie(response: Any) -> str:
    """The value of the hearth_session cookie a response sets."""
    (header,) = set_cookies(response)
    value = cookie_attributes(header)[COOKIE]
    assert value
    return value


# --- requests ---------------------------------------------------------------------------------


async def bare(app: Quart, method: str, path: str, **kwargs: Any) -> Any:
    """A request from a fresh, non-browser client: no cookie jar, no Origin unless given."""
    raw = app.test_client(use_cookies=False)
    headers = dict(kwargs.pop("headers", {}) or {})
    return await raw.open(path, method=method, headers=headers, scheme="https", **kwargs)


async def bearer(app: Quart, method: str, path: str, token: str, **kwargs: Any) -> Any:
    """An API client with an access token: no cookie, no Origin."""
    headers = dict(kwargs.pop("headers", {}) or {})
    headers["Authorization"] = f"Bearer {token}"
    return await bare(app, method, path, headers=headers, **kwargs)


async def with_cookie(app: Quart, method: str, path: str, cookie: str, **kwargs: Any) -> Any:
    """A request carrying a given session cookie value (and our Origin on writes)."""
    headers = dict(kwargs.pop("headers", {}) or {})
    headers["Cookie"] = f"{COOKIE}={cookie}"
    if method in {"POST", "PUT", "PATCH", "DELETE"}:
        headers.setdefault("Origin", "https://localhost")
    return await bare(app, method, path, headers=headers, **kwargs)


async def login(
    client: Client, name: str, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/login", json={"login": name, "password": password, **extra}
    )
    body: dict[str, Any] = await json_of(response, 200)
    return body


async def login_response(client: Client, name: str, password: str = PASSWORD) -> Any:
    return await client.post("/api/v1/auth/login", json={"login": name, "password": password})


async def make_user(hearth: Hearth, username: str, password: str = PASSWORD, **flags: Any) -> int:
    """An account made the operator's way (no HTTP, no session, no rate limit)."""
    user = await hearth.accounts.create_user(
        username, password, is_admin=flags.get("is_admin", False)
    )
    return user.id


async def me_status(client: Client) -> int:
    response = await client.get("/api/v1/me")
    status: int = response.status_code
    return status


async def signed_in(
    hearth: Hearth, client: Client, username: str, device: str = "Test browser"
) -> Any:
    """Sign `username` in on `client` without the login endpoint: start a session through the
    sessions service and put its cookie in the client's jar. Returns the IssuedSession (ids and
    tokens). For tests about what sessions do, not about how logins are checked."""
    user = await hearth.accounts.get_by_username(username)
    issued = await hearth.sessions.start(user, device, "127.0.0.1")
    client.raw.set_cookie("localhost", COOKIE, issued.cookie)
    return issued
