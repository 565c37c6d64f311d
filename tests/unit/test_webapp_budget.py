"""The web app's start-up JS and CSS stay within DESIGN §9's 200 KB: what is not needed for the
first screen (menus, panels, the viewer, the recorder, calls) loads when first used."""

from __future__ import annotations

from tests.support.webapp import BUDGET_BYTES, WEBUI, start_files


def test_the_start_up_files_are_found_through_the_import_graph():
    files = start_files()
    assert "/js/main.js" in files and "/css/app.css" in files
    assert "/js/views/app.js" in files  # imported by main.js
    assert "/js/files/viewer.js" not in files  # only ever import()ed
    assert all((WEBUI / url.lstrip("/")).is_file() for url in files)


def test_the_web_app_starts_within_its_budget():
    files = start_files()
    total = sum(files.values())
    largest = sorted(files.items(), key=lambda item: -item[1])[:8]
    assert total <= BUDGET_BYTES, f"{total / 1024:.1f} KB at start; largest: {largest}"
