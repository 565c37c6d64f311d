"""Calls: ringing, answering, joining and leaving. The parts, each with one job:

- `CallBook` (call_state.py): the live calls in memory and the rules that move them;
- `CallLog` (call_log.py): the record in SQLite, and the call-log message when a call ends;
- `CallMedia` (call_media.py): the bridge to the SFU, which carries the media;
- `views.call`: the shape of a call (`api/shapes.CallOut`).

Who is in which call, and who is still being rung, lives in memory: a call lasts as long as the
server runs. Call signals (`call.incoming`, `call.accepted`, ...) are ephemeral: they go to the
users' open connections through the hub and are never replayed; a reloaded page asks
`GET /calls/active`.

Each operation reads what it needs, then decides and applies its transition in one synchronous
step (so "one call per chat" and "busy" hold without a lock), then records it, signals it and
tells the SFU. Timers (the ring timeout, the reconnect grace) run on the injected clock and
decide at the moment they fire; what follows runs in a task.

Losing access to a chat ends your part in its call. The unit of work announces, right after a
commit, what access it took away (a removal, a deleted chat, a block) and that sessions ended;
the calls concerned are then checked against the audience (updated by that same commit): who
may no longer take part is out at once, and no longer rung. A direct call ends; a call nobody
left in it may stay in ends. Someone whose sessions all ended (signed out everywhere, reset,
disabled) is out as soon as that is read back. Joining and opening a call check the audience in
their synchronous step too, so a removal that commits during their read is not missed.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from appliance.api import shapes
from appliance.api.shapes import SignalData
from appliance.bus import AccessLost
from appliance.clock import Timer
from appliance.config import CallSettings
from appliance.lifecycle import Background
from appliance.services import views
from appliance.services.call_log import CallLog
from appliance.services.call_media import CallMedia
from appliance.services.call_state import CallBook, LiveCall, Media, call_over, not_in_call
from appliance.services.chats import MANAGERS, refused
from appliance.services.errors import ConflictError, ForbiddenError, InvalidError
from appliance.services.unit import Work
from appliance.store.calls import CallRow
from appliance.store.chats import MemberRow, Refusal

log = logging.getLogger(__name__)

KINDS = frozenset({"audio", "video"})
RECONNECT_GRACE = 5.0  # seconds a participant's sockets may all be down before they leave


class Signals(Protocol):
    """Where call signals go: the hub, which pushes them to a user's open connections."""

    def signal(self, user_id: int, name: str, data: SignalData) -> None: ...

    def signal_users(self, user_ids: Iterable[int], name: str, data: SignalData) -> None: ...

    def online(self, user_id: int) -> bool: ...


class _NoSignals:
    """Without a hub (CLI commands) signals go nowhere."""

    def signal(self, user_id: int, name: str, data: SignalData) -> None:
        pass

    def signal_users(self, user_ids: Iterable[int], name: str, data: SignalData) -> None:
        pass

    def online(self, user_id: int) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class _Ending:
    """A call taken out of the book, still to be logged, announced and closed in the SFU."""

    live: LiveCall
    outcome: str
    now: int


