"""Shared fixtures: real SQLite files in a temp folder, the real app with startup/shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from appliance.app import create_app
from appliance.clock import Clock
from appliance.config import Settings, parse
from appliance.context import Hearth
from tests.server import config_dict
from tests.support.clock import ManualClock

ORIGIN = "https://localhost"
PASSWORD = "correct horse battery"


def make_settings(data_dir: Path, **sections: Any) -> Settings:
    """Test settings: fast bcrypt, no mDNS, everything else as shipped unless overridden."""
    return parse(config_dict(data_dir, **sections))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Clock:
    """The app's clock: the real one, or a ManualClock for tests marked `manual_clock`."""
    if request.node.get_closest_marker("manual_clock"):
        return ManualClock()
    return Clock()


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[Quart]:
    application = create_app(settings, clock=clock)
    async with application.test_app():
        yield application


@pytest.fixture
def hearth(app: Quart) -> Hearth:
    context: Hearth = app.extensions["hearth"]
    return context


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


@pytest.fixture
def client(app: Quart) -> Client:
    return Client(app)


@pytest.fixture
def new_client(app: Quart) -> Any:
    """Another browser: its own cookie jar."""
    return lambda: Client(app)


async def setup_admin(hearth: Hearth, client: Client, username: str = "admin") -> dict[str, Any]:
    token = await hearth.accounts.setup_token()
    response = await client.post(
        "/api/v1/setup", json={"token": token, "username": username, "password": PASSWORD}
    )
    assert response.status_code == 201, await response.get_data()
    body: dict[str, Any] = await response.get_json()
    return body


async def signup(hearth: Hearth, client: Client, username: str) -> dict[str, Any]:
    invite = await hearth.accounts.create_invite(None)
    response = await client.post(
        "/api/v1/auth/signup",
        json={"username": username, "password": PASSWORD, "invite": invite.code},
    )
    assert response.status_code == 201, await response.get_data()
    body: dict[str, Any] = await response.get_json()
    return body


@pytest.fixture
async def admin(hearth: Hearth, client: Client) -> dict[str, Any]:
    """The first admin, signed in on `client`."""
    return await setup_admin(hearth, client)
