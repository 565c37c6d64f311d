"""Your own view of a chat follows you to every tab: chat.prefs and message.starred reach your
other devices, and nobody else."""

from __future__ import annotations


async def test_prefs_and_stars_reach_my_other_devices_only(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    sent = await ada.send(chat["id"], "star me")
    laptop, phone, adas = await bob.connect(), await bob.connect(), await ada.connect()
    await bob.api("PATCH", f"/chats/{chat['id']}/prefs", {"mute": "always", "archived": True})
    for socket in (laptop, phone):
        frame = await socket.expect(
            "chat.prefs", where=lambda f: f["data"]["chat_id"] == chat["id"]
        )
        assert frame["data"]["archived"] is True
        assert frame["data"]["muted_until"].startswith("9999-12-31")
    await bob.api("PUT", f"/messages/{sent['id']}/star", status=204)
    starred = await phone.expect("message.starred")
    assert starred["data"] == {"message_id": sent["id"], "chat_id": chat["id"]}
    await bob.api("DELETE", f"/messages/{sent['id']}/star", status=204)
    await laptop.expect("message.unstarred")
    barrier = await bob.send(chat["id"], "barrier")
    await adas.expect("message.created", where=lambda f: f["data"]["id"] == barrier["id"])
    assert [
        f for f in adas.received if f.get("event", "").startswith(("chat.prefs", "message.st"))
    ] == []
