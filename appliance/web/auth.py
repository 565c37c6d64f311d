"""Who is calling: the session cookie or a Bearer access token, checked on every request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from quart import g, request
from quart.typing import ResponseTypes
from quart_schema import security_scheme
from werkzeug.http import dump_cookie

from appliance.api.auth import COOKIE_NAME, authenticate
from appliance.api.current import hearth
from appliance.services.errors import ForbiddenError
from appliance.services.sessions import IssuedSession, Principal

P = ParamSpec("P")
R = TypeVar("R")

# Either scheme (named in app.py's QuartSchema(security_schemes=...)) signs a request in; the
# decorators below declare it on their routes, so /openapi.json shows which routes need it.
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"cookie": []}]


def client_address() -> str:
    return request.remote_addr or ""


async def authenticate_request() -> Principal:
    return await authenticate(
        hearth().sessions,
        request.headers.get("Authorization", ""),
        request.cookies.get(COOKIE_NAME),
        client_address(),
    )


def login_required(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        g.principal = await authenticate_request()
        return await func(*args, **kwargs)

    return security_scheme(SIGNED_IN)(wrapper)


def admin_required(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        principal = await authenticate_request()
        if not principal.user.is_admin:
            raise ForbiddenError("Only admins can do that.")
        g.principal = principal
        return await func(*args, **kwargs)

    return security_scheme(SIGNED_IN)(wrapper)


def principal() -> Principal:
    current: Principal = g.principal
    return current


def session_cookie_header(issued: IssuedSession) -> dict[str, str]:
    cookie = dump_cookie(
        COOKIE_NAME,
        issued.cookie,
        max_age=hearth().sessions.cookie_max_age,
        secure=True,
        httponly=True,
        samesite="Lax",
        path="/",
    )
    return {"Set-Cookie": cookie}


def clear_session_cookie(response: ResponseTypes) -> ResponseTypes:
    response.delete_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite="Lax")
    return response
