"""Files in the browser: Ada attaches two pictures, a video and a document (each with its
progress bar) and records a voice note with Chromium's fake microphone; Bob sees the
thumbnails at their own shape, steps through them in the viewer (the video plays there),
downloads the document with its name and bytes, plays the note and finds it all in the chat's
gallery. A file over the limit is refused in Ada's tray with a clear reason; a pasted
screenshot and a dropped file go the same way as picked ones.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support import pages
from tests.support.server import HearthServer, write_config
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

FILE_LIMIT = 3_000_000


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def webm(width: int, height: int, frames: int, fps: int) -> bytes:
    """A small VP8 video (a green bar growing), made with PyAV as aiortc brings it."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            picture = np.zeros((height, width, 3), dtype=np.uint8)
            picture[:, : (i * 16) % width] = (0, 200, 0)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def upload(name: str, mime: str, data: bytes) -> dict[str, object]:
    return {"name": name, "mimeType": mime, "buffer": data}


def test_pictures_document_and_voice_note_between_two_people(tmp_path: Path, new_person):
    with HearthServer(write_config(tmp_path, limits={"max_file_bytes": FILE_LIMIT})) as server:
        ada, bob, watches = pages.two_people_in_a_direct_chat(server, new_person)
        bob_loaded: list[str] = []
        bob.on("request", lambda request: bob_loaded.append(request.url))
        landscape = png(640, 360, (200, 40, 40))
        portrait = png(300, 500, (40, 40, 200))
        clip = webm(320, 180, frames=20, fps=10)
        document = b"%PDF-1.4\n" + os.urandom(1_500_000)
        doc_name = "Budget été 2026 (final).pdf"

        # Ada picks four files at once: each uploads at once with its own bar, to 100 %.
        ada.set_input_files(
            "#attach-input",
            files=[
                upload("sea.png", "image/png", landscape),
                upload("tower.png", "image/png", portrait),
                upload("clip.webm", "video/webm", clip),
                upload(doc_name, "application/pdf", document),
            ],
        )
        tray = ada.locator("#attach-tray .attach-item")
        expect(tray).to_have_count(4)
        for i in range(4):
            expect(tray.nth(i)).to_have_attribute("data-state", "done")
            expect(tray.nth(i).locator("progress")).to_have_js_property("value", 1)

        # A file over the limit stays in the tray, refused with the reason, and is not sent.
        ada.set_input_files(
            "#attach-input",
            files=[upload("huge.zip", "application/zip", b"PK\x03\x04" + bytes(FILE_LIMIT))],
        )
        huge = ada.locator('#attach-tray .attach-item[data-name="huge.zip"]')
        expect(huge).to_have_attribute("data-state", "failed")
        expect(huge.locator(".attach-status")).to_contain_text("too large")
        expect(ada.locator("#announcer")).to_contain_text("huge.zip")

        ada.fill("#composer", "Holiday pictures and the budget")
        ada.click("#send")
        sent = pages.last_message(ada, "Holiday pictures")
        expect(sent.locator(".att-media")).to_have_count(3)
        expect(sent.locator(".att-file")).to_have_count(1)
        expect(tray).to_have_count(1)  # only the refused one is left
        huge.locator(".attach-remove").click()
        expect(ada.locator("#attach-tray")).to_be_hidden()

        # A voice note: tap, the time runs, send; it goes as its own message.
        ada.click("#record")
        expect(ada.locator("#recorder")).to_be_visible()
        expect(ada.locator("#record-time")).to_have_text("0:02", timeout=6_000)
        ada.click("#record-send")
        expect(ada.locator("#recorder")).to_have_count(0)
        expect(ada.locator("#conversation .message[data-message-id] .voice")).to_have_count(1)
        chat_item = bob.locator("#chat-list .chat-item-preview").first
        expect(chat_item).to_contain_text("Voice note")

        # Bob sees the thumbnails, their space kept at each picture's shape.
        received = bob.locator("#conversation .message[data-message-id]", has_text="Holiday")
        thumbs = received.locator(".att-media")
        expect(thumbs).to_have_count(3)
        for i, ratio in ((0, 640 / 360), (1, 300 / 500), (2, 320 / 180)):
            expect(thumbs.nth(i).locator("img")).to_have_js_property("complete", True)
            box = thumbs.nth(i).bounding_box()
            assert box is not None and abs(box["width"] / box["height"] - ratio) < 0.05, box
            assert thumbs.nth(i).locator("img").evaluate("img => img.naturalWidth") > 0
        # The video: its poster, a play mark and its length.
        expect(thumbs.nth(2).locator(".att-play")).to_be_visible()
        expect(thumbs.nth(2).locator(".att-duration")).to_have_text("0:02")

        # The viewer: full size, arrow keys to the next picture, Escape closes, focus comes back.
        # It, the recorder and the gallery load only when first used.
        lazy = ("/js/files/viewer.js", "/js/files/gallery.js", "/js/files/recorder.js")
        assert [url for url in bob_loaded if url.endswith(lazy)] == []
        thumbs.nth(0).click()
        viewer = bob.locator("#media-viewer")
        expect(viewer).to_be_visible()
        expect(bob.locator("#viewer-counter")).to_contain_text("1 of 3")
        assert any(url.endswith("/js/files/viewer.js") for url in bob_loaded)
        full = viewer.locator("img.viewer-media")
        expect(full).to_have_js_property("naturalWidth", 640)
        expect(bob.locator("#viewer-download")).to_have_attribute("download", "sea.png")
        bob.keyboard.press("ArrowRight")
        expect(bob.locator("#viewer-counter")).to_contain_text("2 of 3")
        expect(full).to_have_js_property("naturalWidth", 300)
        bob.keyboard.press("ArrowRight")
        expect(bob.locator("#viewer-counter")).to_contain_text("3 of 3")
        video = viewer.locator("video.viewer-media")
        expect(video).to_have_js_property("videoWidth", 320)
        # It plays in the page, and can be moved to another point (the server answers ranges).
        wait_for(lambda: video.evaluate("v => v.currentTime > 0"), what="the video playing")
        video.evaluate("v => { v.pause(); v.currentTime = 1.5; }")
        wait_for(lambda: video.evaluate("v => !v.seeking && v.currentTime >= 1.4"), what="a seek")
        bob.keyboard.press("ArrowLeft")
        bob.keyboard.press("ArrowLeft")
        expect(bob.locator("#viewer-counter")).to_contain_text("1 of 3")
        bob.keyboard.press("Tab")
        bob.keyboard.press("Tab")
        bob.keyboard.press("Tab")
        assert viewer.evaluate("d => d.contains(document.activeElement)")
        bob.keyboard.press("Escape")
        expect(viewer).to_have_count(0)
        expect(thumbs.nth(0)).to_be_focused()

        # The document downloads with its own name and bytes.
        card = received.locator(".att-file")
        expect(card).to_contain_text(doc_name)
        expect(card).to_contain_text("PDF · 1.5 MB")
        with bob.expect_download() as download_info:
            card.click()
        download = download_info.value
        assert download.suggested_filename == doc_name
        assert Path(download.path()).read_bytes() == document

        # The voice note plays: its length shows, the waveform fills as it plays.
        note = bob.locator("#conversation .message[data-message-id] .voice")
        expect(note.locator(".voice-time")).to_have_text(re.compile(r"^0:0[1-4]$"))
        note.locator(".voice-play").click()
        expect(note).to_have_attribute("data-state", "playing")
        expect(note.locator(".voice-bar.played").first).to_be_attached()
        expect(note).to_have_attribute("data-state", "paused", timeout=8_000)
        # Dragging along the waveform moves through the note.
        note.locator(".voice-seek").fill("1")
        wait_for(
            lambda: note.locator("audio").evaluate("a => !a.seeking && a.currentTime >= 0.9"),
            what="the note scrubbed to 1 s",
        )
        expect(note.locator(".voice-seek")).to_have_attribute(
            "aria-valuetext", re.compile(r"^0:01 of 0:0[1-4]$")
        )

        # The gallery: pictures, files and voice notes, each on its tab.
        bob.click("#chat-gallery")
        gallery = bob.locator("#gallery")
        expect(gallery.locator(".gallery-thumb")).to_have_count(3)
        gallery.locator("#gallery-tab-files").click()
        expect(gallery.locator(".att-file")).to_have_count(1)
        expect(gallery.locator(".att-file")).to_contain_text(doc_name)
        gallery.locator("#gallery-tab-voice").click()
        expect(gallery.locator(".voice")).to_have_count(1)
        bob.keyboard.press("Escape")
        expect(gallery).to_have_count(0)

        # A pasted screenshot and a file dropped on the conversation join the tray; sent
        # without a caption, they reach Bob.
        ada.locator("#composer").evaluate(PASTE, list(png(40, 30, (0, 0, 0))))
        expect(tray).to_have_count(1)
        expect(tray.first).to_have_attribute("data-name", re.compile(r"^Pasted .*\.png$"))
        ada.locator("#conversation").evaluate(DROP, list(b"shopping list"))
        expect(tray).to_have_count(2)
        expect(tray.nth(1)).to_have_attribute("data-state", "done")
        ada.click("#send")
        latest = bob.locator("#conversation .message[data-message-id]").last
        expect(latest.locator(".att-media")).to_have_count(1)
        expect(latest.locator(".att-file")).to_contain_text("notes.txt")
        expect(latest.locator(".body")).to_have_count(0)

        assert pages.problems(watches) == []


