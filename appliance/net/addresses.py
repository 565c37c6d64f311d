"""The machine's own LAN addresses and host name, found without sending anything.

These feed the TLS certificate's SubjectAltName, the mDNS A/AAAA records and the call
ICE host candidates, so they must be cheap, deterministic and never touch the network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Documentation-only destinations (RFC 5737, RFC 3849): connecting a UDP socket to them
# makes the kernel pick a source address without sending a packet, and if a packet were
# ever sent by mistake it would go nowhere real.
_ROUTE_PROBES: tuple[tuple[socket.AddressFamily, str], ...] = (
    (socket.AF_INET, "198.51.100.1"),
    (socket.AF_INET6, "2001:db8::1"),
)


# Interfaces that are not the LAN people are on: container and VM bridges, virtual Ethernet
# pairs, VPN tunnels. Their addresses would only confuse a browser (a certificate name it
# never uses, an mDNS record it cannot reach, an ICE candidate that times out).
VIRTUAL_PREFIXES = (
    "docker", "br-", "veth", "virbr", "vnet", "lxc", "lxd", "cni", "flannel", "cali",
    "podman", "kube", "vmnet", "vboxnet", "tun", "tap", "wg", "tailscale", "zt", "utun",
    "ppp", "ham",
)  # fmt: skip


def lan_addresses(
    include_loopback: bool = False, interfaces: Sequence[str] = ()
) -> list[IPAddress]:
    """Return the addresses people reach this machine on, IPv4 first, in a stable order.

    `interfaces`: the network interfaces to use (an admin's `mdns.interfaces`). Empty: the
    interfaces that carry the LAN, that is private addresses on interfaces that are not
    virtual bridges or tunnels (`VIRTUAL_PREFIXES`); a machine with none (a server with a
    public address) uses what it has. Link-local IPv6 addresses are left out unless there is
    nothing else: without a zone they are of little use to a browser, but on a LAN with no
    DHCP and no router they may be all there is.
    """
    found = choose_interfaces(_named_addresses(), interfaces)
    return select_addresses(found, include_loopback=include_loopback)


def choose_interfaces(
    named: Iterable[tuple[str, IPAddress]], interfaces: Sequence[str] = ()
) -> list[IPAddress]:
    """The addresses of the chosen interfaces (see `lan_addresses`), loopback kept for the
    caller to filter."""
    named = list(named)
    if interfaces:
        return [addr for name, addr in named if name in interfaces or addr.is_loopback]
    real = [(name, addr) for name, addr in named if not name.startswith(VIRTUAL_PREFIXES)]
    private = [addr for _, addr in real if addr.is_private]
    return private or [addr for _, addr in real] or [addr for _, addr in named]


def select_addresses(found: Iterable[IPAddress], *, include_loopback: bool) -> list[IPAddress]:
    """Filter, de-duplicate and order raw interface addresses (see `lan_addresses`)."""
    unique = {addr for addr in found if not (addr.is_unspecified or addr.is_multicast)}
    outside = [addr for addr in unique if not addr.is_loopback]
    routable = [addr for addr in outside if not _is_link_local_v6(addr)]
    chosen = routable or outside
    if include_loopback:
        chosen += [addr for addr in unique if addr.is_loopback]
    return sorted(chosen, key=_sort_key)


def announced_addresses(configured: Sequence[str], interfaces: Sequence[str] = ()) -> list[str]:
    """Return the addresses to announce (mDNS, ICE candidates) as strings.

    An admin's explicit list wins, so a machine with several networks can announce only
    the one its users are on; otherwise every non-loopback interface address is used.
    Raises ValueError naming the first entry that is not a usable IP address.
    """
    if not configured:
        return [str(addr) for addr in lan_addresses(interfaces=interfaces)]
    result: list[str] = []
    for value in configured:
        text = str(parse_address(value))
        if text not in result:
            result.append(text)
    return result


def parse_address(value: str) -> IPAddress:
    """Parse one IP address that can be announced, with an error that names it."""
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        raise ValueError(f"not an IP address: {value!r}") from None
    if addr.is_unspecified or addr.is_multicast:
        raise ValueError(f"cannot announce the address {value!r}: it is not a host address")
    return addr


def hostname() -> str:
    """Return the short host name in lower case ("pi" for "pi.example.lan").

    Lower case because DNS names compare case-insensitively and the name ends up in
    certificates and mDNS records where a mismatch would only cause confusion.
    """
    short = socket.gethostname().split(".", 1)[0].strip().lower()
    return short or "hearth"


def _named_addresses() -> list[tuple[str, IPAddress]]:
    """(interface name, address) for every address of every interface."""
    try:
        import ifaddr
    except ImportError:
        return [("", addr) for addr in _socket_addresses()]
    found: list[tuple[str, IPAddress]] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            # ifaddr gives IPv6 as (address, flowinfo, scope_id); the scope is dropped
            # because callers want plain addresses they can print and compare.
            raw = ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip
            with contextlib.suppress(ValueError):
                found.append((adapter.name, ipaddress.ip_address(raw.split("%", 1)[0])))
    return found


def _socket_addresses() -> list[IPAddress]:
    """Fallback without ifaddr: the loopbacks plus the source address of each default route.

    Only finds one address per family, which is what most appliances have anyway.
    """
    found: list[IPAddress] = [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
    for family, probe in _ROUTE_PROBES:
        source = _route_source(family, probe)
        if source is not None:
            found.append(source)
    return found


def _route_source(family: socket.AddressFamily, probe: str) -> IPAddress | None:
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            # connect() on a UDP socket only does a route lookup; nothing is sent.
            sock.connect((probe, 9))
            raw = sock.getsockname()[0]
    except OSError:
        return None
    return ipaddress.ip_address(raw.split("%", 1)[0])


def _is_link_local_v6(addr: IPAddress) -> bool:
    return addr.version == 6 and addr.is_link_local


def _sort_key(addr: IPAddress) -> tuple[int, bool, bool, int]:
    return (addr.version, addr.is_loopback, addr.is_link_local, int(addr))
