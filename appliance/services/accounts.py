"""Accounts: first-run setup, signup, password checks, profiles, invites, admin actions."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from appliance.clock import DAY_MS, HOUR_MS
from appliance.config import Settings
from appliance.limits import (
    BIO_MAX,
    DISPLAY_NAME_MAX,
    EMAIL_DOMAIN_MAX,
    EMAIL_LOCAL_MAX,
    STATUS_TEXT_MAX,
    USERNAME_MAX,
    USERNAME_MIN,
)
from appliance.services import views
from appliance.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    UnauthenticatedError,
)
from appliance.services.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHasher
from appliance.services.ratelimit import Limits
from appliance.services.tokens import token_hash
from appliance.services.unit import Outbox, Work
from appliance.store import invites, personal, sessions, settings, users
from appliance.store.db import Connection, ThreadConnection, alone_in, on_thread
from appliance.store.errors import DuplicateError
from appliance.store.invites import InviteRow
from appliance.store.users import UserRow

# The lengths come from appliance/limits.py, which /openapi.json publishes too.
USERNAME_RE = re.compile(rf"^[a-z0-9][a-z0-9_.-]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}$")
EMAIL_RE = re.compile(rf"^[^@\s]{{1,{EMAIL_LOCAL_MAX}}}@[^@\s]{{1,{EMAIL_DOMAIN_MAX}}}$")
SETUP_TOKEN_KEY = "setup_token"  # noqa: S105 (a settings key)
DM_POLICIES = frozenset({"everyone", "contacts"})
PROFILE_LIMITS = {"display_name": DISPLAY_NAME_MAX, "bio": BIO_MAX, "status_text": STATUS_TEXT_MAX}
PUBLIC_FIELDS = frozenset(PROFILE_LIMITS)  # what others see of a profile (views.user)

# Decisions on who is an admin run one at a time across processes (store/db.py `alone`):
# two admins taking each other's rights at once would leave none.
ADMINS = "admins"


def announce_profile(conn: ThreadConnection, outbox: Outbox, user: UserRow) -> None:
    """Tell everyone who may show this person (their own devices, and each chat they are in:
    someone sharing several chats with them hears it once per chat) their public profile,
    after a new name, status, bio or picture."""
    view = views.user(user)
    outbox.record(conn, "user.updated", view, user_id=user.id)
    for chat_id in users.chat_ids(conn, user.id):
        outbox.record(conn, "user.updated", view, chat_id=chat_id)


def normalize_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_RE.match(username):
        raise InvalidError(
            f"Usernames are {USERNAME_MIN} to {USERNAME_MAX} characters of a-z, 0-9, '_', '.' and "
            "'-', starting with a letter or digit.",
            field="username",
        )
    return username


def normalize_email(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    email = raw.strip()
    if not EMAIL_RE.match(email):
        raise InvalidError("That does not look like an email address.", field="email")
    return email


def check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidError(f"Passwords need at least {MIN_LENGTH} characters.", field=field)
    if len(password) > MAX_LENGTH:
        raise InvalidError(f"Passwords may have at most {MAX_LENGTH} characters.", field=field)


def _clean_text(field: str, value: str) -> str:
    text = value.strip()
    limit = PROFILE_LIMITS[field]
    if len(text) > limit:
        raise InvalidError(f"At most {limit} characters.", field=field)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise InvalidError("Control characters are not allowed.", field=field)
    return text


def _duplicate(error: DuplicateError) -> ConflictError:
    if error.field == "email":
        return ConflictError("That email address is already used.", code="email_taken")
    return ConflictError("That username is taken.", code="username_taken")


@dataclass(frozen=True, slots=True)
class _NewUser:
    username: str
    email: str | None
    display_name: str
    password_hash: str


async def _insert(tx: Connection, new: _NewUser, *, is_admin: bool, now: int) -> UserRow:
    try:
        return await users.create(
            tx,
            username=new.username,
            email=new.email,
            password_hash=new.password_hash,
            display_name=new.display_name,
            is_admin=is_admin,
            now=now,
        )
    except DuplicateError as error:
        raise _duplicate(error) from None


@dataclass(frozen=True, slots=True)
class IssuedLink:
    token: str
    expires_at: int


class Accounts:
    def __init__(
        self, work: Work, config: Settings, hasher: PasswordHasher, limits: Limits
    ) -> None:
        self._work = work
        self._config = config
        self._hasher = hasher
        self._login_by_address = limits.login_per_address
        self._login_by_account = limits.login_per_account
        self._signup_by_address = limits.signup_per_address
        self._password_checks = limits.password_checks

    # --- first run -------------------------------------------------------------------------

    async def setup_needed(self) -> bool:
        async with self._work.read() as conn:
            return await users.count(conn) == 0

    async def setup_token(self) -> str | None:
        """The one-time setup token while no account exists (made on first call), else None."""
        async with self._work.unit() as (tx, _):
            if await users.count(tx) > 0:
                await settings.delete(tx, SETUP_TOKEN_KEY)
                return None
            token = await settings.get(tx, SETUP_TOKEN_KEY)
            if token is None:
                token = secrets.token_urlsafe(24)
                await settings.put(tx, SETUP_TOKEN_KEY, token)
            return token

    async def complete_setup(
        self,
        token: str,
        username: str,
        password: str,
        display_name: str = "",
        email: str | None = None,
    ) -> UserRow:
        if not await self.setup_needed():
            raise ConflictError("Hearth is already set up.", code="setup_done")
        new = await self._new_user(username, password, display_name, email)
        async with self._work.unit() as (tx, outbox):
            await alone_in(tx, ADMINS)
            if await users.count(tx) > 0:  # set up meanwhile, by another request
                raise ConflictError("Hearth is already set up.", code="setup_done")
            expected = await settings.get(tx, SETUP_TOKEN_KEY)
            if expected is None or not secrets.compare_digest(expected, token):
                raise ForbiddenError("The setup link is not valid.", code="invalid_token")
            user = await _insert(tx, new, is_admin=True, now=outbox.now)
            await settings.delete(tx, SETUP_TOKEN_KEY)
        return user

    # --- signup and login ------------------------------------------------------------------

    async def signup(
        self,
        username: str,
        password: str,
        *,
        display_name: str = "",
        email: str | None = None,
        invite: str | None = None,
        address: str = "",
    ) -> UserRow:
        mode = self._config.registration.mode
        if mode == "closed":
            raise ForbiddenError(
                "Sign-up is closed; ask an admin for an account.", code="registration_closed"
            )
        if mode == "invite" and not invite:
            raise ForbiddenError("You need an invite link to sign up.", code="invalid_invite")
        new = await self._new_user(username, password, display_name, email, address=address)
        async with self._work.unit() as (tx, outbox):
            if invite and not await invites.consume(tx, invite, self._work.clock.now_ms()):
                raise ForbiddenError(
                    "This invite link has expired or been used up.", code="invalid_invite"
                )
            return await _insert(tx, new, is_admin=False, now=outbox.now)

    async def create_user(self, username: str, password: str, *, is_admin: bool = False) -> UserRow:
        """An operator's account creation (CLI): no invite, no rate limit."""
        new = await self._new_user(username, password, "", None)
        async with self._work.unit() as (tx, outbox):
            return await _insert(tx, new, is_admin=is_admin, now=outbox.now)

    async def _new_user(
        self,
        username: str,
        password: str,
        display_name: str,
        email: str | None,
        *,
        address: str | None = None,
    ) -> _NewUser:
        """Check the rules and hash the password: everything before the write transaction."""
        name = normalize_username(username)
        mail = normalize_email(email)
        shown = _clean_text("display_name", display_name) or name
        check_password(password)
        if address is not None:
            await self._signup_by_address.hit(address)
        return _NewUser(name, mail, shown, await self._hasher.hash(password))

    async def authenticate(self, login: str, password: str, address: str = "") -> UserRow:
        """Check a username-or-email and password; rate limited per address and per account."""
        account_key = login.strip().lower()
        await self._login_by_address.hit(address)
        await self._login_by_account.check(account_key)
        async with self._work.read() as conn:
            user = await users.get_by_login(conn, login.strip())
        ok = await self._hasher.verify(password, user.password_hash if user else None)
        if not ok or user is None:
            await self._login_by_account.hit(account_key)
            raise UnauthenticatedError("Wrong username or password.", code="invalid_credentials")
        if user.disabled:
            raise ForbiddenError("This account is disabled.", code="account_disabled")
        await self._login_by_account.reset(account_key)
        return user

    async def find(self, user_id: int) -> UserRow | None:
        async with self._work.read() as conn:
            return await users.get(conn, user_id)

    async def find_by_login(self, login: str) -> UserRow | None:
        """The account a username or an email address names, if any."""
        async with self._work.read() as conn:
            return await users.get_by_login(conn, login.strip())

    async def verify_password(self, user_id: int, password: str) -> bool:
        async with self._work.read() as conn:
            user = await users.get(conn, user_id)
        return await self._hasher.verify(password, user.password_hash if user else None)

    async def change_password(
        self, user_id: int, current_password: str, new_password: str, *, keep_session: str
    ) -> None:
        """Check the current password, set the new one and sign every other session out, in
        one transaction: a stolen session cannot outlive the password change."""
        check_password(new_password, field="new_password")
        key = str(user_id)
        await self._password_checks.check(key)  # each guess costs a bcrypt check: bounded
        if not await self.verify_password(user_id, current_password):
            await self._password_checks.hit(key)
            raise InvalidError("The current password is wrong.", field="current_password")
        await self._password_checks.reset(key)
        password_hash = await self._hasher.hash(new_password)
        now = self._work.clock.now_ms()
        async with self._work.unit() as (tx, outbox):
            await users.set_password(tx, user_id, password_hash, now)
            await sessions.revoke_all(tx, user_id, now, keep=keep_session)
            outbox.sessions_ended = True

    async def delete_account(self, user_id: int, password: str | None) -> None:
        """Delete an account: signed out everywhere, never to sign in again, and nothing of
        the person kept (name, email, bio, contacts, blocks); their messages stay, from
        "Deleted user". `password` is the person's own confirmation; None when an admin acts."""
        if password is not None:
            key = str(user_id)
            await self._password_checks.check(key)
            if not await self.verify_password(user_id, password):
                await self._password_checks.hit(key)
                raise InvalidError("The password is wrong.", field="password")
            await self._password_checks.reset(key)
        unusable = await self._hasher.hash(secrets.token_urlsafe(32))  # nobody knows it
        now = self._work.clock.now_ms()
        async with self._work.unit() as (tx, outbox):
            user = await users.get(tx, user_id)
            if user is None:
                raise NotFoundError("No such user.")
            await alone_in(tx, ADMINS)
            if user.is_admin and not user.disabled and await users.count_admins(tx) <= 1:
                raise ConflictError(
                    "Hearth needs at least one active admin: make someone else an admin first.",
                    code="last_admin",
                )
            await personal.scrub_account(tx, user_id, unusable, now)
            await sessions.revoke_all(tx, user_id, now)
            outbox.sessions_ended = True

    # --- profiles ----------------------------------------------------------------------------

    async def get(self, user_id: int) -> UserRow:
        async with self._work.read() as conn:
            user = await users.get(conn, user_id)
        if user is None:
            raise NotFoundError("No such user.")
        return user

    async def get_by_username(self, username: str) -> UserRow:
        async with self._work.read() as conn:
            user = await users.get_by_login(conn, username.strip().lower())
        if user is None:
            raise NotFoundError(f"No user named {username!r}.")
        return user

    async def search(self, query: str, limit: int = 20) -> list[UserRow]:
        query = query.strip().lower()
        if not query:
            return []
        async with self._work.read() as conn:
            return await users.search(conn, query, max(1, min(limit, 50)))

    async def update_profile(self, user_id: int, changes: dict[str, Any]) -> UserRow:
        fields: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "email":
                fields[name] = normalize_email(value)
            elif name in PROFILE_LIMITS:
                fields[name] = _clean_text(name, value)
            elif name == "dm_policy":
                if value not in DM_POLICIES:
                    raise InvalidError("dm_policy is 'everyone' or 'contacts'.", field=name)
                fields[name] = value
            else:
                raise InvalidError(f"{name} cannot be changed here.", field=name)
        async with self._work.unit() as (tx, outbox):
            try:
                await users.update_profile(tx, user_id, fields, self._work.clock.now_ms())
            except DuplicateError as error:
                raise _duplicate(error) from None
            user = await users.get(tx, user_id)
            if user is not None and fields.keys() & PUBLIC_FIELDS:
                await on_thread(tx, announce_profile, outbox, user)
        if user is None:
            raise NotFoundError("No such user.")
        return user

    # --- invites and reset links -------------------------------------------------------------

    async def create_invite(
        self, created_by: int | None, uses: int = 1, days: int | None = None
    ) -> InviteRow:
        if not 1 <= uses <= 1000:
            raise InvalidError("An invite allows 1 to 1000 sign-ups.", field="uses")
        days = self._config.auth.invite_days if days is None else days
        if not 1 <= days <= 365:
            raise InvalidError("An invite lasts 1 to 365 days.", field="days")
        now = self._work.clock.now_ms()
        async with self._work.unit() as (tx, _):
            return await invites.create(
                tx,
                code=secrets.token_urlsafe(12),
                created_by=created_by,
                now=now,
                expires_at=now + days * DAY_MS,
                max_uses=uses,
            )

    async def get_invite(self, code: str) -> InviteRow:
        async with self._work.read() as conn:
            invite = await invites.get(conn, code)
        if invite is None or not invite.usable(self._work.clock.now_ms()):
            raise NotFoundError(
                "This invite link has expired or been used up.", code="invalid_invite"
            )
        return invite

    async def list_invites(self) -> list[InviteRow]:
        async with self._work.read() as conn:
            return await invites.list_recent(conn)

    async def revoke_invite(self, code: str) -> InviteRow:
        """Stop an invite link working (people who joined with it stay)."""
        async with self._work.unit() as (tx, _):
            if not await invites.revoke(tx, code, self._work.clock.now_ms()):
                raise NotFoundError("No such invite.")
            revoked = await invites.get(tx, code)
        assert revoked is not None
        return revoked

    async def create_reset_link(self, user_id: int) -> IssuedLink:
        token = secrets.token_urlsafe(24)
        now = self._work.clock.now_ms()
        expires_at = now + self._config.auth.reset_link_hours * HOUR_MS
        async with self._work.unit() as (tx, _):
            if await users.get(tx, user_id) is None:
                raise NotFoundError("No such user.")
            await users.add_reset_token(tx, token_hash(token), user_id, now, expires_at)
        return IssuedLink(token, expires_at)

    async def redeem_reset_link(self, token: str, new_password: str) -> int:
        """Set a password from a reset link and sign the account out everywhere; returns
        the account's id."""
        check_password(new_password)
        password_hash = await self._hasher.hash(new_password)
        now = self._work.clock.now_ms()
        async with self._work.unit() as (tx, outbox):
            user_id = await users.use_reset_token(tx, token_hash(token), now)
            if user_id is None:
                raise ForbiddenError(
                    "This reset link has expired or was used.", code="invalid_token"
                )
            await users.set_password(tx, user_id, password_hash, now)
            await sessions.revoke_all(tx, user_id, now)
            outbox.sessions_ended = True
        return user_id

    # --- administration ----------------------------------------------------------------------

    async def list_users(self, query: str = "") -> list[UserRow]:
        """Every account, or those whose username or display name contains `query`."""
        async with self._work.read() as conn:
            rows = await users.list_all(conn)
        needle = query.strip().casefold()
        if not needle:
            return rows
        return [
            row
            for row in rows
            if needle in row.username.casefold() or needle in row.display_name.casefold()
        ]

    async def sign_out_everywhere(self, user_id: int) -> int:
        """End every session of `user_id` (their open tabs are closed); how many there were."""
        now = self._work.clock.now_ms()
        async with self._work.unit() as (tx, outbox):
            if await users.get(tx, user_id) is None:
                raise NotFoundError("No such user.")
            ended = len(await sessions.list_live(tx, user_id, now))
            await sessions.revoke_all(tx, user_id, now)
            outbox.sessions_ended = True
        return ended

    async def set_flags(
        self, user_id: int, *, disabled: bool | None = None, is_admin: bool | None = None
    ) -> UserRow:
        """Disable (which signs the account out everywhere) or enable; grant or take admin."""
        now = self._work.clock.now_ms()
        async with self._work.unit() as (tx, outbox):
            user = await users.get(tx, user_id)
            if user is None:
                raise NotFoundError("No such user.")
            losing_admin = user.is_admin and not user.disabled and (disabled or is_admin is False)
            await alone_in(tx, ADMINS)
            if losing_admin and await users.count_admins(tx) <= 1:
                raise ConflictError("Hearth needs at least one active admin.", code="last_admin")
            if disabled is not None:
                await users.set_disabled(tx, user_id, disabled, now)
            if disabled:
                await sessions.revoke_all(tx, user_id, now)
                outbox.sessions_ended = True
            if is_admin is not None:
                await users.set_admin(tx, user_id, is_admin, now)
            updated = await users.get(tx, user_id)
        assert updated is not None
        return updated

    async def record_last_seen(self, user_id: int) -> int:
        """Note that `user_id` was just online (their last connection closed); returns when."""
        now = self._work.clock.now_ms()
        async with self._work.unit() as (tx, _):
            await users.set_last_seen(tx, user_id, now)
        return now
