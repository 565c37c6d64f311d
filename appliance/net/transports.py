"""The TCP connections Hypercorn serves, each with a bounded write, and all of them cut off at
the end of a stop's grace.

Hypercorn writes a connection's bytes with `StreamWriter.write()`, then waits on `drain()`
without a limit, and closes it with `close()` then `wait_closed()`, which over TLS waits for
asyncio's SSL shutdown (30 s by default). A client that stops reading (a frozen tab, a laptop
shut mid-stream, a phone gone from the network without a FIN) so keeps its connection, the
task serving it and megabytes of buffers for as long as its kernel answers the zero-window
probes: minutes, or for ever. And a stop waits for it.

So each connection's writer is wrapped (`BoundedWriter`): `drain()` and `wait_closed()` give
up after the write timeout and *abort* the connection: SO_LINGER 0, so the kernel drops what
it had queued and resets the connection rather than probing a window that never opens, then
`transport.abort()`. Hypercorn takes the ConnectionError from `drain()` for what it is, a
client gone, and ends the connection's tasks. `Transports` keeps the open ones, so a stop can
cut off whatever is left when its grace is over, and the WebSocket writer can cut off its own
connection when a frame waits too long (over HTTP/2 a send waits on the stream's flow-control
window, which no drain sees). A TLS connection's SSL shutdown timeout is lowered to the same
bound.

Internals relied on, all verified by `check()` (tests/unit/test_hypercorn_internals.py fails
naming the one that moved):

* `hypercorn.asyncio.run.worker_serve` makes each connection with
  `TCPServer(app, loop, config, context, lifespan_state, reader, writer)`, looking the name
  up in that module when a client connects: `install()` puts a subclass there.
* `TCPServer` touches its writer only through `get_extra_info`, `write`, `drain`,
  `write_eof`, `close` and `wait_closed`, and treats a ConnectionError from `drain()` as the
  client gone. Its `_idle_timeout()` keeps a connection for the keep-alive timeout after its
  last request, then calls `_initiate_server_close()`; ours skips the wait when the client is
  gone already.
* asyncio's TLS transport keeps its protocol in `_ssl_protocol`, which reads
  `_ssl_shutdown_timeout` when it starts its shutdown and allocates a read buffer of
  `SSLProtocol.max_size` bytes per connection (see `shrink_tls_read_buffer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Callable
from typing import Any, cast

from hypercorn.asyncio import run as hypercorn_run
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.config import Config as HypercornConfig
from hypercorn.utils import parse_socket_addr

log = logging.getLogger(__name__)

Address = tuple[str, int] | None
Key = tuple[Address, Address]  # (server, client), as Hypercorn puts them in an ASGI scope

# asyncio gives every TLS connection a 256 KiB read buffer: most of an idle WebSocket's memory
# (340 KB each, measured), for bytes that arrive in TLS records of at most 16 KiB.
TLS_READ_BUFFER = 32 * 1024
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets at once


class ServingConfig(HypercornConfig):
    """Hypercorn's config, plus the open connections of the server it configures."""

    transports: Transports | None = None


