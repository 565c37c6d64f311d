"""The WebSocket ops: one schema and one handler each, in a registry.

Handlers call the same services as REST, so rules, errors and rate limits are the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field

from appliance.clock import now_ms
from appliance.context import Hearth
from appliance.realtime.connection import Connection
from appliance.realtime.hub import Hub
from appliance.services import views
from appliance.web.messaging_models import Body, Id, SendIn
from appliance.web.models import In

M = TypeVar("M", bound=In)


@dataclass(frozen=True, slots=True)
class Caller:
    context: Hearth
    hub: Hub
    connection: Connection

    @property
    def user_id(self) -> int:
        return self.connection.user_id


Handler = Callable[[Caller, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Op:
    model: type[In]
    handler: Handler


OPS: dict[str, Op] = {}


def op(
    *names: str, model: type[M]
) -> Callable[[Callable[[Caller, M, str], Awaitable[dict[str, Any]]]], None]:
    """Register a handler for one or more op names; it gets the caller, data and op name."""

    def register(handler: Callable[[Caller, M, str], Awaitable[dict[str, Any]]]) -> None:
        for name in names:

            async def bound(caller: Caller, data: Any, _name: str = name) -> dict[str, Any]:
                return await handler(caller, data, _name)

            OPS[name] = Op(model, bound)

    return register


# --- schemas ---------------------------------------------------------------------------------


class HelloOp(In):
    resume_from: Annotated[int, Field(ge=0, le=2**62)] | None = None


class EmptyOp(In):
    pass


class SendOp(SendIn):
    chat_id: Id


class EditOp(In):
    message_id: Id
    body: Body


class DeleteOp(In):
    message_id: Id
    scope: Annotated[Literal["me", "everyone"], Field(alias="for")] = "everyone"


class ReactionOp(In):
    message_id: Id
    emoji: Annotated[str, Field(min_length=1, max_length=32)]


class MarkOp(In):
    chat_id: Id
    message_id: Annotated[int, Field(ge=0, le=2**62)]


class ChatOp(In):
    chat_id: Id


class PresenceOp(In):
    status: Literal["online", "away"]


class CallStartOp(In):
    chat_id: Id
    kind: Literal["audio", "video"]


class CallOp(In):
    call_id: Id


class CallMediaOp(CallOp):
    mic: bool
    camera: bool
    screen: bool


class SdpOp(CallOp):
    sdp: Annotated[str, Field(min_length=1, max_length=60_000)]


# --- handlers --------------------------------------------------------------------------------


@op("ping", model=EmptyOp)
async def ping(caller: Caller, data: EmptyOp, name: str) -> dict[str, Any]:
    return {"time": views.iso(now_ms())}


@op("message.send", model=SendOp)
async def send(caller: Caller, data: SendOp, name: str) -> dict[str, Any]:
    view, _ = await caller.context.messaging.send(
        caller.user_id,
        data.chat_id,
        client_id=data.client_id,
        body=data.body,
        reply_to=data.reply_to,
        forward_of=data.forward_of,
    )
    return view


@op("message.edit", model=EditOp)
async def edit(caller: Caller, data: EditOp, name: str) -> dict[str, Any]:
    return await caller.context.messaging.edit(caller.user_id, data.message_id, data.body)


@op("message.delete", model=DeleteOp)
async def delete(caller: Caller, data: DeleteOp, name: str) -> dict[str, Any]:
    await caller.context.messaging.delete(caller.user_id, data.message_id, data.scope)
    return {}


@op("reaction.add", "reaction.remove", model=ReactionOp)
async def react(caller: Caller, data: ReactionOp, name: str) -> dict[str, Any]:
    add = name == "reaction.add"
    await caller.context.messaging.react(caller.user_id, data.message_id, data.emoji, add=add)
    return {}


@op("chat.read", "chat.delivered", model=MarkOp)
async def mark(caller: Caller, data: MarkOp, name: str) -> dict[str, Any]:
    read = name == "chat.read"
    await caller.context.messaging.mark(caller.user_id, data.chat_id, data.message_id, read=read)
    return {}


@op("typing.start", "typing.stop", model=ChatOp)
async def typing(caller: Caller, data: ChatOp, name: str) -> dict[str, Any]:
    caller.hub.typing(caller.user_id, data.chat_id, name == "typing.start")
    return {}


@op("presence.set", model=PresenceOp)
async def presence(caller: Caller, data: PresenceOp, name: str) -> dict[str, Any]:
    caller.hub.set_status(caller.connection, data.status)
    return {}


# --- calls -----------------------------------------------------------------------------------


@op("call.start", model=CallStartOp)
async def call_start(caller: Caller, data: CallStartOp, name: str) -> dict[str, Any]:
    return await caller.context.calls.start(caller.user_id, data.chat_id, data.kind)


@op("call.accept", "call.join", model=CallOp)
async def call_join(caller: Caller, data: CallOp, name: str) -> dict[str, Any]:
    calls = caller.context.calls
    enter = calls.accept if name == "call.accept" else calls.join
    return await enter(caller.user_id, data.call_id)


@op("call.decline", "call.leave", "call.end", model=CallOp)
async def call_change(caller: Caller, data: CallOp, name: str) -> dict[str, Any]:
    calls = caller.context.calls
    change = {"call.decline": calls.decline, "call.leave": calls.leave, "call.end": calls.end}
    await change[name](caller.user_id, data.call_id)
    return {}


@op("call.media", model=CallMediaOp)
async def call_media(caller: Caller, data: CallMediaOp, name: str) -> dict[str, Any]:
    await caller.context.calls.set_media(
        caller.user_id, data.call_id, mic=data.mic, camera=data.camera, screen=data.screen
    )
    return {}


@op("sfu.offer", model=SdpOp)
async def sfu_offer(caller: Caller, data: SdpOp, name: str) -> dict[str, Any]:
    answer = await caller.context.calls.publish(caller.user_id, data.call_id, data.sdp)
    return {"sdp": answer}


@op("sfu.answer", model=SdpOp)
async def sfu_answer(caller: Caller, data: SdpOp, name: str) -> dict[str, Any]:
    await caller.context.calls.subscribe_answer(caller.user_id, data.call_id, data.sdp)
    return {}
