"""The JSON shapes Hearth sends: each defined once, here.

The same class is the REST reply (quart-schema validates it and puts it in /openapi.json), the
WebSocket result, and the stored event's data (`model_dump(mode="json")`), so a client sees
one shape whichever way a thing reaches it. Services build them (`services/views.py`).
Times are UTC datetimes, sent as ISO 8601 with a Z.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["owner", "admin", "member"]
CallKind = Literal["audio", "video"]
CallOutcome = Literal["completed", "missed", "declined", "busy", "failed"]


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


# --- people ----------------------------------------------------------------------------------


class UserOut(Out):
    """A public profile. `last_seen_at` only for someone who shares a chat with the viewer and
    has no block between them (the presence rules); else null."""

    id: int
    username: str
    display_name: str
    bio: str
    status_text: str
    is_admin: bool
    created_at: datetime
    last_seen_at: datetime | None = None
    avatar_url: str | None = None  # the profile picture (square WebP); null: show initials


DmPolicy = Literal["everyone", "contacts"]


class MeOut(UserOut):
    email: str | None
    disabled: bool = False
    # Who can message you: "everyone", or "contacts" (others send a contact request first).
    dm_policy: DmPolicy = "everyone"


class UsersOut(Out):
    users: list[UserOut]


class AdminUsersOut(Out):
    users: list[MeOut]


class ContactsOut(Out):
    contacts: list[UserOut]
    incoming: list[UserOut]
    outgoing: list[UserOut]
    blocked: list[UserOut]


# --- accounts and sessions -------------------------------------------------------------------


class TokensOut(Out):
    session_id: str
    access_token: str
    refresh_token: str
    expires_in: int


class LoginOut(TokensOut):
    user: MeOut


class InfoOut(Out):
    name: str
    version: str
    registration: Literal["open", "invite", "closed"]
    setup_needed: bool
    # Upload limits, so a browser can refuse a file too large before sending it: it cannot
    # read the early 413 of an upload the server cut off.
    max_image_bytes: int
    max_file_bytes: int
    email: bool = False  # SMTP is set up: "Forgot your password?" can email a reset link


class SessionOut(Out):
    id: str
    device: str
    ip: str
    created_at: datetime
    last_used_at: datetime
    current: bool


class SessionsOut(Out):
    sessions: list[SessionOut]


class InviteCheckOut(Out):
    valid: bool
    expires_at: datetime
    uses_left: int


class InviteOut(Out):
    code: str
    url: str  # at the address the request came to
    urls: list[str]  # the same link at every address people use, `url` first
    expires_at: datetime
    max_uses: int
    uses: int
    revoked: bool = False


class InvitesOut(Out):
    invites: list[InviteOut]


class LinkOut(Out):
    url: str  # at the address the request came to
    urls: list[str]  # the same link at every address people use, `url` first
    expires_at: datetime


class SignedOutOut(Out):
    sessions_ended: int


class LastBackupOut(Out):
    at: datetime
    age_seconds: float
    size: int


class AdminHealthOut(Out):
    """How the box is doing, for the admin page."""

    version: str
    uptime_seconds: float
    people_online: int
    connections: int
    calls_active: int
    call_participants: int
    accounts: int
    messages: int
    files: int
    files_bytes: int
    database_bytes: int
    disk_free_bytes: int
    disk_total_bytes: int
    last_backup: LastBackupOut | None


# --- messages --------------------------------------------------------------------------------


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
    """What a call-log message shows of its call; `participants`: everyone who was in it at
    some point (a member not among them missed it)."""

    id: int
    kind: CallKind
    outcome: CallOutcome | None
    duration_seconds: int | None
    started_by: int | None
    participants: list[int]


class FileOut(Out):
    """An uploaded file: the answer to an upload, and each of a message's attachments.
    `type` is what the bytes are (sniffed by the server); `duration` in seconds; `waveform`
    about 64 peak levels of a voice note, 0..255 relative to its loudest moment."""

    id: int
    name: str
    type: str
    kind: Literal["media", "voice", "files"]
    size: int
    width: int | None
    height: int | None
    duration: float | None
    url: str
    thumb_url: str | None
    waveform: list[int] | None = None  # a voice note's peak levels (0..255); else null


class ThreadOut(Out):
    """A thread's summary, on its root message and as the data of thread.updated."""

    chat_id: int
    root_id: int
    reply_count: int  # 0 (and no last reply) once every reply was deleted
    last_reply_id: int | None
    last_reply_at: datetime | None
    last_reply_sender_id: int | None
    # The root's author first, then the people who replied, latest first.
    participants: list[int]