class Calls:
    def __init__(
        self,
        work: Work,
        settings: CallSettings,
        *,
        signals: Signals | None = None,
    ) -> None:
        self.audience = work.audience
        self.settings = settings
        self.ring_timeout = settings.ring_timeout_seconds
        self.clock = work.clock
        self.book = CallBook()
        self.call_log = CallLog(work)
        self.media = CallMedia(settings, self._notify, self._peer_failed)
        self._signals: Signals = signals or _NoSignals()
        self._grace: dict[int, Timer] = {}
        self._follow_ups = Background()  # what follows a timer or an announcement
        self._closed = False

    def connect(self, signals: Signals) -> None:
        """Send signals here instead (tests record them)."""
        self._signals = signals

    # --- start and stop ------------------------------------------------------------------------

    async def end_interrupted(self) -> None:
        """At start: calls a stopped server left open end now, each with its log message."""
        ended = await self.call_log.end_interrupted(self.clock.now_ms())
        if ended:
            log.info("ended %d call(s) left open when Hearth last stopped", ended)

    async def close(self) -> None:
        """At shutdown, before the database closes: every ongoing call ends and is logged."""
        self._closed = True
        for timer in self._grace.values():
            timer.cancel()
        self._grace.clear()
        endings = [self._conclude(live, live.natural_outcome()) for live in self.book.calls()]
        await self._follow_ups.wait()
        for ending in endings:
            try:
                await self._settle_end(ending)
            except Exception:
                log.exception("could not end call %s at shutdown", ending.live.id)
            else:
                log.info("call %s ended at shutdown (%s)", ending.live.id, ending.outcome)
        await self.media.close()

    def user_disconnected(self, user_id: int) -> None:
        """The user's last connection closed: unless they are back within a few seconds (a
        network blip; their media connections may well have survived), they leave their
        calls. A vanished peer connection is handled by the SFU either way."""
        if self._closed or self.book.call_of(user_id) is None:
            return
        previous = self._grace.pop(user_id, None)
        if previous is not None:
            previous.cancel()
        self._grace[user_id] = self.clock.call_later(RECONNECT_GRACE, self._grace_over, user_id)

    def _grace_over(self, user_id: int) -> None:
        self._grace.pop(user_id, None)
        if self._closed or self._signals.online(user_id):
            return
        for live in self.book.calls():
            if user_id in live.participants:
                self._follow_ups.spawn(self._leave(live, user_id), "call-disconnected")

    # --- reading -------------------------------------------------------------------------------

    async def get(self, user_id: int, call_id: int) -> shapes.CallOut:
        return self._view(await self.call_log.get(user_id, call_id))

    async def history(
        self, user_id: int, chat_id: int | None = None, limit: int = 50
    ) -> list[shapes.CallOut]:
        return [self._view(row) for row in await self.call_log.history(user_id, chat_id, limit)]

    async def ongoing(self, user_id: int) -> list[shapes.CallOut]:
        """Ringing and active calls in the user's chats."""
        rows = await self.call_log.unfinished_for(user_id)
        return [self._view(row) for row in rows if self.book.get(row.id) is not None]

    def _view(self, row: CallRow) -> shapes.CallOut:
        live = self.book.get(row.id)
        if live is None:
            return views.call(row)
        return views.call(live.record, live.participants)

    # --- ringing, answering, joining -----------------------------------------------------------

    async def start(self, user_id: int, chat_id: int, kind: str) -> shapes.CallOut:
        if not self.settings.enabled:
            raise ForbiddenError("Calls are turned off on this Hearth.", code="calls_disabled")
        if kind not in KINDS:
            raise InvalidError("kind is audio or video.", field="kind")
        chat, members = await self.call_log.chat_to_call(chat_id, user_id)
        live = self.book.reserve(chat_id, user_id, direct=chat.kind == "direct")
        try:
            row = await self.call_log.started(chat_id, kind, user_id, self.clock.now_ms())
        except BaseException:
            self.book.abandon(live)
            self._released(chat_id)
            raise
        busy = self.book.open(live, row, members)
        if self._closed:  # Hearth stopped while the record was written
            await self._settle_end(self._conclude(live, "missed"))
            raise ConflictError("Hearth is stopping.", code="call_ended")
        # Access lost while the record was written (a removal, a block): the caller's call
        # ends, and members who lost it are never rung.
        refusal = self._refusal(live.chat_id, live.direct, user_id)
        if refusal is not None:
            await self._settle_end(self._conclude(live, "missed"))
            raise refused(refusal)
        lost = self._without_access(live)
        self.book.stop_ringing(live, lost)
        busy = [member for member in busy if member not in lost]
        self._joined(live, user_id)
        self._signals.signal_users(
            live.ringing, "call.incoming", shapes.CallSignalOut(call=self._view(row))
        )
        for member in busy:
            self._signals.signal_users(
                live.participants,
                "call.declined",
                {"call_id": row.id, "user_id": member, "reason": "busy"},
            )
        if live.direct and busy:
            return await self._settle_end(self._conclude(live, "busy"))
        live.timer = self.clock.call_later(self.ring_timeout, self._ring_over, live)
        view = self._view(row)
        self._signals.signal(user_id, "call.ringing", shapes.CallSignalOut(call=view))
        return view

    async def accept(self, user_id: int, call_id: int) -> shapes.CallOut:
        """Answer a ringing call; the same as `join` (which also serves late joiners)."""
        return await self.join(user_id, call_id)

    async def join(self, user_id: int, call_id: int) -> shapes.CallOut:
        live, _ = await self._require_live(user_id, call_id)
        if user_id in live.participants:
            return self._view(live.record)
        refusal = self._refusal(live.chat_id, live.direct, user_id)
        if refusal is not None:  # removed (or blocked) since the membership was read
            raise refused(refusal)
        now = self.clock.now_ms()
        entry = self.book.join(live, user_id, now, self.settings.max_participants)
        try:
            await self.call_log.joined(call_id, user_id, now, answering=entry.answering)
        except BaseException:
            self.book.drop(live, user_id)
            raise
        if self.book.get(call_id) is not live:
            raise call_over()  # it ended while the join was written (its end closed the stint)
        if entry.was_ringing or entry.answering:
            # The caller learns it was answered; the answerer's other devices stop ringing.
            self._signals.signal_users(
                live.participants | live.ringing,
                "call.accepted",
                {"call_id": call_id, "user_id": user_id},
            )
        self._joined(live, user_id)
        return self._view(live.record)

    def _joined(self, live: LiveCall, user_id: int) -> None:
        self._signals.signal_users(
            live.participants, "call.participant.joined", {"call_id": live.id, "user_id": user_id}
        )

    async def decline(self, user_id: int, call_id: int) -> None:
        live, _ = await self._require_live(user_id, call_id)
        if not self.book.decline(live, user_id):
            return
        self._signals.signal_users(
            live.participants | {user_id},
            "call.declined",
            {"call_id": call_id, "user_id": user_id, "reason": "declined"},
        )
        if self.book.nobody_answered(live):
            await self._settle_end(self._conclude(live, "declined"))

    def _ring_over(self, live: LiveCall) -> None:
        live.timer = None
        if self._closed or self.book.get(live.id) is not live:
            return
        if not live.answered:
            ending = self._conclude(live, "missed")
            self._follow_ups.spawn(self._settle_end(ending), "call-missed")
        else:
            missed = self.book.stop_ringing(live)
            self._signals.signal_users(missed, "call.missed", {"call_id": live.id})

    # --- leaving and ending --------------------------------------------------------------------

    async def leave(self, user_id: int, call_id: int) -> None:
        live, _ = await self._require_live(user_id, call_id)
        if user_id in live.participants:
            await self._leave(live, user_id)

    async def end(self, user_id: int, call_id: int) -> None:
        live, member = await self._require_live(user_id, call_id)
        if live.direct:
            allowed = user_id in live.participants
        else:
            allowed = user_id == live.record.started_by or member.role in MANAGERS
        if not allowed:
            raise ForbiddenError(
                "Only the one who started the call, or the chat's owner and admins, can "
                "end it for everyone; you can leave it.",
                code="not_allowed",
            )
        await self._settle_end(self._conclude(live, live.natural_outcome()))

    async def _peer_failed(self, call_id: int, user_id: int) -> None:
        """The SFU lost this participant's peer connection: that is leaving."""
        live = self.book.get(call_id)
        if live is not None and user_id in live.participants:
            await self._leave(live, user_id)

    async def _leave(self, live: LiveCall, user_id: int) -> None:
        settle = self._step_out(live, user_id)
        if settle is not None:
            await settle

    def _step_out(self, live: LiveCall, user_id: int) -> Coroutine[Any, Any, object] | None:
        """Take `user_id` out of the call now and tell the participants. Returns what follows
        (the record, the SFU), to be awaited; None if they were not in it (any more)."""
        if self.book.get(live.id) is not live or user_id not in live.participants:
            return None  # it ended, or they left, before this ran
        now = self.clock.now_ms()
        ends = self.book.leave(live, user_id)
        self._signals.signal_users(
            live.participants | {user_id},
            "call.participant.left",
            {"call_id": live.id, "user_id": user_id},
        )
        if ends:
            return self._settle_end(self._conclude(live, live.natural_outcome()))
        return self._settle_leave(live.id, user_id, now)

    async def _settle_leave(self, call_id: int, user_id: int, now: int) -> None:
        try:
            await self.call_log.left(call_id, user_id, now)
        finally:
            await self.media.leave(call_id, user_id)

    def _conclude(self, live: LiveCall, outcome: str) -> _Ending:
        """Take the call out of the book now; `_settle_end` does the rest."""
        self.book.end(live)
        self._released(live.chat_id)
        return _Ending(live, outcome, self.clock.now_ms())

    def _released(self, chat_id: int) -> None:
        """No call of this chat is held here any more (with several processes, the claim on
        the chat goes: services/call_hosts.py)."""

    async def _settle_end(self, ending: _Ending) -> shapes.CallOut:
        """Log the end, tell the members, close the call's media."""
        live = ending.live
        try:
            stored = await self.call_log.ended(live.id, ending.outcome, ending.now)
        except Exception:
            # Still open in the database: the next start ends it (end_interrupted).
            log.exception("could not log the end of call %s", live.id)
            stored = None
        view = views.call(stored or replace(live.record, ended_at=ending.now,
                                            outcome=ending.outcome))  # fmt: skip
        self._signals.signal_users(live.ringing, "call.missed", {"call_id": live.id})
        self._signals.signal_users(
            self.audience.members(live.chat_id) | live.participants,
            "call.ended",
            shapes.CallSignalOut(call=view),
        )
        await self.media.end(live.id)
        return view

    # --- losing access ------------------------------------------------------------------------

    def access_lost(self, lost: AccessLost) -> None:
        """A committed change took access to chats away (the unit of work says so right after
        the commit, the audience already updated): the calls of those chats, and with a block
        the direct calls, lose whoever may no longer take part."""
        if self._closed:
            return
        chats = {chat_id for chat_id, _ in lost.left} | set(lost.dropped)
        for live in self.book.calls():
            if live.chat_id in chats or (live.direct and lost.blocked):
                self._lose(live, self._without_access(live))

    def sessions_ended(self) -> None:
        """Sessions ended (a sign-out, a revoked device, a password change or reset, a disabled
        account): whoever in a call, or rung, is no longer signed in anywhere loses it. Someone
        still signed in on another device keeps it."""
        people = {user_id for live in self.book.calls() for user_id in live.people}
        if people and not self._closed:
            self._follow_ups.spawn(self._signed_out(people), "call-sessions-ended")

    async def _signed_out(self, people: set[int]) -> None:
        gone = people - await self.call_log.signed_in(people, self.clock.now_ms())
        if gone and not self._closed:
            for live in self.book.calls():
                self._lose(live, gone)

    def _lose(self, live: LiveCall, users: set[int]) -> None:
        """`users` may no longer take part in `live`: they stop being rung and are out of it,
        now; the record and the SFU follow in a task. A direct call ends, and so does a call
        none of whose participants may stay or that nobody answered and nobody rings now."""
        users = users & live.people
        if not users or self.book.get(live.id) is not live:
            return
        if live.direct or live.participants <= users:
            ending = self._conclude(live, live.natural_outcome())
            self._follow_ups.spawn(self._settle_end(ending), "call-access-lost")
            return
        stopped = self.book.stop_ringing(live, users)
        self._signals.signal_users(stopped, "call.missed", {"call_id": live.id})
        for user_id in sorted(users & live.participants):
            settle = self._step_out(live, user_id)
            if settle is not None:
                self._follow_ups.spawn(settle, "call-access-lost")
        if self.book.get(live.id) is live and self.book.nobody_answered(live):
            ending = self._conclude(live, "missed")
            self._follow_ups.spawn(self._settle_end(ending), "call-access-lost")

    def _without_access(self, live: LiveCall) -> set[int]:
        """Those of the call's people who may no longer take part, by the audience."""
        return {
            user_id
            for user_id in live.people
            if self._refusal(live.chat_id, live.direct, user_id) is not None
        }

    def _refusal(self, chat_id: int, direct: bool, user_id: int) -> Refusal | None:
        """Why `user_id` may not take part in a call in this chat now, or None. Read from the
        audience, which a committed change updates before anything else runs."""
        members = self.audience.members(chat_id)
        if user_id not in members:
            return Refusal.NOT_MEMBER
        if direct and any(self.audience.blocked(user_id, other) for other in members):
            return Refusal.BLOCKED
        return None

    # --- media ---------------------------------------------------------------------------------

    async def set_media(
        self, user_id: int, call_id: int, *, mic: bool, camera: bool, screen: bool
    ) -> None:
        live = self.book.participant(user_id, call_id)
        self.book.set_media(live, user_id, Media(mic, camera, screen))
        self.media.set_media(call_id, user_id, mic=mic, camera=camera, screen=screen)
        self._signals.signal_users(
            live.participants - {user_id},
            "call.media",
            {"call_id": call_id, "user_id": user_id, "mic": mic, "camera": camera,
             "screen": screen},
        )  # fmt: skip

    async def publish(self, user_id: int, call_id: int, offer_sdp: str) -> str:
        """The participant's publish offer -> the SFU's answer. The server's subscribe offer
        follows as the signal `sfu.offer`."""
        live = self.book.participant(user_id, call_id)
        answer = await self.media.publish(call_id, user_id, offer_sdp)
        if not self.book.is_participant(user_id, call_id):
            await self.media.leave(call_id, user_id)  # they left (or it ended) meanwhile
            raise not_in_call()
        media = live.media.get(user_id)
        if media is not None:
            self.media.set_media(
                call_id, user_id, mic=media.mic, camera=media.camera, screen=media.screen
            )
        self.media.offer_subscription(
            call_id, user_id, lambda: self.book.is_participant(user_id, call_id)
        )
        return answer

    async def subscribe_answer(self, user_id: int, call_id: int, answer_sdp: str) -> None:
        self.book.participant(user_id, call_id)
        await self.media.subscribe_answer(call_id, user_id, answer_sdp)

    def _notify(self, user_id: int, name: str, data: SignalData) -> None:
        self._signals.signal(user_id, name, data)

    # --- rules ---------------------------------------------------------------------------------

    async def _require_live(self, user_id: int, call_id: int) -> tuple[LiveCall, MemberRow]:
        """The ongoing call, for a member of its chat; a call that is over is a conflict."""
        live = self.book.get(call_id)
        member = await self.call_log.member(
            call_id, user_id, None if live is None else live.chat_id
        )
        live = self.book.get(call_id)  # as it is now, after the read
        if live is None:
            raise call_over()
        return live, member
