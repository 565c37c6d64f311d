"""LAN address discovery and the addresses Hearth announces."""

from __future__ import annotations

import ipaddress
import socket
import sys

import ifaddr
import pytest

from appliance.net import addresses
from appliance.net.addresses import (
    announced_addresses,
    choose_interfaces,
    hostname,
    lan_addresses,
    parse_address,
    select_addresses,
)


def ips(*values: str) -> list[addresses.IPAddress]:
    return [ipaddress.ip_address(v) for v in values]


def ifaddr_addresses() -> set[addresses.IPAddress]:
    """Every address ifaddr reports, as an independent reference for this machine."""
    found: set[addresses.IPAddress] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            found.add(ipaddress.ip_address(ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip))
    return found


def test_select_leaves_out_loopback_unless_asked() -> None:
    found = ips("127.0.0.1", "192.168.1.20", "::1")
    assert select_addresses(found, include_loopback=False) == ips("192.168.1.20")
    assert select_addresses(found, include_loopback=True) == ips("192.168.1.20", "127.0.0.1", "::1")


def test_select_orders_ipv4_first_whatever_the_input_order() -> None:
    found = ips("fd00::2", "10.0.0.9", "2001:db8::5", "10.0.0.3")
    expected = ips("10.0.0.3", "10.0.0.9", "2001:db8::5", "fd00::2")
    assert select_addresses(found, include_loopback=False) == expected
    assert select_addresses(reversed(found), include_loopback=False) == expected


def test_select_skips_link_local_ipv6_when_there_is_something_else() -> None:
    found = ips("fe80::1", "192.168.1.20", "fd00::2")
    assert select_addresses(found, include_loopback=False) == ips("192.168.1.20", "fd00::2")


def test_select_keeps_link_local_ipv6_when_it_is_all_there_is() -> None:
    found = ips("::1", "fe80::1", "127.0.0.1")
    assert select_addresses(found, include_loopback=False) == ips("fe80::1")


def test_select_keeps_ipv4_link_local_for_networks_without_dhcp() -> None:
    found = ips("169.254.10.20", "fe80::1")
    assert select_addresses(found, include_loopback=False) == ips("169.254.10.20")


def test_select_removes_duplicates() -> None:
    found = ips("10.0.0.3", "10.0.0.3", "fd00::2", "fd00::2")
    assert select_addresses(found, include_loopback=False) == ips("10.0.0.3", "fd00::2")


def named(*pairs: str) -> list[tuple[str, addresses.IPAddress]]:
    """("eth0 192.168.1.5", ...) -> [("eth0", IPv4Address("192.168.1.5")), ...]"""
    return [(name, ipaddress.ip_address(value)) for name, value in (p.split() for p in pairs)]


MACHINE = named(
    "lo 127.0.0.1", "eth0 192.168.1.5", "eth0 fd00::5", "wlan0 10.0.0.7", "docker0 172.17.0.1",
    "br-3f2a 172.18.0.1", "veth12ab fe80::1", "wg0 10.8.0.2", "tailscale0 100.101.1.2",
)  # fmt: skip


def test_by_default_the_interfaces_that_carry_the_lan_are_used() -> None:
    """Issue 12: not docker or VM bridges, veth pairs or VPN tunnels."""
    chosen = select_addresses(choose_interfaces(MACHINE), include_loopback=False)
    assert chosen == ips("10.0.0.7", "192.168.1.5", "fd00::5")


def test_a_machine_with_only_public_addresses_uses_them() -> None:
    machine = named("lo 127.0.0.1", "eth0 203.0.113.5", "docker0 172.17.0.1")
    assert select_addresses(choose_interfaces(machine), include_loopback=False) == ips(
        "203.0.113.5"
    )


def test_configured_interfaces_are_used_and_nothing_else() -> None:
    chosen = choose_interfaces(MACHINE, ["wlan0", "wg0"])
    assert select_addresses(chosen, include_loopback=False) == ips("10.0.0.7", "10.8.0.2")


def test_lan_addresses_are_this_machines_non_loopback_addresses() -> None:
    result = lan_addresses()
    assert result == select_addresses(
        choose_interfaces(addresses._named_addresses()), include_loopback=False
    )
    assert set(result) <= ifaddr_addresses()
    assert not any(addr.is_loopback for addr in result)
    versions = [addr.version for addr in result]
    assert versions == sorted(versions)


def test_lan_addresses_include_loopback_on_request() -> None:
    result = lan_addresses(include_loopback=True)
    assert ipaddress.ip_address("127.0.0.1") in result
    assert set(lan_addresses()) <= set(result)


def test_fallback_without_ifaddr_finds_loopback_and_real_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = ifaddr_addresses()
    has_lan = bool(lan_addresses())
    # None in sys.modules makes `import ifaddr` raise ImportError.
    monkeypatch.setitem(sys.modules, "ifaddr", None)
    with_loopback = lan_addresses(include_loopback=True)
    assert set(ips("127.0.0.1", "::1")) <= set(with_loopback)
    # The route lookup must only report addresses that really are on an interface...
    assert set(with_loopback) <= real
    # ...and find one, given that test machines have a default route.
    if has_lan:
        assert lan_addresses()


def test_announced_addresses_use_the_configured_list_normalised() -> None:
    configured = [" 192.168.1.5 ", "fd00:0:0::7", "192.168.1.5"]
    assert announced_addresses(configured) == ["192.168.1.5", "fd00::7"]


def test_announced_addresses_default_to_every_lan_address() -> None:
    assert announced_addresses([]) == [str(addr) for addr in lan_addresses()]


@pytest.mark.parametrize("bad", ["hearth.local", "300.1.1.1", "", "0.0.0.0", "224.0.0.251"])
def test_announced_addresses_reject_what_cannot_be_announced(bad: str) -> None:
    with pytest.raises(ValueError, match=repr(bad).replace(".", r"\.")):
        announced_addresses(["10.0.0.1", bad])


def test_parse_address_accepts_ipv6() -> None:
    assert parse_address("::1") == ipaddress.IPv6Address("::1")


def test_hostname_is_short_and_lower_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "Pi-Kitchen.example.lan")
    assert hostname() == "pi-kitchen"


def test_hostname_has_a_fallback_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "")
    assert hostname() == "hearth"


def test_hostname_of_this_machine() -> None:
    name = hostname()
    assert name
    assert "." not in name
    assert name == name.lower()
