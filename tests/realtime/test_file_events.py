"""Attachments over the WebSocket: `message.send` takes them, `message.created` carries them
to every member's sockets, and a message deleted for everyone replays without them."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import quote

from tests.support.people import new_client_id
from tests.support.server import insecure_context


def upload(person, data: bytes, name: str) -> dict:
    request = urllib.request.Request(
        person.rest.base + "/api/v1/files", data=data, method="POST",
        headers={"Authorization": f"Bearer {person.token}", "X-File-Name": quote(name)},
    )  # fmt: skip
    with urllib.request.urlopen(request, context=insecure_context(), timeout=10) as answer:
        assert answer.status == 201
        return json.loads(answer.read())


def on(message_id: int):
    return lambda frame: frame["data"].get("id") == message_id


async def test_attachments_travel_with_the_message_events(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Files", bob)
    mine, theirs = await ada.connect(), await bob.connect()
    report = upload(ada, b"%PDF-1.7\n report", "Report.pdf")
    sent = await mine.ok(
        "message.send",
        {"chat_id": chat["id"], "client_id": new_client_id(), "attachments": [report["id"]]},
    )
    assert sent["body"] == "" and sent["attachments"] == [report]
    created = await theirs.expect("message.created", where=on(sent["id"]))
    assert created["data"] == sent

    await ada.api("DELETE", f"/messages/{sent['id']}?for=everyone", status=204)
    await theirs.expect("message.deleted", where=on(sent["id"]))
    later = await bob.connect(resume_from=created["seq"] - 1)
    replayed = await later.expect("message.created", where=on(sent["id"]))
    assert replayed["data"]["attachments"] == [] and replayed["data"]["deleted"] is True
