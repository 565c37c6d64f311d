"""The served certificate renewed in place: Hypercorn keeps listening, new connections get the
new certificate, open ones carry on."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from hypercorn.asyncio import serve as hypercorn_serve

from appliance.net import renewal
from appliance.net.tls import RENEW_BEFORE, VALIDITY, Certificate, ensure_certificate
from tests.support.clock import ManualClock
from tests.support.server import free_port


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]}
    )
    await send({"type": "http.response.body", "body": b"hello"})


class Served:
    def __init__(self, live: renewal.LiveCertificate, port: int, ca: Path) -> None:
        self.live = live
        self.port = port
        self.client = ssl.create_default_context(cafile=str(ca))  # trusts only the CA

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=self.client, server_hostname="localhost"
        )
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return reader, writer, hashlib.sha256(der).digest().hex(":").upper()

    async def get(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        writer.write(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200")
        return await asyncio.wait_for(reader.readexactly(5), 10)


@pytest.fixture
def when() -> list[dt.datetime]:
    """The time the server certificate is issued at: three weeks ago, so it is still valid
    (clients check against the real time) and falls due for renewal today."""
    return [dt.datetime.now(dt.UTC) - (VALIDITY - RENEW_BEFORE)]


@pytest.fixture
def addresses() -> list[str]:
    return ["10.1.2.3"]


@pytest.fixture
async def served(
    tmp_path: Path, when: list[dt.datetime], addresses: list[str]
) -> AsyncIterator[Served]:
    def issue() -> Certificate:
        return ensure_certificate(tmp_path, [], list(addresses), now=when[0])

    clock = ManualClock()
    first = issue()
    config = renewal.LiveConfig()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.graceful_timeout = 1
    live = renewal.live_certificate_from(first, config, issue, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(hypercorn_serve(hello, config, shutdown_trigger=stop.wait))
    served = Served(live, port, tmp_path / "tls" / "ca.pem")
    await until_listening(served)
    await live.start()
    try:
        yield served
    finally:
        await live.stop()
        stop.set()
        await asyncio.wait_for(task, 10)


async def until_listening(served: Served) -> None:
    for _ in range(200):
        try:
            _, writer, _ = await served.connect()
        except OSError:
            await asyncio.sleep(0.025)  # polling a condition, bounded: the port opening
            continue
        writer.close()
        return
    raise AssertionError("the server never listened")


def leaf_fingerprint(path: Path) -> str:
    cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


async def test_renewal_before_expiry_keeps_serving_without_a_restart(
    served: Served, when: list[dt.datetime]
) -> None:
    reader, writer, before = await served.connect()
    assert before == served.live.current.fingerprint_sha256
    assert await served.get(reader, writer) == b"hello"
    assert not await served.live.renew()  # nothing due yet: the same certificate

    ends = x509.load_pem_x509_certificates(served.live.current.cert_path.read_bytes())[0]
    assert ends.not_valid_after_utc - RENEW_BEFORE < dt.datetime.now(dt.UTC)
    when[0] = dt.datetime.now(dt.UTC)  # today: the certificate is due
    assert await served.live.renew()

    new_reader, new_writer, after = await served.connect()
    assert after != before
    assert (
        after
        == served.live.current.fingerprint_sha256
        == leaf_fingerprint(served.live.current.cert_path)
    )
    assert await served.get(new_reader, new_writer) == b"hello"
    # The connection opened before the renewal still works, on the certificate it began with.
    assert await served.get(reader, writer) == b"hello"
    for w in (writer, new_writer):
        w.close()


async def test_a_new_address_is_covered_at_the_next_check(
    served: Served, addresses: list[str]
) -> None:
    _, writer, before = await served.connect()
    writer.close()
    addresses[:] = ["192.168.50.7"]
    clock = served.live._check._clock
    assert isinstance(clock, ManualClock)
    deadline = asyncio.get_running_loop().time() + 10
    await clock.advance(renewal.CHECK_SECONDS)
    while served.live.current.fingerprint_sha256 == before:
        assert asyncio.get_running_loop().time() < deadline, "no renewal after the check"
        await asyncio.sleep(0.02)  # the check runs its issuing in a thread
    _, writer, after = await served.connect()
    writer.close()
    assert after == served.live.current.fingerprint_sha256 != before
    san = x509.load_pem_x509_certificates(served.live.current.cert_path.read_bytes())[0]
    ips = san.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "192.168.50.7" in {str(a) for a in ips.get_values_for_type(x509.IPAddress)}


def test_hypercorn_uses_the_live_context(tmp_path: Path) -> None:
    made = ensure_certificate(tmp_path, [], [])
    config = renewal.LiveConfig()
    live = renewal.live_certificate_from(made, config, None, ManualClock())
    assert config.ssl_enabled
    assert config.create_ssl_context() is live.context
    assert config.create_ssl_context() is config.create_ssl_context()
