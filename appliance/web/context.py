"""The long-lived objects one app owns, reachable from a request without globals."""

from __future__ import annotations

from dataclasses import dataclass

from quart import current_app

from appliance.config import Settings
from appliance.services.accounts import Accounts
from appliance.services.sessions import Sessions
from appliance.store.db import Database

EXTENSION_KEY = "hearth"


@dataclass(frozen=True, slots=True)
class Hearth:
    config: Settings
    db: Database
    accounts: Accounts
    sessions: Sessions


def hearth() -> Hearth:
    context: Hearth = current_app.extensions[EXTENSION_KEY]
    return context
