"""Reach the app's Hearth context from a request, without globals."""

from __future__ import annotations

from quart import current_app

from appliance.context import Hearth

EXTENSION_KEY = "hearth"


def hearth() -> Hearth:
    context: Hearth = current_app.extensions[EXTENSION_KEY]
    return context
