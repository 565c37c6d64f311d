"""Files: uploads streamed with their limits, types sniffed from the bytes, metadata stripped
from pictures, who may fetch what, Range and caching, attachments on messages (history,
events, search, delete, forward), the gallery, and the sweep of unused uploads."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from appliance.store import files as store_files
from tests.support.app import ORIGIN, Client, make_settings
from tests.support.people import new_client_id
from tests.support.responses import error_of, json_of, no_content
from tests.support.waiting import eventually

IMAGE_LIMIT = 20_000
FILE_LIMIT = 30_000
LIMITS = {
    "max_image_bytes": IMAGE_LIMIT,
    "max_file_bytes": FILE_LIMIT,
    "messages_per_user": {"count": 10_000, "per_seconds": 1},
    "uploads_per_user": {"count": 1000, "per_seconds": 1},
}
GPS_IFD = 0x8825


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "data", limits=LIMITS)


@pytest.fixture
async def pair(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    return ada, bob, chat["id"]


# --- making files ------------------------------------------------------------------------------


def jpeg(width=64, height=48, *, gps=False, orientation=None, color=(200, 30, 30)) -> bytes:
    image = Image.new("RGB", (width, height), color)
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png(width=40, height=30) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 0, 255, 128)).save(out, "PNG")
    return out.getvalue()


def padded(data: bytes, size: int) -> bytes:
    """`data` grown to exactly `size` bytes (trailing bytes after a JPEG are ignored)."""
    assert len(data) <= size
    return data + b"\0" * (size - len(data))


async def upload(person, data: bytes, name: str = "photo.jpg", **headers):
    headers = {"X-File-Name": quote(name), "Content-Type": "image/jpeg", **headers}
    return await person.post("/files", data=data, headers=headers)


async def uploaded(person, data: bytes, name: str = "photo.jpg") -> dict:
    return await json_of(await upload(person, data, name), 201)


async def fetch(person, file_id: int, suffix: str = "", **headers):
    return await person.get(f"/files/{file_id}{suffix}", headers=headers)


def stored_files(data_dir: Path) -> list[Path]:
    """Everything in the file store (kept files, thumbnails and temp files alike), relative
    to it (temp files are under tmp/)."""
    root = data_dir / "files"
    found = root.rglob("*") if root.exists() else []
    return sorted(p.relative_to(root) for p in found if p.is_file())


async def streamed(person, chunks, **headers):
    """An upload sent in pieces with no Content-Length (as a browser streams one)."""
    headers = {"Origin": ORIGIN, **headers}
    async with person.client.raw.request(
        "/api/v1/files", method="POST", scheme="https", headers=headers
    ) as connection:
        for chunk in chunks:
            await connection.send(chunk)
        await connection.send_complete()
    return await connection.as_response()


async def send(person, chat_id, *files, body=""):
    payload = {"client_id": new_client_id(), "body": body, "attachments": [f["id"] for f in files]}
    return await person.post(f"/chats/{chat_id}/messages", json=payload)


# --- uploading ---------------------------------------------------------------------------------


async def test_upload_answers_the_facts_of_a_picture(pair, settings):
    ada, _, _ = pair
    file = await uploaded(ada, jpeg(640, 480), "Holiday ☀️.jpg")
    assert set(file) == {
        "id", "name", "type", "kind", "size", "width", "height", "duration", "url", "thumb_url",
        "waveform",
    }  # fmt: skip
    assert file["name"] == "Holiday ☀️.jpg"
    assert (file["type"], file["kind"], file["width"], file["height"]) == (
        "image/jpeg", "media", 640, 480,
    )  # fmt: skip
    assert file["url"] == f"/api/v1/files/{file['id']}"
    assert file["thumb_url"] == f"/api/v1/files/{file['id']}/thumb"
    thumb = await fetch(ada, file["id"], "/thumb")
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(await thumb.get_data())) as small:
        assert max(small.size) == 480 and small.size == (480, 360)


@pytest.mark.parametrize("kind", ["image", "file"])
async def test_size_limits_hold_at_the_boundary(pair, settings, kind):
    ada, _, _ = pair
    limit = IMAGE_LIMIT if kind == "image" else FILE_LIMIT
    head = jpeg() if kind == "image" else b"%PDF-1.7\n"
    ok = await uploaded(ada, padded(head, limit), "a")
    assert ok["size"] <= limit
    await error_of(await upload(ada, padded(head, limit + 1), "b"), 413, "payload_too_large")
    # Nothing of the refused one is left: one kept file (+ a thumbnail for the picture).
    assert not list((settings.data_dir / "files" / "tmp").iterdir())


async def test_a_body_over_the_limit_is_refused_while_streaming(pair, settings, app):
    """No Content-Length: the server counts as bytes arrive and stops at the limit."""
    ada, _, _ = pair
    response = await streamed(ada, [b"x" * 5000] * 10, **{"X-File-Name": "big.bin"})
    await error_of(response, 413, "payload_too_large")
    assert stored_files(settings.data_dir) == []


async def test_a_body_cut_off_mid_upload_leaves_nothing(pair, settings, hearth):
    ada, _, _ = pair
    async with ada.client.raw.request(
        "/api/v1/files", method="POST", scheme="https",
        headers={"Origin": ORIGIN, "X-File-Name": "half.bin", "Content-Length": "20000"},
    ) as connection:  # fmt: skip
        await connection.send(b"y" * 8000)
        for _ in range(50):
            if stored_files(settings.data_dir):
                break
            await asyncio.sleep(0.01)
        await connection.disconnect()
    for _ in range(100):
        if not stored_files(settings.data_dir):
            break
        await asyncio.sleep(0.02)
    assert stored_files(settings.data_dir) == []
    async with hearth.db.read() as conn, conn.execute("SELECT count(*) FROM files") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_an_empty_upload_is_refused(pair):
    ada, _, _ = pair
    await error_of(await upload(ada, b""), 400, "empty_file")


async def test_the_same_bytes_are_stored_once(pair, settings):
    ada, bob, _ = pair
    data = jpeg(100, 100)
    first = await uploaded(ada, data, "one.jpg")
    again = await uploaded(ada, data, "one.jpg")
    other_name = await uploaded(ada, data, "two.jpg")
    bobs = await uploaded(bob, data, "bob.jpg")
    assert again["id"] == first["id"]  # the same person, bytes and name: the same file
    assert len({first["id"], other_name["id"], bobs["id"]}) == 3
    kept = [p for p in stored_files(settings.data_dir) if p.parts[0] != "tmp"]
    assert len(kept) == 2  # one copy and its thumbnail


async def test_names_are_cleaned_for_display(pair):
    ada, _, _ = pair
    file = await uploaded(ada, b"hello", "../../etc/\u202eexe.txt\x07")
    assert file["name"] == "exe.txt"
    nameless = await json_of(await ada.post("/files", data=b"data"), 201)
    assert nameless["name"] == "file"


async def test_uploads_are_rate_limited(people, app, tmp_path):
    hearth = app.extensions["hearth"]
    hearth.files.uploads.window.count = 2  # the limiter from limits.uploads_per_user
    (ada,) = await people("ada")
    for n in range(2):
        await uploaded(ada, f"file {n}".encode(), f"{n}.txt")
    response = await upload(ada, b"one more", "3.txt")
    await error_of(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1


async def test_anonymous_uploads_and_fetches_are_refused(app, pair):
    ada, _, _ = pair
    file = await uploaded(ada, b"secret")
    anonymous = Client(app)
    await error_of(await anonymous.post("/api/v1/files", data=b"x"), 401, "unauthenticated")
    await error_of(await anonymous.get(f"/api/v1/files/{file['id']}"), 401, "unauthenticated")


# --- what a file is ----------------------------------------------------------------------------


async def test_the_type_comes_from_the_bytes_not_the_name(pair):
    ada, bob, chat_id = pair
    executable = await uploaded(ada, b"MZ\x90\x00" + b"\0" * 100, "cute-cat.jpg")
    assert (executable["type"], executable["kind"]) == ("application/octet-stream", "files")
    assert executable["width"] is None and executable["thumb_url"] is None
    await json_of(await send(ada, chat_id, executable), 201)
    response = await fetch(bob, executable["id"])
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("page.html", b"<!doctype html><html><script>alert(1)</script></html>"),
    ],
)
async def test_svg_and_html_are_never_served_inline(pair, name, data):
    ada, _, _ = pair
    file = await uploaded(ada, data, name)
    assert file["type"] == "application/octet-stream"
    response = await fetch(ada, file["id"])
    assert response.headers["Content-Type"] == "application/octet-stream"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{name}" in disposition
    assert "sandbox" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("head", "mime", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n", "image/png", "media"),
        (b"GIF89a", "image/gif", "media"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp", "media"),
        (b"\0\0\0\x18ftypmp42", "video/mp4", "media"),
        (b"\0\0\0\x14ftypqt  ", "video/quicktime", "media"),
        (b"\x1a\x45\xdf\xa3", "video/webm", "media"),
        (b"OggS", "audio/ogg", "voice"),
        (b"ID3\x04", "audio/mpeg", "voice"),
        (b"RIFF\0\0\0\0WAVEfmt ", "audio/wav", "voice"),
        (b"%PDF-1.4", "application/pdf", "files"),
        (b"PK\x03\x04", "application/zip", "files"),
        (b"#!/bin/sh\n", "application/octet-stream", "files"),
    ],
)
def test_sniffing_by_magic_numbers(head, mime, kind):
    from appliance.services.filetypes import sniff

    found = sniff(head + b"\0" * 64)
    assert (found.mime, found.kind) == (mime, kind)


async def test_a_broken_picture_is_kept_as_a_plain_file(pair):
    ada, _, _ = pair
    file = await uploaded(ada, b"\xff\xd8\xff\xe0 this is no JPEG at all", "x.jpg")
    assert file["type"] == "application/octet-stream" and file["thumb_url"] is None


async def test_a_pixel_bomb_is_refused(pair, app, settings):
    ada, _, _ = pair
    app.extensions["hearth"].files.max_pixels = 1000
    await error_of(await upload(ada, png(100, 100)), 413, "image_too_large")
    assert stored_files(settings.data_dir) == []


# --- pictures without their metadata -----------------------------------------------------------


async def test_gps_and_exif_are_gone_from_the_served_picture(pair, settings):
    ada, bob, chat_id = pair
    original = jpeg(120, 80, gps=True)
    with Image.open(io.BytesIO(original)) as check:
        assert check.getexif().get_ifd(GPS_IFD)  # the test's picture does carry GPS
    file = await uploaded(ada, original)
    await json_of(await send(ada, chat_id, file), 201)
    response = await fetch(bob, file["id"])
    served = await response.get_data()
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert b"SpyCam" not in served and b"Exif" not in served
    with Image.open(io.BytesIO(served)) as image:
        assert image.size == (120, 80)
        assert not image.getexif()
    # Not on disk either: only the stripped copy was kept.
    for path in stored_files(settings.data_dir):
        assert b"SpyCam" not in (settings.data_dir / "files" / path).read_bytes()
    assert file["size"] == len(served) < len(original)


async def test_a_sideways_photo_is_served_upright(pair):
    ada, _, _ = pair
    file = await uploaded(ada, jpeg(60, 40, gps=True, orientation=6))  # rotate 90° to show
    assert (file["width"], file["height"]) == (40, 60)
    served = await (await fetch(ada, file["id"])).get_data()
    with Image.open(io.BytesIO(served)) as image:
        assert image.size == (40, 60) and not image.getexif()
    assert b"SpyCam" not in served


async def test_png_text_chunks_are_removed(pair):
    ada, _, _ = pair
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "51.5N 0.1W")
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "PNG", pnginfo=info)
    file = await uploaded(ada, out.getvalue(), "a.png")
    served = await (await fetch(ada, file["id"])).get_data()
    assert b"51.5N" not in served
    with Image.open(io.BytesIO(served)) as image:
        assert image.size == (10, 10)


# --- who may fetch -----------------------------------------------------------------------------


async def test_only_the_uploader_sees_a_file_before_it_is_posted(pair, people):
    ada, bob, chat_id = pair
    file = await uploaded(ada, b"draft")
    assert (await fetch(ada, file["id"])).status_code == 200
    await error_of(await fetch(bob, file["id"]), 404, "file_not_found")
    await json_of(await send(ada, chat_id, file), 201)
    assert await (await fetch(bob, file["id"])).get_data() == b"draft"
    (cy,) = await people("cyd")
    await error_of(await fetch(cy, file["id"]), 404, "file_not_found")
    await error_of(await fetch(cy, file["id"], "/thumb"), 404, "file_not_found")
    await error_of(await fetch(cy, 987654), 404, "file_not_found")


async def test_a_removed_member_can_no_longer_fetch(people):
    ada, bob = await people("ada", "bob")
    group = await ada.group("Kitchen", bob)
    file = await uploaded(ada, jpeg())
    await json_of(await send(ada, group["id"], file), 201)
    assert (await fetch(bob, file["id"])).status_code == 200
    await no_content(await ada.delete(f"/chats/{group['id']}/members/{bob.id}"))
    await error_of(await fetch(bob, file["id"]), 404, "file_not_found")
    await error_of(await fetch(bob, file["id"], "/thumb"), 404, "file_not_found")


async def test_someone_elses_file_cannot_be_attached(pair):
    ada, bob, chat_id = pair
    file = await uploaded(bob, b"bob's")
    response = await send(ada, chat_id, file)
    body = await error_of(response, 400, "validation_error")
    assert body["fields"][0]["loc"] == "attachments"
    await error_of(await send(ada, chat_id, {"id": 999999}), 400, "validation_error")
    assert [m["body"] for m in await ada.message_list(chat_id)] == []


# --- serving -----------------------------------------------------------------------------------


async def test_caching_headers_and_etag(pair):
    ada, _, _ = pair
    file = await uploaded(ada, b"%PDF-1.4 report", "Q3 report (final).pdf")
    response = await fetch(ada, file["id"])
    assert response.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition == (
        'attachment; filename="Q3 report (final).pdf"; '
        "filename*=UTF-8''Q3%20report%20%28final%29.pdf"
    )
    etag = response.headers["ETag"]
    again = await fetch(ada, file["id"], **{"If-None-Match": etag})
    assert again.status_code == 304 and await again.get_data() == b""


async def test_non_ascii_names_are_encoded(pair):
    ada, _, _ = pair
    file = await uploaded(ada, b"data", 'Über "straße".txt')
    disposition = (await fetch(ada, file["id"])).headers["Content-Disposition"]
    assert 'filename="_ber _stra_e_.txt"' in disposition
    assert "filename*=UTF-8''%C3%9Cber%20%22stra%C3%9Fe%22.txt" in disposition


async def test_range_requests_answer_206(pair):
    ada, _, _ = pair
    data = b"OggS" + bytes(range(256)) * 40
    file = await uploaded(ada, data, "voice.ogg")
    assert (file["type"], file["kind"]) == ("audio/ogg", "voice")
    whole = await fetch(ada, file["id"])
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = await fetch(ada, file["id"], Range="bytes=100-199")
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert await part.get_data() == data[100:200]
    tail = await fetch(ada, file["id"], Range="bytes=-10")
    assert await tail.get_data() == data[-10:]
    outside = await fetch(ada, file["id"], Range=f"bytes={len(data) + 5}-")
    await error_of(outside, 416, "range_not_satisfiable")
    assert outside.headers["Content-Range"] == f"bytes */{len(data)}"
    stale = await fetch(ada, file["id"], Range="bytes=0-9", **{"If-Range": '"other"'})
    assert stale.status_code == 200 and await stale.get_data() == data


# --- on messages -------------------------------------------------------------------------------


async def test_attachments_in_history_and_the_reply(pair):
    ada, bob, chat_id = pair
    photo = await uploaded(ada, jpeg(), "a.jpg")
    doc = await uploaded(ada, b"%PDF-1.4", "notes.pdf")
    message = await json_of(await send(ada, chat_id, photo, doc), 201)
    assert message["body"] == ""
    assert [a["id"] for a in message["attachments"]] == [photo["id"], doc["id"]]
    assert message["attachments"][0] == photo
    seen = await bob.message(chat_id, message["id"])
    assert seen["attachments"] == message["attachments"]
    captioned = await json_of(await send(ada, chat_id, photo, body="look"), 201)
    assert captioned["body"] == "look"
    # Without files a message still needs text.
    await error_of(await send(ada, chat_id), 400, "validation_error")


async def test_attachments_reach_the_event_log(pair, hearth):
    ada, _, chat_id = pair
    photo = await uploaded(ada, jpeg(), "a.jpg")
    message = await json_of(await send(ada, chat_id, photo), 201)
    async with (
        hearth.db.read() as conn,
        conn.execute(
            "SELECT data FROM events WHERE type = 'message.created' AND message_id = ?",
            (message["id"],),
        ) as cur,
    ):
        (data,) = await cur.fetchone()
    import json

    assert json.loads(data)["attachments"] == message["attachments"]


async def test_search_finds_messages_by_file_name(pair, people):
    ada, bob, chat_id = pair
    report = await uploaded(ada, b"%PDF-1.4", "Budget_2026 final.pdf")
    message = await json_of(await send(ada, chat_id, report), 201)
    await json_of(await send(ada, chat_id, await uploaded(ada, b"x", "other.txt")), 201)
    for query in ("budget", "2026 final", "Budget_2026"):
        body = await json_of(await bob.get("/search", query_string={"q": query}), 200)
        assert [m["id"] for m in body["results"]] == [message["id"]], query
    (cy,) = await people("cyd")
    body = await json_of(await cy.get("/search", query_string={"q": "budget"}), 200)
    assert body["results"] == []


async def test_delete_for_everyone_removes_the_attachments(pair):
    ada, bob, chat_id = pair
    photo = await uploaded(ada, jpeg(), "a.jpg")
    message = await json_of(await send(ada, chat_id, photo), 201)
    await no_content(await ada.delete(f"/messages/{message['id']}?for=everyone"))
    seen = await bob.message(chat_id, message["id"])
    assert seen["deleted"] and seen["attachments"] == []
    await error_of(await fetch(bob, photo["id"]), 404, "file_not_found")
    page = await json_of(await bob.get(f"/chats/{chat_id}/media"), 200)
    assert page["items"] == []


async def test_forward_copies_the_attachments(pair, people):
    ada, bob, chat_id = pair
    (cy,) = await people("cyd")
    photo = await uploaded(ada, jpeg(), "a.jpg")
    message = await json_of(await send(ada, chat_id, photo, body="see"), 201)
    other = await bob.direct(cy)
    forwarded = await bob.send(other["id"], "", forward_of=message["id"])
    assert [a["id"] for a in forwarded["attachments"]] == [photo["id"]]
    assert (await fetch(cy, photo["id"])).status_code == 200


async def test_the_gallery_pages_newest_first_by_kind(pair):
    ada, bob, chat_id = pair
    photos = []
    for n in range(5):
        photo = await uploaded(ada, jpeg(10 + n, 10), f"{n}.jpg")
        await json_of(await send(ada, chat_id, photo), 201)
        photos.append(photo)
    voice = await uploaded(ada, b"OggS" + b"\0" * 100, "note.ogg")
    await json_of(await send(ada, chat_id, voice), 201)
    doc = await uploaded(ada, b"%PDF-1.4", "a.pdf")
    await json_of(await send(ada, chat_id, doc), 201)

    first = await json_of(await bob.get(f"/chats/{chat_id}/media?kind=media&limit=3"), 200)
    assert [item["file"]["id"] for item in first["items"]] == [p["id"] for p in photos[:1:-1]]
    assert first["next"] is not None
    rest = await json_of(
        await bob.get(f"/chats/{chat_id}/media?kind=media&limit=3&before={first['next']}"), 200
    )
    assert [item["file"]["id"] for item in rest["items"]] == [p["id"] for p in photos[1::-1]]
    assert rest["next"] is None
    item = rest["items"][0]
    assert set(item) == {"id", "message_id", "sender_id", "created_at", "file"}
    assert item["sender_id"] == ada.id
    voices = await json_of(await bob.get(f"/chats/{chat_id}/media?kind=voice"), 200)
    assert [i["file"]["id"] for i in voices["items"]] == [voice["id"]]
    docs = await json_of(await bob.get(f"/chats/{chat_id}/media?kind=files"), 200)
    assert [i["file"]["id"] for i in docs["items"]] == [doc["id"]]


async def test_the_gallery_is_for_members(pair, people):
    _, _, chat_id = pair
    (cy,) = await people("cyd")
    await error_of(await cy.get(f"/chats/{chat_id}/media"), 403, "not_a_member")


# --- quota and housekeeping ------------------------------------------------------------------


@pytest.mark.parametrize("with_length", [True, False])
async def test_the_storage_quota(people, app, with_length):
    hearth = app.extensions["hearth"]
    hearth.files.quota = 1000
    (ada,) = await people("ada")
    await uploaded(ada, b"a" * 600, "a.bin")
    await uploaded(ada, b"a" * 600, "again.bin")  # the same bytes count once
    await uploaded(ada, b"c" * 300, "c.bin")
    data = b"b" * 101
    if with_length:
        response = await upload(ada, data, "b.bin")
    else:
        response = await streamed(ada, [data[:250], data[250:]], **{"X-File-Name": "b.bin"})
    await error_of(response, 413, "quota_exceeded")
    await uploaded(ada, b"d" * 100, "d.bin")  # exactly what is left
    await error_of(await upload(ada, b"e", "e.bin"), 413, "quota_exceeded")


async def test_a_full_disk_is_507_and_leaves_nothing(pair, settings, monkeypatch):
    import errno

    from appliance.store import blobs

    ada, _, _ = pair

    class FullDisk:
        def __init__(self, file):
            self.file = file

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.file, name)

    opened = blobs.Upload.__init__

    def on_a_full_disk(self, path):
        opened(self, path)
        self._file = FullDisk(self._file)

    monkeypatch.setattr(blobs.Upload, "__init__", on_a_full_disk)
    await error_of(await upload(ada, b"some bytes"), 507, "storage_full")
    assert stored_files(settings.data_dir) == []


@pytest.mark.manual_clock
async def test_unused_uploads_are_swept_after_the_grace_period(pair, hearth, clock, settings):
    ada, bob, chat_id = pair
    used = await uploaded(ada, jpeg(20, 20), "used.jpg")
    await json_of(await send(ada, chat_id, used), 201)
    unused = await uploaded(ada, jpeg(30, 30), "unused.jpg")
    deleted = await uploaded(ada, jpeg(40, 40), "deleted.jpg")
    message = await json_of(await send(ada, chat_id, deleted), 201)
    await no_content(await ada.delete(f"/messages/{message['id']}?for=everyone"))
    before = stored_files(settings.data_dir)
    await clock.advance(3600)  # an hour: still within the day's grace
    assert stored_files(settings.data_dir) == before
    await clock.advance(24 * 3600)
    # The sweep falls due on the way; it reads and writes on the database's threads, which
    # the clock's settling does not wait for: its last step removes the bytes.
    await eventually(
        lambda: len(stored_files(settings.data_dir)) == 2,  # the used picture, its thumbnail
        what=lambda: f"the sweep: {stored_files(settings.data_dir)}",
    )
    await error_of(await fetch(ada, unused["id"]), 404, "file_not_found")
    await error_of(await fetch(ada, deleted["id"]), 404, "file_not_found")
    assert (await fetch(bob, used["id"])).status_code == 200


async def test_a_swept_upload_cannot_be_attached(pair, hearth, settings):
    ada, _, chat_id = pair
    file = await uploaded(ada, b"soon gone")
    hearth.files.grace_ms = -1000
    assert await hearth.files.sweep() == 1
    assert stored_files(settings.data_dir) == []
    await error_of(await send(ada, chat_id, file), 400, "validation_error")


async def test_an_upload_that_finds_its_bytes_swept_meanwhile_stores_them(
    pair, hearth, settings, monkeypatch
):
    """The sweep removes the only row and the bytes between an upload seeing them stored and
    the upload keeping its row: the upload stores its own copy (cleaned, like any other)."""
    ada, bob, chat_id = pair
    picture = jpeg(50, 50, gps=True)
    await uploaded(ada, picture, "first.jpg")
    hearth.files.grace_ms = -1000
    real_store = hearth.files._store
    swept = []

    async def sweep_first(*args):
        if not swept:
            swept.append(await hearth.files.sweep())
        return await real_store(*args)

    monkeypatch.setattr(hearth.files, "_store", sweep_first)
    again = await uploaded(bob, picture, "again.jpg")
    assert swept == [1]
    hearth.files.grace_ms = 24 * 3600 * 1000
    await json_of(await send(bob, chat_id, again), 201)
    served = await fetch(ada, again["id"])
    with Image.open(io.BytesIO(await served.get_data())) as image:
        assert image.size == (50, 50) and GPS_IFD not in image.getexif()
    assert (await fetch(ada, again["id"], "/thumb")).status_code == 200


async def test_the_sweep_keeps_bytes_an_upload_named_after_its_rows_went(pair, hearth, settings):
    """The other order: the sweep has deleted the last row naming some bytes, an upload of
    the same bytes then keeps its row, and only then does the sweep come to remove them."""
    ada, bob, _ = pair
    picture = jpeg(30, 30)
    first = await uploaded(ada, picture, "first.jpg")
    work = hearth.files.work
    async with work.unit() as (tx, _):
        orphaned = await store_files.delete_unattached(tx, [first["id"]])
    assert len(orphaned) == 1
    again = await uploaded(bob, picture, "again.jpg")
    await work.unit_in_thread(lambda conn, _: hearth.files._forget(conn, orphaned))
    assert (await fetch(bob, again["id"])).status_code == 200
    assert len(stored_files(settings.data_dir)) == 2  # the picture and its thumbnail


# --- video and recordings (PyAV) --------------------------------------------------------------


def mp4_video(frames: int = 20, size: tuple[int, int] = (64, 48)) -> bytes:
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for n in range(frames):
            picture = av.VideoFrame.from_image(Image.new("RGB", size, (n * 10, 0, 0)))
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def webm_voice_note(seconds: float = 1.0) -> bytes:
    """What a browser's MediaRecorder makes of a voice message: Opus in WebM, no picture."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48000)
        for n in range(int(seconds * 50)):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 960), dtype="int16"), format="s16", layout="mono"
            )
            frame.sample_rate, frame.pts = 48000, n * 960
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def wav(seconds: int = 1) -> bytes:
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(b"\0\0" * 8000 * seconds)
    return out.getvalue()


