"""Calls across several Hearth processes (issue 10; docs/scale-out.md, "Calls").

A call lives on one process, its host: the process the call was started through. Its state
(calls.py, call_state.py) and its SFU room are there, and the browsers' media goes straight to
that process's addresses (the SDP answers come from its SFU).

- **One call per chat, across processes.** Before it writes the record, the host claims the
  chat in Redis (the `call-chats` table of cluster.py); the claim goes when the call ends. A
  `call.start` arriving at another process while a live process holds the chat is forwarded to
  that process, which answers as it would its own (`call_in_progress`, or a new call).
- **Ops go to the host.** An op for a call (`call.join`, `sfu.offer`...) is for the chat's
  holder: arriving anywhere else, it is forwarded through Redis, and the host's answer or
  error comes back as if it were local.
- **Signals reach everyone.** The host's call signals go to the people's connections on every
  process (hub.Everywhere); who is online is the cluster's (presence).
- **Busy holds across processes.** Each host shares who is in a call there, so nobody is in
  two calls at once, and someone in a call elsewhere is busy.
- **A host that dies ends its calls**, as a crash ends them on one process: another process
  (the first to take it on) logs each as ended and tells the chat's members; the browsers'
  media to the dead process stops by itself. A process starting ends only the calls whose
  holder is gone.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from appliance.api import shapes
from appliance.config import CallSettings
from appliance.services import views
from appliance.services.call_log import natural_outcome
from appliance.services.calls import Calls, Signals
from appliance.services.unit import Work
from appliance.store.calls import CallRow

if TYPE_CHECKING:
    from appliance.cluster import Cluster

log = logging.getLogger(__name__)

TABLE = "call-chats"  # chat id -> the process holding its call
REAP_CLAIM_SECONDS = 3600.0  # how long the first process to clean up after a dead one holds it


class HostedCalls(Calls):
    def __init__(
        self, work: Work, settings: CallSettings, *, signals: Signals, cluster: Cluster
    ) -> None:
        super().__init__(work, settings, signals=signals)
        self.cluster = cluster
        self.book.elsewhere = lambda user_id: bool(cluster.elsewhere("call", user_id))
        self.book.moved = lambda user_id, in_call: cluster.share("call", user_id, in_call or None)
        cluster.serve(self._serve)
        cluster.on_dead(self._host_died)
        cluster.on_back(self._hold_again)

    # --- routing -------------------------------------------------------------------------------

    async def start(self, user_id: int, chat_id: int, kind: str) -> shapes.CallOut:
        holder = await self.cluster.claim(TABLE, chat_id)
        if holder != self.cluster.node:
            answer = await self.cluster.ask(holder, "start", {"user": user_id, "chat": chat_id,
                                                              "kind": kind})  # fmt: skip
            return shapes.CallOut.model_validate(answer)
        return await self._start_here(user_id, chat_id, kind)

    async def _start_here(self, user_id: int, chat_id: int, kind: str) -> shapes.CallOut:
        """The chat is claimed for this process: start the call here, or give the claim up
        if no call came of it (refused, or one already going on here keeps it)."""
        try:
            return await Calls.start(self, user_id, chat_id, kind)
        except BaseException:
            if not self.book.holds(chat_id):
                self._released(chat_id)
            raise

    async def join(self, user_id: int, call_id: int) -> shapes.CallOut:
        host = await self._host(call_id)
        if host is None:
            return await super().join(user_id, call_id)
        answer = await self.cluster.ask(host, "join", {"user": user_id, "call": call_id})
        return shapes.CallOut.model_validate(answer)

    async def decline(self, user_id: int, call_id: int) -> None:
        if (host := await self._host(call_id)) is None:
            return await super().decline(user_id, call_id)
        await self.cluster.ask(host, "decline", {"user": user_id, "call": call_id})

    async def leave(self, user_id: int, call_id: int) -> None:
        if (host := await self._host(call_id)) is None:
            return await super().leave(user_id, call_id)
        await self.cluster.ask(host, "leave", {"user": user_id, "call": call_id})

    async def end(self, user_id: int, call_id: int) -> None:
        if (host := await self._host(call_id)) is None:
            return await super().end(user_id, call_id)
        await self.cluster.ask(host, "end", {"user": user_id, "call": call_id})

    async def set_media(
        self, user_id: int, call_id: int, *, mic: bool, camera: bool, screen: bool
    ) -> None:
        if (host := await self._host(call_id)) is None:
            return await super().set_media(user_id, call_id, mic=mic, camera=camera,
                                           screen=screen)  # fmt: skip
        await self.cluster.ask(host, "set_media", {"user": user_id, "call": call_id, "mic": mic,
                                                   "camera": camera, "screen": screen})  # fmt: skip

    async def publish(self, user_id: int, call_id: int, offer_sdp: str) -> str:
        if (host := await self._host(call_id)) is None:
            return await super().publish(user_id, call_id, offer_sdp)
        answer = await self.cluster.ask(host, "publish", {"user": user_id, "call": call_id,
                                                          "sdp": offer_sdp})  # fmt: skip
        return str(answer)

    async def subscribe_answer(self, user_id: int, call_id: int, answer_sdp: str) -> None:
        if (host := await self._host(call_id)) is None:
            return await super().subscribe_answer(user_id, call_id, answer_sdp)
        await self.cluster.ask(host, "subscribe_answer", {"user": user_id, "call": call_id,
                                                          "sdp": answer_sdp})  # fmt: skip

    async def get(self, user_id: int, call_id: int) -> shapes.CallOut:
        row = await self.call_log.get(user_id, call_id)  # a member's, or not found
        return await self._seen_by_host(row)

    async def history(
        self, user_id: int, chat_id: int | None = None, limit: int = 50
    ) -> list[shapes.CallOut]:
        rows = await self.call_log.history(user_id, chat_id, limit)
        return [await self._seen_by_host(row) for row in rows]  # asks only for calls going on

    async def ongoing(self, user_id: int) -> list[shapes.CallOut]:
        found = []
        for row in await self.call_log.unfinished_for(user_id):
            if self.book.get(row.id) is not None:
                found.append(self._view(row))
            elif (host := await self._holder(row.chat_id)) is not None:
                view = await self.cluster.ask(host, "view", {"call": row.id})
                if view is not None:
                    found.append(shapes.CallOut.model_validate(view))
        return found

    async def _seen_by_host(self, row: CallRow) -> shapes.CallOut:
        """The call as its host sees it (who is in it now) if it goes on elsewhere."""
        if row.ended_at is None and self.book.get(row.id) is None:
            host = await self._holder(row.chat_id)
            if host is not None:
                view = await self.cluster.ask(host, "view", {"call": row.id})
                if view is not None:
                    return shapes.CallOut.model_validate(view)
        return self._view(row)

    async def _host(self, call_id: int) -> str | None:
        """The other process holding this call; None if it is here, or nowhere (over)."""
        if self.book.get(call_id) is not None:
            return None
        chat_id = await self.call_log.unfinished_chat(call_id)
        return None if chat_id is None else await self._holder(chat_id)

    async def _holder(self, chat_id: int) -> str | None:
        """The other live process holding this chat's call, if any."""
        holder = await self.cluster.holder(TABLE, chat_id)
        if holder is None or holder == self.cluster.node or not self.cluster.alive(holder):
            return None
        return holder

    def _released(self, chat_id: int) -> None:
        self.cluster.release(TABLE, chat_id)

    async def _serve(self, op: str, a: dict[str, Any]) -> Any:
        """An op another process forwarded here: run as if it arrived here."""
        user_id = int(a.get("user", 0))
        call_id = int(a.get("call", 0))
        if op == "start":
            await self.cluster.claim(TABLE, int(a["chat"]))  # again: it may have gone meanwhile
            view = await self._start_here(user_id, int(a["chat"]), str(a["kind"]))
            return view.model_dump(mode="json")
        if op == "join":
            return (await Calls.join(self, user_id, call_id)).model_dump(mode="json")
        if op in {"decline", "leave", "end"}:
            await getattr(Calls, op)(self, user_id, call_id)
            return None
        if op == "set_media":
            await Calls.set_media(self, user_id, call_id, mic=bool(a["mic"]),
                                  camera=bool(a["camera"]), screen=bool(a["screen"]))  # fmt: skip
            return None
        if op == "publish":
            return await Calls.publish(self, user_id, call_id, str(a["sdp"]))
        if op == "subscribe_answer":
            await Calls.subscribe_answer(self, user_id, call_id, str(a["sdp"]))
            return None
        if op == "view":
            live = self.book.get(call_id)
            return None if live is None else self._view(live.record).model_dump(mode="json")
        raise ValueError(f"unknown call op {op!r}")

    # --- processes that stop -------------------------------------------------------------------

    async def end_interrupted(self) -> None:
        """At start: calls left open whose holder is gone end now (a live process's go on)."""
        ended = 0
        for row in await self.call_log.unfinished():
            holder = await self.cluster.holder(TABLE, row.chat_id)
            if holder is not None and await self.cluster.alive_in_redis(holder):
                continue
            await self._end_orphan(row)
            ended += 1
        if ended:
            log.info("ended %d call(s) whose Hearth process had stopped", ended)

    async def _host_died(self, node: str) -> None:
        """Process `node` died: its calls end (one process does it), as after a crash."""
        if not await self.cluster.first_to(f"reap:{node}", REAP_CLAIM_SECONDS):
            return
        chats = set(await self.cluster.held_by(TABLE, node))
        if not chats:
            return
        for row in await self.call_log.unfinished():
            if row.chat_id in chats:
                await self._end_orphan(row)
        for chat_id in chats:
            await self.cluster.forget(TABLE, chat_id)
        log.warning("ended the calls of Hearth process %s, which stopped", node)

    async def _hold_again(self) -> None:
        """Redis is back, perhaps empty: the chats of the calls here are held by this process
        again, so ops for them find it."""
        try:
            await self.cluster.reclaim(TABLE, {live.chat_id for live in self.book.calls()})
        except Exception:
            log.exception("could not hold this process's calls in Redis again")

    async def _end_orphan(self, row: CallRow) -> None:
        """End a call no process holds: logged, and its members told."""
        stored = await self.call_log.ended(row.id, natural_outcome(row), self.clock.now_ms())
        if stored is not None:
            self._signals.signal_users(
                self.audience.members(row.chat_id),
                "call.ended",
                shapes.CallSignalOut(call=views.call(stored)),
            )
