"""Live calls in memory and the rules that move them: who is rung, who is busy, who is in
which call, when a call is over.

Every method here is synchronous. A transition is checked and applied in one step of the event
loop, so nothing else can run in between: no lock is needed, and none is held while the log is
written or the SFU is told (the calls service does that afterwards).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from appliance.clock import Timer
from appliance.services.errors import ConflictError, NotFoundError
from appliance.store.calls import CallRow


@dataclass(frozen=True, slots=True)
class Media:
    mic: bool
    camera: bool
    screen: bool


@dataclass(slots=True, eq=False)
class LiveCall:
    """A call that is ringing or active (or being opened: its record is being written)."""

    chat_id: int
    direct: bool
    participants: set[int]
    row: CallRow | None = None  # None until the record is written
    ringing: set[int] = field(default_factory=set)  # members whose devices ring now
    media: dict[int, Media] = field(default_factory=dict)
    timer: Timer | None = None

    @property
    def record(self) -> CallRow:
        assert self.row is not None, "the call is still being opened"
        return self.row

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def people(self) -> set[int]:
        """Who the call concerns now: its participants and the members being rung."""
        return self.participants | self.ringing

    @property
    def answered(self) -> bool:
        return self.row is not None and self.row.answered_at is not None

    def natural_outcome(self) -> str:
        return "completed" if self.answered else "missed"


@dataclass(frozen=True, slots=True)
class Entry:
    """How someone came into a call."""

    answering: bool  # the first to answer a ringing call
    was_ringing: bool


def call_not_found() -> NotFoundError:
    return NotFoundError("There is no such call.", code="call_not_found")


def not_in_call() -> ConflictError:
    return ConflictError("You are not in this call.", code="not_in_call")


def call_over() -> ConflictError:
    return ConflictError("This call is over.", code="call_ended")


class CallBook:
    def __init__(self) -> None:
        self._live: dict[int, LiveCall] = {}
        self._opening: list[LiveCall] = []
        # With several processes (services/call_hosts.py): whether a user is in a call another
        # process holds, and what to tell the others when someone comes into a call here or
        # leaves it.
        self.elsewhere: Callable[[int], bool] = lambda user_id: False
        self.moved: Callable[[int, bool], None] = lambda user_id, in_call: None

    # --- looking up ----------------------------------------------------------------------------

    def get(self, call_id: int) -> LiveCall | None:
        return self._live.get(call_id)

    def calls(self) -> list[LiveCall]:
        return list(self._live.values())

    def call_of(self, user_id: int) -> LiveCall | None:
        """The call the user is in now, if any (that makes them busy)."""
        for live in (*self._live.values(), *self._opening):
            if user_id in live.participants:
                return live
        return None

    def participant(self, user_id: int, call_id: int) -> LiveCall:
        """The live call `user_id` is in; a call that is not ringing or active is not found."""
        live = self._live.get(call_id)
        if live is None:
            raise call_not_found()
        if user_id not in live.participants:
            raise not_in_call()
        return live

    def holds(self, chat_id: int) -> bool:
        """Whether a call of this chat is here (live, or being opened)."""
        return any(live.chat_id == chat_id for live in (*self._live.values(), *self._opening))

    def busy(self, user_id: int) -> bool:
        """In a call, here or on another process."""
        return self.call_of(user_id) is not None or self.elsewhere(user_id)

    def is_participant(self, user_id: int, call_id: int) -> bool:
        live = self._live.get(call_id)
        return live is not None and user_id in live.participants

    # --- starting ------------------------------------------------------------------------------

    def reserve(self, chat_id: int, user_id: int, *, direct: bool) -> LiveCall:
        """Hold the chat and the caller for a call whose record is about to be written."""
        if self.holds(chat_id):
            raise ConflictError(
                "There is already a call in this chat; join it.", code="call_in_progress"
            )
        if self.busy(user_id):
            raise ConflictError("You are in another call.", code="in_another_call")
        live = LiveCall(chat_id, direct, participants={user_id})
        self._opening.append(live)
        self.moved(user_id, True)
        return live

    def abandon(self, live: LiveCall) -> None:
        """Its record could not be written."""
        self._opening.remove(live)
        for user_id in live.participants:
            self.moved(user_id, False)

    def open(self, live: LiveCall, row: CallRow, members: list[int]) -> list[int]:
        """The record is written: the call is live and rings the members not busy elsewhere.
        Returns the busy ones."""
        self._opening.remove(live)
        live.row = row
        others = [member for member in members if member not in live.participants]
        busy = sorted(member for member in others if self.busy(member))
        live.ringing = set(others) - set(busy)
        self._live[row.id] = live
        return busy

    # --- coming and going ----------------------------------------------------------------------

    def join(self, live: LiveCall, user_id: int, now: int, max_participants: int) -> Entry:
        if self.busy(user_id):
            raise ConflictError("You are in another call; leave it first.",
                                code="in_another_call")  # fmt: skip
        if len(live.participants) >= max_participants:
            raise ConflictError("This call is full.", code="call_full")
        answering = not live.answered and user_id != live.record.started_by
        was_ringing = user_id in live.ringing
        live.ringing.discard(user_id)
        live.participants.add(user_id)
        self.moved(user_id, True)
        if answering:
            live.row = replace(live.record, answered_at=now)
        return Entry(answering, was_ringing)

    def drop(self, live: LiveCall, user_id: int) -> None:
        """Undo a join whose record could not be written."""
        live.participants.discard(user_id)
        self.moved(user_id, False)

    def decline(self, live: LiveCall, user_id: int) -> bool:
        """Stop ringing `user_id`; False if it was not ringing them (answered or declined
        already, perhaps on another device)."""
        if user_id not in live.ringing:
            return False
        live.ringing.discard(user_id)
        return True

    def nobody_answered(self, live: LiveCall) -> bool:
        """Everyone rung has declined and nobody answered: the call is over."""
        return not live.answered and not live.ringing

    def stop_ringing(self, live: LiveCall, only: set[int] | None = None) -> set[int]:
        """Stop ringing everyone (the ring timed out on an answered call: whoever still rings
        missed it), or `only` these (they may no longer take part). Returns whom it rang."""
        stopped = set(live.ringing) if only is None else live.ringing & only
        live.ringing -= stopped
        return stopped

    def leave(self, live: LiveCall, user_id: int) -> bool:
        """`user_id` leaves; True if that ends the call (the last one out, or either side of
        an answered direct call)."""
        live.participants.discard(user_id)
        live.media.pop(user_id, None)
        self.moved(user_id, False)
        return not live.participants or (live.direct and live.answered)

    def set_media(self, live: LiveCall, user_id: int, media: Media) -> None:
        live.media[user_id] = media

    def end(self, live: LiveCall) -> bool:
        """The call is over; False if it already was."""
        if self._live.get(live.id) is not live:
            return False
        del self._live[live.id]
        for user_id in live.participants:
            self.moved(user_id, False)
        if live.timer is not None:
            live.timer.cancel()
            live.timer = None
        return True