class MessageOut(Out):
    """A message: the data of message.created and message.updated too."""

    id: int
    chat_id: int
    sender_id: int | None
    client_id: str | None
    kind: Literal["text", "system", "call"]
    body: str
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    reply_to: ReplyOut | None
    forwarded_from: ForwardOut | None
    mentions: list[int]
    reactions: list[ReactionOut]
    pinned: bool
    call: CallSummaryOut | None = None
    attachments: list[FileOut] = []
    # A reply in a thread names its root; it shows in the main timeline only `also_to_chat`.
    thread_root_id: int | None = None
    also_to_chat: bool = False
    # On a root with replies: the thread's summary.
    thread: ThreadOut | None = None
    # Replies you have not read in a thread you follow: in REST answers; 0 in events.
    thread_unread: int = 0


class MessagesOut(Out):
    messages: list[MessageOut]


class HistoryOut(MessagesOut):
    has_more_before: bool
    has_more_after: bool


class ThreadPageOut(Out):
    """A thread: its root and a page of replies, oldest first, and your read mark."""

    root: MessageOut
    replies: list[MessageOut]
    has_more_before: bool
    has_more_after: bool
    last_read_id: int


class ThreadReadOut(Out):
    """Your read mark in a thread moved: the data of thread.read (to you only)."""

    chat_id: int
    root_id: int
    last_read_id: int


class SearchOut(Out):
    results: list[MessageOut]


class EditOut(Out):
    body: str
    edited_at: datetime | None


class EditsOut(Out):
    edits: list[EditOut]


class MessageDeletedOut(Out):
    """The data of message.deleted."""

    id: int
    chat_id: int
    scope: Annotated[Literal["me", "everyone"], Field(alias="for")]


class ReactionChangeOut(Out):
    """The data of reaction.added and reaction.removed."""

    chat_id: int
    message_id: int
    user_id: int
    emoji: str


class ReceiptOut(Out):
    """The data of receipt.updated: one member's read and delivered cursors."""

    chat_id: int
    user_id: int
    last_read_id: int
    last_delivered_id: int


class MediaItemOut(Out):
    """One attachment in a chat's gallery; `id` is the cursor for the next page."""

    id: int
    message_id: int
    sender_id: int | None
    created_at: datetime
    file: FileOut


class MediaPageOut(Out):
    items: list[MediaItemOut]
    next: int | None  # pass as `before` for older items; null on the last page


# --- chats -----------------------------------------------------------------------------------


class ChatFieldsOut(Out):
    """What every member sees alike: the data of chat.created and chat.updated."""

    id: int
    kind: Literal["direct", "group", "channel"]
    title: str
    topic: str
    is_public: bool
    created_by: int | None
    created_at: datetime
    last_activity_at: datetime
    avatar_url: str | None = None  # a group's or channel's picture; null: show initials


class MemberOut(Out):
    user: UserOut
    role: Role
    joined_at: datetime
    last_read_id: int
    last_delivered_id: int


class ChatOut(ChatFieldsOut):
    """A chat as one member sees it."""

    role: Role
    joined_at: datetime
    peer: UserOut | None
    member_count: int
    last_message: MessageOut | None
    unread_count: int
    mention_count: int
    last_read_id: int
    last_delivered_id: int
    members: list[MemberOut] | None = None
    # This member's own: muted until (9999-12-31T23:59:59.000Z: always), archived.
    muted_until: datetime | None = None
    archived: bool = False


