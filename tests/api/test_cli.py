"""The `hearth` command's account tools, run in-process on a temporary data folder.

`appliance.cli.main` calls asyncio.run, so these tests are plain functions. Checks that need the
database afterwards open it the way the CLI does (appliance.context.opened)."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from appliance.cli import main
from appliance.config import load
from appliance.context import opened
from appliance.services.errors import ServiceError
from tests.support.app import PASSWORD

FAST = "auth:\n  bcrypt_cost: 4\nmdns:\n  enabled: false\n"


pytestmark = pytest.mark.usefixtures("keep_logging")


@pytest.fixture
def hearth_cli(tmp_path, capsys):
    """Run `hearth ARGS --config FILE --data-dir DIR`; returns (exit code, stdout, stderr)."""
    config = tmp_path / "hearth.yaml"
    config.write_text(FAST)
    data_dir = tmp_path / "data"

    def run(*args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None):
        if stdin is not None:
            assert monkeypatch is not None
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main([*args, "--config", str(config), "--data-dir", str(data_dir)])
        out, err = capsys.readouterr()
        return code, out, err

    run.config = config
    run.data_dir = data_dir
    return run


def with_hearth(run, action):
    """Open the data folder the CLI used and run `action(hearth)`."""
    settings = load(run.config, {"data_dir": str(run.data_dir)})

    async def go():
        async with opened(settings) as hearth:
            return await action(hearth)

    return asyncio.run(go())


def add_user(run, monkeypatch, name="bob", *extra):
    code, out, err = run(
        "user",
        "add",
        name,
        "--password-stdin",
        *extra,
        stdin=f"{PASSWORD}\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0, err
    return out


# --- user add / list / disable --------------------------------------------------------------------


def test_user_add_creates_an_account(hearth_cli, monkeypatch):
    out = add_user(hearth_cli, monkeypatch)
    assert "created bob" in out
    assert "admin" not in out
    user = with_hearth(hearth_cli, lambda h: h.accounts.get_by_username("bob"))
    assert user.is_admin is False


def test_user_add_stores_the_password_from_stdin(hearth_cli, monkeypatch):
    add_user(hearth_cli, monkeypatch)

    async def check(hearth):
        user = await hearth.accounts.get_by_username("bob")
        return await hearth.accounts.verify_password(user.id, PASSWORD)

    assert with_hearth(hearth_cli, check) is True


def test_user_add_admin(hearth_cli, monkeypatch):
    out = add_user(hearth_cli, monkeypatch, "root", "--admin")
    assert "created admin root" in out
    assert with_hearth(hearth_cli, lambda h: h.accounts.get_by_username("root")).is_admin is True


def test_user_add_refuses_a_short_password(hearth_cli, monkeypatch):
    code, _, err = hearth_cli(
        "user", "add", "bob", "--password-stdin", stdin="short\n", monkeypatch=monkeypatch
    )
    assert code == 1
    assert "8" in err
    assert "Traceback" not in err


def test_user_add_refuses_a_taken_name(hearth_cli, monkeypatch):
    add_user(hearth_cli, monkeypatch)
    code, _, err = hearth_cli(
        "user", "add", "BOB", "--password-stdin", stdin=f"{PASSWORD}\n", monkeypatch=monkeypatch
    )
    assert code == 1
    assert "taken" in err


def test_user_list_shows_the_accounts(hearth_cli, monkeypatch):
    add_user(hearth_cli, monkeypatch)
    add_user(hearth_cli, monkeypatch, "alice", "--admin")
    code, out, _ = hearth_cli("user", "list")
    assert code == 0
    rows = {line.split()[1]: line for line in out.splitlines()[1:]}
    assert set(rows) == {"bob", "alice"}
    assert "member" in rows["bob"] and "active" in rows["bob"]
    assert "admin" in rows["alice"]


def test_user_disable_marks_the_account_disabled(hearth_cli, monkeypatch):
    add_user(hearth_cli, monkeypatch)
    code, out, _ = hearth_cli("user", "disable", "bob")
    assert code == 0
    assert "disabled bob" in out
    assert with_hearth(hearth_cli, lambda h: h.accounts.get_by_username("bob")).disabled is True
    _, listing, _ = hearth_cli("user", "list")
    (row,) = [line for line in listing.splitlines() if " bob " in line]
    assert "disabled" in row


def test_user_disable_signs_the_account_out(hearth_cli, monkeypatch):
    add_user(hearth_cli, monkeypatch)

    async def sign_in(hearth):
        user = await hearth.accounts.get_by_username("bob")
        return await hearth.sessions.start(user, "Test", "127.0.0.1")

    issued = with_hearth(hearth_cli, sign_in)
    code, out, _ = hearth_cli("user", "disable", "bob")
    assert code == 0
    assert "signed out 1 session" in out

    async def use_token(hearth):
        try:
            await hearth.sessions.from_access_token(issued.access_token, "127.0.0.1")
        except ServiceError as error:
            return error.code
        return "still signed in"

    assert with_hearth(hearth_cli, use_token) == "session_revoked"


def test_user_disable_of_an_unknown_user_fails(hearth_cli):
    code, _, err = hearth_cli("user", "disable", "nobody")
    assert code == 1
    assert "nobody" in err


# --- invites and reset links ----------------------------------------------------------------------


def test_invite_create_prints_a_signup_link(hearth_cli):
    code, out, _ = hearth_cli("invite", "create", "--uses", "3")
    assert code == 0
    url = out.splitlines()[0]
    assert url.startswith("https://")
    assert "/signup?invite=" in url
    (invite_code,) = parse_qs(urlsplit(url).query)["invite"]
    invite = with_hearth(hearth_cli, lambda h: h.accounts.get_invite(invite_code))
    assert invite.max_uses == 3
    assert invite.uses == 0


def test_invite_create_honours_days(hearth_cli):
    code, out, _ = hearth_cli("invite", "create", "--days", "2")
    assert code == 0
    (invite_code,) = parse_qs(urlsplit(out.splitlines()[0]).query)["invite"]
    invite = with_hearth(hearth_cli, lambda h: h.accounts.get_invite(invite_code))
    assert abs((invite.expires_at - invite.created_at) - 2 * 86_400_000) < 1000


def test_user_reset_link_prints_a_working_link(hearth_cli, monkeypatch):
    add_user(hearth_cli, monkeypatch)
    code, out, err = hearth_cli("user", "reset-link", "bob")
    assert code == 0
    url = out.splitlines()[0]
    assert "/reset?token=" in url
    assert "bob" in err  # the hint goes to stderr, so stdout is just the link
    (token,) = parse_qs(urlsplit(url).query)["token"]

    async def redeem(hearth):
        user_id = await hearth.accounts.redeem_reset_link(token, "a new passphrase")
        return await hearth.accounts.verify_password(user_id, "a new passphrase")

    assert with_hearth(hearth_cli, redeem) is True


def test_user_reset_link_for_an_unknown_user_fails(hearth_cli):
    code, out, err = hearth_cli("user", "reset-link", "nobody")
    assert code == 1
    assert out == ""
    assert "nobody" in err


# --- check-config ---------------------------------------------------------------------------------


def test_check_config_accepts_a_valid_file(tmp_path, capsys):
    config = tmp_path / "valid.yaml"
    config.write_text(FAST + "registration:\n  mode: open\n")
    assert main(["check-config", str(config), "--data-dir", str(tmp_path / "data")]) == 0
    assert "valid" in capsys.readouterr().out


def test_check_config_names_an_unknown_key(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(FAST + "registration:\n  mode: open\n  moed: closed\n")
    assert main(["check-config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "registration.moed" in err
    assert "unknown key" in err


def test_check_config_names_a_bad_value(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("auth:\n  bcrypt_cost: 99\n")
    assert main(["check-config", str(config)]) == 2
    assert "auth.bcrypt_cost" in capsys.readouterr().err


def test_check_config_of_a_missing_file_is_a_config_error(tmp_path, capsys):
    assert main(["check-config", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml" in capsys.readouterr().err


def test_check_config_does_not_touch_the_data_folder(tmp_path, capsys):
    config = tmp_path / "valid.yaml"
    config.write_text(FAST)
    data_dir: Path = tmp_path / "data"
    assert main(["check-config", str(config), "--data-dir", str(data_dir)]) == 0
    assert not data_dir.exists()


# --- the admin page's actions from the shell (issue 12) -------------------------------------------


def test_user_enable_make_and_unmake_admin(hearth_cli, monkeypatch):
    add_user(hearth_cli, monkeypatch, "ada", "--admin")  # so bob is never the last admin
    add_user(hearth_cli, monkeypatch)
    assert hearth_cli("user", "disable", "bob")[0] == 0
    code, out, _ = hearth_cli("user", "enable", "bob")
    assert (code, out.strip()) == (0, "bob: active member")
    code, out, _ = hearth_cli("user", "make-admin", "bob")
    assert (code, out.strip()) == (0, "bob: active admin")
    assert with_hearth(hearth_cli, lambda h: h.accounts.get_by_username("bob")).is_admin is True
    code, out, _ = hearth_cli("user", "unmake-admin", "bob")
    assert (code, out.strip()) == (0, "bob: active member")


def test_user_sign_out_ends_sessions_but_not_the_account(hearth_cli, monkeypatch):
    add_user(hearth_cli, monkeypatch)

    async def sign_in(hearth):
        user = await hearth.accounts.get_by_username("bob")
        await hearth.sessions.start(user, "Test", "127.0.0.1")
        await hearth.sessions.start(user, "Phone", "127.0.0.1")
        return user.id

    user_id = with_hearth(hearth_cli, sign_in)
    code, out, _ = hearth_cli("user", "sign-out", "bob")
    assert (code, out.strip()) == (0, "signed bob out of 2 session(s)")
    assert with_hearth(hearth_cli, lambda h: h.sessions.active(user_id)) == []
    assert with_hearth(hearth_cli, lambda h: h.accounts.get(user_id)).disabled is False


def test_user_delete_needs_yes_then_deletes(hearth_cli, monkeypatch):
    add_user(hearth_cli, monkeypatch)
    code, _, err = hearth_cli("user", "delete", "bob")
    assert code == 1
    assert "--yes" in err
    assert with_hearth(hearth_cli, lambda h: h.accounts.get_by_username("bob")).disabled is False
    code, out, _ = hearth_cli("user", "delete", "bob", "--yes")
    assert code == 0
    assert "deleted bob" in out
    code, _, err = hearth_cli("user", "disable", "bob")
    assert code == 1  # the name is gone


def test_invite_list_and_revoke(hearth_cli):
    _, links, _ = hearth_cli("invite", "create", "--uses", "2")
    link = links.splitlines()[0]  # one line per address; the first is the best
    code, out, _ = hearth_cli("invite", "list")
    assert code == 0
    assert f"{link}  0/2 used  live" in out
    code, out, _ = hearth_cli("invite", "revoke", link)
    assert code == 0
    _, out, _ = hearth_cli("invite", "list")
    assert "revoked" in out
    code, _, err = hearth_cli("invite", "revoke", "no-such-code")
    assert code == 1
    assert "No such invite" in err
