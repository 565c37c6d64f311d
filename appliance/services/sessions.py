"""Login sessions: browser cookies, short-lived access tokens and rotating refresh tokens.

One row per login. The cookie and the access token are itsdangerous-signed session ids, so a
forged one is refused before any SQL; every use still checks the row, so revocation is
immediate. Refresh tokens are random, stored hashed, single use: presenting a used one again
means it was copied, and the whole session is revoked.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from appliance.clock import DAY_MS, MINUTE_MS
from appliance.config import AuthSettings
from appliance.services.errors import (
    ForbiddenError,
    NotFoundError,
    StorageFullError,
    UnauthenticatedError,
)
from appliance.services.tokens import token_hash
from appliance.services.unit import Work
from appliance.store import sessions, users
from appliance.store.sessions import SessionRow
from appliance.store.users import UserRow

# A session's last_used_at is written at most this often, so reads do not turn into writes.
TOUCH_INTERVAL_MS = 5 * MINUTE_MS


@dataclass(frozen=True, slots=True)
class IssuedSession:
    session_id: str
    cookie: str
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user and the session they called with."""

    user: UserRow
    session_id: str


class Sessions:
    def __init__(self, work: Work, auth: AuthSettings, secret: bytes) -> None:
        self._work = work
        self._auth = auth
        self._cookie = URLSafeTimedSerializer(secret, salt="hearth.session-cookie")
        self._access = URLSafeTimedSerializer(secret, salt="hearth.access-token")

    @property
    def cookie_max_age(self) -> int:
        return self._auth.session_days * 86_400

    def _issue(self, session_id: str) -> tuple[str, str]:
        return self._access.dumps(session_id), secrets.token_urlsafe(32)

    async def start(self, user: UserRow, device: str, address: str) -> IssuedSession:
        now = self._work.clock.now_ms()
        session_id = "s_" + secrets.token_urlsafe(16)
        access, refresh = self._issue(session_id)
        expires_at = now + self._auth.session_days * DAY_MS
        async with self._work.unit() as (tx, _):
            await sessions.create(
                tx,
                session_id=session_id,
                user_id=user.id,
                device=device[:200],
                ip=address,
                now=now,
                expires_at=expires_at,
            )
            await sessions.add_refresh_token(
                tx,
                token_hash(refresh),
                session_id,
                now,
                now + self._auth.refresh_token_days * DAY_MS,
            )
        return IssuedSession(
            session_id,
            self._cookie.dumps(session_id),
            access,
            refresh,
            self._auth.access_token_minutes * 60,
        )

    async def refresh(self, refresh_token: str, address: str) -> IssuedSession:
        now = self._work.clock.now_ms()
        digest = token_hash(refresh_token)
        async with self._work.unit() as (tx, outbox):
            row = await sessions.get_refresh_token(tx, digest)
            if row is None or row.expires_at <= now:
                raise UnauthenticatedError("This refresh token is not valid.", code="invalid_token")
            first_use = await sessions.use_refresh_token(tx, digest, now)
            if not first_use:
                await sessions.revoke(tx, row.session_id, now)
                outbox.sessions_ended = True
            else:
                session = await sessions.get(tx, row.session_id)
                if session is None or not session.live(now):
                    raise UnauthenticatedError("This session has ended.", code="session_revoked")
                access, refresh = self._issue(session.id)
                await sessions.add_refresh_token(
                    tx,
                    token_hash(refresh),
                    session.id,
                    now,
                    now + self._auth.refresh_token_days * DAY_MS,
                )
                await sessions.touch(tx, session.id, now, address)
        if not first_use:
            # Raised after the commit: the revocation stands although the request is refused.
            raise UnauthenticatedError(
                "This refresh token was already used; the session has been signed out.",
                code="token_reused",
            )
        return IssuedSession(
            row.session_id,
            self._cookie.dumps(row.session_id),
            access,
            refresh,
            self._auth.access_token_minutes * 60,
        )

    async def live(self, session_ids: list[str]) -> set[str]:
        """The ones of `session_ids` still signed in (open WebSockets are checked with this)."""
        async with self._work.read() as conn:
            return await sessions.live_ids(conn, session_ids, self._work.clock.now_ms())

    async def from_cookie(self, cookie: str, address: str) -> Principal:
        try:
            session_id = self._cookie.loads(cookie, max_age=self.cookie_max_age)
        except BadSignature:
            raise UnauthenticatedError("Please sign in.") from None
        return await self._principal(str(session_id), address)

    async def from_access_token(self, token: str, address: str) -> Principal:
        try:
            session_id = self._access.loads(token, max_age=self._auth.access_token_minutes * 60)
        except SignatureExpired:
            raise UnauthenticatedError(
                "The access token has expired.", code="token_expired"
            ) from None
        except BadSignature:
            raise UnauthenticatedError(
                "The access token is not valid.", code="invalid_token"
            ) from None
        return await self._principal(str(session_id), address)

    async def _principal(self, session_id: str, address: str) -> Principal:
        now = self._work.clock.now_ms()
        async with self._work.read() as conn:
            session = await sessions.get(conn, session_id)
            user = await users.get(conn, session.user_id) if session else None
        if session is None or user is None or not session.live(now):
            raise UnauthenticatedError(
                "This session has ended; please sign in again.", code="session_revoked"
            )
        if user.disabled:
            raise ForbiddenError("This account is disabled.", code="account_disabled")
        if now - session.last_used_at > TOUCH_INTERVAL_MS or session.ip != address:
            # Bookkeeping only: with a full disk, reads go on without it.
            with contextlib.suppress(StorageFullError):
                async with self._work.unit() as (tx, _):
                    await sessions.touch(tx, session.id, now, address)
        return Principal(user, session.id)

    async def active(self, user_id: int) -> list[SessionRow]:
        async with self._work.read() as conn:
            return await sessions.list_live(conn, user_id, self._work.clock.now_ms())

    async def revoke(self, user_id: int, session_id: str) -> None:
        """End one of the user's own sessions."""
        now = self._work.clock.now_ms()
        async with self._work.unit() as (tx, outbox):
            session = await sessions.get(tx, session_id)
            if session is None or session.user_id != user_id or not session.live(now):
                raise NotFoundError("No such session.")
            await sessions.revoke(tx, session_id, now)
            outbox.sessions_ended = True

    async def prune(self) -> None:
        async with self._work.unit() as (tx, _):
            await sessions.prune(tx, self._work.clock.now_ms())
