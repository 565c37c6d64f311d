"""Giving memory back to the system after connections close.

Measured with 400 WebSocket clients connected then gone (issue 13; tests/fault/test_storm.py
checks it): the server's Python objects were back to what they were (counted by type, and
traced), yet its RSS stayed about 100 MB higher, kept by the allocators:

* asyncio gives each TLS connection a 256 KiB read buffer (now 32 KiB: net/transports.py).
* glibc's mmap threshold moves: once a large block that came from mmap() is freed, blocks of
  that size come from the heap instead, as the next connections' read buffers did; and freed
  heap memory goes back to the system only from the top of the heap, which any long-lived
  allocation pins. A fixed threshold keeps large blocks in mmap(), returned once freed, and
  the `Trimmer` calls `malloc_trim()` a few seconds after connections close, which returns
  the free pages of every arena. A garbage collection comes first: much of what a connection
  leaves is in reference cycles (without it, 99 MB stayed instead of 77), and start-up's
  objects are frozen out of collections so that it takes milliseconds.
* Python's small-object allocator keeps each 1 MiB arena while any object in it lives, and a
  few survivors (free lists, SQLite's cursor references) pin most of those a storm used: 16 MB
  per 400 sockets that no call can return. systemd/hearth.service runs Hearth with
  PYTHONMALLOC=malloc, so small objects come from glibc too and are trimmed with the rest.

Idle RSS after 400 sockets connected and closed: 178 MB from 74 MB before (measured here;
220 from 76 reported), for good. With the above, after 400 sockets connected and closed twice:
78 MB from 72 MB, 5 s later (89 from 70 without PYTHONMALLOC=malloc). Both glibc calls go
through ctypes; elsewhere (musl, macOS) they are skipped.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt() parameter, from glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, kept from now on
TRIM_DELAY = 5.0


def _libc_function(name: str) -> Callable[..., int] | None:
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    return function


def fix_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Serve blocks of `size` bytes and more from mmap() for good; False where unsupported."""
    mallopt = _libc_function("mallopt")
    return mallopt is not None and mallopt(M_MMAP_THRESHOLD, size) == 1


def freeze_startup_objects() -> None:
    """Leave what start-up made (modules, classes, the app: long-lived by nature) out of every
    later garbage collection: the Trimmer's took 77 ms with them, 2 ms without."""
    gc.collect()
    gc.freeze()


def release_free_memory() -> tuple[float, float]:
    """Collect garbage, then hand the allocator's free pages back to the system; the seconds
    each took."""
    began = time.perf_counter()
    gc.collect()
    collected = time.perf_counter()
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)
    return collected - began, time.perf_counter() - collected


class Trimmer:
    """`soon()` after connections close: memory is released `delay` seconds later, once for
    all the closes in between."""

    def __init__(self, delay: float = TRIM_DELAY) -> None:
        self._delay = delay
        self._pending: asyncio.TimerHandle | None = None

    def soon(self) -> None:
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(self._delay, self._release)

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _release(self) -> None:
        self._pending = None
        collecting, trimming = release_free_memory()
        log.debug(
            "released free memory: garbage collection %.1f ms, malloc_trim %.1f ms",
            collecting * 1000,
            trimming * 1000,
        )
