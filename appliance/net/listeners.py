"""The asyncio servers Hypercorn listens with, so that a stop can end the client connections
Hypercorn leaves open.

Hypercorn (0.18) stops by closing its servers and awaiting `Server.wait_closed()`; only after
that does it give open connections `graceful_timeout` and cancel the rest. Since Python 3.12.1
`wait_closed()` waits until every client connection has ended (before, it returned at once),
so one connection that Hypercorn never closes holds the stop forever (pgjones/hypercorn#308).
Browsers leave such connections: an HTTP/2 connection whose last stream the browser reset
has no idle timer left in Hypercorn, and closing TLS waits up to 30 s for the browser's reply.

`Listeners.recording(loop)` notes every server started on the loop; `abort_clients()`, called
once the graceful timeout is over, drops the connections still open (Python 3.13's
`Server.abort_clients()`). Hypercorn's stop then goes on as it would have: its connection
tasks end and the app's shutdown runs. On Python 3.11 `wait_closed()` does not wait, so there
is nothing to do; Python 3.12 has no way to drop a server's connections (`abort_clients()` is
new in 3.13), so there such a connection still holds the stop until the browser lets go.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


class Listeners:
    """The servers started on a loop, and a way to drop their client connections."""

    def __init__(self) -> None:
        self.servers: list[asyncio.Server] = []

    @contextmanager
    def recording(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        """Note every server `loop.create_server()` (which `asyncio.start_server()` calls)
        starts inside the block."""
        create_server = loop.create_server

        async def create_and_note(*args: Any, **kwargs: Any) -> asyncio.Server:
            server = await create_server(*args, **kwargs)
            self.servers.append(server)
            return server

        loop.create_server = create_and_note  # type: ignore[method-assign]
        try:
            yield
        finally:
            del loop.create_server

    def abort_clients(self) -> None:
        """Drop every client connection that is still open, without waiting for the client."""
        aborts = [getattr(server, "abort_clients", None) for server in self.servers]
        if any(aborts):  # Python 3.13+
            log.info("dropping the client connections still open")
        for abort in aborts:
            if abort is not None:
                abort()