class BoundedWriter:
    """A connection's StreamWriter whose drain and close wait at most the write timeout; past
    it, the connection is aborted."""

    def __init__(self, writer: asyncio.StreamWriter, key: Key, owner: Transports) -> None:
        self._writer = writer
        self.key = key
        self._owner = owner
        self.aborted = False

    @property
    def transport(self) -> asyncio.BaseTransport:
        return self._writer.transport

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._writer.get_extra_info(name, default)

    def write(self, data: bytes) -> None:
        if not self.aborted:
            self._writer.write(data)

    def write_eof(self) -> None:
        self._writer.write_eof()

    def close(self) -> None:
        self._writer.close()

    async def drain(self) -> None:
        if self.aborted:
            raise ConnectionAbortedError("cut off")
        timeout = self._owner.write_timeout
        try:
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            self.abort(f"it took nothing for {timeout:g} s")
            raise ConnectionAbortedError("the client stopped reading") from None

    async def wait_closed(self) -> None:
        timeout = self._owner.write_timeout
        try:
            async with asyncio.timeout(timeout):
                await self._writer.wait_closed()
        except TimeoutError:
            self.abort(f"closing took over {timeout:g} s")
        except OSError as error:
            # The close ended untidily (a TLS close_notify crossed by data, a reset): the
            # connection is gone all the same. Hypercorn would let an SSLError out of its
            # connection task, which a stop takes for the whole server failing.
            log.debug("a connection from %s closed untidily: %s", _show(self.key[1]), error)
        except asyncio.CancelledError:
            # Hypercorn swallows a cancel here (a stop's graceful wait is over): never leave
            # the connection behind it.
            self.abort(None)
            raise

    def abort(self, reason: str | None) -> bool:
        """Reset the connection now, dropping whatever was queued for it. False if it already
        was. Says so in one line at INFO when `reason` is given."""
        if self.aborted:
            return False
        self.aborted = True
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self._writer.transport.abort()
        if reason is not None:
            log.info("cut off the connection from %s: %s", _show(self.key[1]), reason)
        return True


