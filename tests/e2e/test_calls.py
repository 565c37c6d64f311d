"""Calls in the browser: two people in two Chromium contexts, each with the fake camera and
microphone, call through the server's SFU (loopback ICE only, `calls.addresses` 127.0.0.1).

Media is checked from the page's own `RTCPeerConnection.getStats()`: the call view publishes a
summary on `#call-view[data-stats]` every second (frames decoded and audio packets received
per participant, through the server's slot map), so the test reads an attribute rather than
evaluating script in the page.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import pages
from tests.support.server import HearthServer, write_config
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

MEDIA_TIMEOUT_S = 20.0


def _stats(page: Any) -> dict[str, Any]:
    raw = page.locator("#call-view").get_attribute("data-stats")
    return json.loads(raw) if raw else {}


def _media_from(page: Any, user_id: int) -> dict[str, Any] | None:
    """The page's stats once it decodes video frames and receives audio packets from user_id."""
    stats = _stats(page)
    theirs = stats.get("users", {}).get(str(user_id), {})
    return stats if theirs.get("frames", 0) > 0 and theirs.get("packets", 0) > 0 else None


def _wait_for_media_from(page: Any, user_id: int) -> dict[str, Any]:
    stats: dict[str, Any] = wait_for(
        lambda: _media_from(page, user_id),
        timeout=MEDIA_TIMEOUT_S,
        interval=0.25,
        what=lambda: f"media from user {user_id}: {_stats(page)}",
    )
    return stats


def test_video_call_in_a_direct_chat(hearth_server, new_person):
    ada, bob, watches = pages.two_people_in_a_direct_chat(hearth_server, new_person)
    ada_id, bob_id = pages.my_id(ada, hearth_server), pages.my_id(bob, hearth_server)

    # Ada calls from the chat header; she sees the call screen while Bob's app rings.
    ada.click("#call-video")
    expect(ada.locator("#call-view")).to_be_visible()
    expect(ada.locator("#call-status")).to_have_text(re.compile(r"Calling…|Ringing…"))
    incoming = bob.locator("#incoming-call")
    expect(incoming).to_contain_text("Ada Lovelace")
    expect(incoming).to_contain_text("Incoming video call")

    # Bob accepts: both are in the call, each with a tile for the other and their own preview.
    bob.click("#call-accept")
    expect(incoming).to_have_count(0)
    for page, me, other in ((ada, ada_id, bob_id), (bob, bob_id, ada_id)):
        expect(page.locator(f'#call-view .call-tile[data-user-id="{other}"]')).to_be_visible()
        expect(page.locator(f'#call-view .call-tile.self[data-user-id="{me}"]')).to_be_visible()
        expect(page.locator("#call-status")).to_have_text("")
        expect(page.locator("#call-timer")).to_have_text(re.compile(r"^0:\d\d$"))

    # Real media both ways through the SFU: video frames decoded and audio packets received.
    for page, other in ((ada, bob_id), (bob, ada_id)):
        _wait_for_media_from(page, other)
        tile = page.locator(f'#call-view .call-tile[data-user-id="{other}"]')
        expect(tile).not_to_have_class(re.compile(r"\bno-video\b"))

    # Ada mutes and stops her camera: Bob's tile of her says so (replaceTrack + call.media).
    ada.click("#call-mute")
    expect(ada.locator("#call-mute")).to_have_attribute("aria-pressed", "true")
    ada_tile = bob.locator(f'#call-view .call-tile[data-user-id="{ada_id}"]')
    expect(ada_tile.locator(".call-muted")).to_be_visible()
    ada.click("#call-camera")
    expect(ada.locator("#call-camera")).to_have_attribute("aria-pressed", "true")
    expect(ada_tile).to_have_class(re.compile(r"\bno-video\b"))
    ada.click("#call-mute")
    expect(ada_tile.locator(".call-muted")).to_be_hidden()

    # Ada shares her screen (the fake capture): it shows large for Bob, and for her.
    ada.click("#call-screen")
    expect(ada.locator("#call-screen")).to_have_attribute("aria-pressed", "true")
    expect(ada.locator("#call-stage")).to_contain_text("You are presenting")
    stage = bob.locator("#call-stage")
    expect(stage).to_contain_text("Ada Lovelace is presenting")
    wait_for(
        lambda: stage.locator("video").evaluate("v => v.videoWidth") > 0,
        timeout=MEDIA_TIMEOUT_S,
        interval=0.25,
        what="screen shown",
    )
    ada.click("#call-screen")
    expect(stage).to_be_hidden()

    # Ada hangs up: the call ends for both, and both chats show it as a call log line.
    ada.click("#call-hangup")
    for page in (ada, bob):
        expect(page.locator("#call-view")).to_have_count(0)
        line = page.locator("#conversation .message.call-log").last
        expect(line).to_contain_text(re.compile(r"Video call · 0:\d\d"))
        expect(line.locator(".call-back")).to_be_visible()
    expect(ada.locator("#chat-list [data-chat-id] .chat-item-preview")).to_contain_text(
        "Video call ·"
    )

    assert pages.problems(watches) == []


