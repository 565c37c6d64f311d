"""Request and response bodies for contacts, chats and messages (docs/protocol.md).

The WebSocket ops validate their data with the same request models as REST.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from appliance.web.models import In, Out

Id = Annotated[int, Field(ge=1, le=2**62)]
ClientId = Annotated[str, Field(min_length=1, max_length=64)]
Body = Annotated[str, Field(max_length=100_000)]
Title = Annotated[str, Field(max_length=200)]
Topic = Annotated[str, Field(max_length=2000)]

# --- requests --------------------------------------------------------------------------------


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
    message_id: Annotated[int, Field(ge=0, le=2**62)]


class HistoryQuery(BaseModel):
    before: Id | None = None
    after: Annotated[int, Field(ge=0, le=2**62)] | None = None
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


# --- responses -------------------------------------------------------------------------------


class PersonOut(Out):
    id: int
    username: str
    display_name: str
    bio: str
    status_text: str
    is_admin: bool
    created_at: str
    last_seen_at: str | None


class ContactsOut(Out):
    contacts: list[PersonOut]
    incoming: list[PersonOut]
    outgoing: list[PersonOut]
    blocked: list[PersonOut]


class ReplyOut(Out):
    id: int
    sender_id: int | None
    body: str
    deleted: bool


class ForwardOut(Out):
    message_id: int
    sender_id: int | None
    sender_name: str


class ReactionOut(Out):
    emoji: str
    user_ids: list[int]


class CallSummaryOut(Out):
    id: int
    kind: Literal["audio", "video"]
    outcome: Literal["completed", "missed", "declined", "busy", "failed"] | None
    duration_seconds: int | None
    started_by: int | None


class MessageOut(Out):
    id: int
    chat_id: int
    sender_id: int | None
    client_id: str | None
    kind: Literal["text", "system", "call"]
    body: str
    created_at: str
    edited_at: str | None
    deleted: bool
    reply_to: ReplyOut | None
    forwarded_from: ForwardOut | None
    mentions: list[int]
    reactions: list[ReactionOut]
    pinned: bool
    call: CallSummaryOut | None = None


class MessagesOut(Out):
    messages: list[MessageOut]


class HistoryOut(MessagesOut):
    has_more_before: bool
    has_more_after: bool


class SearchOut(Out):
    results: list[MessageOut]


class EditOut(Out):
    body: str
    edited_at: str | None


class EditsOut(Out):
    edits: list[EditOut]


class MemberOut(Out):
    user: PersonOut
    role: Literal["owner", "admin", "member"]
    joined_at: str | None
    last_read_id: int
    last_delivered_id: int


class ChatOut(Out):
    id: int
    kind: Literal["direct", "group", "channel"]
    title: str
    topic: str
    is_public: bool
    created_by: int | None
    created_at: str | None
    last_activity_at: str | None
    role: Literal["owner", "admin", "member"]
    joined_at: str | None
    peer: PersonOut | None
    member_count: int
    last_message: MessageOut | None
    unread_count: int
    mention_count: int
    last_read_id: int
    last_delivered_id: int
    members: list[MemberOut] | None = None


class ChatsOut(Out):
    chats: list[ChatOut]


class ChannelOut(Out):
    id: int
    title: str
    topic: str
    member_count: int
    joined: bool


class ChannelsOut(Out):
    channels: list[ChannelOut]


class ChatInviteOut(Out):
    code: str
    url: str
    expires_at: str | None
    max_uses: int
    uses: int


class InviteChatOut(Out):
    id: int
    kind: str
    title: str
    topic: str
    member_count: int


class ChatInvitePreviewOut(Out):
    chat: InviteChatOut
    expires_at: str | None
    already_member: bool
