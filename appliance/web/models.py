"""Request and response bodies of the REST API (quart-schema turns them into OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from appliance.clock import to_datetime
from appliance.services.sessions import IssuedSession
from appliance.store.invites import InviteRow
from appliance.store.sessions import SessionRow
from appliance.store.users import UserRow

Password = Annotated[str, Field(min_length=1, max_length=1024)]
Username = Annotated[str, Field(min_length=1, max_length=64)]
ShortText = Annotated[str, Field(max_length=2000)]


class In(BaseModel):
    """Request bodies: strict types (a number is not a string), unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class Out(BaseModel):
    pass


# --- requests --------------------------------------------------------------------------------


Device = Annotated[str, Field(max_length=200)]


class SetupIn(In):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    username: Username
    password: Password
    display_name: ShortText = ""
    email: ShortText | None = None
    device: Device = ""


class SignupIn(In):
    username: Username
    password: Password
    display_name: ShortText = ""
    email: ShortText | None = None
    invite: Annotated[str, Field(max_length=200)] | None = None
    device: Device = ""


class LoginIn(In):
    login: Annotated[str, Field(min_length=1, max_length=254)]
    password: Password
    device: Device = ""


class RefreshIn(In):
    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


class ResetIn(In):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    password: Password


class ProfilePatch(In):
    """Only the fields sent change. `email: null` removes the address; the texts take ""."""

    display_name: ShortText = ""
    bio: ShortText = ""
    status_text: ShortText = ""
    email: ShortText | None = None


class PasswordChangeIn(In):
    current_password: Password
    new_password: Password


class InviteIn(In):
    uses: Annotated[int, Field(ge=1, le=1000)] = 1
    days: Annotated[int, Field(ge=1, le=365)] | None = None


class AdminUserPatch(In):
    disabled: bool | None = None
    is_admin: bool | None = None


class UserQuery(BaseModel):
    q: Annotated[str, Field(max_length=100)] = ""
    limit: Annotated[int, Field(ge=1, le=50)] = 20


# --- responses -------------------------------------------------------------------------------


class UserOut(Out):
    id: int
    username: str
    display_name: str
    bio: str
    status_text: str
    is_admin: bool
    created_at: datetime

    @classmethod
    def of(cls, user: UserRow) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            bio=user.bio,
            status_text=user.status_text,
            is_admin=user.is_admin,
            created_at=to_datetime(user.created_at),
        )


class MeOut(UserOut):
    email: str | None
    disabled: bool = False

    @classmethod
    def of(cls, user: UserRow) -> MeOut:
        base = UserOut.of(user).model_dump()
        return cls(**base, email=user.email, disabled=user.disabled)


class UsersOut(Out):
    users: list[UserOut]


class AdminUsersOut(Out):
    users: list[MeOut]


class TokensOut(Out):
    session_id: str
    access_token: str
    refresh_token: str
    expires_in: int

    @classmethod
    def of(cls, issued: IssuedSession) -> TokensOut:
        return cls(
            session_id=issued.session_id,
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            expires_in=issued.expires_in,
        )


class LoginOut(TokensOut):
    user: MeOut


class InfoOut(Out):
    name: str
    version: str
    registration: Literal["open", "invite", "closed"]
    setup_needed: bool


class SessionOut(Out):
    id: str
    device: str
    ip: str
    created_at: datetime
    last_used_at: datetime
    current: bool

    @classmethod
    def of(cls, session: SessionRow, current_id: str) -> SessionOut:
        return cls(
            id=session.id,
            device=session.device,
            ip=session.ip,
            created_at=to_datetime(session.created_at),
            last_used_at=to_datetime(session.last_used_at),
            current=session.id == current_id,
        )


class SessionsOut(Out):
    sessions: list[SessionOut]


class InviteCheckOut(Out):
    valid: bool
    expires_at: datetime
    uses_left: int


class InviteOut(Out):
    code: str
    url: str
    expires_at: datetime
    max_uses: int
    uses: int

    @classmethod
    def of(cls, invite: InviteRow, base_url: str) -> InviteOut:
        return cls(
            code=invite.code,
            url=f"{base_url}/signup?invite={invite.code}",
            expires_at=to_datetime(invite.expires_at),
            max_uses=invite.max_uses,
            uses=invite.uses,
        )


class InvitesOut(Out):
    invites: list[InviteOut]


class LinkOut(Out):
    url: str
    expires_at: datetime
