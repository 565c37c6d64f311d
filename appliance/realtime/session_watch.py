"""Sockets whose session ended are closed (4001): at once when this process ended it (the
services say so on the bus after the commit), at the next sweep when another did (`hearth user
disable` from the shell)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from appliance.clock import Clock
from appliance.lifecycle import Background
from appliance.periodic import Periodic
from appliance.realtime.connection import CLOSE_SESSION_ENDED
from appliance.realtime.registry import Registry

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0

LiveSessions = Callable[[list[str]], Awaitable[set[str]]]


class SessionWatch:
    def __init__(self, registry: Registry, live_sessions: LiveSessions, clock: Clock) -> None:
        self._registry = registry
        self._live_sessions = live_sessions
        self._sweep = Periodic("ws-session-sweep", SWEEP_SECONDS, self.check, clock)
        self._checks = Background()
        self._running = False

    async def start(self) -> None:
        self._running = True
        await self._sweep.start()

    async def stop(self) -> None:
        self._running = False
        await self._sweep.stop()
        await self._checks.wait()

    def recheck_soon(self) -> None:
        """A session may just have ended: check now rather than at the next sweep."""
        if not self._running:
            return
        self._checks.spawn(self.check(), "ws-session-check")

    async def check(self) -> None:
        connections = self._registry.all()
        if not connections:
            return
        try:
            live = await self._live_sessions(sorted({c.session_id for c in connections}))
        except Exception:
            log.exception("checking WebSocket sessions failed")
            return
        for connection in connections:
            if connection.session_id not in live:
                connection.close(CLOSE_SESSION_ENDED, "signed out")
