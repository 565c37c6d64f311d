"""Uploads through a real `hearth serve` (Hypercorn, TLS): a large file streamed in chunks
arrives whole, one over the limit is refused from its Content-Length before the body is sent,
and a connection cut mid-upload leaves nothing behind."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import HearthServer, insecure_context, write_config

FILE_LIMIT = 8 * 1000**2
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HearthServer, str, Path]]:
    folder = tmp_path_factory.mktemp("files-served")
    limits = {"max_file_bytes": FILE_LIMIT, "max_image_bytes": FILE_LIMIT // 4}
    config = write_config(folder, limits=limits)
    with HearthServer(config) as running:
        answer = call(
            running, "POST", "/api/v1/setup",
            json.dumps({"token": running.setup_token(), "username": "ada", "password": PASSWORD}),
            {"Content-Type": "application/json"},
        )  # fmt: skip
        assert answer[0] == 201, answer
        yield running, answer[1]["access_token"], folder / "data" / "files"


def connection(server: HearthServer) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection(
        "127.0.0.1", server.port, context=insecure_context(), timeout=30
    )


def call(
    server: HearthServer, method: str, path: str, body: Any = None, headers: Any = None
) -> tuple[int, Any, bytes]:
    conn = connection(server)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json else None, data
    finally:
        conn.close()


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def leftovers(files: Path) -> list[Path]:
    tmp = files / "tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


def test_a_large_upload_streamed_in_chunks_arrives_whole(server):
    running, token, files = server
    data = os.urandom(5 * 1000**2)

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    status, file, _ = call(
        running, "POST", "/api/v1/files", chunks(), auth(token, **{"X-File-Name": "big.bin"})
    )
    assert status == 201, file
    assert file["size"] == len(data) and file["type"] == "application/octet-stream"
    status, _, served = call(running, "GET", file["url"], headers=auth(token))
    assert status == 200 and hashlib.sha256(served).digest() == hashlib.sha256(data).digest()
    assert leftovers(files) == []


def test_over_every_limit_is_refused_before_the_body(server):
    """Past the larger of the two limits nothing needs the type: 413 from the headers."""
    running, token, files = server
    conn = connection(running)
    try:
        conn.putrequest("POST", "/api/v1/files")
        for name, value in auth(token, **{"Content-Length": str(FILE_LIMIT + 1)}).items():
            conn.putheader(name, value)
        conn.endheaders()  # and not one byte of the body
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 413 and body["error"]["code"] == "payload_too_large"
    assert leftovers(files) == []


def test_a_connection_cut_mid_upload_leaves_nothing(server):
    running, token, files = server
    raw = socket.create_connection(("127.0.0.1", running.port), timeout=10)
    tls = insecure_context().wrap_socket(raw, server_hostname="localhost")
    head = (
        "POST /api/v1/files HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {token}\r\nX-File-Name: cut.bin\r\n"
        f"Content-Length: {4 * 1000**2}\r\n\r\n"
    )
    tls.sendall(head.encode() + os.urandom(1000**2))
    deadline = time.monotonic() + 5
    while not leftovers(files) and time.monotonic() < deadline:
        time.sleep(0.02)  # the temp file exists while the upload runs
    assert leftovers(files), "the upload never started"
    tls.close()
    deadline = time.monotonic() + 10
    while leftovers(files) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(files) == []
    kept = [p for p in files.rglob("*") if p.is_file() and p.parent.name != "tmp"]
    assert all(p.stat().st_size != 1000**2 for p in kept)
