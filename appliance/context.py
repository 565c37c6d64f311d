"""The long-lived objects of one Hearth, built once (by create_app or by a CLI command), and the
one ordered list of steps that starts and stops them."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from appliance import __version__, datadir
from appliance.bus import Bus
from appliance.clock import HOUR_MS, Clock
from appliance.config import CallSettings, Settings
from appliance.lifecycle import Background, Lifecycle, Step
from appliance.net.mail import Mailer
from appliance.net.urls import base_urls
from appliance.periodic import Periodic, one_at_a_time
from appliance.realtime.hub import Hub
from appliance.realtime.presence import Shared
from appliance.services.accounts import Accounts
from appliance.services.activity import Activity
from appliance.services.audience import Audience
from appliance.services.avatars import Avatars
from appliance.services.calls import Calls
from appliance.services.chats import Chats
from appliance.services.contacts import Contacts
from appliance.services.eventlog import EventLog
from appliance.services.export import Export
from appliance.services.files import Files
from appliance.services.health import Health
from appliance.services.leaving import Leaving
from appliance.services.mailings import RESET_ASKS_PER_ADDRESS_HOUR, RESETS_PER_HOUR, Mailings
from appliance.services.messaging import Messaging
from appliance.services.passwords import PasswordHasher
from appliance.services.prefs import ChatPrefs
from appliance.services.ratelimit import Limiters, Limits, limiters_for
from appliance.services.sessions import Sessions
from appliance.services.threads import Threads
from appliance.services.unit import Work
from appliance.store.db import Database

if TYPE_CHECKING:
    from appliance.cluster import Cluster
    from appliance.metrics import Metrics
    from appliance.net.mdns import Announcer
    from appliance.relay import Relay

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = HOUR_MS / 1000
SWEEP_FILES_EVERY_SECONDS = HOUR_MS / 1000


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
    prefs: ChatPrefs
    activity: Activity
    contacts: Contacts
    messaging: Messaging
    threads: Threads
    files: Files
    avatars: Avatars
    events: EventLog
    calls: Calls
    hub: Hub
    event_pruning: Periodic
    file_sweep: Periodic
    mailings: Mailings
    health: Health
    export: Export
    leaving: Leaving
    # Several processes on one database (bus.url: redis://): what each commits reaches all,
    # and what they tell each other that is never stored (presence, calls).
    limiters: Limiters
    relay: Relay | None = None
    cluster: Cluster | None = None
    metrics: Metrics | None = field(init=False)
    lifecycle: Lifecycle = field(init=False)

    def __post_init__(self) -> None:
        metrics = None
        if self.config.metrics.enabled:
            from appliance.metrics import Metrics  # prometheus_client loads only when wanted

            metrics = Metrics(self)
        object.__setattr__(self, "metrics", metrics)
        object.__setattr__(self, "lifecycle", Lifecycle(steps(self)))

    async def start(self) -> None:
        await self.lifecycle.start()

    async def stop(self) -> None:
        await self.lifecycle.stop()


def steps(hearth: Hearth) -> list[Step]:
    """Start-up in this order; shutdown in reverse, each stop within its timeout. Sockets are
    closed before any of this stops (server.py), so no op runs into a stopped part."""
    order = [
        # Opened once, and migrated: a database newer than this code stops start-up here.
        Step("database", hearth.db.open, hearth.db.close, stop_timeout=10.0),
        Step("rate limits", stop=hearth.limiters.close),  # with several processes, in Redis
        # Housekeeping shared by several processes on one database runs on one at a time.
        Step(
            "expired sessions", one_at_a_time(hearth.db, "expired-sessions", hearth.sessions.prune)
        ),
        Step("audience", partial(hearth.audience.load, hearth.db)),
        *([Step("relay", hearth.relay.start, hearth.relay.stop)] if hearth.relay else []),
        # Before the hub: presence and signals go to the other processes; after calls stop.
        *([Step("cluster", hearth.cluster.start, hearth.cluster.stop)] if hearth.cluster else []),
        # Before calls: calls signal through the hub; calls stop first, telling who is in one.
        Step("hub", hearth.hub.start, hearth.hub.close),
        Step("activity", stop=hearth.activity.stop),
        # Calls a crash left open end at start; calls still open at stop end and are logged,
        # while the database is open.
        Step("calls", hearth.calls.end_interrupted, hearth.calls.close, stop_timeout=10.0),
        Step("event pruning", hearth.event_pruning.start, hearth.event_pruning.stop),
        # Temp files a crash left go first; then uploads no message used, hourly.
        Step("files", one_at_a_time(hearth.db, "file-temps", hearth.files.prepare)),
        Step("file sweep", hearth.file_sweep.start, hearth.file_sweep.stop),
        Step("email", stop=hearth.mailings.stop),
    ]
    if hearth.config.backup.every_hours > 0:
        scheduled = Periodic(
            "scheduled-backup",
            hearth.config.backup.every_hours * 3600,
            partial(scheduled_backup, hearth.config),
            hearth.clock,
        )
        order.append(Step("scheduled backups", scheduled.start, scheduled.stop))
    if hearth.metrics is not None:
        order.append(Step("metrics", hearth.metrics.start, hearth.metrics.stop, stop_timeout=2.0))
    if hearth.config.mdns.enabled:
        announcement = Announcement(hearth.config)
        order.append(Step("mdns", announcement.start, announcement.stop, stop_timeout=3.0))
    return order


async def scheduled_backup(config: Settings) -> None:
    """One backup into `backup.folder`, then only the newest `backup.keep` stay."""
    from appliance import backup

    folder = config.backup.folder
    summary = await asyncio.to_thread(
        partial(backup.create, files_dir=config.files_path),
        config.data_dir,
        folder / backup.default_name(),
    )
    removed = await asyncio.to_thread(backup.prune, folder, config.backup.keep)
    log.info(
        "backed up to %s (%.1f MB); removed %d older backup(s)",
        summary.path, summary.size / 1e6, len(removed),
    )  # fmt: skip


class Announcement:
    """The mDNS announcement, started in the background: probing for the name takes a second
    and must not delay readiness, and a network without multicast must not stop Hearth."""

    def __init__(self, config: Settings) -> None:
        self._config = config
        self._announcer: Announcer | None = None
        self._starting = Background()

    async def start(self) -> None:
        from appliance.net.addresses import announced_addresses
        from appliance.net.mdns import Announcer  # zeroconf loads only for the server

        mdns = self._config.mdns
        self._announcer = Announcer(
            instance_name=mdns.instance_name,
            port=self._config.server.port,
            addresses=announced_addresses((), mdns.interfaces),
            version=__version__,
            instance_id=datadir.instance_id(self._config.data_dir),
            host_name=f"{mdns.host_name}.local.",
        )
        self._starting.spawn(self._announcer.start(), "mdns-announce")

    async def stop(self) -> None:
        if self._announcer is not None:
            await self._announcer.close()  # cancels a start still probing
        await self._starting.cancel()


def build(
    config: Settings, *, clock: Clock | None = None, read_connections: int | None = None
) -> Hearth:
    datadir.prepare(config.data_dir)
    clock = clock or Clock()
    db = Database(
        config.database,
        read_connections=read_connections or config.storage.read_connections,
        busy_timeout_ms=config.storage.busy_timeout_ms,
        parallel_writes=config.storage.parallel_writes,
    )
    bus = Bus()
    audience = Audience()
    work = Work(db, bus, audience, clock)
    limiters = limiters_for(config, clock)  # in Redis when several processes share one
    limits = Limits.from_config(config.limits, limiters)
    accounts = Accounts(work, config, PasswordHasher(config.auth.bcrypt_cost), limits)
    sessions = Sessions(work, config.auth, datadir.secret_key(config.data_dir))
    events = EventLog(work, config.messages.event_retention_days)
    cluster = _cluster(config)
    hub = Hub(
        bus,
        audience,
        record_last_seen=accounts.record_last_seen,
        live_sessions=sessions.live,
        clock=clock,
        elsewhere=Shared(cluster) if cluster else None,
        beyond=cluster.push if cluster else None,
    )
    calls = _calls(work, _call_settings(config), hub, cluster)
    files = Files(work, config, limits)
    messaging = Messaging(work, config, limits)
    hub.when_gone(calls.user_disconnected)
    bus.watch_access(calls.access_lost)  # losing access to a chat ends your part in its call
    bus.watch_sessions(calls.sessions_ended)
    prefs = ChatPrefs(work, limits)
    mailings = Mailings(
        accounts,
        Mailer(config.email),
        link_hours=config.auth.reset_link_hours,
        per_login=limiters.limiter("reset-login", RESETS_PER_HOUR, 3600),
        per_address=limiters.limiter("reset-address", RESET_ASKS_PER_ADDRESS_HOUR, 3600),
        online=hub.online,
        muted=prefs.muted,
        mentions=limiters.limiter("mention-emails", 1, config.email.mention_every_minutes * 60)
        if config.email.mentions
        else None,
        urls=partial(base_urls, config),
    )
    bus.subscribe(mailings.on_event, here_only=True)  # mentions of people who are away
    activity = Activity(work, audience, hub)
    bus.subscribe(activity.on_event)  # the `activity` signal to whom an item concerns
    return Hearth(
        config=config,
        clock=clock,
        db=db,
        accounts=accounts,
        sessions=sessions,
        bus=bus,
        audience=audience,
        chats=Chats(work, limits, config.chats),
        prefs=prefs,
        activity=activity,
        contacts=Contacts(work, limits),
        messaging=messaging,
        threads=Threads(work),
        files=files,
        avatars=Avatars(work, files),
        events=events,
        calls=calls,
        hub=hub,
        event_pruning=Periodic.once_across(
            db, "event-pruning", PRUNE_EVERY_SECONDS, events.prune, clock, at_start=True
        ),
        file_sweep=Periodic.once_across(
            db, "file-sweep", SWEEP_FILES_EVERY_SECONDS, files.sweep, clock
        ),
        mailings=mailings,
        health=Health(db, config.data_dir, config.files_path),
        export=Export(work, config),
        leaving=Leaving(accounts, messaging, config.messages.on_account_deleted),
        limiters=limiters,
        relay=_relay(config, work, db, audience, cluster),
        cluster=cluster,
    )


def _cluster(config: Settings) -> Cluster | None:
    if config.bus.url == "memory://":
        return None
    from appliance.cluster import Cluster  # redis-py: only for several processes

    return Cluster(config.bus.url, secrets.token_hex(6), prefix=config.bus.prefix)


def _calls(work: Work, settings: CallSettings, hub: Hub, cluster: Cluster | None) -> Calls:
    if cluster is None:
        return Calls(work, settings, signals=hub.everywhere)
    from appliance.services.call_hosts import HostedCalls

    cluster.watch("presence", hub.changed_elsewhere)
    cluster.on_push(hub.fanout.push)
    return HostedCalls(work, settings, signals=hub.everywhere, cluster=cluster)


def _relay(
    config: Settings, work: Work, db: Database, audience: Audience, cluster: Cluster | None
) -> Relay | None:
    if cluster is None:
        return None
    from appliance.relay import Relay  # redis-py: only for several processes

    relay = Relay(
        config.bus.url, db, work.apply, partial(audience.load, db), prefix=config.bus.prefix,
        node=cluster.node,
    )  # fmt: skip
    work.relay = relay
    return relay


def _call_settings(config: Settings) -> CallSettings:
    """Call media is offered on the addresses mDNS announces and the certificate covers
    (mdns.interfaces), unless calls.addresses names its own."""
    if config.calls.addresses or not config.calls.enabled:
        return config.calls
    from appliance.net.addresses import announced_addresses

    addresses = tuple(announced_addresses((), config.mdns.interfaces))
    return config.calls.model_copy(update={"addresses": addresses})


@asynccontextmanager
async def opened(config: Settings) -> AsyncIterator[Hearth]:
    """A Hearth with only its database open, for one command (the server may run meanwhile:
    nothing else of the lifecycle runs)."""
    context = build(config, read_connections=1)
    await context.db.open()
    try:
        yield context
    finally:
        await context.db.close()
