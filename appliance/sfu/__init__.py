"""The selective forwarding unit: every call's media goes through here, as RTP packets.

Importing this package imports aiortc and PyAV (tens of MB): the calls service imports it
only when the first call starts, so an idle Hearth stays small.
"""

from __future__ import annotations

from appliance.config import CallSettings
from appliance.net.heap import Trimmer
from appliance.sfu import fastpath, hooks
from appliance.sfu.room import Notify, OnFailed, Room

TRIM_DELAY = 1.0  # seconds after a call ends before its memory is handed back

__all__ = ["SFU"]


class SFU:
    def __init__(self, settings: CallSettings, notify: Notify, on_failed: OnFailed) -> None:
        hooks.check()
        hooks.restrict_host_addresses(list(settings.addresses))
        hooks.quick_consent()
        self.settings = settings
        self.notify = notify
        self.on_failed = on_failed
        self.rooms: dict[int, Room] = {}
        self.forwarded = fastpath.Totals()  # over all calls, for /metrics
        # After a call: its peer connections, SRTP sessions and buffers are garbage once it
        # ends, much of it in reference cycles, and glibc keeps freed memory in its arenas
        # (one per thread that allocated). Collect, then trim, once the closing tasks ran.
        self._memory = Trimmer(TRIM_DELAY)

    def _room(self, call_id: int, *, create: bool = False) -> Room:
        room = self.rooms.get(call_id)
        if room is None:
            if not create:
                raise LookupError(f"no media for call {call_id}")
            room = self.rooms[call_id] = Room(
                call_id, self.settings, self.notify, self.on_failed, self.forwarded
            )
        return room

    async def publish(self, call_id: int, user_id: int, offer_sdp: str) -> str:
        """Answer a participant's publish offer (their mic, camera and screen)."""
        return await self._room(call_id, create=True).publish(user_id, offer_sdp)

    async def subscribe_offer(self, call_id: int, user_id: int) -> str:
        """The server's offer of audio and video slots to a participant."""
        return await self._room(call_id).subscribe_offer(user_id)

    async def subscribe_answer(self, call_id: int, user_id: int, answer_sdp: str) -> None:
        await self._room(call_id).subscribe_answer(user_id, answer_sdp)

    def set_media(
        self, call_id: int, user_id: int, *, mic: bool, camera: bool, screen: bool
    ) -> None:
        self._room(call_id).set_media(user_id, mic=mic, camera=camera, screen=screen)

    async def leave(self, call_id: int, user_id: int) -> None:
        room = self.rooms.get(call_id)
        if room is None:
            return
        await room.leave(user_id)
        if not room.participants:
            self.rooms.pop(call_id, None)
            self._ended()

    async def end(self, call_id: int) -> None:
        room = self.rooms.pop(call_id, None)
        if room is not None:
            await room.close()
            self._ended()

    def _ended(self) -> None:
        """A call's room is gone: hand its memory back."""
        self._memory.soon()

    async def close(self) -> None:
        for call_id in list(self.rooms):
            await self.end(call_id)
        self._memory.cancel()
