"""Draw the app's PNG icons from its SVG design: `make icons` (Chromium renders, Pillow saves).

The PNGs are committed: installing Hearth needs no browser. Run this again after changing
webui/icons/hearth.svg or hearth-maskable.svg.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "webui" / "icons"
CHROMIUM = "/usr/bin/chromium"
# (source SVG, size, output): "any" icons keep the rounded square; the maskable one fills it.
WANTED = [
    ("hearth.svg", 192, "hearth-192.png"),
    ("hearth.svg", 512, "hearth-512.png"),
    ("hearth-maskable.svg", 512, "hearth-maskable-512.png"),
    ("hearth.svg", 180, "apple-touch-icon.png"),
]


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        for source, size, output in WANTED:
            page = browser.new_page(viewport={"width": size, "height": size})
            svg = (ICONS / source).read_text()
            page.set_content(
                "<style>html,body{margin:0;background:transparent}svg{display:block;"
                f"width:{size}px;height:{size}px}}</style>{svg}"
            )
            shot = page.screenshot(omit_background=True)
            page.close()
            image = Image.open(io.BytesIO(shot)).convert("RGBA")
            assert image.size == (size, size), image.size
            image.save(ICONS / output, optimize=True)
            print(f"{output}: {size}x{size}")
        browser.close()


if __name__ == "__main__":
    main()
