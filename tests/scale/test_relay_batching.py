"""The relay appends the units a process commits together as one stream entry (issue 10):
under load, one Redis append and one entry to read per batch, not per message; each unit
still returns once its own announcement is applied here, and every one is applied in event
order."""

from __future__ import annotations

import asyncio

from redis import asyncio as aioredis

from appliance.bus import Announcement
from appliance.relay import Relay
from appliance.store.db import Database
from appliance.store.events import EventRow


async def test_units_committed_together_go_as_one_entry_and_apply_in_order(shared, tmp_path):
    _, redis = shared
    db = Database(tmp_path / "hearth.db")
    await db.open()
    applied: list[int] = []

    def apply(news: Announcement, local: bool) -> None:
        assert local
        applied.extend(event.seq for event in news.events)

    async def nothing() -> None:
        return None

    prefix = tmp_path.name
    relay = Relay(redis.url, db, apply, nothing, prefix=prefix)
    await relay.start()
    client = aioredis.Redis.from_url(redis.url)
    try:
        units = [
            Announcement(relay.node, events=[EventRow(seq, 1, None, "note", '"x"')])
            for seq in range(1, 41)
        ]
        await asyncio.wait_for(asyncio.gather(*(relay.send(unit) for unit in units)), 10)
        assert applied == list(range(1, 41))  # all applied here before their sends returned
        entries = await client.xlen(f"{prefix}:commits")
        assert entries <= 2, f"{entries} stream entries for 40 units sent together"
        await relay.send(Announcement(relay.node, events=[EventRow(41, 1, None, "note", '"y"')]))
        assert applied[-1] == 41  # a lone one still goes (as field "a")
    finally:
        await client.aclose()
        await relay.stop()
        await db.close()