# As a browser makes them: a paste with a picture on the clipboard, a drag of a file.
PASTE = """(box, bytes) => {
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], 'image.png', { type: 'image/png' }));
  box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
}"""
DROP = """(target, bytes) => {
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], 'notes.txt', { type: 'text/plain' }));
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
  }
}"""


def test_an_upload_shows_its_progress_and_can_be_cancelled(hearth_server, new_person):
    watches: list[pages.Watch] = []
    ada = pages.watched_person(new_person, hearth_server, watches)
    pages.set_up_admin(ada, hearth_server)
    ada.click("#new-chat")
    ada.click("#new-chat-menu #new-group")
    ada.fill("#new-chat-title", "Notes to self")
    ada.click("#new-chat-form button[type=submit]")
    pages.chat_id(ada)

    # A slow link (Chromium's own throttling, on loopback) so the upload takes a while.
    cdp = ada.context.new_cdp_session(ada)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 400_000},
    )
    ada.set_input_files(
        "#attach-input",
        files=[upload("big.pdf", "application/pdf", b"%PDF-1.4\n" + bytes(4_000_000))],
    )
    item = ada.locator("#attach-tray .attach-item")
    expect(item).to_have_attribute("data-state", "uploading")
    bar = item.locator("progress")
    # The upload takes about 10 s at this rate: room enough to catch it part way on a busy box.
    wait_for(lambda: 0.05 < bar.evaluate("p => p.value") < 0.9, timeout=15, what="the bar part way")
    expect(item.locator(".attach-status")).to_have_text(re.compile(r"^\d+%$"))
    item.locator(".attach-remove").click()
    expect(ada.locator("#attach-tray")).to_be_hidden()

    # Nothing half-sent goes with the next message.
    ada.fill("#composer", "no file here")
    ada.click("#send")
    sent = pages.last_message(ada, "no file here")
    expect(sent.locator(".attachments")).to_have_count(0)
    assert pages.problems(watches) == []


