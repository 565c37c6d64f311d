"""The `hearth` command: serve, init, check-config, user ..., invite ..., backup, restore,
migrate-store, discover."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import getpass
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from appliance import __version__, backup, datadir
from appliance import loop as event_loop
from appliance.backup import BackupError
from appliance.config import ConfigError, Settings, load, resolve_config_path
from appliance.context import opened
from appliance.datadir import DataDirError
from appliance.net.tls import TLSError
from appliance.net.urls import base_urls, links, listening_urls
from appliance.services.errors import ServiceError
from appliance.store.db import Database, SchemaTooNewError

T = TypeVar("T")
EXIT_CONFIG = 2
EXIT_FAILURE = 1


class CommandError(Exception):
    """A failure to report in one line, without a traceback."""


# --- arguments ---------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help="YAML config file (default: ./hearth.yaml if present)"
    )
    parser.add_argument(
        "--data-dir", type=Path, help="folder for the database, files and certificate"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth", description="Hearth: chat and calls for your LAN."
    )
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    _common(serve)
    serve.add_argument("--host", help="address to listen on (server.host)")
    serve.add_argument("--port", type=int, help="HTTPS port (server.port)")
    serve.add_argument(
        "--http-port", type=int, help="HTTP port that redirects to HTTPS; 0 turns it off"
    )

    init = commands.add_parser("init", help="prepare the data folder, database and certificate")
    _common(init)

    check = commands.add_parser("check-config", help="validate a config file without starting")
    check.add_argument(
        "file", type=Path, nargs="?", help="the file to check (default: as serve would)"
    )
    _common(check)

    user = commands.add_parser("user", help="manage accounts").add_subparsers(
        dest="user_command", required=True, metavar="ACTION"
    )
    add = user.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--admin", action="store_true", help="make it an admin")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _common(add)
    listing = user.add_parser("list", help="list accounts")
    _common(listing)
    disable = user.add_parser("disable", help="disable an account and sign it out")
    disable.add_argument("username")
    _common(disable)
    for name, text in (
        ("enable", "enable a disabled account"),
        ("make-admin", "give an account admin rights"),
        ("unmake-admin", "take admin rights away"),
        ("sign-out", "end every session of an account (it may sign in again)"),
    ):
        action = user.add_parser(name, help=text)
        action.add_argument("username")
        _common(action)
    delete = user.add_parser(
        "delete", help="delete an account: signed out, personal data removed, messages kept"
    )
    delete.add_argument("username")
    delete.add_argument("--yes", action="store_true", help="do it (without it, nothing happens)")
    _common(delete)
    reset = user.add_parser("reset-link", help="print a one-time password reset link")
    reset.add_argument("username")
    reset.add_argument(
        "--email", action="store_true", help="also email it to the account's address (email.*)"
    )
    _common(reset)

    invite = commands.add_parser("invite", help="manage invite links").add_subparsers(
        dest="invite_command", required=True, metavar="ACTION"
    )
    create = invite.add_parser("create", help="print a new invite link")
    create.add_argument("--uses", type=int, default=1, help="how many people may sign up with it")
    create.add_argument("--days", type=int, help="how long it stays valid (auth.invite_days)")
    _common(create)
    invites = invite.add_parser("list", help="list recent invite links")
    _common(invites)
    revoke = invite.add_parser("revoke", help="stop an invite link working")
    revoke.add_argument("code", help="the code (the part after invite=) or the whole link")
    _common(revoke)

    backup = commands.add_parser(
        "backup", help="write a backup archive (the server may keep running)"
    )
    backup.add_argument(
        "--output", type=Path, help="the archive to write (default: ./hearth-backup-TIME.tar)"
    )
    _common(backup)
    restore = commands.add_parser("restore", help="check a backup archive and restore it")
    restore.add_argument("file", type=Path, help="the archive `hearth backup` wrote")
    restore.add_argument(
        "--replace",
        action="store_true",
        help="the data folder holds a Hearth: move it aside (into replaced-TIME/) first",
    )
    _common(restore)

    migrate = commands.add_parser(
        "migrate-store", help="copy this appliance's SQLite database into PostgreSQL"
    )
    migrate.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="postgresql://user:password@host/database: an empty database Hearth may fill",
    )
    _common(migrate)

    discover = commands.add_parser("discover", help="list Hearth appliances on the LAN (mDNS)")
    discover.add_argument("--timeout", type=float, default=3.0)
    _common(discover)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = str(args.data_dir)
    for option, key in (
        ("host", "server.host"),
        ("port", "server.port"),
        ("http_port", "server.http_port"),
    ):
        if getattr(args, option, None) is not None:
            overrides[key] = getattr(args, option)
    return load(resolve_config_path(args.config), overrides)


# --- shared pieces -----------------------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise CommandError("the passwords differ")
    return first


# --- commands ----------------------------------------------------------------------------------


async def cmd_init(config: Settings, args: argparse.Namespace) -> None:
    datadir.prepare(config.data_dir)
    certificate = _certificate(config)  # unusable TLS files stop us before the database
    async with opened(config) as hearth:
        token = await hearth.accounts.setup_token()
    print(f"Data folder ready: {config.data_dir.resolve()}")
    what = "Certificate authority" if certificate.ca_path else "TLS certificate"
    print(f"{what} SHA-256: {certificate.trusted_fingerprint}")
    if token:
        print("Create the first admin account with this link, at whichever address works:")
        for link in links(config, f"/setup?token={token}"):
            print(f"  {link}")


def _certificate(config: Settings) -> Any:
    from appliance.net.renewal import certificate_for

    return certificate_for(config)


async def cmd_user_add(config: Settings, args: argparse.Namespace) -> None:
    password = _read_password(args.password_stdin)
    async with opened(config) as hearth:
        user = await hearth.accounts.create_user(args.username, password, is_admin=args.admin)
    print(f"created {'admin ' if user.is_admin else ''}{user.username} (id {user.id})")


async def cmd_user_list(config: Settings, args: argparse.Namespace) -> None:
    async with opened(config) as hearth:
        rows = await hearth.accounts.list_users()
    print(f"{'ID':>4}  {'USERNAME':<24} {'ROLE':<6} {'STATE':<8} DISPLAY NAME")
    for user in rows:
        state = "disabled" if user.disabled else "active"
        role = "admin" if user.is_admin else "member"
        print(f"{user.id:>4}  {user.username:<24} {role:<6} {state:<8} {user.display_name}")


async def cmd_user_disable(config: Settings, args: argparse.Namespace) -> None:
    async with opened(config) as hearth:
        user = await hearth.accounts.get_by_username(args.username)
        signed_in = len(await hearth.sessions.active(user.id))
        await hearth.accounts.set_flags(user.id, disabled=True)  # ends those sessions too
    print(f"disabled {user.username}; signed out {signed_in} session(s)")


async def cmd_user_flags(config: Settings, args: argparse.Namespace) -> None:
    flags: dict[str, bool] = {
        "enable": {"disabled": False},
        "make-admin": {"is_admin": True},
        "unmake-admin": {"is_admin": False},
    }[args.user_command]
    async with opened(config) as hearth:
        user = await hearth.accounts.get_by_username(args.username)
        user = await hearth.accounts.set_flags(user.id, **flags)
    role = "admin" if user.is_admin else "member"
    print(f"{user.username}: {'disabled' if user.disabled else 'active'} {role}")


async def cmd_user_sign_out(config: Settings, args: argparse.Namespace) -> None:
    async with opened(config) as hearth:
        user = await hearth.accounts.get_by_username(args.username)
        ended = await hearth.accounts.sign_out_everywhere(user.id)
    print(f"signed {user.username} out of {ended} session(s)")


async def cmd_user_delete(config: Settings, args: argparse.Namespace) -> None:
    if not args.yes:
        raise CommandError(
            f"this deletes {args.username}'s account for good (their messages stay, from "
            "'Deleted user'): add --yes to do it"
        )
    async with opened(config) as hearth:
        user = await hearth.accounts.get_by_username(args.username)
        await hearth.leaving.delete(user.id, None)
    print(f"deleted {user.username} (id {user.id})")


async def cmd_invite_list(config: Settings, args: argparse.Namespace) -> None:
    async with opened(config) as hearth:
        rows = await hearth.accounts.list_invites()
        now = hearth.clock.now_ms()
    base = base_urls(config)[0]
    for row in rows:
        state = "revoked" if row.revoked_at else "live" if row.usable(now) else "spent/expired"
        print(f"{base}/signup?invite={row.code}  {row.uses}/{row.max_uses} used  {state}")


async def cmd_invite_revoke(config: Settings, args: argparse.Namespace) -> None:
    code = str(args.code).rsplit("invite=", 1)[-1]
    async with opened(config) as hearth:
        await hearth.accounts.revoke_invite(code)
    print(f"revoked {code}")


async def cmd_user_reset_link(config: Settings, args: argparse.Namespace) -> None:
    from appliance.net.mail import Mailer

    mailer = Mailer(config.email)
    if args.email and not mailer.enabled:
        raise CommandError("email is not set up: set email.smtp_host in the config")
    async with opened(config) as hearth:
        user = await hearth.accounts.get_by_username(args.username)
        if args.email and not user.email:
            raise CommandError(f"{user.username} has no email address in their profile")
        link = await hearth.accounts.create_reset_link(user.id)
    hours = config.auth.reset_link_hours
    # One link per line, best first (`| head -1` for just one); each is the same link.
    print("\n".join(links(config, f"/reset?token={link.token}")))
    print(
        f"(one use, valid for {hours} hours, at whichever address {user.username}'s device "
        f"reaches; give it to {user.username} in person)",
        file=sys.stderr,
    )
    # Printed first: if the email fails, the admin still has the link to hand over.
    if args.email and user.email:
        await _email_reset_link(mailer, user.email, user.username, link.token, hours, config)


async def _email_reset_link(
    mailer: Any, to: str, username: str, token: str, hours: int, config: Settings
) -> None:
    from appliance.net.mail import MailError

    urls = "\n".join(f"  {url}" for url in links(config, f"/reset?token={token}"))
    body = (
        f"Hello {username},\n\nan administrator made you a link to set a new Hearth password. "
        f"Open it at whichever address works from your device:\n\n{urls}\n\n"
        f"It works once and for {hours} hours. If you did not ask for it, tell your "
        "administrator.\n"
    )
    try:
        await mailer.send(to, "Your Hearth password reset link", body)
    except MailError as error:
        raise CommandError(str(error)) from None
    print(f"(emailed to {to})", file=sys.stderr)


async def cmd_invite_create(config: Settings, args: argparse.Namespace) -> None:
    async with opened(config) as hearth:
        invite = await hearth.accounts.create_invite(None, args.uses, args.days)
    # One link per line, best first; any of them works.
    print("\n".join(links(config, f"/signup?invite={invite.code}")))


async def cmd_backup(config: Settings, args: argparse.Namespace) -> None:
    if config.storage.url is not None and config.storage.url.startswith("postgres"):
        raise CommandError(
            "storage.url is PostgreSQL: back its database up with pg_dump, and data_dir (the "
            "files, secret.key, tls/) as files; `hearth backup` archives an SQLite appliance"
        )
    output = args.output or Path(backup.default_name())
    bar = backup.Bar("backing up")
    try:
        summary = backup.create(config.data_dir, output, bar, files_dir=config.files_path)
    finally:
        bar.finish()
    print(
        f"wrote {summary.path} ({summary.size / 1e6:.1f} MB: the database at schema "
        f"{summary.schema_version} and {summary.files} stored file(s))"
    )


async def cmd_restore(config: Settings, args: argparse.Namespace) -> None:
    bar = backup.Bar("restoring")
    try:
        summary = backup.restore(
            args.file,
            config.data_dir,
            replace=args.replace,
            progress=bar,
            files_dir=config.files_path,
        )
    finally:
        bar.finish()
    print(
        f"restored {config.data_dir} from the backup of {summary.created_at} (Hearth "
        f"{summary.hearth_version}, schema {summary.schema_version}, {summary.files} stored "
        "file(s)); start Hearth to use it"
    )


async def cmd_migrate_store(config: Settings, args: argparse.Namespace) -> None:
    """The SQLite database in the data folder, copied whole into an empty PostgreSQL one."""
    if not args.to.startswith(("postgresql://", "postgres://")):
        raise CommandError("--to must be a postgresql:// URL")
    source = config.database_path
    if not source.exists():
        raise CommandError(f"there is no SQLite database at {source} to copy")
    if datadir.serving_urls(config.data_dir) is not None:
        raise CommandError("Hearth is running on this data folder: stop it first")
    try:
        import psycopg

        from appliance.store import postgres, transfer  # psycopg: the `scale` extra
    except ImportError:
        raise CommandError("PostgreSQL needs the scale extra: pip install -e '.[scale]'") from None
    for database in (Database(source), Database(args.to)):  # both at this Hearth's schema
        try:
            await database.open()
        except psycopg.OperationalError as error:
            raise CommandError(f"cannot reach {postgres.describe(args.to)}: {error}") from None
        await database.close()
    bar = backup.Bar("copying", unit="rows")
    try:
        copied = await asyncio.to_thread(transfer.copy, source, args.to, bar)
    except transfer.TransferError as error:
        raise CommandError(str(error)) from None
    except psycopg.Error as error:
        raise CommandError(f"the copy failed and was undone: {error}") from None
    finally:
        bar.finish()
    print(
        f"copied {copied.total} rows of {len(copied.rows)} tables into "
        f"{postgres.describe(args.to)}, and counted them again there. Set storage.url to it in "
        f"the config and start Hearth; the files stay in {config.data_dir}."
    )


async def cmd_discover(config: Settings, args: argparse.Namespace) -> None:
    from appliance.net.mdns import discover

    found = await discover(timeout=args.timeout)
    if not found:
        print("no Hearth appliance answered")
    for item in found:
        addresses = ", ".join(item.addresses)
        print(
            f"{item.name}  https://{item.host}:{item.port}  ({addresses})  version {item.version}"
        )


async def cmd_check_config(config: Settings, args: argparse.Namespace) -> None:
    """The file parses and matches the schema; the TLS files it names are there, readable and
    a matching pair (what `serve` would trip over first)."""
    if config.tls.cert_file is not None and config.tls.key_file is not None:
        from appliance.net.tls import load_certificate

        load_certificate(config.tls.cert_file, config.tls.key_file)
    print("config is valid")


# --- serve -------------------------------------------------------------------------------------


def _stop_on_signals(loop: asyncio.AbstractEventLoop) -> asyncio.Event:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # `kill -USR1` prints every thread's stack to the log: how to see where a stuck server
    # (or a stop that does not end) is waiting, without stopping it.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    return stop


async def cmd_serve(config: Settings, args: argparse.Namespace) -> None:
    from appliance.server import serve

    datadir.prepare(config.data_dir)
    certificate = _certificate(config)
    stop = _stop_on_signals(asyncio.get_running_loop())
    urls = listening_urls(config)
    with datadir.serving(config.data_dir, urls):  # so `hearth invite create` prints these
        await serve(config, certificate, stop, urls)


# --- entry point -------------------------------------------------------------------------------

Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, None]]
COMMANDS: dict[tuple[str, str | None], Command] = {
    ("serve", None): cmd_serve,
    ("init", None): cmd_init,
    ("check-config", None): cmd_check_config,
    ("user", "add"): cmd_user_add,
    ("user", "list"): cmd_user_list,
    ("user", "disable"): cmd_user_disable,
    ("user", "reset-link"): cmd_user_reset_link,
    ("user", "enable"): cmd_user_flags,
    ("user", "make-admin"): cmd_user_flags,
    ("user", "unmake-admin"): cmd_user_flags,
    ("user", "sign-out"): cmd_user_sign_out,
    ("user", "delete"): cmd_user_delete,
    ("invite", "list"): cmd_invite_list,
    ("invite", "revoke"): cmd_invite_revoke,
    ("invite", "create"): cmd_invite_create,
    ("backup", None): cmd_backup,
    ("restore", None): cmd_restore,
    ("migrate-store", None): cmd_migrate_store,
    ("discover", None): cmd_discover,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check-config" and args.file is not None:
        args.config = args.file
    try:
        config = settings_from(args)
    except ConfigError as error:
        print(f"hearth: {error}", file=sys.stderr)
        return EXIT_CONFIG
    from appliance import logs

    logs.configure(config.logging)
    action = COMMANDS[
        (args.command, getattr(args, f"{args.command.replace('-', '_')}_command", None))
    ]
    try:
        event_loop.run(action(config, args))
    except (TLSError, DataDirError) as error:  # the config names something unusable
        print(f"hearth: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except (CommandError, BackupError, ServiceError, SchemaTooNewError, OSError) as error:
        print(f"hearth: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    return 0
