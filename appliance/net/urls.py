"""Where people reach this Hearth: the URLs printed in the banner and by the CLI, and put in
emails, best first."""

from __future__ import annotations

import ipaddress

from appliance import datadir
from appliance.config import Settings


def base_urls(config: Settings) -> list[str]:
    """Where people can reach this Hearth, best first: the running server's own answer when
    one serves this data folder (its port may be a command-line override), else the config's.
    """
    serving = datadir.serving_urls(config.data_dir)
    return serving or listening_urls(config)


def listening_urls(config: Settings) -> list[str]:
    """The URLs a server with this config answers on: only localhost when it listens on
    loopback, only its address when it listens on one, else every LAN address."""
    from appliance.net.addresses import lan_addresses

    if config.server.public_url:
        return [config.server.public_url]
    port = "" if config.server.port == 443 else f":{config.server.port}"
    host = config.server.host
    try:
        bound = ipaddress.ip_address(host)
    except ValueError:
        bound = None  # a host name
    if host == "localhost" or (bound is not None and bound.is_loopback):
        return [f"https://localhost{port}"]
    if bound is None or not bound.is_unspecified:
        shown = f"[{host}]" if bound is not None and bound.version == 6 else host
        return [f"https://{shown}{port}"]
    # The mDNS name first: it stays the same when DHCP hands out a new address. Then each
    # address, for devices that do not resolve .local names; localhost works on this machine.
    urls = [f"https://{config.mdns.host_name}.local{port}"] if config.mdns.enabled else []
    for address in lan_addresses(interfaces=config.mdns.interfaces):
        shown = f"[{address}]" if address.version == 6 else str(address)
        urls.append(f"https://{shown}{port}")
    urls.append(f"https://localhost{port}")
    return urls


def links(config: Settings, path: str) -> list[str]:
    """`path` (with its query) at every address people can use, best first."""
    return [f"{base}{path}" for base in base_urls(config)]
