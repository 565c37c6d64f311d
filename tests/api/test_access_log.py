"""The access log names routes, not secrets (issue 13: `GET /api/v1/invites/KYUNED8oTJYrablU`
was logged with the invite code)."""

from __future__ import annotations

import logging

from tests.support.responses import json_of


async def test_invite_codes_and_session_ids_never_reach_the_log(hearth, client, admin, caplog):
    invite = await hearth.accounts.create_invite(None, 1, 7)
    with caplog.at_level(logging.INFO, logger="appliance.access"):
        await client.get(f"/api/v1/invites/{invite.code}")
        await client.get(f"/join/{invite.code}")
        await json_of(await client.get("/api/v1/calls/12"), 404)
        await client.delete(f"/api/v1/auth/sessions/{admin['session_id']}")
    lines = [record.getMessage() for record in caplog.records if record.name == "appliance.access"]
    text = "\n".join(lines)
    assert invite.code not in text and admin["session_id"] not in text, text
    assert "GET /api/v1/invites/<code> " in text
    assert "DELETE /api/v1/auth/sessions/<session_id> " in text
    assert "GET /api/v1/calls/12 " in text  # ids stay: they help find a request
