"""Request bodies and query strings, shared by REST and the WebSocket ops (one definition each).

Requests are strict (a number is not a string) and ignore unknown fields.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from appliance import limits

Password = Annotated[str, Field(min_length=1, max_length=1024)]
Username = Annotated[str, Field(min_length=1, max_length=64)]
ShortText = Annotated[str, Field(max_length=2000)]


class In(BaseModel):
    """Request bodies: strict types (a number is not a string), unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


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


Id = Annotated[int, Field(ge=limits.ID_MIN, le=limits.ID_MAX)]
ClientId = Annotated[str, Field(min_length=1, max_length=64)]
Body = Annotated[str, Field(max_length=100_000)]
Title = Annotated[str, Field(max_length=200)]
Topic = Annotated[str, Field(max_length=2000)]


class UserIdIn(In):
    user_id: Id


class NewChatIn(In):
    kind: Literal["direct", "group", "channel"]
    user_id: Id | None = None
    title: Title = ""
    topic: Topic = ""
    member_ids: Annotated[list[Id], Field(max_length=500)] = []
    is_public: bool | None = None


class ChatPatch(In):
    title: Title | None = None
    topic: Topic | None = None
    is_public: bool | None = None


class MembersIn(In):
    user_ids: Annotated[list[Id], Field(min_length=1, max_length=500)]


class RoleIn(In):
    role: Literal["owner", "admin", "member"]


class ChatInviteIn(In):
    uses: Annotated[int, Field(ge=1, le=10_000)] = 100
    days: Annotated[int, Field(ge=1, le=365)] = 7


class SendIn(In):
    client_id: ClientId
    body: Body = ""
    reply_to: Id | None = None
    forward_of: Id | None = None


class EditIn(In):
    body: Body


class MarkIn(In):
    message_id: Annotated[int, Field(ge=0, le=limits.ID_MAX)]


class HistoryQuery(BaseModel):
    before: Id | None = None
    after: Annotated[int, Field(ge=0, le=limits.ID_MAX)] | None = None
    around: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class DeleteQuery(BaseModel):
    for_: Annotated[Literal["me", "everyone"], Field(alias="for")] = "everyone"


class SearchQuery(BaseModel):
    q: Annotated[str, Field(min_length=1, max_length=200)]
    chat_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class ChannelQuery(BaseModel):
    q: Annotated[str, Field(max_length=100)] = ""


class CallsQuery(BaseModel):
    chat_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50
