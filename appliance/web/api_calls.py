"""The call log and ongoing calls under /api/v1; calls are made over the WebSocket."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import tag, validate_querystring, validate_response

from appliance.web.api_chats import me
from appliance.web.auth import login_required
from appliance.web.context import hearth
from appliance.web.messaging_models import Id
from appliance.web.models import Out

blueprint = Blueprint("calls", __name__, url_prefix="/api/v1")
tag_calls = tag(["calls"])


class CallOut(Out):
    id: int
    chat_id: int
    kind: Literal["audio", "video"]
    started_by: int | None
    state: Literal["ringing", "active", "ended"]
    started_at: str | None
    answered_at: str | None
    ended_at: str | None
    outcome: Literal["completed", "missed", "declined", "busy", "failed"] | None
    participants: list[int]
    duration_seconds: int | None


class CallsOut(Out):
    calls: list[CallOut]


class CallsQuery(BaseModel):
    chat_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


@blueprint.get("/calls")
@login_required
@validate_querystring(CallsQuery)
@validate_response(CallsOut)
@tag_calls
async def history(query_args: CallsQuery) -> dict[str, Any]:
    """Calls in your chats (or in one chat), newest first."""
    calls = await hearth().calls.history(me(), query_args.chat_id, query_args.limit)
    return {"calls": calls}


@blueprint.get("/calls/active")
@login_required
@validate_response(CallsOut)
@tag_calls
async def ongoing() -> dict[str, Any]:
    """Ringing and active calls in your chats: a reloaded page shows or rejoins them."""
    return {"calls": await hearth().calls.ongoing(me())}


@blueprint.get("/calls/<int:call_id>")
@login_required
@validate_response(CallOut)
@tag_calls
async def one(call_id: int) -> dict[str, Any]:
    """One call (members of its chat only)."""
    return await hearth().calls.get(me(), call_id)
