"""Browser fixtures: one Chromium per test session, a fresh context (a separate person) per call."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, chromium_available
from tests.support.server import HearthServer, write_config


# Module scope, not session: sync Playwright keeps an event loop running in this thread while
# it is open, which would break the async tests of the other folders that run after.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not chromium_available():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs it with apt")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
    # Playwright's leftovers (greenlets, its event loop's objects) are collected here, so that
    # anything they raise on the way out is reported against this module, not a later test.
    gc.collect()


@pytest.fixture
def new_person(browser: Any) -> Iterator[Callable[[], Any]]:
    """Open a new browser context (own cookies and storage) and return its first page."""
    contexts: list[Any] = []

    def open_page() -> Any:
        context = browser.new_context(ignore_https_errors=True, viewport={"width": 1200, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def hearth_server(tmp_path: Any) -> Iterator[HearthServer]:
    with HearthServer(write_config(tmp_path)) as server:
        yield server
