"""Who is calling: a Bearer access token, or else the session cookie (REST and WebSocket)."""

from __future__ import annotations

from appliance.services.errors import UnauthenticatedError
from appliance.services.sessions import Principal, Sessions

COOKIE_NAME = "hearth_session"


async def authenticate(
    sessions: Sessions, header: str, cookie: str | None, address: str
) -> Principal:
    """The session behind an `Authorization: Bearer` header or else the session cookie."""
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError(
                "Use 'Authorization: Bearer <access token>'.", code="invalid_token"
            )
        return await sessions.from_access_token(token.strip(), address)
    if cookie:
        return await sessions.from_cookie(cookie, address)
    raise UnauthenticatedError("Please sign in.")
