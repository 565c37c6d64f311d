"""The served certificate, renewed in place: a new server certificate from Hearth's CA before
the current one ends or when the machine's addresses change, without a restart.

Hypercorn makes its `ssl.SSLContext` once, when it starts listening, from
`Config.create_ssl_context()`. `LiveConfig` hands it the context this module keeps, and a
renewal calls `load_cert_chain` on that same context: OpenSSL copies the certificate into
each connection when the connection starts, so new connections get the new certificate and
open ones carry on with the one they began with.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from appliance.clock import Clock, to_datetime
from appliance.config import Settings
from appliance.net import transports
from appliance.net.addresses import hostname, lan_addresses
from appliance.net.tls import Certificate, ensure_certificate, load_certificate
from appliance.periodic import Periodic

log = logging.getLogger(__name__)

# Often enough that a new DHCP address is covered within minutes; a check that finds nothing
# to do reads four small files.
CHECK_SECONDS = 300.0

Issue = Callable[[Clock], Certificate]


def certificate_for(config: Settings, clock: Clock | None = None) -> Certificate:
    """The certificate to serve: the admin's own pair, else one from Hearth's CA (made, or
    renewed, as needed)."""
    if config.tls.cert_file is not None and config.tls.key_file is not None:
        return load_certificate(config.tls.cert_file, config.tls.key_file)
    return issue(config, clock or Clock())


def issue(config: Settings, clock: Clock) -> Certificate:
    names = [*config.tls.extra_names, f"{config.mdns.host_name}.local", hostname()]
    addresses = [str(a) for a in lan_addresses(interfaces=config.mdns.interfaces)]
    return ensure_certificate(config.data_dir, names, addresses, now=to_datetime(clock.now_ms()))


class LiveCertificate:
    """The one SSLContext every HTTPS connection starts from, and the certificate in it."""

    def __init__(
        self,
        certificate: Certificate,
        context: ssl.SSLContext,
        renew: Callable[[], Certificate] | None,
        clock: Clock,
    ) -> None:
        self.current = certificate
        self.context = context
        self._renew = renew  # None: the admin's own pair, which Hearth leaves alone
        self._check = Periodic("tls-renewal", CHECK_SECONDS, self.renew, clock)

    async def start(self) -> None:
        if self._renew is not None:
            await self._check.start()

    async def stop(self) -> None:
        await self._check.stop()

    async def renew(self) -> bool:
        """Issue a new certificate if the current one is due or no longer covers every
        address, and serve it from the next connection on. True if it changed."""
        if self._renew is None:
            return False
        # Key generation and file writes stay off the event loop; loading into the context
        # happens on it, between handshakes.
        fresh = await asyncio.to_thread(self._renew)
        if fresh == self.current:
            return False
        self.context.load_cert_chain(fresh.cert_path, fresh.key_path)
        self.current = fresh
        log.info("now serving a renewed TLS certificate, SHA-256 %s", fresh.fingerprint_sha256)
        return True


class LiveConfig(transports.ServingConfig):
    """Hypercorn's config whose TLS context is the live one (see the module docstring)."""

    live: LiveCertificate | None = None

    def create_ssl_context(self) -> ssl.SSLContext | None:
        if self.live is not None:
            return self.live.context
        context: ssl.SSLContext | None = super().create_ssl_context()
        return context


def live_certificate(
    config: Settings, certificate: Certificate, serving: LiveConfig, clock: Clock
) -> LiveCertificate:
    """The live certificate for `hearth serve`: renewed from Hearth's CA unless the admin
    configured their own pair."""
    own = config.tls.cert_file is not None
    renew = None if own else (lambda: issue(config, clock))
    return live_certificate_from(certificate, serving, renew, clock)


def live_certificate_from(
    certificate: Certificate,
    serving: LiveConfig,
    renew: Callable[[], Certificate] | None,
    clock: Clock,
) -> LiveCertificate:
    """Hypercorn's own context (its ciphers, ALPN, TLS 1.2 floor) made once, kept live."""
    serving.certfile = str(certificate.cert_path)
    serving.keyfile = str(certificate.key_path)
    context = transports.ServingConfig.create_ssl_context(serving)
    assert context is not None  # certfile and keyfile are set
    live = LiveCertificate(certificate, context, renew, clock)
    serving.live = live
    return live