def test_the_gallery_pages_older_items_and_too_many_uploads_are_refused(tmp_path: Path, new_person):
    limits = {"uploads_per_user": {"count": 8, "per_seconds": 600}}
    with HearthServer(write_config(tmp_path, limits=limits)) as server:
        watches: list[pages.Watch] = []
        ada = pages.watched_person(new_person, server, watches)
        pages.set_up_admin(ada, server)
        chat = pages.api(ada, server, "/chats", {"kind": "group", "title": "Archive"})["id"]
        # 8 documents sent in 4 messages, through the API: 32 items, more than a page of 30.
        ids = []
        for i in range(8):
            response = ada.request.post(
                f"{server.url}/api/v1/files",
                data=f"document {i}".encode(),
                headers={"Origin": server.url, "X-File-Name": f"doc-{i}.txt"},
            )
            assert response.status == 201, response.text()
            ids.append(response.json()["id"])
        messages = [
            pages.api(
                ada, server, f"/chats/{chat}/messages", {"client_id": f"m{n}", "attachments": ids}
            )["id"]
            for n in range(4)
        ]

        ada.goto(f"{server.url}/chats/{chat}")
        ada.click("#chat-gallery")
        gallery = ada.locator("#gallery")
        expect(gallery.locator(".gallery-status")).to_have_text("No pictures or videos yet.")
        gallery.locator("#gallery-tab-files").click()
        rows = gallery.locator(".gallery-row")
        expect(rows).to_have_count(30)
        expect(rows.first).to_have_attribute("data-message-id", str(messages[-1]))  # newest first
        gallery.locator("#gallery-more").click()
        expect(rows).to_have_count(32)
        expect(rows.last).to_have_attribute("data-message-id", str(messages[0]))
        expect(gallery.locator("#gallery-more")).to_be_hidden()
        ada.keyboard.press("Escape")

        # The ninth upload in the window is one too many: the tray says so and when to retry.
        ada.set_input_files("#attach-input", files=[upload("more.txt", "text/plain", b"more")])
        item = ada.locator("#attach-tray .attach-item")
        expect(item).to_have_attribute("data-state", "failed")
        expect(item.locator(".attach-status")).to_have_text(
            re.compile(r"^Too many uploads, try again in \d+ s\.$")
        )
        assert pages.problems(watches) == []