class Transports:
    """The open connections of one or more Hypercorn servers configured with `configure()`."""

    def __init__(
        self,
        write_timeout: float,
        shutdown_timeout: float,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        self.write_timeout = write_timeout
        self.ssl_shutdown_timeout = min(write_timeout, shutdown_timeout)
        self._on_closed = on_closed
        self._open: dict[Key, BoundedWriter] = {}

    def configure(self, config: ServingConfig) -> None:
        config.transports = self

    def __len__(self) -> int:
        return len(self._open)

    def adopt(self, writer: asyncio.StreamWriter) -> BoundedWriter:
        sock = writer.get_extra_info("socket")
        try:
            key: Key = (
                parse_socket_addr(sock.family, sock.getsockname()),
                parse_socket_addr(sock.family, sock.getpeername()),
            )
        except (OSError, AttributeError):  # gone already: a key of its own all the same
            key = (None, ("?", id(writer)))
        ssl_protocol = getattr(writer.transport, "_ssl_protocol", None)
        if ssl_protocol is not None:
            ssl_protocol._ssl_shutdown_timeout = min(
                ssl_protocol._ssl_shutdown_timeout, self.ssl_shutdown_timeout
            )
        bounded = BoundedWriter(writer, key, self)
        self._open[key] = bounded
        return bounded

    def release(self, writer: BoundedWriter) -> None:
        if self._open.get(writer.key) is writer:
            del self._open[writer.key]
        if self._on_closed is not None:
            self._on_closed()

    def abort(self, server: Address, client: Address, reason: str) -> bool:
        """Cut off the connection between these two addresses (an ASGI scope's `server` and
        `client`); False if it is not open here or was cut off already."""
        writer = self._open.get((_address(server), _address(client)))
        return writer is not None and writer.abort(reason)

    def abort_all(self) -> int:
        """Cut off every open connection (a stop's grace is over); how many there were."""
        writers = list(self._open.values())
        return sum(writer.abort(None) for writer in writers)


class _BoundedTCPServer(TCPServer):
    """Hypercorn's TCPServer over a BoundedWriter, for servers configured with Transports."""

    def __init__(
        self,
        app: Any,
        loop: asyncio.AbstractEventLoop,
        config: HypercornConfig,
        context: Any,
        state: Any,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        transports = getattr(config, "transports", None)
        self._transports: Transports | None = transports
        if transports is not None:
            writer = cast(asyncio.StreamWriter, transports.adopt(writer))
        super().__init__(app, loop, config, context, state, reader, writer)

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            if self._transports is not None:
                self._transports.release(cast(BoundedWriter, self.writer))

    async def _idle_timeout(self) -> None:
        # A connection whose client is gone (cut off, or at end of file) will carry no other
        # request: end it now, not after the keep-alive timeout (5 s of a task and buffers).
        if getattr(self.writer, "aborted", False) or self.reader.at_eof():
            await asyncio.shield(self._initiate_server_close())
            return
        await super()._idle_timeout()


def install() -> None:
    """Make Hypercorn serve every new connection through `_BoundedTCPServer` (call before
    serving; servers whose config carries no Transports are served as before)."""
    hypercorn_run.TCPServer = _BoundedTCPServer  # type: ignore[attr-defined]


def shrink_tls_read_buffer(size: int = TLS_READ_BUFFER) -> None:
    """Give each TLS connection a read buffer of `size` bytes instead of asyncio's 256 KiB."""
    import asyncio.sslproto

    asyncio.sslproto.SSLProtocol.max_size = size


def _address(value: Any) -> Address:
    return (str(value[0]), int(value[1])) if value else None


def _show(address: Address) -> str:
    if address is None:
        return "an unknown address"
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check() -> None:
    """Fail loudly, naming it, if an internal this module relies on is not where it was."""
    import asyncio.sslproto
    import inspect
    import re

    serve_source = inspect.getsource(hypercorn_run.worker_serve)
    if "await TCPServer(app, loop, config, context, lifespan_state, reader, writer)" not in (
        serve_source
    ):
        raise RuntimeError("hypercorn.asyncio.run.worker_serve no longer makes TCPServer(...)")
    if getattr(hypercorn_run, "TCPServer", None) not in (TCPServer, _BoundedTCPServer):
        raise RuntimeError("hypercorn.asyncio.run no longer imports TCPServer by name")
    parameters = list(inspect.signature(TCPServer.__init__).parameters)
    if parameters != ["self", "app", "loop", "config", "context", "state", "reader", "writer"]:
        raise RuntimeError(f"hypercorn TCPServer.__init__ takes {parameters} now")
    server_source = inspect.getsource(TCPServer)
    used = set(re.findall(r"self\.writer\.(\w+)", server_source))
    wrapped = {"get_extra_info", "write", "drain", "write_eof", "close", "wait_closed"}
    if not used <= wrapped:
        raise RuntimeError(f"hypercorn TCPServer uses its writer's {sorted(used - wrapped)}")
    send_source = inspect.getsource(TCPServer.protocol_send)
    if "await self.writer.drain()" not in send_source or "ConnectionError" not in send_source:
        raise RuntimeError("hypercorn TCPServer.protocol_send no longer treats a ConnectionError "
                           "from drain() as the client gone")  # fmt: skip
    if "self.run()" not in inspect.getsource(TCPServer.__await__):
        raise RuntimeError("hypercorn TCPServer is no longer awaited through run()")
    idle_source = inspect.getsource(TCPServer._idle_timeout)
    if "keep_alive_timeout" not in idle_source or "self._initiate_server_close()" not in (
        idle_source
    ):
        raise RuntimeError("hypercorn TCPServer._idle_timeout changed")
    if "self.reader = reader" not in inspect.getsource(TCPServer.__init__):
        raise RuntimeError("hypercorn TCPServer no longer keeps its reader")
    protocol = asyncio.sslproto.SSLProtocol
    if not isinstance(getattr(protocol, "max_size", None), int) or (
        "bytearray(self.max_size)" not in inspect.getsource(protocol.__init__)
    ):
        raise RuntimeError("asyncio SSLProtocol no longer sizes its read buffer by max_size")
    if "self._ssl_shutdown_timeout" not in inspect.getsource(protocol._start_shutdown):
        raise RuntimeError("asyncio SSLProtocol no longer reads _ssl_shutdown_timeout")
    if "self._ssl_protocol = ssl_protocol" not in inspect.getsource(
        asyncio.sslproto._SSLProtocolTransport.__init__
    ):
        raise RuntimeError("asyncio's TLS transport no longer keeps its _ssl_protocol")
