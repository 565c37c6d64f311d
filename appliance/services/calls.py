"""Calls: ringing, answering, joining and leaving, the call log. The SFU carries the media.

Who is in which call, and who is still being rung, lives in memory: a call lasts as long as
the server runs. The database keeps the record: each call, each stint of each participant,
and, when a call ends, one message of kind "call" in its chat with its message.created event,
in the same transaction as the end. Call signals (`call.incoming`, `call.accepted`, ...) are
ephemeral: they go to the users' open connections through the hub and are never replayed;
a reloaded page asks `GET /calls/active`.

State changes run one at a time under one lock: calls are rare next to messages, and a single
order makes "one call per chat" and "busy" easy to keep true.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from appliance.api import shapes
from appliance.config import CallSettings
from appliance.services import views
from appliance.services.chats import MANAGERS, require_member, require_unblocked
from appliance.services.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from appliance.services.unit import Outbox, Work
from appliance.store import calls, chats, messages
from appliance.store.calls import CallRow
from appliance.store.chats import MemberRow
from appliance.store.db import Connection

if TYPE_CHECKING:
    from appliance.sfu import SFU

log = logging.getLogger(__name__)

KINDS = frozenset({"audio", "video"})
HISTORY_LIMIT = 100
RECONNECT_GRACE = 5.0  # seconds a participant's sockets may all be down before they leave


class Signals(Protocol):
    """Where call signals go: the hub, which pushes them to a user's open connections."""

    def signal(self, user_id: int, name: str, data: dict[str, Any]) -> None: ...

    def signal_users(self, user_ids: Iterable[int], name: str, data: dict[str, Any]) -> None: ...

    def online(self, user_id: int) -> bool: ...


class _NoSignals:
    """Until the hub connects (and in CLI commands) signals go nowhere."""

    def signal(self, user_id: int, name: str, data: dict[str, Any]) -> None:
        pass

    def signal_users(self, user_ids: Iterable[int], name: str, data: dict[str, Any]) -> None:
        pass

    def online(self, user_id: int) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Media:
    mic: bool
    camera: bool
    screen: bool


@dataclass(slots=True, eq=False)
class LiveCall:
    """A call that is ringing or active."""

    row: CallRow
    direct: bool
    participants: set[int] = field(default_factory=set)
    ringing: set[int] = field(default_factory=set)  # members whose devices ring now
    media: dict[int, Media] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def answered(self) -> bool:
        return self.row.answered_at is not None

    def natural_outcome(self) -> str:
        return "completed" if self.answered else "missed"


def call_not_found() -> NotFoundError:
    return NotFoundError("There is no such call.", code="call_not_found")


def not_in_call() -> ConflictError:
    return ConflictError("You are not in this call.", code="not_in_call")


