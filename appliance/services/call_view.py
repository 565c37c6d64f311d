"""The JSON shape of a call (REST, WebSocket results and call signals)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from appliance.services import views
from appliance.store.calls import CallRow


def call_view(row: CallRow, participants: Iterable[int] = ()) -> dict[str, Any]:
    if row.ended_at is not None:
        state = "ended"
    else:
        state = "active" if row.answered_at is not None else "ringing"
    return {
        "id": row.id,
        "chat_id": row.chat_id,
        "kind": row.kind,
        "started_by": row.started_by,
        "state": state,
        "started_at": views.iso(row.started_at),
        "answered_at": views.iso(row.answered_at),
        "ended_at": views.iso(row.ended_at),
        "outcome": row.outcome,
        "participants": sorted(participants),
        "duration_seconds": row.duration_seconds,
    }
