"""Chromium through Playwright, as TESTING.md's verified recipe: Debian's binary, loopback only."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("HEARTH_CHROMIUM", "/usr/bin/chromium")

# Playwright's own --disable-features list (1.65); Chromium honours only the last
# --disable-features switch, so ours repeats it.
_PLAYWRIGHT_DISABLED = (
    "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,"
    "ThirdPartyStoragePartitioning,AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,"
    "OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch"
)

CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    f"--disable-features={_PLAYWRIGHT_DISABLED},WebRtcHideLocalIpsWithMdns",
]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()
