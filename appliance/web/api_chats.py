"""Contacts, blocks, chats, members, invite links and channels under /api/v1."""

from __future__ import annotations

from quart import Blueprint, request
from quart_schema import tag, validate_querystring, validate_request, validate_response

from appliance.api.current import hearth
from appliance.api.requests import (
    ChannelQuery,
    ChatInviteIn,
    ChatPatch,
    ChatPrefsPatch,
    ChatsQuery,
    MembersIn,
    NewChatIn,
    RoleIn,
    UserIdIn,
)
from appliance.api.shapes import (
    ChannelsOut,
    ChatInviteOut,
    ChatInvitePreviewOut,
    ChatOut,
    ChatPrefsOut,
    ChatsOut,
    ContactsOut,
    MemberOut,
)
from appliance.services.errors import InvalidError
from appliance.web import openapi
from appliance.web.api_admin import base_url
from appliance.web.auth import login_required, principal
from appliance.web.contract import no_content

blueprint = Blueprint("chats", __name__, url_prefix="/api/v1")
tag_contacts = tag(["contacts"])
tag_chats = tag(["chats"])


def me() -> int:
    return principal().user.id


# --- contacts and blocks ---------------------------------------------------------------------


@blueprint.get("/contacts")
@login_required
@validate_response(ContactsOut)
@tag_contacts
async def list_contacts() -> ContactsOut:
    """Your contacts, requests both ways, and the people you blocked."""
    return await hearth().contacts.overview(me())


@blueprint.post("/contacts")
@login_required
@validate_request(UserIdIn)
@validate_response(ContactsOut, 201)
@tag_contacts
async def request_contact(data: UserIdIn) -> tuple[ContactsOut, int]:
    """Ask someone to be a contact (accepts at once if they asked you first)."""
    return await hearth().contacts.request(me(), data.user_id), 201


@blueprint.post("/contacts/<int:user_id>/accept")
@login_required
@validate_response(ContactsOut)
@tag_contacts
async def accept_contact(user_id: int) -> ContactsOut:
    """Accept someone's contact request."""
    return await hearth().contacts.accept(me(), user_id)


@blueprint.post("/contacts/<int:user_id>/reject")
@login_required
@validate_response(ContactsOut)
@tag_contacts
async def reject_contact(user_id: int) -> ContactsOut:
    """Turn down someone's contact request."""
    return await hearth().contacts.reject(me(), user_id)


@blueprint.delete("/contacts/<int:user_id>")
@login_required
@no_content
@tag_contacts
async def remove_contact(user_id: int) -> None:
    """Remove a contact, or withdraw your request."""
    await hearth().contacts.remove(me(), user_id)


@blueprint.post("/blocks")
@login_required
@validate_request(UserIdIn)
@no_content
@tag_contacts
async def block(data: UserIdIn) -> None:
    """Block someone: no direct messages, no adding you to chats, no presence."""
    await hearth().contacts.block(me(), data.user_id)


@blueprint.delete("/blocks/<int:user_id>")
@login_required
@no_content
@tag_contacts
async def unblock(user_id: int) -> None:
    """Unblock someone."""
    await hearth().contacts.unblock(me(), user_id)


# --- chats -----------------------------------------------------------------------------------


@blueprint.get("/chats")
@login_required
@validate_querystring(ChatsQuery)
@validate_response(ChatsOut)
@tag_chats
async def list_chats(query_args: ChatsQuery) -> ChatsOut:
    """Your chats, latest activity first, with unread and mention counts; a page at a time
    (`next` is the cursor of the following page)."""
    return await hearth().chats.for_user(me(), limit=query_args.limit, cursor=query_args.cursor)


@blueprint.post("/chats")
@login_required
@validate_request(NewChatIn)
@validate_response(ChatOut, 201)
@validate_response(ChatOut, 200)
@tag_chats
async def create_chat(data: NewChatIn) -> tuple[ChatOut, int]:
    """Open the direct chat with someone (200 if it exists), or create a group or channel."""
    chats = hearth().chats
    if data.kind == "direct":
        if data.user_id is None:
            raise InvalidError("A direct chat needs user_id.", field="user_id")
        view, created = await chats.open_direct(me(), data.user_id)
        return view, 201 if created else 200
    view = await chats.create(
        me(),
        kind=data.kind,
        title=data.title,
        topic=data.topic,
        member_ids=data.member_ids,
        is_public=data.is_public,
    )
    return view, 201


@blueprint.get("/chats/<int:chat_id>")
@login_required
@validate_response(ChatOut)
@tag_chats
async def get_chat(chat_id: int) -> ChatOut:
    """One chat with its members and their read cursors."""
    return await hearth().chats.get(me(), chat_id)


@blueprint.patch("/chats/<int:chat_id>")
@login_required
@validate_request(ChatPatch)
@validate_response(ChatOut)
@tag_chats
async def patch_chat(chat_id: int, data: ChatPatch) -> ChatOut:
    """Rename a chat, change its topic or whether a channel is public (owner and admins)."""
    return await hearth().chats.update(me(), chat_id, data.model_dump(exclude_unset=True))


