"""Optional email for password reset links, against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from appliance.cli import main
from appliance.config import EmailSettings
from appliance.context import opened
from appliance.net.mail import Mailer, MailError
from tests.support.app import make_settings
from tests.support.inbox import Inbox, smtp_server
from tests.support.server import config_dict, free_port

pytestmark = pytest.mark.usefixtures("keep_logging")


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


def write_config(tmp_path: Path, port: int) -> Path:
    """The test settings (the same database as make_settings for this data folder)."""
    path = tmp_path / "hearth.yaml"
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none",
             "sender": "Hearth <hearth@example.lan>"}  # fmt: skip
    raw = config_dict(tmp_path / "data", server={"host": "127.0.0.1"}, email=email)
    path.write_text(yaml.safe_dump(raw))
    return path


def test_reset_link_is_emailed_with_every_link(tmp_path, smtp, capsys, monkeypatch):
    inbox, port = smtp
    common = ["--config", str(write_config(tmp_path, port)), "--data-dir", str(tmp_path / "data")]
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    assert main(["user", "add", "ada", "--password-stdin", *common]) == 0

    async def give_email() -> None:
        async with opened(make_settings(tmp_path / "data")) as hearth:
            user = await hearth.accounts.get_by_username("ada")
            await hearth.accounts.update_profile(user.id, {"email": "ada@example.lan"})

    asyncio.run(give_email())
    capsys.readouterr()
    assert main(["user", "reset-link", "ada", "--email", *common]) == 0
    printed = capsys.readouterr()
    assert "emailed to ada@example.lan" in printed.err
    [(recipients, message)] = inbox.messages
    assert recipients == ["ada@example.lan"]
    assert message["Subject"] == "Your Hearth password reset link"
    assert message["From"] == "Hearth <hearth@example.lan>"
    body = message.get_payload(decode=True).decode().replace("\r\n", "\n")
    for link in printed.out.splitlines():
        assert f"  {link}\n" in body  # the same links the admin saw, every address
    (token,) = parse_qs(urlsplit(printed.out.splitlines()[0]).query)["token"]

    async def redeem() -> bool:
        async with opened(make_settings(tmp_path / "data")) as hearth:
            user_id = await hearth.accounts.redeem_reset_link(token, "another passphrase")
            return await hearth.accounts.verify_password(user_id, "another passphrase")

    assert asyncio.run(redeem()) is True


def test_no_email_address_or_no_smtp_is_a_clear_error(tmp_path, smtp, capsys, monkeypatch):
    _, port = smtp
    common = ["--config", str(write_config(tmp_path, port)), "--data-dir", str(tmp_path / "data")]
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    assert main(["user", "add", "bob", "--password-stdin", *common]) == 0
    capsys.readouterr()
    assert main(["user", "reset-link", "bob", "--email", *common]) == 1
    assert "bob has no email address" in capsys.readouterr().err
    plain = ["--data-dir", str(tmp_path / "data")]
    assert main(["user", "reset-link", "bob", "--email", *plain]) == 1
    assert "email is not set up" in capsys.readouterr().err


async def test_sending_retries_then_reports(smtp):
    inbox, port = smtp
    closed = free_port()  # nothing listens: every attempt is refused
    settings = EmailSettings(smtp_host="127.0.0.1", smtp_port=closed, security="none", attempts=2)
    mailer = Mailer(settings)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(MailError, match="after 2 attempt"):
        await mailer.send("ada@example.lan", "hi", "hello")
    assert loop.time() - started >= 1.0  # it waited before the retry
    working = Mailer(EmailSettings(smtp_host="127.0.0.1", smtp_port=port, security="none"))
    await working.send("ada@example.lan", "hi", "hello")
    assert len(inbox.messages) == 1
