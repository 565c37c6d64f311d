"""Filters of GET /search (issue 14): from a person, in a chat, with a file, a date range; each
alone and combined, checked like the words are (membership, cleared history, delete for me),
and bad values refused with a clear 400."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.app import make_settings
from tests.support.people import new_client_id
from tests.support.responses import error_of, field_error, json_of, no_content
from tests.support.shapes import ids

# On SQLite and again on PostgreSQL (issue 10).
pytestmark = pytest.mark.usefixtures("both_engines")

LIMITS = {
    "messages_per_user": {"count": 10_000, "per_seconds": 1},
    "uploads_per_user": {"count": 1000, "per_seconds": 1},
}
DAY = 24 * 3600


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "data", limits=LIMITS)


async def search(person, q, **query):
    response = await person.get("/search", query_string={"q": q, **query})
    return ids((await json_of(response, 200))["results"])


async def send_file(person, chat_id, name, body=""):
    """A message with one uploaded file named `name`."""
    headers = {"X-File-Name": name, "Content-Type": "text/plain"}
    file = await json_of(await person.post("/files", data=b"notes", headers=headers), 201)
    payload = {"client_id": new_client_id(), "body": body, "attachments": [file["id"]]}
    return await json_of(await person.post(f"/chats/{chat_id}/messages", json=payload), 201)


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def test_from_a_person(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    group = await ada.group("Picnic", bob, cyd)
    by_bob = await bob.send(group["id"], "picnic on sunday")
    await cyd.send(group["id"], "picnic sounds good")
    await ada.send(group["id"], "picnic basket ready")
    assert await search(ada, "picnic", sender_id=bob.id) == [by_bob["id"]]
    assert len(await search(ada, "picnic")) == 3


async def test_in_a_chat_with_a_person_combined(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    group = await ada.group("Garden", bob, cyd)
    direct = await ada.direct(bob)
    wanted = await bob.send(group["id"], "tomato seeds")
    await cyd.send(group["id"], "tomato plants")
    await bob.send(direct["id"], "tomato soup")
    found = await search(ada, "tomato", chat_id=group["id"], sender_id=bob.id)
    assert found == [wanted["id"]]


async def test_with_a_file(pair_with_files):
    ada, _, with_file, without_file = pair_with_files
    assert await search(ada, "minutes", has_file="true") == [with_file["id"]]
    assert set(await search(ada, "minutes", has_file="false")) == {
        with_file["id"],
        without_file["id"],
    }


@pytest.fixture
async def pair_with_files(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    without_file = await ada.send(chat["id"], "meeting minutes follow")
    with_file = await send_file(bob, chat["id"], "scan.txt", body="the minutes attached")
    return ada, chat["id"], with_file, without_file


async def test_a_file_name_match_obeys_the_filters(people):
    """A message found by its attachment's name is filtered like one found by its text."""
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    report = await send_file(bob, chat["id"], "quarterly report.txt")
    assert await search(ada, "quarterly") == [report["id"]]
    assert await search(ada, "quarterly", sender_id=ada.id) == []
    assert await search(ada, "quarterly", sender_id=bob.id, has_file="1") == [report["id"]]
    sent = datetime.fromisoformat(report["created_at"])
    assert await search(ada, "quarterly", after=iso(sent + timedelta(seconds=1))) == []


@pytest.mark.manual_clock
async def test_a_date_range(people, clock):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    monday = await ada.send(chat["id"], "weather report")
    await clock.advance(DAY)
    tuesday = await bob.send(chat["id"], "weather is fine")
    await clock.advance(DAY)
    wednesday = await ada.send(chat["id"], "weather turned")
    at = {m["id"]: datetime.fromisoformat(m["created_at"]) for m in (monday, tuesday, wednesday)}
    tue = at[tuesday["id"]]
    # `after` is inclusive, `before` exclusive.
    assert await search(ada, "weather", after=iso(tue)) == [wednesday["id"], tuesday["id"]]
    assert await search(ada, "weather", before=iso(tue)) == [monday["id"]]
    one_day = {"after": iso(tue), "before": iso(tue + timedelta(hours=1))}
    assert await search(ada, "weather", **one_day) == [tuesday["id"]]
    # With the other filters too.
    assert await search(ada, "weather", sender_id=ada.id, after=iso(tue)) == [wednesday["id"]]
    # A time without a zone is UTC; a date is its midnight.
    naive = tue.astimezone(UTC).replace(tzinfo=None)
    assert await search(ada, "weather", after=naive.isoformat()) == [
        wednesday["id"],
        tuesday["id"],
    ]
    tomorrow = (at[wednesday["id"]] + timedelta(days=1)).date().isoformat()
    assert await search(ada, "weather", after=tomorrow) == []


async def test_a_chat_you_are_not_in_is_a_chat_that_does_not_exist(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    theirs = await bob.direct(cyd)
    await bob.send(theirs["id"], "hidden treasure")
    not_in = await ada.get("/search", query_string={"q": "treasure", "chat_id": theirs["id"]})
    missing = await ada.get("/search", query_string={"q": "treasure", "chat_id": 999_999})
    assert (await error_of(not_in, 404, "chat_not_found")) == (
        await error_of(missing, 404, "chat_not_found")
    )
    # A person filter never reaches into their chats either.
    assert await search(ada, "treasure", sender_id=bob.id) == []


async def test_filters_respect_cleared_history_and_delete_for_me(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    old = await send_file(bob, chat["id"], "plan.txt", body="holiday plan")
    await json_of(await ada.post(f"/chats/{chat['id']}/clear"), 200)
    hidden = await bob.send(chat["id"], "holiday photos")
    kept = await bob.send(chat["id"], "holiday dates")
    await no_content(await ada.delete(f"/messages/{hidden['id']}", query_string={"for": "me"}))
    filters = {"chat_id": chat["id"], "sender_id": bob.id}
    assert await search(ada, "holiday", **filters) == [kept["id"]]
    assert await search(ada, "plan", has_file="true") == []  # cleared, even by file name
    assert await search(bob, "holiday", **filters) == [kept["id"], hidden["id"], old["id"]]


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ({"sender_id": "bob"}, "sender_id"),
        ({"sender_id": "0"}, "sender_id"),
        ({"chat_id": "kitchen"}, "chat_id"),
        ({"has_file": "maybe"}, "has_file"),
        ({"after": "yesterday"}, "after"),
        ({"before": "2026-13-01"}, "before"),
    ],
)
async def test_a_bad_filter_is_a_clear_400(pair, query, loc):
    ada, _, _ = pair
    response = await ada.get("/search", query_string={"q": "hello", **query})
    error = await field_error(response, loc)
    assert loc in error["message"]


async def test_an_empty_date_range_is_refused(pair):
    ada, _, _ = pair
    query = {"q": "hello", "after": "2026-06-02", "before": "2026-06-01"}
    error = await field_error(await ada.get("/search", query_string=query), "after")
    assert "before" in error["message"]


@pytest.fixture
async def pair(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    return ada, bob, chat["id"]


async def test_the_filters_are_in_the_openapi_contract(client):
    spec = await json_of(await client.get("/openapi.json"), 200)
    parameters = spec["paths"]["/api/v1/search"]["get"]["parameters"]
    schema = {p["name"]: p["schema"] for p in parameters}
    assert set(schema) == {"q", "chat_id", "sender_id", "has_file", "after", "before", "limit"}
    assert schema["has_file"]["type"] == "boolean"
    assert {"format": "date-time", "type": "string"} in schema["after"]["anyOf"]
