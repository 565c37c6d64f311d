"""The Hearth of the app serving the current request or WebSocket, without globals."""

from __future__ import annotations

from quart import current_app

from appliance.context import Hearth

EXTENSION_KEY = "hearth"


def hearth() -> Hearth:
    context: Hearth = current_app.extensions[EXTENSION_KEY]
    return context
