"""The event loop Hearth runs on: uvloop's where it is installed (the default on Linux on
x86-64 and 64-bit ARM, pyproject.toml), else asyncio's own; HEARTH_EVENT_LOOP=asyncio picks
asyncio's anyway.

Why: the SFU wakes the loop about a hundred times a second per publisher, for a few packets
each, and a turn of asyncio's loop is Python (its `_run_once`, the selector's wrapper) run
cold each time: about a quarter of the SFU's CPU at one subscriber. uvloop's turn is C
(libuv). Measured with bench/sfu.py --peer hearth --together (the SFU's bench server on each
loop, five rounds at one subscriber): 7.6 % less CPU on uvloop, every round between 4 and
10 % less. Everything else is loop-agnostic, or checks which loop it is on:

* sfu/fastpath.py reads a publisher's datagrams in bursts on asyncio's loop (`read_in_bursts`)
  and sends on the socket under asyncio's transport; on uvloop, libuv reads every waiting
  datagram in one wake-up itself, and its transport's `sendto` is C.
* net/transports.py lowers asyncio's TLS read buffer and shutdown timeout through its
  transport's Python attributes; uvloop's buffer is allocated, not zero-filled (its pages
  cost memory only once written), and a connection that will not close is aborted after the
  write timeout on either loop (`BoundedWriter`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def name() -> str:
    """The loop `run` would use: "uvloop" or "asyncio"."""
    if os.environ.get("HEARTH_EVENT_LOOP", "").strip().lower() == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on the loop `name()` says."""
    if name() == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
