"""Sockets of sessions ended by another process (`hearth user disable` from the shell) close at
the hub's next sweep, every 30 s of the clock: the in-process Hearth on a ManualClock."""

from __future__ import annotations

from appliance.realtime.session_watch import SWEEP_SECONDS
from tests.support import sqlite


async def test_a_session_ended_elsewhere_closes_its_socket_at_the_next_sweep(local):
    ada, bob = await local.people("ada", "bob")
    gone, staying = await ada.connect(), await bob.connect()
    # As the CLI would: its own connection to the file, and nothing said on this process's bus.
    with sqlite.database(local.hearth.config) as conn:
        conn.execute("UPDATE sessions SET revoked_at = 1 WHERE user_id = ?", (ada.id,))
    await local.clock.advance(SWEEP_SECONDS - 0.1)
    await gone.ping_round_trip()  # still open until the sweep
    await local.clock.advance(0.1)
    assert await gone.closed() == 4001
    await staying.ping_round_trip()
    assert staying.close_code is None
