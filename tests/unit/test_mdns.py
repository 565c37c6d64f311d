"""mDNS announcement and discovery, on the loopback interface only.

Every zeroconf instance here, the code's and the test's own, is bound to 127.0.0.1, so
the multicast never leaves this machine (TESTING.md). The `loopback_only` fixture makes
that a checked rule rather than a habit.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from zeroconf import NonUniqueNameException, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from appliance.net.mdns import HEARTH_SERVICE, HTTPS_SERVICE, Announcer, Appliance, discover

LOOPBACK = ["127.0.0.1"]
TARGET = "appliance.net.mdns.AsyncZeroconf"  # what the code under test opens


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that would let the code under test open zeroconf beyond loopback."""

    def guarded(*args: Any, **kwargs: Any) -> AsyncZeroconf:
        assert kwargs.get("interfaces") == LOOPBACK and not args, (args, kwargs)
        return AsyncZeroconf(*args, **kwargs)

    monkeypatch.setattr(TARGET, guarded)


@pytest.fixture
async def observer() -> AsyncIterator[AsyncZeroconf]:
    """The test's own zeroconf, listening on loopback like a browser on the LAN would."""
    zeroconf = AsyncZeroconf(interfaces=LOOPBACK)
    yield zeroconf
    await zeroconf.async_close()


@pytest.fixture
def instance_id() -> str:
    # Unique per test so a slow goodbye from an earlier test can never be mistaken for ours.
    return uuid.uuid4().hex


def announcer(instance_id: str, name: str | None = None, port: int = 8443) -> Announcer:
    return Announcer(
        instance_name=name or f"Hearth test {instance_id[:8]}",
        port=port,
        addresses=["127.0.0.1"],
        version="9.9.9",
        instance_id=instance_id,
        interfaces=LOOPBACK,
    )


@pytest.fixture
async def started(instance_id: str) -> AsyncIterator[Announcer]:
    running = announcer(instance_id)
    await running.start()
    yield running
    await running.close()


async def lookup(zeroconf: AsyncZeroconf, full_name: str, timeout_ms: int = 3000) -> Any:
    service_type = HEARTH_SERVICE if full_name.endswith(HEARTH_SERVICE) else HTTPS_SERVICE
    return await zeroconf.async_get_service_info(service_type, full_name, timeout=timeout_ms)


async def test_announces_both_services_with_txt_and_host(
    started: Announcer, observer: AsyncZeroconf, instance_id: str
) -> None:
    name = f"Hearth test {instance_id[:8]}"
    assert started.service_names == (f"{name}.{HEARTH_SERVICE}", f"{name}.{HTTPS_SERVICE}")
    for full_name in started.service_names:
        info = await lookup(observer, full_name)
        assert info is not None, full_name
        assert info.port == 8443
        assert info.server == "hearth.local."
        assert info.parsed_addresses() == ["127.0.0.1"]
        assert info.decoded_properties == {"version": "9.9.9", "path": "/", "id": instance_id}


async def test_close_withdraws_the_services(instance_id: str) -> None:
    running = announcer(instance_id)
    await running.start()
    names = running.service_names
    assert len(names) == 2
    await running.close()
    assert running.service_names == ()
    # A fresh listener has no cache: only a live responder could answer it.
    async with AsyncZeroconf(interfaces=LOOPBACK) as fresh:
        for full_name in names:
            assert await lookup(fresh, full_name, timeout_ms=1000) is None


async def test_close_is_idempotent_and_fine_without_start(instance_id: str) -> None:
    never_started = announcer(instance_id)
    await never_started.close()
    running = announcer(instance_id)
    await running.start()
    await running.close()
    await running.close()
    assert running.service_names == ()


async def test_close_during_start_cancels_it_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, instance_id: str
) -> None:
    # The app starts the announcer as a background task and may shut down mid-probe.
    probing = asyncio.Event()

    class Probing(AsyncZeroconf):
        async def async_register_service(self, *args: Any, **kwargs: Any) -> Any:
            await self.zeroconf.async_wait_for_start()
            probing.set()  # probing for the name takes about a second from here
            return await super().async_register_service(*args, **kwargs)

    def make(*args: Any, **kwargs: Any) -> Probing:
        assert kwargs.get("interfaces") == LOOPBACK and not args, (args, kwargs)
        return Probing(*args, **kwargs)

    monkeypatch.setattr(TARGET, make)
    running = announcer(instance_id)
    starting = asyncio.create_task(running.start())
    await probing.wait()
    await running.close()
    assert starting.cancelled()
    assert running.service_names == ()
    async with AsyncZeroconf(interfaces=LOOPBACK) as fresh:
        name = f"Hearth test {instance_id[:8]}.{HEARTH_SERVICE}"
        assert await lookup(fresh, name, timeout_ms=1000) is None
    await running.start()  # and it can still be started afterwards
    try:
        assert len(running.service_names) == 2
    finally:
        await running.close()


async def test_host_name_can_be_configured(observer: AsyncZeroconf, instance_id: str) -> None:
    running = Announcer(
        f"Hearth test {instance_id[:8]}",
        8443,
        ["127.0.0.1"],
        "9.9.9",
        instance_id,
        interfaces=LOOPBACK,
        host_name="kitchen",
    )
    await running.start()
    try:
        info = await lookup(observer, running.service_names[0])
        assert info is not None and info.server == "kitchen.local."
    finally:
        await running.close()


