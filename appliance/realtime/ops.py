"""The WebSocket ops: one schema and one handler each, registered by `create_app`.

Handlers call the same services as REST, so rules, errors and rate limits are the same, and
return the same shapes (`appliance/api/shapes.py`) that REST replies with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from appliance import limits
from appliance.api.requests import Body, Id, In, SendIn, ThreadReadIn
from appliance.api.shapes import Empty, PingOut, SdpOut
from appliance.clock import to_datetime
from appliance.context import Hearth
from appliance.realtime.connection import Connection
from appliance.realtime.hub import Hub


@dataclass(frozen=True, slots=True)
class Caller:
    context: Hearth
    hub: Hub
    connection: Connection

    @property
    def user_id(self) -> int:
        return self.connection.user_id


Handler = Callable[[Caller, Any, str], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    model: type[In]
    handler: Handler

    async def run(self, caller: Caller, data: In) -> BaseModel:
        return await self.handler(caller, data, self.name)


class Registry:
    """Op name -> schema and handler (Home Assistant's `async_register_command`)."""

    def __init__(self) -> None:
        self._ops: dict[str, Op] = {}

    def register(self, model: type[In], handler: Handler, *names: str) -> None:
        for name in names:
            if name in self._ops:
                raise ValueError(f"op {name!r} is registered twice")
            self._ops[name] = Op(name, model, handler)

    def get(self, name: str) -> Op | None:
        return self._ops.get(name)

    def names(self) -> list[str]:
        return sorted(self._ops)


# --- schemas ---------------------------------------------------------------------------------


class HelloOp(In):
    resume_from: Annotated[int, Field(ge=0, le=2**62)] | None = None


class EmptyOp(In):
    pass


class SendOp(SendIn):
    chat_id: Id


class ThreadReadOp(ThreadReadIn):
    chat_id: Id
    root_id: Id


class EditOp(In):
    message_id: Id
    body: Body


class DeleteOp(In):
    message_id: Id
    # Without `for`, a delete is only for yourself: deleting for everyone is said out loud.
    scope: Annotated[Literal["me", "everyone"], Field(alias="for")] = "me"


class ReactionOp(In):
    message_id: Id
    emoji: Annotated[str, Field(min_length=1, max_length=limits.EMOJI_MAX)]


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


async def ping(caller: Caller, data: EmptyOp, name: str) -> BaseModel:
    return PingOut(time=to_datetime(caller.context.clock.now_ms()))


async def send(caller: Caller, data: SendOp, name: str) -> BaseModel:
    view, _ = await caller.context.messaging.send(
        caller.user_id,
        data.chat_id,
        client_id=data.client_id,
        body=data.body,
        reply_to=data.reply_to,
        forward_of=data.forward_of,
        attachments=data.attachments,
        thread_root_id=data.thread_root_id,
        also_to_chat=data.also_to_chat,
    )
    return view


async def thread_read(caller: Caller, data: ThreadReadOp, name: str) -> BaseModel:
    return await caller.context.threads.mark_read(
        caller.user_id, data.chat_id, data.root_id, data.message_id
    )


async def edit(caller: Caller, data: EditOp, name: str) -> BaseModel:
    return await caller.context.messaging.edit(caller.user_id, data.message_id, data.body)


async def delete(caller: Caller, data: DeleteOp, name: str) -> BaseModel:
    await caller.context.messaging.delete(caller.user_id, data.message_id, data.scope)
    return Empty()


async def react(caller: Caller, data: ReactionOp, name: str) -> BaseModel:
    add = name == "reaction.add"
    await caller.context.messaging.react(caller.user_id, data.message_id, data.emoji, add=add)
    return Empty()


async def mark(caller: Caller, data: MarkOp, name: str) -> BaseModel:
    read = name == "chat.read"
    await caller.context.messaging.mark(caller.user_id, data.chat_id, data.message_id, read=read)
    return Empty()


async def typing(caller: Caller, data: ChatOp, name: str) -> BaseModel:
    caller.hub.typing(caller.user_id, data.chat_id, name == "typing.start")
    return Empty()


async def presence(caller: Caller, data: PresenceOp, name: str) -> BaseModel:
    caller.hub.set_status(caller.connection, data.status)
    return Empty()


# --- calls -----------------------------------------------------------------------------------


async def call_start(caller: Caller, data: CallStartOp, name: str) -> BaseModel:
    return await caller.context.calls.start(caller.user_id, data.chat_id, data.kind)


async def call_join(caller: Caller, data: CallOp, name: str) -> BaseModel:
    calls = caller.context.calls
    enter = calls.accept if name == "call.accept" else calls.join
    return await enter(caller.user_id, data.call_id)


async def call_change(caller: Caller, data: CallOp, name: str) -> BaseModel:
    calls = caller.context.calls
    change = {"call.decline": calls.decline, "call.leave": calls.leave, "call.end": calls.end}
    await change[name](caller.user_id, data.call_id)
    return Empty()


async def call_media(caller: Caller, data: CallMediaOp, name: str) -> BaseModel:
    await caller.context.calls.set_media(
        caller.user_id, data.call_id, mic=data.mic, camera=data.camera, screen=data.screen
    )
    return Empty()


async def sfu_offer(caller: Caller, data: SdpOp, name: str) -> BaseModel:
    answer = await caller.context.calls.publish(caller.user_id, data.call_id, data.sdp)
    return SdpOut(sdp=answer)


async def sfu_answer(caller: Caller, data: SdpOp, name: str) -> BaseModel:
    await caller.context.calls.subscribe_answer(caller.user_id, data.call_id, data.sdp)
    return Empty()


def build_registry() -> Registry:
    """Every op the WebSocket understands (`hello` aside, which the endpoint handles)."""
    registry = Registry()
    registry.register(EmptyOp, ping, "ping")
    registry.register(SendOp, send, "message.send")
    registry.register(EditOp, edit, "message.edit")
    registry.register(DeleteOp, delete, "message.delete")
    registry.register(ReactionOp, react, "reaction.add", "reaction.remove")
    registry.register(MarkOp, mark, "chat.read", "chat.delivered")
    registry.register(ThreadReadOp, thread_read, "thread.read")
    registry.register(ChatOp, typing, "typing.start", "typing.stop")
    registry.register(PresenceOp, presence, "presence.set")
    registry.register(CallStartOp, call_start, "call.start")
    registry.register(CallOp, call_join, "call.accept", "call.join")
    registry.register(CallOp, call_change, "call.decline", "call.leave", "call.end")
    registry.register(CallMediaOp, call_media, "call.media")
    registry.register(SdpOp, sfu_offer, "sfu.offer")
    registry.register(SdpOp, sfu_answer, "sfu.answer")
    return registry
