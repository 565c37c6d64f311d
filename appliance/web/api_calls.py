"""The call log and ongoing calls under /api/v1; calls are made over the WebSocket."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag, validate_querystring, validate_response

from appliance.api.current import hearth
from appliance.api.requests import CallsQuery
from appliance.api.shapes import CallOut, CallsOut
from appliance.web.api_chats import me
from appliance.web.auth import login_required

blueprint = Blueprint("calls", __name__, url_prefix="/api/v1")
tag_calls = tag(["calls"])


@blueprint.get("/calls")
@login_required
@validate_querystring(CallsQuery)
@validate_response(CallsOut)
@tag_calls
async def history(query_args: CallsQuery) -> CallsOut:
    """Calls in your chats (or in one chat), newest first."""
    calls = await hearth().calls.history(me(), query_args.chat_id, query_args.limit)
    return CallsOut(calls=calls)


@blueprint.get("/calls/active")
@login_required
@validate_response(CallsOut)
@tag_calls
async def ongoing() -> CallsOut:
    """Ringing and active calls in your chats: a reloaded page shows or rejoins them."""
    return CallsOut(calls=await hearth().calls.ongoing(me()))


@blueprint.get("/calls/<int:call_id>")
@login_required
@validate_response(CallOut)
@tag_calls
async def one(call_id: int) -> CallOut:
    """One call (members of its chat only)."""
    return await hearth().calls.get(me(), call_id)
