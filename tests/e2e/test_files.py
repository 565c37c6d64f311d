"""Files in the browser: Ada attaches two pictures and a document (each with its progress bar)
and records a voice note with Chromium's fake microphone; Bob sees the thumbnails at their own
shape, steps through them in the viewer, downloads the document with its name and bytes,
plays the note and finds it all in the chat's gallery. A file over the limit is refused in
Ada's tray with a clear reason.
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

pytestmark = pytest.mark.e2e

FILE_LIMIT = 3_000_000


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def upload(name: str, mime: str, data: bytes) -> dict[str, object]:
    return {"name": name, "mimeType": mime, "buffer": data}


def test_pictures_document_and_voice_note_between_two_people(tmp_path: Path, new_person):
    with HearthServer(write_config(tmp_path, limits={"max_file_bytes": FILE_LIMIT})) as server:
        ada, bob, watches = pages.two_people_in_a_direct_chat(server, new_person)
        landscape = png(640, 360, (200, 40, 40))
        portrait = png(300, 500, (40, 40, 200))
        document = b"%PDF-1.4\n" + os.urandom(1_500_000)
        doc_name = "Budget été 2026 (final).pdf"

        # Ada picks three files at once: each uploads at once with its own bar, to 100 %.
        ada.set_input_files(
            "#attach-input",
            files=[
                upload("sea.png", "image/png", landscape),
                upload("tower.png", "image/png", portrait),
                upload(doc_name, "application/pdf", document),
            ],
        )
        tray = ada.locator("#attach-tray .attach-item")
        expect(tray).to_have_count(3)
        for i in range(3):
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
        expect(sent.locator(".att-media")).to_have_count(2)
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

        # Bob sees the thumbnails, their space kept at each picture's shape.
        received = bob.locator("#conversation .message[data-message-id]", has_text="Holiday")
        thumbs = received.locator(".att-media")
        expect(thumbs).to_have_count(2)
        for i, ratio in ((0, 640 / 360), (1, 300 / 500)):
            expect(thumbs.nth(i).locator("img")).to_have_js_property("complete", True)
            box = thumbs.nth(i).bounding_box()
            assert box is not None and abs(box["width"] / box["height"] - ratio) < 0.05, box
            assert thumbs.nth(i).locator("img").evaluate("img => img.naturalWidth") > 0

        # The viewer: full size, arrow keys to the next picture, Escape closes, focus comes back.
        thumbs.nth(0).click()
        viewer = bob.locator("#media-viewer")
        expect(viewer).to_be_visible()
        expect(bob.locator("#viewer-counter")).to_contain_text("1 of 2")
        full = viewer.locator("img.viewer-media")
        expect(full).to_have_js_property("naturalWidth", 640)
        expect(bob.locator("#viewer-download")).to_have_attribute("download", "sea.png")
        bob.keyboard.press("ArrowRight")
        expect(bob.locator("#viewer-counter")).to_contain_text("2 of 2")
        expect(full).to_have_js_property("naturalWidth", 300)
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

        # The gallery: pictures, files and voice notes, each on its tab.
        bob.click("#chat-gallery")
        gallery = bob.locator("#gallery")
        expect(gallery.locator(".gallery-thumb")).to_have_count(2)
        gallery.locator("#gallery-tab-files").click()
        expect(gallery.locator(".att-file")).to_have_count(1)
        expect(gallery.locator(".att-file")).to_contain_text(doc_name)
        gallery.locator("#gallery-tab-voice").click()
        expect(gallery.locator(".voice")).to_have_count(1)

        assert pages.problems(watches) == []