class ChatsOut(Out):
    chats: list[ChatOut]
    next: str | None = None  # the cursor of the next page; null on the last


class ChatPrefsOut(Out):
    """The data of chat.prefs: one member's own view of a chat, told only to their devices.
    `muted_until` 9999-12-31T23:59:59.000Z is "always"; `cleared_through`: messages up to this id
    are cleared for them; `hidden`: a direct chat deleted for them (until a new message)."""

    chat_id: int
    muted_until: datetime | None
    archived: bool
    cleared_through: int
    hidden: bool


class StarOut(Out):
    """The data of message.starred and message.unstarred (to the member's own devices)."""

    message_id: int
    chat_id: int


ActivityKind = Literal["mention", "reply", "reaction", "thread_reply", "missed_call"]


class ActivityItemOut(Out):
    """Something that concerns you: `message` is the one to open (for a reaction, your message
    that got it; for a missed call, its log line); `actor_id`: who mentioned, replied, reacted
    or called."""

    kind: ActivityKind
    at: datetime
    chat_id: int
    actor_id: int | None
    emoji: str | None
    message: MessageOut
    unread: bool


class ActivityOut(Out):
    """A page of activity, newest first. `unread`: items after `read_at` (counted up to 100);
    `next_cursor`: pass as `cursor` for older items (null: no more)."""

    items: list[ActivityItemOut]
    unread: int
    read_at: datetime
    next_cursor: str | None


class ActivityReadOut(Out):
    """The data of activity.read (to your own devices) and the `activity` signal: how far you
    have looked, and what is unread after it (up to 100)."""

    read_at: datetime
    unread: int


class ChatRefOut(Out):
    """The data of chat.deleted."""

    chat_id: int


class MemberAddedOut(Out):
    """The data of member.added."""

    chat_id: int
    user: UserOut
    role: Role
    by: int


class MemberRemovedOut(Out):
    """The data of member.removed (sent to the others, and to the one removed)."""

    chat_id: int
    user_id: int
    by: int


class MemberRoleOut(Out):
    """The data of member.updated."""

    chat_id: int
    user_id: int
    role: Role


class ContactChangeOut(Out):
    """The data of contact.requested, contact.accepted and contact.removed; `user` is the
    other person for whoever receives it."""

    from_user_id: int
    to_user_id: int
    user: UserOut


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
    expires_at: datetime
    max_uses: int
    uses: int


class InviteChatOut(Out):
    id: int
    kind: Literal["direct", "group", "channel"]
    title: str
    topic: str
    member_count: int


class ChatInvitePreviewOut(Out):
    chat: InviteChatOut
    expires_at: datetime
    already_member: bool


# --- calls -----------------------------------------------------------------------------------


class CallOut(Out):
    id: int
    chat_id: int
    kind: CallKind
    started_by: int | None
    state: Literal["ringing", "active", "ended"]
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: CallOutcome | None
    participants: list[int]
    duration_seconds: int | None


class CallsOut(Out):
    calls: list[CallOut]


# --- the WebSocket ---------------------------------------------------------------------------


class Empty(Out):
    """A result with nothing to say (`{}`)."""


class PingOut(Out):
    time: datetime


class SdpOut(Out):
    sdp: str


class PresenceOut(Out):
    """The data of the presence signal, and each entry of hello's snapshot."""

    user_id: int
    status: Literal["online", "away", "offline"]
    last_seen_at: datetime | None


class HelloOut(Out):
    """The result of hello: who you are, the newest seq, who of your people is online."""

    user_id: int
    seq: int
    presence: list[PresenceOut]


class TypingOut(Out):
    """The data of the typing signal."""

    chat_id: int
    user_id: int
    typing: bool


class SyncResetOut(Out):
    """The data of sync.reset: reload, then resume from `seq`."""

    seq: int


class CallSignalOut(Out):
    """The data of call.incoming, call.ringing and call.ended."""

    call: CallOut


# A signal's data: a shape above, or a small dict for the call signals that carry only ids.
SignalData = BaseModel | dict[str, Any]
