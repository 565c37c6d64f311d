"""Request bodies and query strings, shared by REST and the WebSocket ops (one definition each).

Requests are strict (a number is not a string) and ignore unknown fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from appliance import limits

# Where a field's limit is config rather than a constant, its schema names the setting, and
# /openapi.json writes that setting's value in (web/openapi.py); the service enforces it.
MAX_LENGTH_FROM = "x-max-length-from"

Id = Annotated[int, Field(ge=limits.ID_MIN, le=limits.ID_MAX)]
Username = Annotated[str, Field(min_length=limits.USERNAME_MIN, max_length=limits.USERNAME_MAX)]
NewPassword = Annotated[str, Field(min_length=limits.PASSWORD_MIN, max_length=limits.PASSWORD_MAX)]
Password = Annotated[str, Field(min_length=1, max_length=limits.PASSWORD_MAX)]
DisplayName = Annotated[str, Field(max_length=limits.DISPLAY_NAME_MAX)]
Bio = Annotated[str, Field(max_length=limits.BIO_MAX)]
StatusText = Annotated[str, Field(max_length=limits.STATUS_TEXT_MAX)]
Email = Annotated[str, Field(max_length=limits.EMAIL_MAX)]
Device = Annotated[str, Field(max_length=200)]
Token = Annotated[str, Field(min_length=1, max_length=200)]


def invite_code(given: str) -> str:
    """The code of an invite as people have it: the bare code, the link they were sent
    (`https://host/signup?invite=CODE`) or its path (`/signup?invite=CODE`)."""
    text = given.strip()
    if "?" not in text:
        return text
    codes = parse_qs(urlsplit(text).query).get("invite")
    return codes[0].strip() if codes else text


# Long enough for a link with a long public_url in front of the code.
InviteCode = Annotated[str, Field(max_length=2000), AfterValidator(invite_code)]


class In(BaseModel):
    """Request bodies: strict types (a number is not a string), unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class SetupIn(In):
    token: Token
    username: Username
    password: NewPassword
    display_name: DisplayName = ""
    email: Email | None = None
    device: Device = ""


class SignupIn(In):
    username: Username
    password: NewPassword
    display_name: DisplayName = ""
    email: Email | None = None
    invite: InviteCode | None = None
    device: Device = ""


class LoginIn(In):
    login: Annotated[
        str, Field(min_length=1, max_length=max(limits.EMAIL_MAX, limits.USERNAME_MAX))
    ]
    password: Password
    device: Device = ""


class RefreshIn(In):
    refresh_token: Token


class ForgotIn(In):
    login: Annotated[
        str, Field(min_length=1, max_length=max(limits.EMAIL_MAX, limits.USERNAME_MAX))
    ]


class ResetIn(In):
    token: Token
    password: NewPassword


class ProfilePatch(In):
    """Only the fields sent change. `email: null` removes the address; the texts take ""."""

    display_name: DisplayName = ""
    bio: Bio = ""
    status_text: StatusText = ""
    email: Email | None = None
    # Who can open a direct chat with you and send into one: "everyone" or "contacts" only.
    dm_policy: Literal["everyone", "contacts"] = "everyone"


class PasswordChangeIn(In):
    current_password: Password
    new_password: NewPassword


class DeleteAccountIn(In):
    password: Password


class InviteIn(In):
    uses: Annotated[int, Field(ge=1, le=1000)] = 1
    days: Annotated[int, Field(ge=1, le=365)] | None = None


class AdminUserPatch(In):
    disabled: bool | None = None
    is_admin: bool | None = None


class AdminUserQuery(BaseModel):
    q: Annotated[str, Field(max_length=limits.ADMIN_SEARCH_MAX)] = ""


class UserQuery(BaseModel):
    q: Annotated[str, Field(max_length=100)] = ""
    limit: Annotated[int, Field(ge=1, le=50)] = 20


ClientId = Annotated[str, Field(min_length=1, max_length=limits.CLIENT_ID_MAX)]
# A message's limit is config; the frame and body size limits bound what reaches the service.
Body = Annotated[str, Field(json_schema_extra={MAX_LENGTH_FROM: "messages.max_length"})]
Title = Annotated[str, Field(max_length=limits.TITLE_MAX)]
Topic = Annotated[str, Field(max_length=limits.TOPIC_MAX)]


class UserIdIn(In):
    user_id: Id


class NewChatIn(In):
    kind: Literal["direct", "group", "channel"]
    user_id: Id | None = None
    title: Title = ""
    topic: Topic = ""
    member_ids: Annotated[list[Id], Field(max_length=limits.MEMBERS_AT_ONCE_MAX)] = []
    is_public: bool | None = None


class ChatPatch(In):
    title: Title | None = None
    topic: Topic | None = None
    is_public: bool | None = None


class ChatPrefsPatch(In):
    mute: Literal["8h", "week", "always", "off"] | None = None
    archived: bool | None = None


class MembersIn(In):
    user_ids: Annotated[list[Id], Field(min_length=1, max_length=limits.MEMBERS_AT_ONCE_MAX)]


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
    # Files uploaded with POST /files; the body is then an optional caption.
    attachments: Annotated[list[Id], Field(max_length=limits.ATTACHMENTS_MAX)] = []
    # A reply in the thread of this top-level message (groups and channels), kept out of the
    # main timeline unless `also_to_chat`.
    thread_root_id: Id | None = None
    also_to_chat: bool = False


class EditIn(In):
    body: Body


class MarkIn(In):
    message_id: Annotated[int, Field(ge=0, le=limits.ID_MAX)]


class HistoryQuery(BaseModel):
    before: Id | None = None
    after: Annotated[int, Field(ge=0, le=limits.ID_MAX)] | None = None
    around: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class ThreadQuery(BaseModel):
    before: Id | None = None
    after: Annotated[int, Field(ge=0, le=limits.ID_MAX)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class ThreadReadIn(In):
    """Up to which reply; without it, the thread's latest."""

    message_id: Annotated[int, Field(ge=0, le=limits.ID_MAX)] | None = None


class DeleteQuery(BaseModel):
    """Without `for`, a delete hides the message from you only: the harmless reading."""

    for_: Annotated[Literal["me", "everyone"], Field(alias="for")] = "me"


class SearchQuery(BaseModel):
    """Words, and filters that must all hold: in a chat, from a person (`sender_id`), with a
    file, sent at or after `after` and before `before` (ISO 8601; a date is its midnight, a
    time without a zone is UTC)."""

    q: Annotated[str, Field(min_length=1, max_length=200)]
    chat_id: Id | None = None
    sender_id: Id | None = None
    has_file: bool = False
    after: datetime | None = None
    before: datetime | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class ActivityQuery(BaseModel):
    # "time.message id" of the last item of the page before (a pattern, so it is bounded too)
    cursor: Annotated[str, Field(pattern=r"^\d{1,18}\.\d{1,18}$")] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class ActivityReadIn(In):
    """Mark what you have seen: everything up to `up_to` (the newest item's `at` you were
    shown; without it, now). An ISO 8601 time, as the API writes them."""

    up_to: Annotated[datetime, Field(strict=False)] | None = None


class ChatsQuery(BaseModel):
    limit: Annotated[int, Field(ge=1, le=200)] = 100
    cursor: Annotated[str, Field(max_length=64)] | None = None


class ChannelQuery(BaseModel):
    q: Annotated[str, Field(max_length=100)] = ""


class CallsQuery(BaseModel):
    chat_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class MediaQuery(BaseModel):
    kind: Literal["media", "files", "voice"] = "media"
    before: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 30
