"""Data rights (issue 12): GET /me/export gives a person their profile, their messages (with
chat names) and their own files, and nobody else's; DELETE /me (password confirmed) deletes
the account: it cannot sign in, its sessions end, its personal data goes, its messages stay
from "Deleted user". An admin can do both for someone."""

from __future__ import annotations

import io
import json
import os
import zipfile
from urllib.parse import quote

import pytest

from tests.support.app import PASSWORD, login_response, me_status, signed_in
from tests.support.responses import error_of, field_error, no_content

# On SQLite and again on PostgreSQL (issue 10).
pytestmark = pytest.mark.usefixtures("both_engines")


async def upload(person, data: bytes, name: str) -> dict:
    response = await person.post(
        "/files",
        data=data,
        headers={"X-File-Name": quote(name), "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, await response.get_data()
    return await response.get_json()


async def export_of(response) -> dict:
    assert response.status_code == 200, await response.get_data()
    assert response.content_type == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(await response.get_data())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def test_export_holds_my_profile_messages_with_chat_names_and_my_files_only(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    direct = await ada.direct(bob)
    group = await ada.group("Garden club", bob, cyd)
    mine = os.urandom(3000)
    theirs = os.urandom(3000)
    my_file = await upload(ada, mine, "notes.bin")
    their_file = await upload(bob, theirs, "secret.bin")
    await ada.send(direct["id"], "hello bob")
    await ada.send(group["id"], "with a file", attachments=[my_file["id"]])
    await bob.send(group["id"], "bob's own words", attachments=[their_file["id"]])
    await cyd.send(group["id"], "cyd's own words")

    found = await export_of(await ada.get("/me/export"))
    profile = json.loads(found["profile.json"])
    assert profile["username"] == ada.username
    messages = json.loads(found["messages.json"])
    assert [(m["chat_name"], m["body"]) for m in messages] == [
        (bob.username, "hello bob"),  # a direct chat is named after the other person
        ("Garden club", "with a file"),
    ]
    assert messages[1]["file_ids"] == [my_file["id"]]
    files = json.loads(found["files.json"])
    assert [f["id"] for f in files] == [my_file["id"]]
    assert found[files[0]["path"]] == mine
    everything = b"".join(found.values())
    assert b"bob's own words" not in everything and b"cyd's own words" not in everything
    assert theirs not in everything


async def test_deleting_my_account_needs_my_password(people):
    (ada,) = await people("ada")
    response = await ada.delete("/me", json={"password": "not my password"})
    await field_error(response, "password")
    assert await me_status(ada.client) == 200


async def test_a_deleted_account_cannot_sign_in_and_its_sessions_end(hearth, people, new_client):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    kept = await ada.send(chat["id"], "I was here")
    phone = new_client()
    await signed_in(hearth, phone, ada.username)
    await no_content(await ada.delete("/me", json={"password": PASSWORD}))
    assert await me_status(ada.client) == 401
    assert await me_status(phone) == 401
    refused = await login_response(new_client(), ada.username, PASSWORD)
    assert refused.status_code == 401
    messages = await bob.message_list(chat["id"])
    assert [m["body"] for m in messages if m["id"] == kept["id"]] == ["I was here"]
    profile = await bob.api("GET", f"/users/{ada.id}")
    assert profile["display_name"] == "Deleted user"
    assert ada.username not in json.dumps(profile)
    # Nothing personal is kept.
    assert (await hearth.accounts.get(ada.id)).email is None


async def test_the_last_admin_cannot_delete_themselves(client, admin):
    response = await client.delete("/api/v1/me", json={"password": PASSWORD})
    await error_of(response, 409, "last_admin")


async def test_an_admin_exports_and_deletes_someone(hearth, client, admin, people):
    (ada,) = await people("ada")
    chat = await ada.group("Mine")
    await ada.send(chat["id"], "ada's words")
    found = await export_of(await client.get(f"/api/v1/admin/users/{ada.id}/export"))
    assert [m["body"] for m in json.loads(found["messages.json"])] == ["ada's words"]
    await no_content(await client.delete(f"/api/v1/admin/users/{ada.id}"))
    assert await me_status(ada.client) == 401
    assert (await hearth.accounts.get(ada.id)).disabled is True
    missing = await client.delete("/api/v1/admin/users/999999")
    await error_of(missing, 404, "not_found")


async def test_with_remove_configured_a_deleted_accounts_messages_go(tmp_path, monkeypatch):
    from appliance.services import messaging
    from tests.support.app import Client, running
    from tests.support.people import AppPeople

    monkeypatch.setattr(messaging, "REMOVE_BATCH", 2)  # three messages: two batches
    async with running(tmp_path, messages={"on_account_deleted": "remove"}) as (app, hearth, _):
        ada, bob = await AppPeople(hearth, lambda: Client(app))("ada", "bob")
        chat = await ada.direct(bob)
        for n in range(3):
            await ada.send(chat["id"], f"ada {n}")
        kept = await bob.send(chat["id"], "bob stays")
        await no_content(await ada.delete("/me", json={"password": PASSWORD}))
        messages = {m["id"]: m for m in await bob.message_list(chat["id"])}
        gone = [m for m in messages.values() if m["id"] != kept["id"]]
        assert len(gone) == 3
        assert all(m["deleted"] and m["body"] == "" for m in gone), gone
        assert messages[kept["id"]]["body"] == "bob stays"