def test_declined_audio_call_is_logged_for_both(hearth_server, new_person):
    ada, bob, watches = pages.two_people_in_a_direct_chat(hearth_server, new_person)

    ada.click("#call-audio")
    expect(bob.locator("#incoming-call")).to_contain_text("Incoming audio call")
    bob.click("#call-decline")
    expect(bob.locator("#incoming-call")).to_have_count(0)
    expect(ada.locator("#call-view")).to_have_count(0)
    expect(ada.locator("#conversation .call-log").last).to_contain_text("Audio call · declined")
    expect(bob.locator("#conversation .call-log").last).to_contain_text("Declined audio call")

    # Calling back from the log line rings Ada; she declines this time.
    bob.locator("#conversation .call-log .call-back").last.click()
    expect(ada.locator("#incoming-call")).to_contain_text("Incoming audio call")
    ada.click("#call-decline")
    expect(bob.locator("#call-view")).to_have_count(0)
    expect(bob.locator("#conversation .call-log")).to_have_count(2)

    assert pages.problems(watches) == []


def test_calling_someone_on_another_call_says_so_and_offers_a_message(hearth_server, new_person):
    """Issue 14: Carol calls Bob while he talks with Ada. Carol's call screen says Bob is on
    another call and offers to leave a message; Bob gets a quiet missed-call line, worded for him."""
    ada, bob, watches = pages.two_people_in_a_direct_chat(hearth_server, new_person)
    carol = pages.watched_person(new_person, hearth_server, watches)
    pages.sign_up(carol, pages.account_invite(ada, hearth_server, uses=1), "carol", "Carol Shaw")
    ada.goto(bob.url)  # making the invite took Ada to settings: back to her chat with Bob
    ada.click("#call-audio")
    bob.click("#call-accept")
    expect(bob.locator("#call-view")).to_be_visible()

    carol.click("#new-chat")
    carol.click("#new-chat-menu #new-dm")
    pages.pick_person(carol, "#user-search", "bob")
    carol_chat = pages.chat_id(carol)
    carol.click("#call-audio")
    expect(carol.locator("#call-status")).to_have_text("Bob Builder is on another call.")
    carol.click("#call-leave-message")
    expect(carol.locator("#call-view")).to_have_count(0)
    expect(carol.locator("#composer")).to_be_focused()
    assert pages.chat_id(carol) == carol_chat
    expect(carol.locator("#conversation .call-log").last).to_contain_text(
        "Audio call · on another call"
    )

    # Bob's call goes on; the chat with Carol has the missed call in his words.
    expect(bob.locator("#call-view")).to_be_visible()
    item = bob.locator(f'#chat-list [data-chat-id="{carol_chat}"]')
    expect(item.locator(".chat-item-preview")).to_have_text(
        "Missed audio call · you were on another call"
    )
    bob.click("#call-hangup")
    assert pages.problems(watches) == []


