"""`hearth migrate-store --to postgresql://...` (issue 10): an appliance that outgrew SQLite
moves to PostgreSQL with its accounts, chats, history, edits, reactions, pins, pictures and
search, and goes on numbering where it stopped; a target that is not empty is refused."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from PIL import Image

from appliance.cli import main
from tests.support import engines
from tests.support.app import Client, running, signed_in
from tests.support.people import AppPeople, AppPerson
from tests.support.server import config_dict


@pytest.fixture(scope="module")
def server() -> Iterator[engines.Postgres]:
    with engines.postgres() as pg:
        yield pg


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


async def history(person: Any, chat_id: int) -> list[tuple[Any, ...]]:
    page = await person.api("GET", f"/chats/{chat_id}/messages?limit=100")
    return [
        (m["id"], m["body"], m["edited_at"], sorted(r["emoji"] for r in m["reactions"]))
        for m in page["messages"]
    ]


async def test_an_appliance_moves_to_postgresql_with_its_history(
    server, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(engines, "STORAGE", "sqlite")  # the source is SQLite, whatever the suite
    data = tmp_path / "data"
    async with running(tmp_path) as (app, hearth, _):
        people = AppPeople(hearth, lambda: Client(app))
        ada, bob = await people("ada", "bob")
        assert (
            await ada.put("/me/avatar", data=jpeg(), headers={"Content-Type": "image/jpeg"})
        ).status_code == 200
        chat = (await ada.direct(bob))["id"]
        first = await ada.send(chat, "café au lait")
        await bob.send(chat, "edited soon")
        edited = (await bob.send(chat, "typo hre"))["id"]
        await bob.api("PATCH", f"/messages/{edited}", {"body": "typo here"})
        for path in (
            f"/messages/{first['id']}/reactions/%F0%9F%91%8D",
            f"/messages/{first['id']}/pin",
        ):
            assert (await ada.put(path)).status_code in {200, 204}
        before = await history(ada, chat)
        me_before = await ada.api("GET", "/me")

    url = server.create_database("moved")
    config = tmp_path / "hearth.yaml"
    config.write_text(yaml.safe_dump(config_dict(data)))
    assert (
        await asyncio.to_thread(main, ["migrate-store", "--to", url, "--config", str(config)]) == 0
    )
    printed = capsys.readouterr().out
    assert "rows of" in printed and "counted them again" in printed

    async with running(tmp_path, storage={"url": url}) as (app, hearth, _):
        assert hearth.db.engine.dialect == "postgresql"
        client = Client(app)
        await signed_in(hearth, client, "ada")
        ada = AppPerson(ada.id, "ada", client)
        assert await history(ada, chat) == before
        me = await ada.api("GET", "/me")
        assert me["avatar_url"] == me_before["avatar_url"] is not None
        assert (await ada.client.get(me["avatar_url"])).status_code == 200
        found = await ada.api("GET", "/search?q=cafe")
        assert [m["id"] for m in found["results"]] == [first["id"]]
        pins = await ada.api("GET", f"/chats/{chat}/pins")
        assert [m["id"] for m in pins["messages"]] == [first["id"]]
        newer = await ada.send(chat, "on PostgreSQL now")
        assert newer["id"] > max(m[0] for m in before)  # numbering goes on

    assert (
        await asyncio.to_thread(main, ["migrate-store", "--to", url, "--config", str(config)]) == 1
    )
    assert "already holds accounts" in capsys.readouterr().err


def test_hearth_backup_on_postgresql_points_to_pg_dump(tmp_path, capsys):
    """`hearth backup` archives an SQLite appliance; on PostgreSQL it says what to use."""
    config = tmp_path / "hearth.yaml"
    raw = {**config_dict(tmp_path / "data"), "storage": {"url": "postgresql://db.lan/hearth"}}
    config.write_text(yaml.safe_dump(raw))
    assert main(["backup", "--config", str(config)]) == 1
    assert "pg_dump" in capsys.readouterr().err
