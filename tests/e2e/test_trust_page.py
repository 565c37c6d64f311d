"""The "Trust this device" page detects the platform and browser from the user agent, opens
the matching guide, and shows the CA fingerprint computed from the /ca.crt it offers."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.net.tls import fingerprint
from tests.support import pages

pytestmark = pytest.mark.e2e

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
# iPadOS Safari asks for desktop sites and so reads as a Mac; its touch points tell.
IPAD_AS_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)
WINDOWS_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)
MAC_SAFARI = IPAD_AS_MAC
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
LINUX_CHROMIUM = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)

CASES = [
    # (user agent, touch points, platform, browser, the guides opened)
    (IPHONE, 5, "ios", "safari", ["ios"]),
    (IPAD_AS_MAC, 5, "ios", "safari", ["ios"]),
    (ANDROID_CHROME, 5, "android", "chrome", ["android"]),
    (WINDOWS_EDGE, 0, "windows", "edge", ["windows"]),
    (MAC_SAFARI, 0, "macos", "safari", ["macos"]),
    (LINUX_FIREFOX, 0, "linux", "firefox", ["linux", "firefox"]),
    (LINUX_CHROMIUM, 0, "linux", "chrome", ["linux"]),
]


def open_trust_page(browser: Any, url: str, user_agent: str, touch_points: int) -> Any:
    context = browser.new_context(ignore_https_errors=True, user_agent=user_agent)
    context.set_default_timeout(10_000)
    context.add_init_script(
        f"Object.defineProperty(Navigator.prototype, 'maxTouchPoints', {{ get: () => {touch_points} }});"
    )
    page = context.new_page()
    page.goto(f"{url}/trust")
    page.wait_for_selector("#trust-fingerprint")
    return page


def test_trust_page_guides_each_platform(browser, hearth_server, tmp_path):
    ca_fingerprint = fingerprint(tmp_path / "data" / "tls" / "ca.pem")
    for user_agent, touch_points, platform, browser_name, opened in CASES:
        page = open_trust_page(browser, hearth_server.url, user_agent, touch_points)
        watch = pages.Watch(page, hearth_server.url)
        try:
            main = page.locator("#trust-page")
            assert main.get_attribute("data-detected-platform") == platform, user_agent
            assert main.get_attribute("data-detected-browser") == browser_name, user_agent
            assert page.text_content("#trust-fingerprint") == ca_fingerprint
            shown = page.eval_on_selector_all(
                "details.platform[open]", "els => els.map((e) => e.dataset.platform)"
            )
            assert shown == opened, user_agent
            every = page.eval_on_selector_all(
                "details.platform", "els => els.map((e) => e.dataset.platform).sort()"
            )
            assert every == ["android", "firefox", "ios", "linux", "macos", "windows"]
            assert page.get_attribute("#trust-ca-download", "href") == "/ca.crt"
            assert page.get_attribute("#trust-profile-download", "href") == "/hearth.mobileconfig"
            # Apple devices get the profile as the main button.
            main_button = (
                "#trust-profile-download" if platform in {"ios", "macos"} else "#trust-ca-download"
            )
            assert page.get_attribute(main_button, "class") == "button"
            assert watch.problems == []
        finally:
            page.context.close()
