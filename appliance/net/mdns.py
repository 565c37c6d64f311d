"""Announcing Hearth on the LAN by mDNS/DNS-SD, and finding other appliances.

mDNS is a convenience: it lets people type `hearth.local` and lets `hearth discover`
list appliances. Networks that block multicast (guest Wi-Fi, some containers) must not
stop Hearth from serving, so every failure here is logged and swallowed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zeroconf import Error as ZeroconfError
from zeroconf import InterfaceChoice, ServiceInfo, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

log = logging.getLogger(__name__)

HEARTH_SERVICE = "_hearth._tcp.local."
HTTPS_SERVICE = "_https._tcp.local."
SERVICE_TYPES = (HEARTH_SERVICE, HTTPS_SERVICE)
HOST_NAME = "hearth.local."  # what people type; see DESIGN.md §8
# DNS labels hold 63 bytes; leave room for the "-2" zeroconf appends on a conflict.
_INSTANCE_NAME_MAX_BYTES = 58
# What zeroconf raises when multicast is unusable: socket errors, its own errors, and
# RuntimeError when no interface has an address of the wanted family.
_MDNS_FAILURES = (OSError, RuntimeError, ZeroconfError)


@dataclass(frozen=True, slots=True)
class Appliance:
    """One Hearth found on the LAN."""

    name: str  # the DNS-SD instance name, e.g. "Hearth on pi"
    host: str  # e.g. "hearth.local" (no trailing dot)
    port: int
    addresses: tuple[str, ...]
    version: str
    instance_id: str


class Announcer:
    """Registers Hearth's `_hearth._tcp` and `_https._tcp` services while the server runs."""

    def __init__(
        self,
        instance_name: str,
        port: int,
        addresses: Sequence[str],
        version: str,
        instance_id: str,
        interfaces: Sequence[str] | None = None,
        host_name: str = HOST_NAME,
    ) -> None:
        self._instance_name = _fit_label(instance_name)
        self._host_name = _local_host_name(host_name)
        self._port = port
        self._addresses = list(addresses)
        self._properties = {"version": version, "path": "/", "id": instance_id}
        self._interfaces = interfaces
        self._zeroconf: AsyncZeroconf | None = None
        self._registered: list[ServiceInfo] = []
        self._starting: asyncio.Task[Any] | None = None

    @property
    def service_names(self) -> tuple[str, ...]:
        """Full names actually registered; they differ from the asked one after a conflict."""
        return tuple(info.name for info in self._registered)

    async def start(self) -> None:
        """Open zeroconf and register both services; on failure log a warning and carry on.

        Returns once the announcements are out (about a second of probing). A close()
        meanwhile cancels the start, so it is fine to run this as a background task.
        """
        if self._zeroconf is not None or self._starting is not None:
            return
        self._starting = asyncio.current_task()
        try:
            await self._open_and_register()
        finally:
            self._starting = None

    async def close(self) -> None:
        """Say goodbye for every registered service and close zeroconf. Safe to repeat."""
        await self._cancel_start()
        zeroconf, self._zeroconf = self._zeroconf, None
        self._registered = []
        if zeroconf is None:
            return
        try:
            # async_close also unregisters, which sends the goodbye packets
            # so browsers drop us now rather than when the TTL runs out.
            await zeroconf.async_close()
        except _MDNS_FAILURES as exc:
            log.warning("mDNS: error while closing: %r", exc)

    async def _open_and_register(self) -> None:
        # Built first: a malformed name or address is a bug to raise, not a network issue.
        infos = [self._service_info(service_type) for service_type in SERVICE_TYPES]
        try:
            self._zeroconf = AsyncZeroconf(interfaces=_interface_choice(self._interfaces))
        except _MDNS_FAILURES as exc:
            log.warning("mDNS unavailable, Hearth will not be announced on the LAN: %s", exc)
            return
        try:
            await self._register_all(self._zeroconf, infos)
        finally:
            if not self._registered:
                await self.close()  # nothing to answer for: don't keep the sockets open

    async def _cancel_start(self) -> None:
        # Without this, a start still probing would finish after close() and report
        # services announced on a zeroconf that is already shut.
        starting = self._starting
        if starting is None or starting is asyncio.current_task():
            return
        starting.cancel()
        await asyncio.wait([starting])

    def _service_info(self, service_type: str) -> ServiceInfo:
        return ServiceInfo(
            service_type,
            f"{self._instance_name}.{service_type}",
            port=self._port,
            properties=self._properties,
            server=self._host_name,
            parsed_addresses=self._addresses,
        )

    async def _register_all(self, zeroconf: AsyncZeroconf, infos: list[ServiceInfo]) -> None:
        # Probing takes about a second per service; do both at once.
        results = await asyncio.gather(
            *(self._register(zeroconf, info) for info in infos), return_exceptions=True
        )
        for info, result in zip(infos, results, strict=True):
            if isinstance(result, BaseException):
                _raise_unless_mdns_failure(result)
                log.warning("mDNS: could not announce %s: %r", info.type, result)
            else:
                self._registered.append(info)
                log.info("mDNS: announced %s on port %d", info.name, self._port)

    @staticmethod
    async def _register(zeroconf: AsyncZeroconf, info: ServiceInfo) -> None:
        # The first await probes for the name (renaming on conflict), the second waits
        # for the announcements to go out.
        announced = await zeroconf.async_register_service(info, allow_name_change=True)
        await announced