@pytest.mark.parametrize("bad", ["", "a.b", "kitchen.lan.local"])
def test_host_name_must_be_one_label(bad: str) -> None:
    with pytest.raises(ValueError, match="single-label"):
        Announcer("x", 1, ["127.0.0.1"], "1", "id", interfaces=LOOPBACK, host_name=bad)


@pytest.mark.xfail(
    strict=False,
    reason="on some machines (this project's current one among them, lo with or without "
    "MULTICAST) two zeroconf instances in one process on loopback never hear each other's "
    "probes, so the second keeps the name; it passed on earlier machines, and zeroconf renames "
    "on a real LAN. Not strict: it still runs and reports XPASS where it works.",
)
async def test_name_conflict_is_resolved_by_renaming(
    started: Announcer, observer: AsyncZeroconf, instance_id: str
) -> None:
    second = announcer(uuid.uuid4().hex, name=f"Hearth test {instance_id[:8]}", port=9443)
    await second.start()
    try:
        assert len(second.service_names) == 2
        assert set(second.service_names).isdisjoint(started.service_names)
        assert all("-2." in name for name in second.service_names)
        for full_name in second.service_names:
            info = await lookup(observer, full_name)
            assert info is not None and info.port == 9443
    finally:
        await second.close()


async def test_discover_lists_the_appliance(started: Announcer, instance_id: str) -> None:
    found = await discover(timeout=2.0, interfaces=LOOPBACK)
    ours = [a for a in found if a.instance_id == instance_id]
    assert ours == [
        Appliance(
            name=f"Hearth test {instance_id[:8]}",
            host="hearth.local",
            port=8443,
            addresses=("127.0.0.1",),
            version="9.9.9",
            instance_id=instance_id,
        )
    ]


async def test_discover_returns_nothing_when_nobody_answers(instance_id: str) -> None:
    found = await discover(timeout=0.5, interfaces=LOOPBACK)
    assert all(a.instance_id != instance_id for a in found)


async def test_long_instance_name_is_cut_to_a_dns_label(
    observer: AsyncZeroconf, instance_id: str
) -> None:
    running = announcer(instance_id, name="Ä" * 40 + instance_id)  # 80+ bytes of UTF-8
    await running.start()
    try:
        assert len(running.service_names) == 2
        label = running.service_names[0].removesuffix(f".{HEARTH_SERVICE}")
        assert len(label.encode()) <= 63
        assert label == "Ä" * 29  # 58 bytes, no split character
        assert await lookup(observer, running.service_names[0]) is not None
    finally:
        await running.close()


# --- when multicast is not available --------------------------------------------------------


def refusing_zeroconf(*args: Any, **kwargs: Any) -> AsyncZeroconf:
    raise OSError(errno.ENODEV, "No such device")


async def test_start_survives_zeroconf_failing_to_open(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, instance_id: str
) -> None:
    monkeypatch.setattr(TARGET, refusing_zeroconf)
    running = announcer(instance_id)
    with caplog.at_level(logging.WARNING, logger="appliance.net.mdns"):
        await running.start()
    assert running.service_names == ()
    assert "mDNS unavailable" in caplog.text
    await running.close()
    await running.close()


class _RefusingRegistrations(AsyncZeroconf):
    """Real zeroconf on loopback whose registrations fail, as on a hostile network."""

    async def async_register_service(self, info: ServiceInfo, *args: Any, **kwargs: Any) -> Any:
        raise NonUniqueNameException(info.name)


async def test_start_survives_registration_failures(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, instance_id: str
) -> None:
    opened: list[_RefusingRegistrations] = []

    def make(*args: Any, **kwargs: Any) -> _RefusingRegistrations:
        assert kwargs.get("interfaces") == LOOPBACK
        opened.append(_RefusingRegistrations(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(TARGET, make)
    running = announcer(instance_id)
    with caplog.at_level(logging.WARNING, logger="appliance.net.mdns"):
        await running.start()
    assert running.service_names == ()
    assert caplog.text.count("could not announce") == 2
    # Nothing registered, so the sockets were closed at once rather than left open.
    assert len(opened) == 1 and opened[0].zeroconf.done
    await running.close()


async def test_a_bug_is_not_swallowed_as_a_network_problem(
    monkeypatch: pytest.MonkeyPatch, instance_id: str
) -> None:
    class Broken(AsyncZeroconf):
        async def async_register_service(self, *args: Any, **kwargs: Any) -> Any:
            raise KeyError("bug")

    def make(*args: Any, **kwargs: Any) -> Broken:
        assert kwargs.get("interfaces") == LOOPBACK
        return Broken(*args, **kwargs)

    monkeypatch.setattr(TARGET, make)
    running = announcer(instance_id)
    with pytest.raises(KeyError):
        await running.start()
    await running.close()


def test_constructing_an_announcer_opens_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TARGET, refusing_zeroconf)
    made = announcer("x" * 32)
    assert made.service_names == ()
