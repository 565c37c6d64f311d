"""Typing: a signal per (chat, user) that ends by itself after 6 s unless renewed by
`typing.start`, or sooner by `typing.stop`, a message from that user, or their leaving. The
timers live on the process the typist is connected to; the signals reach the chat's members
on every process."""

from __future__ import annotations

import json

from appliance.api import shapes
from appliance.clock import Clock, Timer
from appliance.realtime.connection import signal_frame
from appliance.realtime.fanout import Fanout
from appliance.services.audience import Audience
from appliance.services.errors import ForbiddenError
from appliance.store.events import EventRow

TYPING_SECONDS = 6.0


class TypingIndicator:
    def __init__(self, audience: Audience, fanout: Fanout, clock: Clock) -> None:
        self._audience = audience
        self._fanout = fanout
        self._clock = clock
        self._timers: dict[tuple[int, int], Timer] = {}

    def set(self, user_id: int, chat_id: int, active: bool) -> None:
        if user_id not in self._audience.members(chat_id):
            raise ForbiddenError("You are not a member of this chat.", code="not_a_member")
        if not active:
            self.stop(chat_id, user_id)
            return
        key = (chat_id, user_id)
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous.cancel()
        else:
            self._signal(chat_id, user_id, True)
        self._timers[key] = self._clock.call_later(TYPING_SECONDS, self.stop, chat_id, user_id)

    def stop(self, chat_id: int, user_id: int) -> None:
        timer = self._timers.pop((chat_id, user_id), None)
        if timer is not None:
            timer.cancel()
            self._signal(chat_id, user_id, False)

    def message_sent(self, event: EventRow) -> None:
        """A message from someone typing ends their typing."""
        if event.chat_id is None or not any(chat == event.chat_id for chat, _ in self._timers):
            return
        sender = json.loads(event.data).get("sender_id")
        if isinstance(sender, int):
            self.stop(event.chat_id, sender)

    def user_gone(self, user_id: int) -> None:
        for chat_id, typist in list(self._timers):
            if typist == user_id:
                self.stop(chat_id, user_id)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _signal(self, chat_id: int, user_id: int, active: bool) -> None:
        frame = signal_frame(
            "typing", shapes.TypingOut(chat_id=chat_id, user_id=user_id, typing=active)
        )
        audience = self._audience
        watchers = {
            member
            for member in audience.members(chat_id)
            if member != user_id and not audience.blocked(member, user_id)
        }
        self._fanout.everywhere(watchers, frame)
