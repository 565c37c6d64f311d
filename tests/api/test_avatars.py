"""Profile and group pictures: PUT an image, get a square WebP without its metadata; who may
set a chat's picture; who may see them; the events that tell everyone; and the old picture
left to the sweep."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from tests.api.test_files import GPS_IFD, IMAGE_LIMIT, LIMITS, jpeg, padded, stored_files
from tests.support.app import make_settings
from tests.support.responses import error_of, json_of

SIDE = 256


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "data", limits=LIMITS)


async def put_picture(person, path: str, data: bytes):
    return await person.put(path, data=data, headers={"Content-Type": "image/jpeg"})


async def picture_of(person, url: str) -> Image.Image:
    answer = await person.client.get(url)
    assert answer.status_code == 200, await answer.get_data()
    image = Image.open(io.BytesIO(await answer.get_data()))
    image.load()
    return image


async def events_of(hearth, type: str) -> list[tuple[int | None, int | None, dict]]:
    async with (
        hearth.db.read() as conn,
        conn.execute(
            "SELECT chat_id, user_id, data FROM events WHERE type = ? ORDER BY seq", (type,)
        ) as cur,
    ):
        return [(row[0], row[1], json.loads(row[2])) for row in await cur.fetchall()]


async def test_a_profile_picture_is_a_square_without_its_metadata(people, hearth):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    # Wide, with GPS, and sideways by its EXIF orientation: upright it is 300 wide, 600 high.
    me = await json_of(
        await put_picture(ada, "/me/avatar", jpeg(600, 300, gps=True, orientation=6)), 200
    )
    assert me["avatar_url"].startswith("/api/v1/files/")
    picture = await picture_of(bob, me["avatar_url"])  # anyone signed in may see it
    assert picture.format == "WEBP" and picture.size == (SIDE, SIDE)
    assert not picture.getexif() and GPS_IFD not in picture.getexif()
    assert "exif" not in picture.info and "xmp" not in picture.info
    assert (await json_of(await bob.get(f"/users/{ada.id}"), 200))["avatar_url"] == me["avatar_url"]
    peer = (await json_of(await bob.get(f"/chats/{chat['id']}"), 200))["peer"]
    assert peer["avatar_url"] == me["avatar_url"]
    # Everyone who shares a chat hears of it, and Ada's own devices.
    told = await events_of(hearth, "user.updated")
    assert {(chat_id, user_id) for chat_id, user_id, _ in told} == {
        (chat["id"], None),
        (None, ada.id),
    }
    assert all(data["avatar_url"] == me["avatar_url"] for _, _, data in told)


async def test_a_small_picture_is_not_scaled_up(people):
    (ada,) = await people("ada")
    me = await json_of(await put_picture(ada, "/me/avatar", jpeg(120, 90)), 200)
    assert (await picture_of(ada, me["avatar_url"])).size == (90, 90)


async def test_removing_a_picture(people, hearth):
    ada, bob = await people("ada", "bob")
    await ada.direct(bob)
    me = await json_of(await put_picture(ada, "/me/avatar", jpeg(64, 64)), 200)
    gone = await json_of(await ada.delete("/me/avatar"), 200)
    assert gone["avatar_url"] is None
    assert (await json_of(await ada.get("/me"), 200))["avatar_url"] is None
    assert (await events_of(hearth, "user.updated"))[-1][2]["avatar_url"] is None
    await error_of(await bob.client.get(me["avatar_url"]), 404, "file_not_found")


@pytest.mark.parametrize(
    "data",
    [b"MZ\x90\x00 an executable named photo.jpg" + b"\0" * 100, b"%PDF-1.7\n", b"<svg></svg>"],
    ids=["exe", "pdf", "svg"],
)
async def test_only_pictures_are_taken(people, settings, data):
    (ada,) = await people("ada")
    await error_of(await put_picture(ada, "/me/avatar", data), 415, "unsupported_media_type")
    assert (await json_of(await ada.get("/me"), 200))["avatar_url"] is None
    assert stored_files(settings.data_dir) == []


async def test_a_broken_picture_is_refused(people, settings):
    (ada,) = await people("ada")
    broken = jpeg(64, 64)[:40]
    await error_of(await put_picture(ada, "/me/avatar", broken), 415, "unsupported_media_type")
    assert stored_files(settings.data_dir) == []


async def test_the_image_size_limit_holds(people, settings):
    (ada,) = await people("ada")
    await json_of(await put_picture(ada, "/me/avatar", padded(jpeg(), IMAGE_LIMIT)), 200)
    too_big = padded(jpeg(), IMAGE_LIMIT + 1)
    await error_of(await put_picture(ada, "/me/avatar", too_big), 413, "payload_too_large")


async def test_anonymous_callers_are_refused(client, people):
    (ada,) = await people("ada")
    me = await json_of(await put_picture(ada, "/me/avatar", jpeg()), 200)
    await error_of(
        await client.request("PUT", "/api/v1/me/avatar", data=jpeg()), 401, "unauthenticated"
    )
    await error_of(await client.request("DELETE", "/api/v1/me/avatar"), 401, "unauthenticated")
    await error_of(await client.get(me["avatar_url"]), 401, "unauthenticated")


async def test_a_group_picture_is_for_admins_to_set(people, hearth):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    group = await ada.group("Kitchen", bob, cyd)
    path = f"/chats/{group['id']}/avatar"
    await error_of(await put_picture(bob, path, jpeg()), 403, "not_allowed")
    await error_of(await bob.delete(path), 403, "not_allowed")
    chat = await json_of(await put_picture(ada, path, jpeg(80, 40)), 200)
    assert chat["avatar_url"] and chat["role"] == "owner"
    assert (await picture_of(cyd, chat["avatar_url"])).size == (40, 40)
    updated = [data for chat_id, _, data in await events_of(hearth, "chat.updated")]
    assert updated[-1]["avatar_url"] == chat["avatar_url"] and updated[-1]["id"] == group["id"]
    in_list = await bob.chat_in_list(group["id"])
    assert in_list["avatar_url"] == chat["avatar_url"]
    await ada.api("PATCH", f"/chats/{group['id']}/members/{bob.id}", {"role": "admin"})
    cleared = await json_of(await bob.delete(path), 200)
    assert cleared["avatar_url"] is None


async def test_outsiders_and_direct_chats_cannot_have_a_chat_picture(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    group = await ada.group("Kitchen", bob)
    await error_of(
        await put_picture(eve, f"/chats/{group['id']}/avatar", jpeg()), 403, "not_a_member"
    )
    await error_of(await put_picture(ada, "/chats/999999/avatar", jpeg()), 404, "chat_not_found")
    direct = await ada.direct(bob)
    await error_of(
        await put_picture(ada, f"/chats/{direct['id']}/avatar", jpeg()), 400, "direct_chat"
    )


@pytest.mark.manual_clock
async def test_a_replaced_picture_is_left_to_the_sweep(people, clock, settings):
    (ada,) = await people("ada")
    first = await json_of(await put_picture(ada, "/me/avatar", jpeg(64, 64, color=(1, 2, 3))), 200)
    await clock.advance(2 * 24 * 3600)  # long past the grace period: in use, so kept
    assert (await ada.client.get(first["avatar_url"])).status_code == 200
    second = await json_of(await put_picture(ada, "/me/avatar", jpeg(64, 64, color=(9, 9, 9))), 200)
    assert second["avatar_url"] != first["avatar_url"]
    await clock.advance(25 * 3600)
    await error_of(await ada.client.get(first["avatar_url"]), 404, "file_not_found")
    assert (await ada.client.get(second["avatar_url"])).status_code == 200
    assert len(stored_files(settings.data_dir)) == 1