@blueprint.put("/chats/<int:chat_id>/avatar")
@login_required
@openapi.picture_request_body
@validate_response(ChatOut)
@tag_chats
async def put_chat_avatar(chat_id: int) -> ChatOut:
    """Set a group's or channel's picture (owner and admins): an image as the raw body, made
    a square WebP of at most 256 px like a profile picture; members get chat.updated."""
    context = hearth()
    await context.avatars.set_chat(me(), chat_id, request.body, length=request.content_length)
    return await context.chats.get(me(), chat_id)


@blueprint.delete("/chats/<int:chat_id>/avatar")
@login_required
@validate_response(ChatOut)
@tag_chats
async def delete_chat_avatar(chat_id: int) -> ChatOut:
    """Remove a group's or channel's picture (owner and admins)."""
    context = hearth()
    await context.avatars.remove_chat(me(), chat_id)
    return await context.chats.get(me(), chat_id)


@blueprint.delete("/chats/<int:chat_id>")
@login_required
@no_content
@tag_chats
async def delete_chat(chat_id: int) -> None:
    """Delete a group or channel for everyone (owner only)."""
    await hearth().chats.delete(me(), chat_id)


@blueprint.patch("/chats/<int:chat_id>/prefs")
@login_required
@validate_request(ChatPrefsPatch)
@validate_response(ChatPrefsOut)
@tag_chats
async def patch_chat_prefs(chat_id: int, data: ChatPrefsPatch) -> ChatPrefsOut:
    """Your own view of a chat: `mute` for `8h`, a `week`, `always`, or `off`; `archived`
    (until a new message arrives). Only your devices are told (chat.prefs)."""
    return await hearth().prefs.change(me(), chat_id, mute=data.mute, archive=data.archived)


@blueprint.post("/chats/<int:chat_id>/clear")
@login_required
@validate_response(ChatPrefsOut)
@tag_chats
async def clear_chat(chat_id: int) -> ChatPrefsOut:
    """Clear the chat's history for you (the others keep theirs)."""
    return await hearth().prefs.clear(me(), chat_id)


@blueprint.post("/chats/<int:chat_id>/delete-for-me")
@login_required
@validate_response(ChatPrefsOut)
@tag_chats
async def delete_chat_for_me(chat_id: int) -> ChatPrefsOut:
    """Delete a direct chat for you: out of your list with its history cleared, until a new
    message arrives. The other person keeps theirs."""
    return await hearth().prefs.delete_for_me(me(), chat_id)


@blueprint.post("/chats/<int:chat_id>/join")
@login_required
@validate_response(ChatOut)
@tag_chats
async def join_channel(chat_id: int) -> ChatOut:
    """Join a public channel."""
    return await hearth().chats.join_public(me(), chat_id)


@blueprint.post("/chats/<int:chat_id>/members")
@login_required
@validate_request(MembersIn)
@validate_response(ChatOut)
@tag_chats
async def add_members(chat_id: int, data: MembersIn) -> ChatOut:
    """Add people (owner and admins)."""
    return await hearth().chats.add_members(me(), chat_id, data.user_ids)


@blueprint.patch("/chats/<int:chat_id>/members/<int:user_id>")
@login_required
@validate_request(RoleIn)
@validate_response(MemberOut)
@tag_chats
async def set_role(chat_id: int, user_id: int, data: RoleIn) -> MemberOut:
    """Change a member's role (owner only); role `owner` hands ownership over."""
    return await hearth().chats.set_role(me(), chat_id, user_id, data.role)


@blueprint.delete("/chats/<int:chat_id>/members/<int:user_id>")
@login_required
@no_content
@tag_chats
async def remove_member(chat_id: int, user_id: int) -> None:
    """Leave (your own id) or remove someone (owner and admins)."""
    await hearth().chats.remove_member(me(), chat_id, user_id)


@blueprint.post("/chats/<int:chat_id>/invites")
@login_required
@validate_request(ChatInviteIn)
@validate_response(ChatInviteOut, 201)
@tag_chats
async def create_chat_invite(chat_id: int, data: ChatInviteIn) -> tuple[ChatInviteOut, int]:
    """A link that lets people join this chat (owner and admins)."""
    invite = await hearth().chats.create_invite(
        me(), chat_id, uses=data.uses, days=data.days, base_url=base_url()
    )
    return invite, 201


@blueprint.get("/chat-invites/<code>")
@login_required
@validate_response(ChatInvitePreviewOut)
@tag_chats
async def preview_chat_invite(code: str) -> ChatInvitePreviewOut:
    """What a chat invite link leads to."""
    return await hearth().chats.preview_invite(me(), code)


@blueprint.post("/invites/<code>/join")
@login_required
@validate_response(ChatOut)
@tag_chats
async def join_by_invite(code: str) -> ChatOut:
    """Join a chat through its invite link."""
    return await hearth().chats.join_invite(me(), code)


@blueprint.get("/channels")
@login_required
@validate_querystring(ChannelQuery)
@validate_response(ChannelsOut)
@tag_chats
async def list_channels(query_args: ChannelQuery) -> ChannelsOut:
    """Public channels, to browse and join."""
    return await hearth().chats.channels(me(), query_args.q)
