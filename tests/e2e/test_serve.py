"""The real `hearth serve` over HTTPS: start, redirect, certificate, API, clean stop."""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request
from typing import Any

import h2.connection
import pytest

from appliance.net.tls import fingerprint
from tests.support import sqlite
from tests.support.server import HearthServer, insecure_context, roomy_config, write_config


def _json(raw: bytes) -> dict:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {}


def _request(
    url: str, body: dict | None = None, headers: dict | None = None
) -> tuple[int, Any, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, context=insecure_context(), timeout=10) as response:
            return response.status, response.headers, _json(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, _json(error.read())


def _read_until_closed(connection: ssl.SSLSocket) -> None:
    """Read and drop whatever arrives until the server hangs up, then close, as a browser
    would."""
    with contextlib.suppress(OSError):
        while connection.recv(4096):
            pass
    connection.close()


@pytest.fixture
def server(tmp_path):
    with HearthServer(write_config(tmp_path)) as running:
        yield running


def test_serves_https_from_the_printed_ca(server, tmp_path):
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        insecure_context().wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    served = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    cert_path = tmp_path / "data" / "tls" / "cert.pem"
    ca_path = tmp_path / "data" / "tls" / "ca.pem"
    assert served == fingerprint(cert_path)
    # The banner shows what people compare when they trust the appliance: its CA.
    assert fingerprint(ca_path) in server.log()
    # And a client that trusts only that CA verifies the certificate for localhost.
    trusting = ssl.create_default_context(cafile=str(ca_path))
    with urllib.request.urlopen(f"https://localhost:{server.port}/health", context=trusting) as r:
        assert json.loads(r.read()) == {"status": "ok"}


def test_http_port_redirects_to_https(server):
    connection = socket.create_connection(("127.0.0.1", server.http_port))
    connection.sendall(
        b"GET /login?next=x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    reply = b""
    while chunk := connection.recv(4096):
        reply += chunk
    connection.close()
    head = reply.decode("latin-1").lower()
    assert head.startswith("http/1.1 308")
    assert f"location: https://127.0.0.1:{server.port}/login?next=x" in head


def test_setup_link_makes_an_admin_over_https(server):
    token = server.setup_token()
    origin = {"Origin": server.url}
    status, headers, body = _request(
        f"{server.url}/api/v1/setup",
        {"token": token, "username": "root", "password": "long enough"},
        origin,
    )
    assert status == 201, body
    assert body["user"]["is_admin"] is True
    cookie = headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie
    status, _, me = _request(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert status == 200 and me["username"] == "root"
    # The token is single use, and the server no longer offers it.
    status, _, again = _request(
        f"{server.url}/api/v1/setup",
        {"token": token, "username": "late", "password": "long enough"},
        origin,
    )
    assert status == 409 and again["error"]["code"] == "setup_done"


def test_health_is_not_logged_and_tokens_never_are(server):
    for _ in range(3):
        _request(f"{server.url}/health")
    _request(f"{server.url}/api/v1/info")
    _request(f"{server.url}/reset?token=SECRET-RESET-TOKEN")
    log = server.log()
    assert "GET /api/v1/info 200" in log
    assert "/health" not in log
    assert "SECRET-RESET-TOKEN" not in log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signals(tmp_path, sig):
    server = HearthServer(write_config(tmp_path)).start()
    assert server.stop(sig) == 0
    assert "Hearth stopped" in server.log()
    assert "Traceback" not in server.log()


def test_stop_does_not_wait_for_a_connection_hypercorn_leaves_open(tmp_path):
    """Browsers leave HTTP/2 connections that Hypercorn never closes by itself: here, one whose
    only request the client cancelled (RST_STREAM) leaves it no idle timer. On Python 3.12.1+
    Hypercorn's stop would wait for that connection forever; it must end within the shutdown
    timeout, cleanly, while the client keeps its side open."""
    server = HearthServer(roomy_config(tmp_path, shutdown_timeout=1)).start()
    context = insecure_context()
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
        connection = h2.connection.H2Connection()
        connection.initiate_connection()
        headers = [(":method", "POST"), (":scheme", "https"), (":authority", "localhost")]
        connection.send_headers(1, [*headers, (":path", "/api/v1/auth/login")])
        connection.reset_stream(1)
        tls.sendall(connection.data_to_send())
        assert tls.recv(4096), "the server answers with its settings"
        reader = threading.Thread(target=_read_until_closed, args=(tls,))
        reader.start()
        assert server.stop(timeout=15) == 0
        reader.join(5)
    assert "Hearth stopped" in server.log()
    if sys.version_info >= (3, 12):
        # (Python 3.11's asyncio logs a CancelledError traceback for each connection task that
        # Hypercorn cancels at its graceful timeout, as it does this one's there.)
        assert "Traceback" not in server.log(), server.log()[-3000:]


def test_unknown_config_key_stops_start_up(tmp_path):
    path = write_config(tmp_path)
    path.write_text(path.read_text() + "registraton:\n  mode: open\n")
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "registraton: unknown key" in result.stderr


def test_newer_database_is_refused_at_start(tmp_path):
    path = write_config(tmp_path)
    server = HearthServer(path).start()
    server.stop()
    with sqlite.connect(tmp_path / "data" / "hearth.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "schema version 999" in result.stderr and "newer Hearth" in result.stderr
