"""Fixtures the API tests share: people who use the in-process app, and the calls service
with its signals recorded instead of sent."""

from __future__ import annotations

from typing import Any

import pytest
from calls_helpers import Signals, WireCalls

from appliance.context import Hearth
from tests.support.people import AppPeople


@pytest.fixture
def people(hearth: Hearth, new_client: Any) -> AppPeople:
    return AppPeople(hearth, new_client)


@pytest.fixture
def signals(hearth: Hearth) -> Signals:
    recorder = Signals()
    hearth.calls.connect(recorder)
    return recorder


@pytest.fixture
def calls(hearth: Hearth, signals: Signals) -> WireCalls:
    return WireCalls(hearth.calls)
