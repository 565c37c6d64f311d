"""The long-lived objects of one Hearth: built once, by create_app or by a CLI command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from appliance import datadir
from appliance.bus import Bus
from appliance.clock import Clock
from appliance.config import Settings
from appliance.services.accounts import Accounts
from appliance.services.audience import Audience
from appliance.services.calls import Calls
from appliance.services.chats import Chats
from appliance.services.contacts import Contacts
from appliance.services.eventlog import EventLog
from appliance.services.limits import Limits
from appliance.services.messaging import Messaging
from appliance.services.passwords import PasswordHasher
from appliance.services.sessions import Sessions
from appliance.services.unit import Work
from appliance.store.db import Database


@dataclass(frozen=True, slots=True)
class Hearth:
    config: Settings
    clock: Clock
    db: Database
    accounts: Accounts
    sessions: Sessions
    bus: Bus
    audience: Audience
    chats: Chats
    contacts: Contacts
    messaging: Messaging
    events: EventLog
    calls: Calls


def build(
    config: Settings, *, read_connections: int | None = None, clock: Clock | None = None
) -> Hearth:
    datadir.prepare(config.data_dir)
    clock = clock or Clock()
    db = Database(
        config.database_path,
        read_connections=read_connections or config.storage.read_connections,
        busy_timeout_ms=config.storage.busy_timeout_ms,
    )
    bus = Bus()
    audience = Audience()
    work = Work(db, bus, audience, clock)
    limits = Limits.from_config(config.limits, clock)
    return Hearth(
        config=config,
        clock=clock,
        db=db,
        accounts=Accounts(work, config, PasswordHasher(config.auth.bcrypt_cost)),
        sessions=Sessions(work, config.auth, datadir.secret_key(config.data_dir)),
        bus=bus,
        audience=audience,
        chats=Chats(work, limits, config.chats),
        contacts=Contacts(work, limits),
        messaging=Messaging(work, config, limits),
        events=EventLog(work, config.messages.event_retention_days),
        calls=Calls(work, config.calls),
    )


@asynccontextmanager
async def opened(config: Settings) -> AsyncIterator[Hearth]:
    """A Hearth with its database open, for one command (the server may run meanwhile)."""
    context = build(config, read_connections=1)
    await context.db.open()
    try:
        yield context
    finally:
        await context.db.close()
