"""Trusting the appliance: /ca.crt and the Apple profile, for anyone, with the right types."""

from __future__ import annotations

import json
import plistlib
import re
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from appliance.net.tls import ensure_certificate
from appliance.web.pages import webui_dir
from appliance.web.shell import shell_of
from tests.support.app import running
from tests.support.responses import error_of


def stored_ca(data_dir: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((data_dir / "tls" / "ca.pem").read_bytes())


async def test_ca_certificate_downloads_as_der_to_anyone(tmp_path: Path) -> None:
    ensure_certificate(tmp_path / "data", [], [])
    async with running(tmp_path) as (_, _, client):
        response = await client.get("/ca.crt")  # no session: a device trusts before sign-in
        body = await response.get_data()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-x509-ca-cert"
    assert 'filename="hearth-ca.crt"' in response.headers["Content-Disposition"]
    ca = x509.load_der_x509_certificate(body)
    assert ca == stored_ca(tmp_path / "data")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


async def test_apple_profile_carries_the_ca_as_a_root_payload(tmp_path: Path) -> None:
    ensure_certificate(tmp_path / "data", [], [])
    async with running(tmp_path) as (_, _, client):
        response = await client.get("/hearth.mobileconfig")
        body = await response.get_data()
        again = await (await client.get("/hearth.mobileconfig")).get_data()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-apple-aspen-config"
    profile = plistlib.loads(body)
    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadVersion"] == 1
    [payload] = profile["PayloadContent"]
    assert payload["PayloadType"] == "com.apple.security.root"
    ca = stored_ca(tmp_path / "data")
    assert payload["PayloadContent"] == ca.public_bytes(serialization.Encoding.DER)
    assert payload["PayloadDisplayName"].startswith("Hearth local CA")
    assert payload["PayloadUUID"] != profile["PayloadUUID"]
    assert again == body  # the same identifiers: downloading twice replaces, not adds


async def test_trust_page_is_served_to_anyone(tmp_path: Path) -> None:
    async with running(tmp_path) as (_, _, client):
        response = await client.get("/trust")
        text = (await response.get_data()).decode()
    assert response.status_code == 200
    assert '<script type="module" src="/js/trust.js">' in text


async def test_an_admins_own_certificate_has_no_ca_to_offer(tmp_path: Path) -> None:
    made = ensure_certificate(tmp_path / "elsewhere", [], [])
    tls = {"cert_file": str(made.cert_path), "key_file": str(made.key_path)}
    async with running(tmp_path, tls=tls) as (_, _, client):
        response = await client.get("/ca.crt")
        profile = await client.get("/hearth.mobileconfig")
        error = await error_of(response, 404, "not_found")
    assert response.status_code == 404
    assert profile.status_code == 404
    assert "admin's own certificate" in error["message"]


async def test_service_worker_names_its_release_and_caches_only_the_shell(tmp_path: Path) -> None:
    async with running(tmp_path) as (_, _, client):
        response = await client.get("/sw.js")
        text = (await response.get_data()).decode()
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.headers["Cache-Control"] == "no-cache"
    release_line, shell_line = text.splitlines()[:2]
    assert re.fullmatch(r'const RELEASE = "[\w.+-]+-[0-9a-f]{12}";', release_line)
    shell = json.loads(shell_line.removeprefix("const SHELL = ").removesuffix(";"))
    assert shell[0] == "/"
    assert {"/index.html", "/offline.html", "/js/main.js", "/manifest.json"} <= set(shell)
    assert {"/icons/hearth-192.png", "/icons/hearth-512.png"} <= set(shell)
    assert "/sw.js" not in shell
    assert not [path for path in shell if path.startswith("/api/") or path == "/ca.crt"]


def test_a_changed_shell_file_is_a_new_release(tmp_path: Path) -> None:
    root = tmp_path / "webui"
    shutil.copytree(webui_dir(), root)
    before = shell_of(root)
    assert shell_of(root) == before  # the same files, the same release
    main = root / "js" / "main.js"
    main.write_text(main.read_text() + "\n// a fix\n")
    after = shell_of(root)
    assert after.release != before.release
    assert after.files == before.files
