"""Messages, reactions, pins, stars, read marks, activity and search under /api/v1."""

from __future__ import annotations

from urllib.parse import unquote

from quart import Blueprint
from quart_schema import tag, validate_querystring, validate_request, validate_response

from appliance.api.current import hearth
from appliance.api.requests import (
    ActivityQuery,
    ActivityReadIn,
    DeleteQuery,
    EditIn,
    HistoryQuery,
    MarkIn,
    SearchQuery,
    SendIn,
)
from appliance.api.shapes import (
    ActivityOut,
    ActivityReadOut,
    EditsOut,
    HistoryOut,
    MessageOut,
    MessagesOut,
    SearchOut,
)
from appliance.web.api_chats import me
from appliance.web.auth import login_required
from appliance.web.contract import no_content

blueprint = Blueprint("messages", __name__, url_prefix="/api/v1")
tag_messages = tag(["messages"])


@blueprint.get("/chats/<int:chat_id>/messages")
@login_required
@validate_querystring(HistoryQuery)
@validate_response(HistoryOut)
@tag_messages
async def history(chat_id: int, query_args: HistoryQuery) -> HistoryOut:
    """A page of history: the newest, or before/after/around a message id; oldest first."""
    return await hearth().messaging.history(
        me(),
        chat_id,
        before=query_args.before,
        after=query_args.after,
        around=query_args.around,
        limit=query_args.limit,
    )


@blueprint.post("/chats/<int:chat_id>/messages")
@login_required
@validate_request(SendIn)
@validate_response(MessageOut, 201)
@validate_response(MessageOut, 200)
@tag_messages
async def send(chat_id: int, data: SendIn) -> tuple[MessageOut, int]:
    """Send a message. Retrying with the same client_id returns the stored one (200)."""
    view, created = await hearth().messaging.send(
        me(),
        chat_id,
        client_id=data.client_id,
        body=data.body,
        reply_to=data.reply_to,
        forward_of=data.forward_of,
        attachments=data.attachments,
        thread_root_id=data.thread_root_id,
        also_to_chat=data.also_to_chat,
    )
    return view, 201 if created else 200


@blueprint.patch("/messages/<int:message_id>")
@login_required
@validate_request(EditIn)
@validate_response(MessageOut)
@tag_messages
async def edit(message_id: int, data: EditIn) -> MessageOut:
    """Edit your message; the previous text is kept in its history."""
    return await hearth().messaging.edit(me(), message_id, data.body)


@blueprint.get("/messages/<int:message_id>/edits")
@login_required
@validate_response(EditsOut)
@tag_messages
async def edits(message_id: int) -> EditsOut:
    """Earlier versions of an edited message, oldest first."""
    return await hearth().messaging.edits(me(), message_id)


@blueprint.delete("/messages/<int:message_id>")
@login_required
@validate_querystring(DeleteQuery)
@no_content
@tag_messages
async def delete(message_id: int, query_args: DeleteQuery) -> None:
    """Delete a message for yourself (`for=me`) or for everyone (`for=everyone`)."""
    await hearth().messaging.delete(me(), message_id, query_args.for_)


@blueprint.put("/messages/<int:message_id>/reactions/<path:emoji>")
@login_required
@no_content
@tag_messages
async def add_reaction(message_id: int, emoji: str) -> None:
    """React with an emoji (URL-encoded)."""
    await hearth().messaging.react(me(), message_id, unquote(emoji), add=True)


@blueprint.delete("/messages/<int:message_id>/reactions/<path:emoji>")
@login_required
@no_content
@tag_messages
async def remove_reaction(message_id: int, emoji: str) -> None:
    """Take your reaction back."""
    await hearth().messaging.react(me(), message_id, unquote(emoji), add=False)


@blueprint.put("/messages/<int:message_id>/pin")
@login_required
@no_content
@tag_messages
async def pin(message_id: int) -> None:
    """Pin a message (owner and admins; both people in a direct chat)."""
    await hearth().messaging.pin(me(), message_id, pinned=True)


@blueprint.delete("/messages/<int:message_id>/pin")
@login_required
@no_content
@tag_messages
async def unpin(message_id: int) -> None:
    """Unpin a message."""
    await hearth().messaging.pin(me(), message_id, pinned=False)


@blueprint.put("/messages/<int:message_id>/star")
@login_required
@no_content
@tag_messages
async def star(message_id: int) -> None:
    """Star a message, for you only (message.starred to your devices)."""
    await hearth().prefs.star(me(), message_id, starred=True)


@blueprint.delete("/messages/<int:message_id>/star")
@login_required
@no_content
@tag_messages
async def unstar(message_id: int) -> None:
    """Unstar a message."""
    await hearth().prefs.star(me(), message_id, starred=False)


@blueprint.get("/starred")
@login_required
@validate_response(MessagesOut)
@tag_messages
async def starred() -> MessagesOut:
    """Your starred messages, latest starred first (in chats you are still in)."""
    return await hearth().prefs.starred(me())


@blueprint.get("/activity")
@login_required
@validate_querystring(ActivityQuery)
@validate_response(ActivityOut)
@tag_messages
async def activity(query_args: ActivityQuery) -> ActivityOut:
    """What concerns you across your chats, newest first: mentions of you, replies to your
    messages, reactions to them, calls you missed; with your unread count."""
    return await hearth().activity.page(me(), cursor=query_args.cursor, limit=query_args.limit)


@blueprint.post("/activity/read")
@login_required
@validate_request(ActivityReadIn)
@validate_response(ActivityReadOut)
@tag_messages
async def activity_read(data: ActivityReadIn) -> ActivityReadOut:
    """Mark your activity seen up to a time (activity.read to your devices)."""
    return await hearth().activity.mark_read(me(), data.up_to)


@blueprint.get("/chats/<int:chat_id>/pins")
@login_required
@validate_response(MessagesOut)
@tag_messages
async def pins(chat_id: int) -> MessagesOut:
    """The chat's pinned messages, newest pin first."""
    return await hearth().messaging.pins(me(), chat_id)


@blueprint.post("/chats/<int:chat_id>/read")
@login_required
@validate_request(MarkIn)
@no_content
@tag_messages
async def mark_read(chat_id: int, data: MarkIn) -> None:
    """You have read up to this message."""
    await hearth().messaging.mark(me(), chat_id, data.message_id, read=True)


@blueprint.post("/chats/<int:chat_id>/delivered")
@login_required
@validate_request(MarkIn)
@no_content
@tag_messages
async def mark_delivered(chat_id: int, data: MarkIn) -> None:
    """Your device has received up to this message."""
    await hearth().messaging.mark(me(), chat_id, data.message_id, read=False)


@blueprint.get("/search")
@login_required
@validate_querystring(SearchQuery)
@validate_response(SearchOut)
@tag_messages
async def search(query_args: SearchQuery) -> SearchOut:
    """Messages matching all the words (the last one as a prefix), in your chats, narrowed
    by the filters given: chat_id, sender_id, has_file, after, before."""
    return await hearth().messaging.search(
        me(), query_args.q, **query_args.model_dump(exclude={"q"})
    )
