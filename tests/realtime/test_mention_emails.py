"""Mentions while away (issue 9): someone mentioned while no device of theirs is connected gets
one email (a real SMTP server on loopback), then none for a while; someone connected, or who
muted the chat, gets none."""

from __future__ import annotations

from tests.support.inbox import smtp_server
from tests.support.people import ServedPeople
from tests.support.server import HearthServer, roomy_config
from tests.support.waiting import eventually


def mailbox(inbox, address: str) -> list:
    return [message for to, message in inbox.messages if to == [address]]


async def test_a_mention_emails_someone_away_once_and_not_someone_connected(tmp_path):
    with smtp_server() as (inbox, port):
        email = {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none"}
        with HearthServer(roomy_config(tmp_path, email=email)) as server:
            people = ServedPeople(server)
            ada, bob, cyd, dan, eve = await people("ada", "bob", "cyd", "dan", "eve")
            for person in (bob, cyd, dan, eve):
                await person.api("PATCH", "/me", {"email": f"{person.username}@example.lan"})
            chat = await ada.group("Kitchen", bob, cyd, dan, eve)
            await eve.api("PATCH", f"/chats/{chat['id']}/prefs", {"mute": "always"})
            await cyd.connect()  # cyd has Hearth open; bob and dan do not

            both = f"@{bob.username} @{cyd.username} who cooks tonight?"
            await ada.send(chat["id"], both)
            bob_mail = await eventually(lambda: mailbox(inbox, f"{bob.username}@example.lan"))
            message = bob_mail[0]
            assert "mentioned you on Hearth" in message["Subject"]
            text = message.get_payload(decode=True).decode()
            assert "who cooks tonight?" in text and f"/chats/{chat['id']}" in text

            # Another mention of bob soon after: no second email. (Decided when the message
            # is stored, before dan's mention below, whose email is waited for.)
            await ada.send(chat["id"], f"@{bob.username} and?")
            await ada.send(chat["id"], f"@{eve.username} @{dan.username} you then")
            await eventually(lambda: mailbox(inbox, f"{dan.username}@example.lan"))
            assert len(mailbox(inbox, f"{bob.username}@example.lan")) == 1
            assert mailbox(inbox, f"{cyd.username}@example.lan") == []
            assert mailbox(inbox, f"{eve.username}@example.lan") == []  # she muted the chat
            assert mailbox(inbox, f"{ada.username}@example.lan") == []
            await people.close()
