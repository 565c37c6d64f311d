"""Profiles over the WebSocket: a new profile picture, name or status reaches everyone who
shares a chat (and nobody else) as user.updated, a group picture reaches the members as
chat.updated, and both replay to a socket that resumes."""

from __future__ import annotations

import io
import json
import urllib.request

from PIL import Image

from tests.support.server import insecure_context


def put_picture(person, path: str) -> dict:
    image = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(image, "PNG")
    request = urllib.request.Request(
        person.rest.base + "/api/v1" + path, data=image.getvalue(), method="PUT",
        headers={"Authorization": f"Bearer {person.token}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, context=insecure_context(), timeout=10) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


async def test_a_profile_picture_reaches_those_who_share_a_chat(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    await ada.direct(bob)
    bobs, eves = await bob.connect(), await eve.connect()
    me = put_picture(ada, "/me/avatar")
    told = await bobs.expect("user.updated")
    assert told["data"]["id"] == ada.id and told["data"]["avatar_url"] == me["avatar_url"]
    assert "email" not in told["data"]  # the public profile, not Ada's own
    # Eve shares no chat with Ada: by the time a later event reaches her, none came before.
    group = await eve.group("Eve's", bob)
    await eves.expect("chat.created", where=lambda f: f["data"]["id"] == group["id"])
    assert not [f for f in eves.received if f.get("event") == "user.updated"]
    later = await bob.connect(resume_from=told["seq"] - 1)
    replayed = await later.expect("user.updated")
    assert replayed["data"] == told["data"] and replayed["seq"] == told["seq"]


async def test_a_group_picture_reaches_the_members(people):
    ada, bob = await people("ada", "bob")
    group = await ada.group("Kitchen", bob)
    bobs = await bob.connect()
    chat = put_picture(ada, f"/chats/{group['id']}/avatar")
    updated = await bobs.expect("chat.updated")
    assert updated["data"]["id"] == group["id"]
    assert updated["data"]["avatar_url"] == chat["avatar_url"]


async def test_a_new_name_reaches_those_who_share_a_chat_and_your_other_devices(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    await ada.direct(bob)
    bobs, eves, adas = await bob.connect(), await eve.connect(), await ada.connect()
    await ada.api("PATCH", "/me", {"display_name": "Ada L.", "status_text": "at the lake"})
    for stream in (bobs, adas):
        told = await stream.expect("user.updated")
        assert told["data"]["id"] == ada.id
        assert told["data"]["display_name"] == "Ada L."
        assert told["data"]["status_text"] == "at the lake"
        assert "email" not in told["data"] and "dm_policy" not in told["data"]
    group = await eve.group("Eve's", bob)
    await eves.expect("chat.created", where=lambda f: f["data"]["id"] == group["id"])
    assert not [f for f in eves.received if f.get("event") == "user.updated"]
    # Who may message you is yours alone: changing it tells nobody.
    await ada.api("PATCH", "/me", {"dm_policy": "contacts"})
    await bob.direct(eve)  # a later event, to show nothing came before it
    await bobs.expect("chat.created")
    assert len([f for f in bobs.received if f.get("event") == "user.updated"]) == 1