async def test_a_video_has_a_poster_and_a_duration(pair):
    ada, _, _ = pair
    file = await uploaded(ada, mp4_video(), "clip.mov")
    assert (file["type"], file["kind"]) == ("video/mp4", "media")
    assert (file["width"], file["height"], file["duration"]) == (64, 48, 2.0)
    poster = await fetch(ada, file["id"], "/thumb")
    assert poster.headers["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(await poster.get_data())) as image:
        assert image.size == (64, 48)


async def test_recordings_have_a_duration(pair):
    ada, _, _ = pair
    recording = await uploaded(ada, wav(1), "memo.wav")
    assert (recording["type"], recording["kind"], recording["duration"]) == (
        "audio/wav", "voice", 1.0,
    )  # fmt: skip
    note = await uploaded(ada, webm_voice_note(1.0), "voice.webm")
    assert (note["type"], note["kind"], note["thumb_url"]) == ("audio/webm", "voice", None)
    assert note["duration"] == pytest.approx(1.0, abs=0.1)


async def test_a_truncated_video_is_still_a_file(pair):
    ada, _, _ = pair
    file = await uploaded(ada, mp4_video()[:200], "broken.mp4")
    assert file["type"] == "video/mp4" and file["duration"] is None


def webm_tone_after_silence(quiet: float = 1.0, loud: float = 1.0, *, live: bool = False) -> bytes:
    """A voice note that is silent, then a loud 440 Hz tone: Opus in WebM as Chromium's
    MediaRecorder makes it (`live`: as it streams it, with no length in the header)."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="webm", options={"live": "1"} if live else {}) as container:
        stream = container.add_stream("libopus", rate=48000)
        quiet_frames = int(quiet * 50)
        for n in range(quiet_frames + int(loud * 50)):
            t = (np.arange(960) + n * 960) / 48000
            level = 0 if n < quiet_frames else 20000
            samples = (level * np.sin(2 * np.pi * 440 * t)).astype("int16").reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48000, n * 960
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


async def test_a_voice_note_has_a_waveform(pair):
    ada, bob, chat_id = pair
    note = await uploaded(ada, webm_tone_after_silence(), "voice.webm")
    waveform = note["waveform"]
    assert note["kind"] == "voice" and len(waveform) == 64
    assert all(isinstance(level, int) and 0 <= level <= 255 for level in waveform)
    assert max(waveform[:30]) < 20  # the silent first second
    assert min(waveform[33:]) > 150 and max(waveform) == 255  # the tone
    message = await json_of(await send(ada, chat_id, note), 201)
    history = await json_of(await bob.get(f"/chats/{chat_id}/messages"), 200)
    assert [m["attachments"][0]["waveform"] for m in history["messages"]] == [waveform]
    assert message["attachments"][0]["waveform"] == waveform


async def test_a_browser_recording_without_a_length_in_its_header_gets_one(pair):
    """MediaRecorder's WebM says nothing of its length; the decoded samples give it."""
    ada, _, _ = pair
    note = await uploaded(ada, webm_tone_after_silence(0.5, 1.0, live=True), "voice.webm")
    assert note["kind"] == "voice" and note["duration"] == pytest.approx(1.5, abs=0.1)


async def test_only_voice_notes_have_a_waveform(pair):
    ada, _, _ = pair
    assert (await uploaded(ada, jpeg(), "photo.jpg"))["waveform"] is None
    assert (await uploaded(ada, mp4_video(), "clip.mp4"))["waveform"] is None
    silent = await uploaded(ada, webm_voice_note(1.0), "quiet.webm")
    assert silent["waveform"] is not None and max(silent["waveform"]) == 0
