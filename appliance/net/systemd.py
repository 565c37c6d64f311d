"""systemd's notify protocol (sd_notify), in the few lines it takes: a datagram to the socket
named by $NOTIFY_SOCKET. Without that variable (not run by systemd, or Type is not notify)
every call does nothing. No dependency: the protocol is one `KEY=value` text per datagram."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

log = logging.getLogger(__name__)


def sd_notify(*lines: str) -> bool:
    """Send `lines` (READY=1, STOPPING=1, STATUS=..., WATCHDOG=1) to systemd; whether it went."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode())
    except OSError as error:
        log.warning("could not tell systemd %s: %s", lines[0], error)
        return False
    return True


def watchdog_interval() -> float | None:
    """Half of WatchdogSec when systemd asks this process for keep-alives, else None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    with contextlib.suppress(ValueError):
        return int(usec) / 2_000_000
    return None


async def keep_alive(interval: float) -> None:
    """WATCHDOG=1 every `interval` seconds for as long as the event loop runs its tasks: a
    loop stuck for WatchdogSec gets Hearth restarted."""
    while True:
        sd_notify("WATCHDOG=1")
        await asyncio.sleep(interval)
