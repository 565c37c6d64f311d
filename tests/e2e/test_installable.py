"""The installable app on a trusted origin: Hearth's CA in a fresh Chromium profile's NSS store
(no ignore_https_errors), the service worker registers, Chromium finds nothing stopping an
install, and a reload while the server is down shows Hearth's own reconnecting page, which
comes back by itself when the server does."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, chromium_available
from tests.support import pages
from tests.support.server import HearthServer, write_config
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

CERTUTIL = shutil.which("certutil")


def trust_in_nss(home: Path, ca_pem: Path) -> None:
    """Chromium on Linux reads user-added roots from $HOME/.pki/nssdb."""
    assert CERTUTIL, "certutil not found: `make test` installs libnss3-tools with apt"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    database = f"sql:{nssdb}"
    subprocess.run([CERTUTIL, "-N", "-d", database, "--empty-password"], check=True)
    subprocess.run(
        [CERTUTIL, "-A", "-d", database, "-t", "C,,", "-n", "Hearth local CA", "-i", str(ca_pem)],
        check=True,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HearthServer]:
    # Generous: on a loaded machine a start has taken over 15 s.
    running = HearthServer(write_config(tmp_path)).start(timeout=60)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def trusting_browser(tmp_path: Path, server: HearthServer) -> Iterator[Any]:
    """A Chromium whose only extra trust is this Hearth's CA: a fresh profile and NSS store."""
    if not chromium_available():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs it with apt")
    from playwright.sync_api import sync_playwright

    home = tmp_path / "home"
    trust_in_nss(home, tmp_path / "data" / "tls" / "ca.pem")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": str(home)},
            viewport={"width": 1000, "height": 800},
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


def test_trusted_install_and_offline_reload(trusting_browser: Any, server: HearthServer) -> None:
    url = f"https://localhost:{server.port}"
    page = trusting_browser.pages[0] if trusting_browser.pages else trusting_browser.new_page()
    watch = pages.Watch(page, url)
    # No ignore_https_errors: a certificate error would fail this goto.
    response = page.goto(f"{url}/")
    assert response is not None and response.ok
    security = page.evaluate("() => window.isSecureContext")
    assert security is True
    page.wait_for_selector("main#auth-page")  # the app booted: no admin yet

    registered = page.evaluate(
        """() => navigator.serviceWorker.ready.then((r) => r.active && r.active.scriptURL)"""
    )
    assert registered == f"{url}/sw.js"
    cdp = trusting_browser.new_cdp_session(page)
    # The page must be controlled for Chromium's installability check to see the worker.
    page.reload()
    pages.until(page, "() => navigator.serviceWorker.controller !== null")
    errors = cdp.send("Page.getInstallabilityErrors")
    assert errors["installabilityErrors"] == []
    cache_names = page.evaluate("() => caches.keys()")
    assert len(cache_names) == 1 and cache_names[0].startswith("hearth-shell-")
    cached = page.evaluate(
        """async (name) => (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname)""",
        cache_names[0],
    )
    assert "/offline.html" in cached and "/js/main.js" in cached
    assert not [path for path in cached if path.startswith("/api/")]

    # A message notification while the tab is hidden goes through the worker (the only way
    # on Android), carrying the chat to open on a click.
    trusting_browser.grant_permissions(["notifications"], origin=url)
    pages.until(page, "() => Notification.permission === 'granted'")
    page.evaluate(
        "() => Object.defineProperty(document, 'visibilityState', { get: () => 'hidden' })"
    )
    shown: list[Any] = []

    def notified() -> bool:
        # Asked again on each look (the tag makes it one notification): a headless Chromium
        # has been seen to drop the first one.
        shown[:] = page.evaluate(
            """async () => {
                const { notifyNewMessage } = await import('/js/notify.js');
                notifyNewMessage({ title: 'Ada', body: 'hello', tag: 'chat-7', url: '/chats/7', onClick() {} });
                const registration = await navigator.serviceWorker.ready;
                await new Promise((resolve) => setTimeout(resolve, 200));
                return (await registration.getNotifications())
                    .map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url }));
            }"""
        )
        return bool(shown)

    wait_for(notified, timeout=10, what="a notification through the service worker")
    assert shown == [{"title": "Ada", "body": "hello", "tag": "chat-7", "url": "/chats/7"}]

    server.stop()
    page.reload()
    page.wait_for_selector("#reconnecting")
    assert "Reconnecting" in page.text_content("h1")

    server.start(timeout=60)
    # It comes back by itself (the page retries /health), into the app.
    page.wait_for_selector("main#auth-page", timeout=30_000)
    assert page.url == f"{url}/"
    assert watch.problems == []
