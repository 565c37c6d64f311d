"""Threads under /api/v1: a root's replies and your read mark. Replies are sent with
POST /chats/{id}/messages and `thread_root_id`."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag, validate_querystring, validate_request, validate_response

from appliance.api.current import hearth
from appliance.api.requests import ThreadQuery, ThreadReadIn
from appliance.api.shapes import ThreadPageOut, ThreadReadOut
from appliance.web.api_chats import me
from appliance.web.auth import login_required

blueprint = Blueprint("threads", __name__, url_prefix="/api/v1")
tag_threads = tag(["threads"])


@blueprint.get("/chats/<int:chat_id>/threads/<int:root_id>")
@login_required
@validate_querystring(ThreadQuery)
@validate_response(ThreadPageOut)
@tag_threads
async def thread(chat_id: int, root_id: int, query_args: ThreadQuery) -> ThreadPageOut:
    """A thread: its root and a page of replies (the newest, or before/after a reply id),
    oldest first, with your read mark."""
    return await hearth().threads.replies(
        me(),
        chat_id,
        root_id,
        before=query_args.before,
        after=query_args.after,
        limit=query_args.limit,
    )


@blueprint.post("/chats/<int:chat_id>/threads/<int:root_id>/read")
@login_required
@validate_request(ThreadReadIn)
@validate_response(ThreadReadOut)
@tag_threads
async def read(chat_id: int, root_id: int, data: ThreadReadIn) -> ThreadReadOut:
    """Mark the thread read up to a reply (default: its latest)."""
    return await hearth().threads.mark_read(me(), chat_id, root_id, data.message_id)
