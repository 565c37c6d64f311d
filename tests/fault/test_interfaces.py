"""What Hearth announces on a machine with docker, a VPN and a LAN (issue 12), with real kernel
interfaces in a network namespace the test makes (veth and bridge devices with private
addresses on them only; nothing is sent anywhere). Skipped where namespaces cannot be made."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

NAMESPACE = f"hearth-ifaces-{os.getpid()}"
INTERFACES = [  # (name, how it is made, address); a veth's peer stays in there, unaddressed
    ("lan0", ["type", "veth", "peer", "name", "lan0-peer"], "192.168.77.2/24"),
    ("docker0", ["type", "bridge"], "172.17.0.1/16"),
    ("wg0", ["type", "veth", "peer", "name", "wg0-peer"], "10.8.0.2/24"),
]
PROBE = (
    "import json, sys\n"
    "from appliance.net.addresses import announced_addresses\n"
    "print(json.dumps(announced_addresses((), sys.argv[1:])))\n"
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def namespace() -> Iterator[str]:
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("needs root and iproute2 to make a network namespace")
    try:
        ip("netns", "add", NAMESPACE)
    except subprocess.CalledProcessError as error:
        pytest.skip(f"cannot make a network namespace here: {error.stderr.decode().strip()}")
    try:
        ip("-n", NAMESPACE, "link", "set", "lo", "up")
        for name, kind, address in INTERFACES:
            ip("-n", NAMESPACE, "link", "add", name, *kind)
            ip("-n", NAMESPACE, "addr", "add", address, "dev", name)
            ip("-n", NAMESPACE, "link", "set", name, "up")
        yield NAMESPACE
    finally:
        ip("netns", "delete", NAMESPACE)


def announced(namespace: str, *interfaces: str) -> list[str]:
    command = ["ip", "netns", "exec", namespace, sys.executable, "-c", PROBE, *interfaces]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)
    result: list[str] = json.loads(done.stdout)
    return result


def test_the_lan_is_announced_not_docker_or_the_vpn(namespace):
    assert announced(namespace) == ["192.168.77.2"]


def test_mdns_interfaces_choose_what_is_announced(namespace):
    assert announced(namespace, "wg0") == ["10.8.0.2"]
    assert announced(namespace, "lan0", "docker0") == ["172.17.0.1", "192.168.77.2"]
