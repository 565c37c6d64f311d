"""How the API shows stored times (`appliance.clock.iso`)."""

from __future__ import annotations

import random

from appliance.clock import iso


def test_a_time_is_shown_to_the_millisecond_in_utc():
    assert iso(1_764_617_733_000) == "2025-12-01T19:35:33.000Z"
    assert iso(1_764_617_733_002) == "2025-12-01T19:35:33.002Z"
    assert iso(None) is None


def test_times_compare_as_strings_as_they_do_as_times():
    # The web app sorts its chat list by these strings: a whole second must not sort after a
    # later time in the same second ("...:33Z" > "...:33.002Z" as strings).
    rng = random.Random(11)
    for _ in range(20_000):
        a = rng.randrange(1_600_000_000_000, 1_900_000_000_000)
        b = a + rng.randrange(-1500, 1500)
        a -= a % 1000 if rng.random() < 0.3 else 0  # whole seconds often
        assert (iso(a) < iso(b)) == (a < b), (a, b)  # type: ignore[operator]
