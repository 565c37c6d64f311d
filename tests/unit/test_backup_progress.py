"""The backup's progress bar: drawn in place on a terminal, silent anywhere else (issue 12)."""

from __future__ import annotations

import io

from appliance.backup import Bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_redraws_in_place_on_a_terminal_once_per_percent():
    screen = Terminal()
    bar = Bar("backing up", screen)
    for done in (0, 1, 2, 500_000, 500_001, 1_000_000):
        bar(done, 1_000_000)
    bar.finish()
    frames = screen.getvalue().split("\r")[1:]
    assert [frame.split("%")[0].split()[-1] for frame in frames] == ["0", "50", "100"]
    assert frames[1].startswith("backing up  50% [" + "#" * 15 + " " * 15 + "] 0.5/1.0 MB")
    assert screen.getvalue().endswith("\n")


def test_the_bar_says_nothing_when_not_on_a_terminal():
    log = io.StringIO()
    bar = Bar("backing up", log)
    bar(5, 10)
    bar.finish()
    assert log.getvalue() == ""
