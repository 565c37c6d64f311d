"""The app in-process (`async with app.test_app()`, then its test client): settings for tests, a
browser-like client, requests with other credentials, and accounts made the operator's way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol

from appliance.app import create_app
from appliance.config import Settings, parse
from appliance.context import Hearth
from tests.support.responses import COOKIE, json_of
from tests.support.server import config_dict

ORIGIN = "https://localhost"
PASSWORD = "correct horse battery"


def make_settings(data_dir: Path, **sections: Any) -> Settings:
    """Test settings: fast bcrypt, no mDNS, everything else as shipped unless overridden."""
    return parse(config_dict(data_dir, **sections))


class Client:
    """A browser-like API client: HTTPS scheme, our Origin on writes, a cookie jar."""

    def __init__(self, app: Quart) -> None:
        self.raw: TestClientProtocol = app.test_client()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if method in {"POST", "PUT", "PATCH", "DELETE"}:
            headers.setdefault("Origin", ORIGIN)
        return await self.raw.open(path, method=method, headers=headers, scheme="https", **kwargs)

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)


@asynccontextmanager
async def running(tmp_path: Path, **sections: Any) -> AsyncIterator[tuple[Quart, Hearth, Client]]:
    """A real app on its own data folder with config overrides, started and stopped."""
    app = create_app(make_settings(tmp_path / "data", **sections))
    async with app.test_app():
        context: Hearth = app.extensions["hearth"]
        yield app, context, Client(app)


# --- requests with other credentials -----------------------------------------------------------


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
        headers.setdefault("Origin", ORIGIN)
    return await bare(app, method, path, headers=headers, **kwargs)


# --- accounts and sign-in ----------------------------------------------------------------------


async def setup_admin(hearth: Hearth, client: Client, username: str = "admin") -> dict[str, Any]:
    token = await hearth.accounts.setup_token()
    response = await client.post(
        "/api/v1/setup", json={"token": token, "username": username, "password": PASSWORD}
    )
    assert response.status_code == 201, await response.get_data()
    body: dict[str, Any] = await response.get_json()
    return body


async def make_user(hearth: Hearth, username: str, password: str = PASSWORD, **flags: Any) -> int:
    """An account made the operator's way (no HTTP, no session, no rate limit)."""
    user = await hearth.accounts.create_user(
        username, password, is_admin=flags.get("is_admin", False)
    )
    return user.id


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


async def me_status(client: Client) -> int:
    response = await client.get("/api/v1/me")
    status: int = response.status_code
    return status
