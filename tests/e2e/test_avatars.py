"""Pictures in the browser: Ada sets her profile picture in Settings and Bob sees it in his
chat list and the chat's header, at once (user.updated); she removes it and his initials come
back; her new name reaches him too. In a group, Ada (the owner) sets the group's picture and
Bob sees it in his list."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support import pages

pytestmark = pytest.mark.e2e

LOADED = "img => img.complete && img.naturalWidth > 0"


def picture(width: int, height: int, color: str) -> dict:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return {"name": "me.png", "mimeType": "image/png", "buffer": out.getvalue()}


def shown_picture(page, selector: str):
    """The picture in the avatar at `selector`, once it has loaded; its natural size."""
    img = page.locator(f"{selector} .avatar img.avatar-img")
    expect(img).to_have_count(1)
    expect(img).to_have_attribute("src", re.compile(r"^/api/v1/files/\d+$"))
    pages.until(page, LOADED, img.element_handle())
    return img.evaluate("img => [img.naturalWidth, img.naturalHeight]")


def test_a_profile_and_a_group_picture_reach_the_other_person(hearth_server, new_person):
    ada, bob, watches = pages.two_people_in_a_direct_chat(hearth_server, new_person)
    chat = pages.chat_id(ada)
    in_bobs_list = f'#chat-list [data-chat-id="{chat}"]'
    expect(bob.locator(f"{in_bobs_list} .avatar img")).to_have_count(0)  # initials

    ada.click("#open-settings")
    ada.set_input_files("#profile-picture-file", files=[picture(600, 400, "red")])
    expect(ada.locator("#profile-picture-status")).to_have_text("Picture changed.")
    assert shown_picture(ada, "#profile-picture") == [256, 256]
    assert shown_picture(ada, ".sidebar-header") == [256, 256]  # her own, beside her name

    # Bob's page updates by itself: the list, and the open chat's header.
    assert shown_picture(bob, in_bobs_list) == [256, 256]
    assert shown_picture(bob, ".chat-header") == [256, 256]

    ada.click("#profile-picture-remove")
    expect(ada.locator("#profile-picture-status")).to_have_text("Picture removed.")
    expect(bob.locator(f"{in_bobs_list} .avatar img")).to_have_count(0)
    expect(bob.locator(f"{in_bobs_list} .avatar")).to_contain_text("AL")

    # A new name reaches him the same way.
    ada.fill("#profile-display-name", "Ada Lakeside")
    ada.get_by_role("button", name="Save profile").click()
    expect(ada.locator("#settings-profile")).to_contain_text("Saved.")
    expect(bob.locator(in_bobs_list)).to_contain_text("Ada Lakeside")
    expect(bob.locator(".chat-header")).to_contain_text("Ada Lakeside")

    # A group: Ada is its owner and gives it a picture from its settings.
    bob_id = pages.my_id(bob, hearth_server)
    body = {"kind": "group", "title": "Kitchen", "member_ids": [bob_id]}
    group = pages.api(ada, hearth_server, "/chats", body)
    ada.goto(f"{hearth_server.url}/chats/{group['id']}")
    ada.click("#chat-settings")
    ada.set_input_files("#group-picture-file", files=[picture(300, 500, "green")])
    expect(ada.locator("#group-picture-status")).to_have_text("Picture changed.")
    assert shown_picture(bob, f'#chat-list [data-chat-id="{group["id"]}"]') == [256, 256]
    assert pages.problems(watches) == []
