"""The theme palettes in webui/css/app.css meet WCAG 2.1 AA contrast (issue 14): text 4.5:1
against every surface it is written on (1.4.3), and the boundaries of controls and the status
dots 3:1 against what is next to them (1.4.11). The browser test (tests/e2e/test_accessibility.py)
measures the rendered pages with axe-core; this checks the colours every view is made of, in
both themes, including pairs no page in that test happens to show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

APP_CSS = Path(__file__).resolve().parents[2] / "webui" / "css" / "app.css"

SURFACES = ("bg", "surface", "surface-2", "pane")
TEXT = [
    *((text, surface) for text in ("text", "muted", "link") for surface in SURFACES),
    *((text, "bubble-own") for text in ("text", "muted", "link", "accent-hover")),
    ("text", "mention-bg"),
    ("text", "highlight"),
    ("on-accent", "accent"),
    ("on-accent", "accent-hover"),
    ("danger", "surface"),
    ("danger", "danger-bg"),
    ("badge-text", "badge-bg"),
    ("ok", "surface"),
    ("ok", "surface-2"),
]
CONTROLS = [
    *(("input-border", surface) for surface in SURFACES),
    *(("focus", surface) for surface in SURFACES),
    *(("accent", surface) for surface in SURFACES),
    ("online", "surface"),
    ("online", "surface-2"),
    ("away", "surface"),
    ("away", "surface-2"),
    ("tick-read", "bubble-own"),
]


def _block(css: str, selector: str) -> dict[str, str]:
    start = css.index(selector + " {")
    body = css[start : css.index("}", start)]
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", body))


def _palettes() -> dict[str, dict[str, str]]:
    css = APP_CSS.read_text()
    light = _block(css, ":root")
    return {
        "light": light,
        "dark": {**light, **_block(css, ':root[data-theme="dark"]')},
        "system dark": {**light, **_block(css, ':root[data-theme="system"]')},
    }


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    lighter, darker = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula_matches_wcag():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_the_system_dark_palette_is_the_dark_one():
    palettes = _palettes()
    assert palettes["system dark"] == palettes["dark"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_and_controls_meet_aa(theme):
    palette = _palettes()[theme]
    low = [
        f"{fg} on {bg}: {contrast(palette[fg], palette[bg]):.2f} < {needed}"
        for pairs, needed in ((TEXT, 4.5), (CONTROLS, 3.0))
        for fg, bg in pairs
        if contrast(palette[fg], palette[bg]) < needed
    ]
    assert low == []
