"""The `call` fixture: an SFU with real aiortc peers, checked to leave nothing running."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from appliance.config import CallSettings
from appliance.sfu import SFU
from tests.sfu.peers import Peer, recorder
from tests.support.waiting import eventually


@pytest.fixture
async def call() -> AsyncIterator[dict[str, Any]]:
    threads_before = {t.ident for t in threading.enumerate()}
    # The loop's default executor, named as asyncio's own names it (uvloop's would be
    # ThreadPoolExecutor-N_M): its idle workers are told apart from the call's threads below.
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="asyncio"))
    peers: dict[int, Peer] = {}
    failed: list[int] = []

    async def on_failed(call_id: int, user_id: int) -> None:
        failed.append(user_id)
        await sfu.leave(call_id, user_id)

    settings = CallSettings(addresses=("127.0.0.1",), video_slots=3, audio_slots=3)
    sfu = SFU(settings, recorder(peers), on_failed)
    state = {"sfu": sfu, "peers": peers, "failed": failed}
    yield state
    for peer in peers.values():
        await peer.close()
    await sfu.close()

    # Everything the call started is gone: peer connection tasks and the receivers' threads.
    # (The event loop's default executor keeps its idle workers, named asyncio_N, for reuse:
    # the client peers' encoders ran there; that pool is the loop's, not the call's.)
    def call_threads() -> set[int | None]:
        return {
            t.ident
            for t in threading.enumerate()
            if t.ident not in threads_before and not t.name.startswith("asyncio_")
        }

    current = asyncio.current_task()

    def call_tasks() -> list[asyncio.Task[Any]]:
        return [t for t in asyncio.all_tasks() if t is not current and not t.done()]

    try:
        await eventually(lambda: not call_threads() and not call_tasks(), timeout=10)
    except AssertionError:
        names = [t.name for t in threading.enumerate() if t.ident in call_threads()]
        raise AssertionError(f"left running: threads {names}, tasks {call_tasks()}") from None


LOOPS_FOR = ("tests/sfu/test_sfu.py", "tests/sfu/test_loss.py")


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Any:
    """The call tests run on both event loops Hearth runs on (appliance/loop.py): uvloop's,
    the default, and asyncio's own, where the fast path reads datagrams its own way. The
    other SFU tests run on asyncio's, as the rest of the suite does."""
    loops = {"asyncio": asyncio.new_event_loop}
    if item.nodeid.startswith(LOOPS_FOR):
        try:
            import uvloop
        except ImportError:  # not installed here (32-bit ARM): Hearth runs on asyncio's
            return loops
        loops["uvloop"] = uvloop.new_event_loop
    return loops
