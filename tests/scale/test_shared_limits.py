"""Rate limits hold across processes (issue 10): limiters of two processes on one Redis count in
one window, so N processes do not allow N times the login guesses (two `hearth serve`
processes show it at the end); a limiter of another prefix counts apart; and when Redis does
not answer, a request is counted in its own process instead of failing, the outage logged once
and its end too."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml
from redis import asyncio as aioredis

from appliance.services.errors import RateLimitedError
from appliance.services.ratelimit import Limiter
from appliance.services.sharedlimits import ANSWER_WAIT, RETRY_SECONDS, RedisLimiters
from tests.support import engines
from tests.support.clock import ManualClock
from tests.support.people import ServedPeople
from tests.support.server import HearthServer, free_port, roomy_config
from tests.support.wire import Rest

LOGGER = "appliance.services.sharedlimits"


class Now:
    """Seconds on the clock the processes share, moved by hand (by default it is Redis's)."""

    def __init__(self) -> None:
        self.seconds = 1_750_000_000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture(scope="module")
def server() -> Iterator[engines.Redis]:
    with engines.redis() as redis:
        yield redis


@pytest.fixture
async def processes(server, tmp_path) -> AsyncIterator[tuple[RedisLimiters, RedisLimiters, Now]]:
    """The limiters of two processes of one Hearth, on one Redis and one prefix."""
    now = Now()
    pair = [RedisLimiters(server.url, ManualClock(), prefix=tmp_path.name, now=now) for _ in "ab"]
    yield pair[0], pair[1], now
    for limiters in pair:
        await limiters.close()


async def refused(limiter: Limiter, key: str) -> float:
    with pytest.raises(RateLimitedError) as caught:
        await limiter.hit(key)
    return caught.value.retry_after


async def test_two_processes_count_in_one_window(processes, server, tmp_path):
    a, b, now = processes
    on_a, on_b = a.limiter("login-account", 3, 60), b.limiter("login-account", 3, 60)
    await on_a.hit("grace")
    now.seconds += 10
    await on_b.hit("grace")
    await on_a.hit("grace")
    now.seconds += 5
    assert await refused(on_b, "grace") == pytest.approx(45)  # the first hit leaves at 60
    with pytest.raises(RateLimitedError):
        await on_a.check("grace")
    await on_b.hit("linus")  # another key counts apart
    await a.limiter("login-address", 3, 60).hit("grace")  # and another limiter

    redis = aioredis.Redis.from_url(server.url)
    try:
        window = f"{tmp_path.name}:rate:login-account:grace"
        assert await redis.zcard(window) == 3
        assert 0 < await redis.pttl(window) <= 60_000  # gone a window after the last hit
    finally:
        await redis.aclose()


async def test_the_window_slides(processes):
    a, b, now = processes
    on_a, on_b = a.limiter("messages", 2, 10), b.limiter("messages", 2, 10)
    await on_a.hit("7")
    now.seconds += 6
    await on_b.hit("7")
    now.seconds += 4  # the first hit is now out of the window: its time is exactly 10 s ago
    await on_a.hit("7")
    assert await refused(on_b, "7") == pytest.approx(6)  # until the second one leaves
    now.seconds += 6
    await on_b.hit("7")


async def test_a_reset_in_one_process_holds_in_the_other(processes):
    a, b, _ = processes
    on_a, on_b = a.limiter("login-account", 1, 60), b.limiter("login-account", 1, 60)
    await on_a.hit("grace")
    await refused(on_b, "grace")
    await on_b.reset("grace")
    await on_a.hit("grace")


async def test_another_prefix_counts_apart(server, tmp_path):
    now = Now()
    ours = RedisLimiters(server.url, ManualClock(), prefix=f"{tmp_path.name}-1", now=now)
    theirs = RedisLimiters(server.url, ManualClock(), prefix=f"{tmp_path.name}-2", now=now)
    try:
        await ours.limiter("chats", 1, 60).hit("7")
        await theirs.limiter("chats", 1, 60).hit("7")
        await refused(ours.limiter("chats", 1, 60), "7")
    finally:
        await ours.close()
        await theirs.close()


async def test_windows_on_redis_own_clock_slide_too(server, tmp_path):
    """What Hearth uses: Redis's clock, which every process shares (a tiny window here)."""
    limiters = RedisLimiters(server.url, ManualClock(), prefix=tmp_path.name)
    try:
        limiter = limiters.limiter("uploads", 1, 0.2)
        await limiter.hit("7")
        assert 0 < await refused(limiter, "7") <= 0.2
        deadline = asyncio.get_running_loop().time() + 5
        while True:  # room again once the window has passed
            try:
                await limiter.hit("7")
                break
            except RateLimitedError:
                assert asyncio.get_running_loop().time() < deadline, "the window never slid"
                await asyncio.sleep(0.02)
    finally:
        await limiters.close()


async def test_without_redis_each_process_counts_on_its_own_and_says_so_once(tmp_path, caplog):
    clock = ManualClock()
    redis = engines.Redis().start()
    limiters = RedisLimiters(redis.url, clock, prefix=tmp_path.name)
    try:
        logins = limiters.limiter("login-account", 2, 60)
        messages = limiters.limiter("messages", 5, 60)
        await logins.hit("grace")
        with caplog.at_level(logging.INFO, logger=LOGGER):
            redis.halt()
            await logins.hit("grace")  # counted in memory: no error for the person
            await messages.hit("7")
            await logins.hit("grace")
            assert await refused(logins, "grace") == pytest.approx(60)  # 2 of 2 in memory
            await clock.advance(RETRY_SECONDS)
            await messages.hit("7")  # asked Redis again: still down, not said again
            down = [r for r in caplog.records if "did not answer" in r.getMessage()]
            assert len(down) == 1 and down[0].levelno == logging.WARNING
            assert "login-account" in down[0].getMessage()
            assert "grace" not in caplog.text  # a key (a login name, an address) is not logged

            redis.start()  # back, and empty
            await messages.hit("7")  # not asked yet: within RETRY_SECONDS of the last try
            assert "answers again" not in caplog.text
            await clock.advance(RETRY_SECONDS)
            await logins.hit("grace")
            assert caplog.text.count("answers again") == 1
            assert not limiters.down
    finally:
        await limiters.close()
        redis.stop()


async def test_a_redis_that_never_answers_costs_a_request_at_most_a_moment(tmp_path, caplog):
    """Connected, but no answer (a hung server): the hit falls back after ANSWER_WAIT, and the
    hits after it do not wait at all until Redis is asked again."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads what it is sent, answers nothing, until closed
        writer.close()

    port = free_port()
    hung = await asyncio.start_server(silent, "127.0.0.1", port)
    limiters = RedisLimiters(f"redis://127.0.0.1:{port}/0", ManualClock(), prefix=tmp_path.name)
    loop = asyncio.get_running_loop()
    try:
        limiter = limiters.limiter("login-address", 1, 60)
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            started = loop.time()
            await limiter.hit("192.0.2.7")
            assert loop.time() - started < ANSWER_WAIT + 1
            started = loop.time()
            assert await refused(limiter, "192.0.2.7") == pytest.approx(60)
            assert loop.time() - started < 0.1
        assert caplog.text.count("did not answer") == 1
        assert "192.0.2.7" not in caplog.text
    finally:
        await limiters.close()
        hung.close()
        await hung.wait_closed()


def two_servers(tmp_path: Path, database: str, redis: engines.Redis) -> list[HearthServer]:
    """Two `hearth serve` processes of one Hearth, each allowing 3 failed logins a minute."""
    servers = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        config = roomy_config(
            folder,
            limits={"login_per_account": {"count": 3, "per_seconds": 60}},
            storage={"url": database},
            bus={"url": redis.url, "prefix": tmp_path.name},
        )
        raw = yaml.safe_load(config.read_text())
        config.write_text(yaml.safe_dump({**raw, "data_dir": str(tmp_path / "data")}))
        servers.append(HearthServer(config).start(timeout=60))  # one after the other
    return servers


async def test_two_processes_allow_the_login_guesses_of_one(server, tmp_path):
    with engines.postgres() as pg:
        servers = two_servers(tmp_path, pg.url, server)
        try:
            (grace,) = await ServedPeople(servers[0])("grace")
            guesses = [Rest(servers[n]) for n in (0, 1, 0)]
            for rest in guesses:
                wrong = {"login": grace.username, "password": "not her password"}
                assert (await rest.call("POST", "/auth/login", wrong)).status == 401
            reply = await Rest(servers[1]).call(
                "POST", "/auth/login", {"login": grace.username, "password": "still guessing"}
            )
            assert reply.status == 429 and reply.body["error"]["code"] == "rate_limited"
            assert 1 <= int(reply.headers["Retry-After"]) <= 60
        finally:
            for hearth in servers:
                hearth.stop()
