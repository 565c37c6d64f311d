"""The bridge between call signalling and the SFU, which carries the media.

The SFU is created with the first publish offer, so an idle Hearth never loads aiortc and
PyAV. It calls back (signals for a participant, a peer connection that failed), so it is never
called with a lock held: the calls service decides a transition first, then tells the SFU.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from appliance.config import CallSettings
from appliance.lifecycle import Background
from appliance.services.call_state import not_in_call
from appliance.services.errors import InvalidError

if TYPE_CHECKING:
    from appliance.sfu import SFU

log = logging.getLogger(__name__)

Notify = Callable[[int, str, dict[str, Any]], None]
OnFailed = Callable[[int, int], Awaitable[None]]


class CallMedia:
    def __init__(self, settings: CallSettings, notify: Notify, on_failed: OnFailed) -> None:
        self.settings = settings
        self._notify = notify
        self._on_failed = on_failed
        self._sfu: SFU | None = None
        self._offers = Background()
        self._leaving = Background()

    @property
    def sfu(self) -> SFU | None:
        """The SFU, once a call has sent media."""
        return self._sfu

    async def publish(self, call_id: int, user_id: int, offer_sdp: str) -> str:
        """A participant's publish offer -> the SFU's answer."""
        try:
            return await self._media().publish(call_id, user_id, offer_sdp)
        except ValueError as error:
            raise InvalidError(f"The offer is not usable: {error}", field="sdp") from error
        except LookupError as error:
            raise not_in_call() from error

    def offer_subscription(self, call_id: int, user_id: int, still_in: Callable[[], bool]) -> None:
        """Send the server's subscribe offer as the signal `sfu.offer`, after the answer to the
        publish offer has gone back."""
        self._offers.spawn(self._offer(call_id, user_id, still_in), "sfu-subscribe-offer")

    async def _offer(self, call_id: int, user_id: int, still_in: Callable[[], bool]) -> None:
        sfu = self._media()
        try:
            offer = await sfu.subscribe_offer(call_id, user_id)
        except LookupError:
            return  # they left meanwhile
        except Exception:
            log.exception("subscribe offer for user %s in call %s failed", user_id, call_id)
            return
        if still_in():
            self._notify(user_id, "sfu.offer", {"call_id": call_id, "sdp": offer})

    async def subscribe_answer(self, call_id: int, user_id: int, answer_sdp: str) -> None:
        if self._sfu is None:
            raise not_in_call()
        try:
            await self._sfu.subscribe_answer(call_id, user_id, answer_sdp)
        except ValueError as error:
            raise InvalidError(f"The answer is not usable: {error}", field="sdp") from error
        except LookupError as error:
            raise not_in_call() from error

    def set_media(self, call_id: int, user_id: int, *, mic: bool, camera: bool,
                  screen: bool) -> None:  # fmt: skip
        if self._sfu is not None:
            with contextlib.suppress(LookupError):  # not published yet: told after publishing
                self._sfu.set_media(call_id, user_id, mic=mic, camera=camera, screen=screen)

    async def leave(self, call_id: int, user_id: int) -> None:
        if self._sfu is not None:
            # A closing room cancels the failure reports still pending, and this may run in
            # one: closing the peer connections must not stop halfway.
            leaving = self._leaving.spawn(self._sfu.leave(call_id, user_id), "sfu-leave")
            await asyncio.shield(leaving)

    async def end(self, call_id: int) -> None:
        if self._sfu is None:
            return
        try:
            await self._sfu.end(call_id)
        except Exception:
            log.exception("the SFU could not end call %s", call_id)

    async def close(self) -> None:
        await self._offers.cancel()
        await self._leaving.wait()
        if self._sfu is not None:
            await self._sfu.close()
            self._sfu = None

    def _media(self) -> SFU:
        if self._sfu is None:
            from appliance.sfu import SFU  # aiortc loads with the first call that sends media

            self._sfu = SFU(self.settings, self._notify, self._on_failed)
        return self._sfu