class Calls:
    def __init__(self, work: Work, settings: CallSettings) -> None:
        self.work = work
        self.audience = work.audience
        self.settings = settings
        self.ring_timeout = settings.ring_timeout_seconds  # seconds; tests may shorten it
        self._signals: Signals = _NoSignals()
        self._live: dict[int, LiveCall] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sfu: SFU | None = None
        self._closed = False

    def connect(self, signals: Signals) -> None:
        self._signals = signals

    # --- lifecycle ---------------------------------------------------------------------------

    async def end_interrupted(self) -> None:
        """At start: calls a stopped server left open end now, each with its log message."""
        async with self.work.read() as conn:
            left_open = await calls.unfinished(conn)
        for row in left_open:
            outcome = "completed" if row.answered_at is not None else "missed"
            await self._record_end(row.id, outcome)

    async def close(self) -> None:
        """At shutdown, before the database closes: every ongoing call ends and is logged."""
        self._closed = True
        async with self._lock:
            for live in list(self._live.values()):
                try:
                    await self._finish(live, live.natural_outcome())
                except Exception:
                    log.exception("could not end call %s at shutdown", live.id)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sfu is not None:
            await self._sfu.close()
            self._sfu = None

    def user_disconnected(self, user_id: int) -> None:
        """The user's last connection closed: unless they are back within a few seconds (a
        network blip; their media connections may well have survived), they leave their
        calls. A vanished peer connection is handled by the SFU either way."""
        if not self._closed and self._call_of(user_id) is not None:
            self._spawn(self._leave_all(user_id, grace=RECONNECT_GRACE), "call-disconnected")

    async def _leave_all(self, user_id: int, grace: float = 0.0) -> None:
        if grace:
            await asyncio.sleep(grace)
            if self._signals.online(user_id):
                return
        async with self._lock:
            for live in list(self._live.values()):
                if user_id in live.participants:
                    await self._leave(live, user_id)

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(job, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- reading -----------------------------------------------------------------------------

    async def get(self, user_id: int, call_id: int) -> shapes.CallOut:
        async with self.work.read() as conn:
            row = await calls.get(conn, call_id)
            if row is None:
                raise call_not_found()
            await require_member(conn, row.chat_id, user_id)
        return self._view(row)

    async def history(
        self, user_id: int, chat_id: int | None = None, limit: int = 50
    ) -> list[shapes.CallOut]:
        async with self.work.read() as conn:
            if chat_id is not None:
                await require_member(conn, chat_id, user_id)
            rows = await calls.for_user(
                conn, user_id, chat_id=chat_id, limit=max(1, min(limit, HISTORY_LIMIT))
            )
        return [self._view(row) for row in rows]

    async def ongoing(self, user_id: int) -> list[shapes.CallOut]:
        """Ringing and active calls in the user's chats."""
        async with self.work.read() as conn:
            rows = await calls.for_user(conn, user_id, ongoing=True, limit=HISTORY_LIMIT)
        return [self._view(row) for row in rows if row.id in self._live]

    def _view(self, row: CallRow) -> shapes.CallOut:
        live = self._live.get(row.id)
        if live is None:
            return views.call(row)
        return views.call(live.row, live.participants)

    # --- ringing, answering, joining -----------------------------------------------------------

    async def start(self, user_id: int, chat_id: int, kind: str) -> shapes.CallOut:
        if not self.settings.enabled:
            raise ForbiddenError("Calls are turned off on this Hearth.", code="calls_disabled")
        if kind not in KINDS:
            raise InvalidError("kind is audio or video.", field="kind")
        async with self._lock:
            now = self.work.clock.now_ms()
            async with self.work.unit() as (tx, _):
                chat, _ = await require_member(tx, chat_id, user_id)
                await require_unblocked(tx, chat, user_id)
                if any(live.row.chat_id == chat_id for live in self._live.values()):
                    raise ConflictError(
                        "There is already a call in this chat; join it.", code="call_in_progress"
                    )
                if self._call_of(user_id) is not None:
                    raise ConflictError("You are in another call.", code="in_another_call")
                members = [row.user_id for row in await chats.members(tx, chat_id)]
                row = await calls.create(
                    tx, chat_id=chat_id, kind=kind, started_by=user_id, now=now
                )
                await calls.joined(tx, row.id, user_id, now)
            live = LiveCall(row, direct=chat.kind == "direct", participants={user_id})
            others = [member for member in members if member != user_id]
            busy = sorted(member for member in others if self._call_of(member) is not None)
            live.ringing = set(others) - set(busy)
            self._live[row.id] = live
            self._joined(live, user_id)
            self._signals.signal_users(
                live.ringing, "call.incoming", {"call": self._view(row).model_dump(mode="json")}
            )
            for member in busy:
                self._signals.signal_users(
                    live.participants,
                    "call.declined",
                    {"call_id": row.id, "user_id": member, "reason": "busy"},
                )
            if live.direct and busy:
                return await self._finish(live, "busy")
            loop = asyncio.get_running_loop()
            live.timer = loop.call_later(self.ring_timeout, self._ring_timed_out, row.id)
            view = self._view(row)
            self._signals.signal(user_id, "call.ringing", {"call": view.model_dump(mode="json")})
            return view

    async def accept(self, user_id: int, call_id: int) -> shapes.CallOut:
        """Answer a ringing call; the same as `join` (which also serves late joiners)."""
        return await self.join(user_id, call_id)

    async def join(self, user_id: int, call_id: int) -> shapes.CallOut:
        async with self._lock:
            now = self.work.clock.now_ms()
            async with self.work.unit() as (tx, _):
                live, _ = await self._require_live(tx, user_id, call_id)
                if user_id in live.participants:
                    return self._view(live.row)
                if self._call_of(user_id) is not None:
                    raise ConflictError("You are in another call; leave it first.",
                                        code="in_another_call")  # fmt: skip
                if len(live.participants) >= self.settings.max_participants:
                    raise ConflictError("This call is full.", code="call_full")
                await calls.joined(tx, call_id, user_id, now)
                answering = not live.answered and user_id != live.row.started_by
                if answering:
                    await calls.answer(tx, call_id, now)
            was_ringing = user_id in live.ringing
            live.ringing.discard(user_id)
            live.participants.add(user_id)
            if answering:
                live.row = replace(live.row, answered_at=now)
            if was_ringing or answering:
                # The caller learns it was answered; the answerer's other devices stop ringing.
                self._signals.signal_users(
                    live.participants | live.ringing,
                    "call.accepted",
                    {"call_id": call_id, "user_id": user_id},
                )
            self._joined(live, user_id)
            return self._view(live.row)

    def _joined(self, live: LiveCall, user_id: int) -> None:
        self._signals.signal_users(
            live.participants, "call.participant.joined", {"call_id": live.id, "user_id": user_id}
        )

    async def decline(self, user_id: int, call_id: int) -> None:
        async with self._lock:
            async with self.work.read() as conn:
                live, _ = await self._require_live(conn, user_id, call_id)
            if user_id not in live.ringing:
                return  # answered or declined already, perhaps on another device
            live.ringing.discard(user_id)
            self._signals.signal_users(
                live.participants | {user_id},
                "call.declined",
                {"call_id": call_id, "user_id": user_id, "reason": "declined"},
            )
            if not live.answered and not live.ringing:
                await self._finish(live, "declined")

    def _ring_timed_out(self, call_id: int) -> None:
        if not self._closed:
            self._spawn(self._ring_over(call_id), "call-ring-timeout")

    async def _ring_over(self, call_id: int) -> None:
        async with self._lock:
            live = self._live.get(call_id)
            if live is None:
                return
            live.timer = None
            if not live.answered:
                await self._finish(live, "missed")
            elif live.ringing:
                missed, live.ringing = live.ringing, set()
                self._signals.signal_users(missed, "call.missed", {"call_id": call_id})

    # --- leaving and ending ------------------------------------------------------------------

    async def leave(self, user_id: int, call_id: int) -> None:
        async with self._lock:
            async with self.work.read() as conn:
                live, _ = await self._require_live(conn, user_id, call_id)
            if user_id in live.participants:
                await self._leave(live, user_id)

    async def end(self, user_id: int, call_id: int) -> None:
        async with self._lock:
            async with self.work.read() as conn:
                live, member = await self._require_live(conn, user_id, call_id)
            if live.direct:
                allowed = user_id in live.participants
            else:
                allowed = user_id == live.row.started_by or member.role in MANAGERS
            if not allowed:
                raise ForbiddenError(
                    "Only the one who started the call, or the chat's owner and admins, can "
                    "end it for everyone; you can leave it.",
                    code="not_allowed",
                )
            await self._finish(live, live.natural_outcome())

    async def _peer_failed(self, call_id: int, user_id: int) -> None:
        """The SFU lost this participant's peer connection: that is leaving. In a task of our
        own: leaving may end the call, and ending a call waits for the SFU's callbacks."""
        if not self._closed:
            self._spawn(self._leave_failed(call_id, user_id), "call-peer-failed")

    async def _leave_failed(self, call_id: int, user_id: int) -> None:
        async with self._lock:
            live = self._live.get(call_id)
            if live is not None and user_id in live.participants:
                await self._leave(live, user_id)

    async def _leave(self, live: LiveCall, user_id: int) -> None:
        """The lock is held."""
        live.participants.discard(user_id)
        live.media.pop(user_id, None)
        if self._sfu is not None:
            with contextlib.suppress(LookupError):
                await self._sfu.leave(live.id, user_id)
        self._signals.signal_users(
            live.participants | {user_id},
            "call.participant.left",
            {"call_id": live.id, "user_id": user_id},
        )
        if not live.participants or (live.direct and live.answered):
            await self._finish(live, live.natural_outcome())
            return
        async with self.work.unit() as (tx, _):
            await calls.left(tx, live.id, user_id, self.work.clock.now_ms())

    async def _finish(self, live: LiveCall, outcome: str) -> shapes.CallOut:
        """End a live call: log it, tell the SFU and every member. The lock is held."""
        self._live.pop(live.id, None)
        if live.timer is not None:
            live.timer.cancel()
        ended = await self._record_end(live.id, outcome)
        if self._sfu is not None:
            try:
                await self._sfu.end(live.id)
            except Exception:
                log.exception("the SFU could not end call %s", live.id)
        view = views.call(
            ended or replace(live.row, ended_at=self.work.clock.now_ms(), outcome=outcome)
        )
        self._signals.signal_users(live.ringing, "call.missed", {"call_id": live.id})
        self._signals.signal_users(
            self.audience.members(live.row.chat_id) | live.participants,
            "call.ended",
            {"call": view.model_dump(mode="json")},
        )
        return view

    async def _record_end(self, call_id: int, outcome: str) -> CallRow | None:
        """Store the end and the call-log message with its event, in one transaction."""
        async with self.work.unit() as (tx, outbox):
            row = await calls.finish(tx, call_id, now=outbox.now, outcome=outcome)
            if row is not None:  # None: it had ended, or its chat was deleted meanwhile
                row = await self._log(tx, outbox, row)
        return row

    async def _log(self, tx: Connection, outbox: Outbox, row: CallRow) -> CallRow:
        message = await messages.create(
            tx, chat_id=row.chat_id, sender_id=row.started_by, client_id=None, body="",
            now=outbox.now, kind="call",
        )  # fmt: skip
        assert message is not None  # no client_id to collide on
        await calls.set_message(tx, row.id, message.id)
        row = replace(row, message_id=message.id)
        view = views.message(message, messages.Extras(calls={message.id: row}))
        await outbox.event(tx, "message.created", view, chat_id=row.chat_id)
        return row

    # --- media -------------------------------------------------------------------------------

    async def set_media(
        self, user_id: int, call_id: int, *, mic: bool, camera: bool, screen: bool
    ) -> None:
        live = self._participant(user_id, call_id)
        live.media[user_id] = Media(mic, camera, screen)
        if self._sfu is not None:
            with contextlib.suppress(LookupError):  # not published yet: told after publishing
                self._sfu.set_media(call_id, user_id, mic=mic, camera=camera, screen=screen)
        self._signals.signal_users(
            live.participants - {user_id},
            "call.media",
            {"call_id": call_id, "user_id": user_id, "mic": mic, "camera": camera,
             "screen": screen},
        )  # fmt: skip

    async def publish(self, user_id: int, call_id: int, offer_sdp: str) -> str:
        """The participant's publish offer -> the SFU's answer. The server's subscribe offer
        follows as the signal `sfu.offer`."""
        live = self._participant(user_id, call_id)
        sfu = self._media()
        try:
            answer = await sfu.publish(call_id, user_id, offer_sdp)
        except ValueError as error:
            raise InvalidError(f"The offer is not usable: {error}", field="sdp") from error
        except LookupError as error:
            raise not_in_call() from error
        if self._live.get(call_id) is not live or user_id not in live.participants:
            await sfu.leave(call_id, user_id)  # they left (or it ended) while we negotiated
            raise not_in_call()
        media = live.media.get(user_id)
        if media is not None:
            with contextlib.suppress(LookupError):
                sfu.set_media(
                    call_id, user_id, mic=media.mic, camera=media.camera, screen=media.screen
                )
        self._spawn(self._offer_subscription(sfu, call_id, user_id), "sfu-subscribe-offer")
        return answer

    async def _offer_subscription(self, sfu: SFU, call_id: int, user_id: int) -> None:
        try:
            offer = await sfu.subscribe_offer(call_id, user_id)
        except LookupError:
            return  # they left meanwhile
        except Exception:
            log.exception("subscribe offer for user %s in call %s failed", user_id, call_id)
            return
        live = self._live.get(call_id)
        if live is not None and user_id in live.participants:
            self._signals.signal(user_id, "sfu.offer", {"call_id": call_id, "sdp": offer})

    async def subscribe_answer(self, user_id: int, call_id: int, answer_sdp: str) -> None:
        self._participant(user_id, call_id)
        if self._sfu is None:
            raise not_in_call()
        try:
            await self._sfu.subscribe_answer(call_id, user_id, answer_sdp)
        except ValueError as error:
            raise InvalidError(f"The answer is not usable: {error}", field="sdp") from error
        except LookupError as error:
            raise not_in_call() from error

    def _media(self) -> SFU:
        if self._sfu is None:
            from appliance.sfu import SFU  # aiortc loads with the first call that sends media

            self._sfu = SFU(self.settings, self._notify, self._peer_failed)
        return self._sfu

    def _notify(self, user_id: int, name: str, data: dict[str, Any]) -> None:
        self._signals.signal(user_id, name, data)

    # --- rules -------------------------------------------------------------------------------

    def _call_of(self, user_id: int) -> LiveCall | None:
        """The call the user is in now, if any (that makes them busy)."""
        for live in self._live.values():
            if user_id in live.participants:
                return live
        return None

    def _participant(self, user_id: int, call_id: int) -> LiveCall:
        live = self._live.get(call_id)
        if live is None or user_id not in live.participants:
            raise not_in_call()
        return live

    async def _require_live(
        self, conn: Connection, user_id: int, call_id: int
    ) -> tuple[LiveCall, MemberRow]:
        """The ongoing call, for a member of its chat; a call that is over is a conflict."""
        live = self._live.get(call_id)
        if live is None:
            row = await calls.get(conn, call_id)
            if row is None:
                raise call_not_found()
            await require_member(conn, row.chat_id, user_id)
            raise ConflictError("This call is over.", code="call_ended")
        _, member = await require_member(conn, live.row.chat_id, user_id)
        return live, member