def test_unanswered_call_is_a_missed_call_and_unread(tmp_path, new_person):
    with HearthServer(write_config(tmp_path, calls={"ring_timeout_seconds": 5})) as server:
        ada, bob, watches = pages.two_people_in_a_direct_chat(server, new_person)
        bob.click("#open-contacts")
        expect(bob.locator("#contacts-page")).to_be_visible()

        # Nobody answers: after the ring timeout both screens close by themselves.
        ada.click("#call-audio")
        expect(bob.locator("#incoming-call")).to_be_visible()
        expect(bob.locator("#incoming-call")).to_have_count(0, timeout=15_000)
        expect(ada.locator("#call-view")).to_have_count(0)
        expect(ada.locator("#conversation .call-log").last).to_contain_text(
            "Audio call · no answer"
        )

        # For Bob it is a missed call: unread in his list until he opens the chat.
        item = bob.locator("#chat-list [data-chat-id]").first
        expect(item.locator(".chat-item-preview")).to_have_text("Missed audio call")
        expect(item.locator(".unread-badge")).to_have_text("1")
        item.click()
        line = bob.locator("#conversation .call-log").last
        expect(line).to_have_class(re.compile(r"\bmissed\b"))
        expect(line).to_contain_text("Missed audio call")
        expect(item.locator(".unread-badge")).to_have_count(0)

        assert pages.problems(watches) == []


def test_group_call_join_late_and_rejoin_after_reload(hearth_server, new_person):
    watches: list[pages.Watch] = []
    ada = pages.watched_person(new_person, hearth_server, watches)
    pages.set_up_admin(ada, hearth_server)
    invite = pages.account_invite(ada, hearth_server, uses=2)
    bob = pages.watched_person(new_person, hearth_server, watches)
    pages.sign_up(bob, invite, "bob", "Bob Builder")
    carol = pages.watched_person(new_person, hearth_server, watches)
    pages.sign_up(carol, invite, "carol", "Carol Shaw")
    ada_id, bob_id, carol_id = (pages.my_id(p, hearth_server) for p in (ada, bob, carol))
    chat = pages.api(
        ada,
        hearth_server,
        "/chats",
        {"kind": "group", "title": "Kitchen", "member_ids": [bob_id, carol_id]},
    )
    for page in (ada, bob, carol):
        page.click(f'#chat-list [data-chat-id="{chat["id"]}"]')
        expect(page.locator("#chat-title")).to_have_text("Kitchen")

    # Ada starts an audio call; it rings both. Bob accepts, Carol declines for now.
    ada.click("#call-audio")
    expect(bob.locator("#incoming-call")).to_contain_text("Incoming audio call in Kitchen")
    expect(carol.locator("#incoming-call")).to_contain_text("Ada Lovelace")
    bob.click("#call-accept")
    carol.click("#call-decline")
    expect(ada.locator(f'#call-view .call-tile[data-user-id="{bob_id}"]')).to_be_visible()

    # The call goes on: Carol's chat offers to join it, and she does.
    expect(carol.locator("#call-bar")).to_contain_text("Audio call going on")
    carol.click("#call-join")
    expect(carol.locator("#call-bar")).to_be_hidden()
    for page in (ada, bob, carol):
        expect(page.locator("#call-view .call-tile")).to_have_count(3)
    wait_for(
        lambda: all(
            _stats(carol).get("users", {}).get(str(other), {}).get("packets", 0) > 0
            for other in (ada_id, bob_id)
        ),
        timeout=MEDIA_TIMEOUT_S,
        interval=0.25,
        what="audio from Ada and Bob at Carol",
    )

    # Carol reloads the page: she dropped out, and the reloaded chat offers the call again.
    carol.reload()
    expect(ada.locator("#call-view .call-tile")).to_have_count(2)
    expect(carol.locator("#call-view")).to_have_count(0)
    carol.click("#call-join")
    expect(ada.locator("#call-view .call-tile")).to_have_count(3)

    # Bob leaves; the others go on. Then Ada and Carol hang up: the call is logged for all.
    bob.click("#call-hangup")
    expect(bob.locator("#call-view")).to_have_count(0)
    expect(ada.locator(f'#call-view .call-tile[data-user-id="{bob_id}"]')).to_have_count(0)
    expect(carol.locator("#call-view .call-tile")).to_have_count(2)
    ada.click("#call-hangup")
    expect(carol.locator("#call-view .call-tile")).to_have_count(1)
    carol.click("#call-hangup")
    for page in (ada, bob, carol):
        expect(page.locator("#conversation .call-log").last).to_contain_text(
            re.compile(r"Audio call · 0:\d\d")
        )
        expect(page.locator("#call-bar")).to_be_hidden()

    assert pages.problems(watches) == []