async def discover(
    # A listening period, not a cancellation timeout (what ASYNC109 is about): the
    # browse always runs this long, because answers keep arriving until it ends.
    timeout: float = 3.0,  # noqa: ASYNC109
    interfaces: Sequence[str] | None = None,
) -> list[Appliance]:
    """Browse `_hearth._tcp` for `timeout` seconds and return what answered, sorted by name.

    Each service is resolved as soon as it is seen, within the same deadline, so the call
    takes about `timeout` seconds (a little more if a late answer needs one more query).
    """
    zeroconf = AsyncZeroconf(interfaces=_interface_choice(interfaces))
    try:
        infos = await _browse(zeroconf, timeout)
    finally:
        await zeroconf.async_close()
    found = {_appliance(info) for info in infos}
    return sorted(found, key=lambda a: (a.name, a.instance_id, a.port))


async def _browse(zeroconf: AsyncZeroconf, listen_for: float) -> list[AsyncServiceInfo]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + listen_for
    resolving: dict[str, asyncio.Task[AsyncServiceInfo | None]] = {}

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Added and name not in resolving:
            remaining = max(deadline - loop.time(), _MIN_RESOLVE_SECONDS)
            resolving[name] = loop.create_task(_resolve(zeroconf, service_type, name, remaining))

    browser = AsyncServiceBrowser(zeroconf.zeroconf, [HEARTH_SERVICE], handlers=[on_change])
    try:
        await asyncio.sleep(listen_for)
    finally:
        await browser.async_cancel()
    results = await asyncio.gather(*resolving.values())
    return [info for info in results if info is not None]


# Answers usually carry SRV, TXT and addresses along with the PTR, so a service seen at the
# last moment is normally resolved from the cache at once; this bounds the rare extra query.
_MIN_RESOLVE_SECONDS = 0.5


async def _resolve(
    zeroconf: Zeroconf, service_type: str, name: str, wait_seconds: float
) -> AsyncServiceInfo | None:
    info = AsyncServiceInfo(service_type, name)
    if await info.async_request(zeroconf, wait_seconds * 1000):
        return info
    return None


def _appliance(info: AsyncServiceInfo) -> Appliance:
    properties = info.decoded_properties
    return Appliance(
        name=info.get_name(),
        host=(info.server or "").rstrip("."),
        port=info.port or 0,
        addresses=tuple(info.parsed_scoped_addresses()),
        version=properties.get("version") or "",
        instance_id=properties.get("id") or "",
    )


def _interface_choice(interfaces: Sequence[str] | None) -> list[str] | InterfaceChoice:
    return InterfaceChoice.All if interfaces is None else list(interfaces)


def _fit_label(name: str) -> str:
    """Cut an instance name to what fits in a DNS label, never splitting a character."""
    cut = name.strip().encode()[:_INSTANCE_NAME_MAX_BYTES].decode(errors="ignore")
    return cut or "Hearth"


def _local_host_name(name: str) -> str:
    """ "hearth", "hearth.local" or "hearth.local." -> "hearth.local." as zeroconf wants it."""
    label = name.strip().rstrip(".").removesuffix(".local")
    if not label or "." in label:
        raise ValueError(f"not a single-label mDNS host name: {name!r}")
    return f"{label}.local."


def _raise_unless_mdns_failure(exc: BaseException) -> None:
    # A bug (TypeError, KeyError...) or a cancellation must not be mistaken for a network
    # that refuses multicast.
    if not isinstance(exc, _MDNS_FAILURES):
        raise exc
