"""The authorization matrix (issue 13), generated so that a new endpoint or op cannot be left out.

Every (method, rule) of the app's `url_map` and every op of `build_registry()` must be named in
one of the classifications below; a route or op that is not FAILS
`test_every_route_and_op_is_classified` (and its own generated case). Then, for each one:

- scoped to a chat, a message or a call (most of the API): refused to every role below;
- admin only: refused to every role below (none of them is an admin);
- open to any signed-in user (SIGNED_IN, a small allow-list, a reason each): refused to the
  three who are not signed in; a signed-in outsider gets an answer, and GETs show nothing of
  the chat they are not in;
- public (PUBLIC, a reason each): an anonymous caller is not asked to sign in.

Roles: anonymous (no credentials), revoked session (a member's other session, signed out),
disabled account (a member whose account an admin disabled; the token from before), non-member
(signed in, in no chat with anyone), removed member (was in the chat, sent in it, was rung for
its call, then removed), blocked (in a direct chat whose other person blocked them; their own
message there, and the call that was ringing them before the block). A refusal is 401 for those
not signed in, 403 or 404 for the others (400 direct_chat for what no direct chat allows), never
2xx or 5xx, and leaves the database exactly as it was (every table but the FTS index). What
a blocked person may still do in that chat (read it, mark it read, delete their own message,
decline or leave) is BLOCKED_MAY, with the protocol's reason. Each refusal has a positive
control: the same request from someone allowed succeeds, so a refusal is about who asks, not a
bad request.

Path parameters are real ids of a chat, message, call and user made for the test. Replay and
search are checked too: a removed member's `hello` with resume_from=0 replays nothing of the
chat after their removal, and search finds none of its messages for them or for a non-member.

The app runs in-process, one per module, on one event loop; the world (people, chats, calls)
is rebuilt in the same app whenever a request changed the database, so cases stay independent.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
from PIL import Image
from quart import Quart
from quart_schema.validation import (
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
)
from werkzeug.routing import Rule

from appliance.app import create_app
from appliance.config import Settings
from appliance.context import Hearth
from appliance.realtime.ops import build_registry
from appliance.services.sessions import IssuedSession
from tests.support import sqlite
from tests.support.app import ORIGIN, PASSWORD, make_settings
from tests.support.server import ROOMY_LIMITS

pytestmark = pytest.mark.asyncio(loop_scope="module")

API = "/api/v1"
SECRET = "zanzibarquux"  # a word only the group's messages hold
THUMBS_UP = "\N{THUMBS UP SIGN}"

AUTH_ROLES = ("anonymous", "revoked_session", "disabled_account")
CHAT_ROLES = ("non_member", "removed_member", "blocked")
ROLES = AUTH_ROLES + CHAT_ROLES

# --- the classification: every route and op must be in exactly one place ------------------------

# Public: anyone may call these, signed in or not.
PUBLIC: dict[str, str] = {
    "GET /": "the web app's shell (static index.html, no data)",
    "GET /<path:path>": "the web app's static files (api/ paths are 404)",
    "GET /chats/<int:chat_id>": "client-side route: index.html; the app then calls the API",
    "GET /contacts": "client-side route: index.html",
    "GET /join/<code>": "client-side route: index.html",
    "GET /login": "client-side route: index.html",
    "GET /reset": "client-side route: index.html",
    "GET /forgot": "client-side route: index.html",
    "GET /settings": "client-side route: index.html",
    "GET /starred": "client-side route: index.html",
    "GET /activity": "client-side route: index.html",
    "GET /setup": "client-side route: index.html",
    "GET /signup": "client-side route: index.html",
    "GET /docs": "the API docs page (renders /openapi.json)",
    "GET /openapi.json": "the API description: no data",
    "GET /health": "liveness probe",
    "GET /trust": 'the "Trust this device" page (static trust.html)',
    "GET /ca.crt": "the appliance's CA certificate: public by nature, trusted before sign-in",
    "GET /hearth.mobileconfig": "the same CA as an Apple configuration profile",
    "GET /sw.js": "the service worker: the web app's public shell files, no data",
    "GET /api/v1/info": "what a client needs before signing in",
    "POST /api/v1/setup": "the first admin, with the one-time token printed by the server",
    "POST /api/v1/auth/signup": "making an account (invite or open registration)",
    "POST /api/v1/auth/login": "signing in",
    "POST /api/v1/auth/refresh": "the refresh token is the credential",
    "POST /api/v1/auth/reset": "the reset token from an admin's link is the credential",
    "POST /api/v1/auth/forgot": "asks for a reset link by email; says nothing of the account",
    "GET /api/v1/invites/<code>": "the sign-up page checks an invite link before sign-up",
}

# Open to anyone signed in: about yourself, or a capability the caller holds (an invite link).
SIGNED_IN: dict[str, str] = {
    "GET /api/v1/me": "your own account",
    "PATCH /api/v1/me": "your own profile",
    "POST /api/v1/me/password": "your own password",
    "GET /api/v1/me/export": "your own data",
    "DELETE /api/v1/me": "your own account, confirmed with your password",
    "POST /api/v1/auth/logout": "your own session",
    "GET /api/v1/auth/sessions": "your own sessions",
    "DELETE /api/v1/auth/sessions/<session_id>": "your own sessions only (checked below)",
    "GET /api/v1/users": "the people directory: public profiles",
    "GET /api/v1/users/<int:user_id>": "a public profile",
    "GET /api/v1/contacts": "your own contacts",
    "POST /api/v1/contacts": "asking someone to be a contact",
    "POST /api/v1/contacts/<int:user_id>/accept": "a request made to you",
    "POST /api/v1/contacts/<int:user_id>/reject": "a request made to you",
    "DELETE /api/v1/contacts/<int:user_id>": "your own contact list",
    "POST /api/v1/blocks": "your own block list",
    "DELETE /api/v1/blocks/<int:user_id>": "your own block list",
    "GET /api/v1/chats": "the chats you are in",
    "POST /api/v1/chats": "a new chat of your own (or your direct chat)",
    "GET /api/v1/channels": "public channels are listed for everyone",
    "GET /api/v1/chat-invites/<code>": "holding the invite link is the permission",
    "POST /api/v1/invites/<code>/join": "holding the invite link is the permission",
    "GET /api/v1/search": "searches only the chats you are in (checked below)",
    "GET /api/v1/calls": "calls of the chats you are in (checked below)",
    "GET /api/v1/calls/active": "calls of the chats you are in (checked below)",
    "POST /api/v1/files": "an upload of your own: nobody sees it until you post it",
    "PUT /api/v1/me/avatar": "your own profile picture",
    "DELETE /api/v1/me/avatar": "your own profile picture",
    "GET /api/v1/starred": "your own stars, in the chats you are still in (checked in test_chat_prefs)",
    "GET /api/v1/activity": "what concerns you, in the chats you are still in (test_activity)",
    "POST /api/v1/activity/read": "your own activity mark",
}

ADMIN: set[str] = {
    "GET /api/v1/admin/invites",
    "POST /api/v1/admin/invites",
    "GET /api/v1/admin/users",
    "PATCH /api/v1/admin/users/<int:user_id>",
    "POST /api/v1/admin/users/<int:user_id>/reset-link",
    "POST /api/v1/admin/users/<int:user_id>/sign-out",
    "DELETE /api/v1/admin/invites/<code>",
    "GET /api/v1/admin/health",
    "GET /api/v1/admin/users/<int:user_id>/export",
    "DELETE /api/v1/admin/users/<int:user_id>",
}

# Members of one chat only. The value says what the path names (for the positive control).
SCOPED: dict[str, str] = {
    "GET /api/v1/chats/<int:chat_id>": "chat",
    "PATCH /api/v1/chats/<int:chat_id>": "chat",
    "DELETE /api/v1/chats/<int:chat_id>": "chat",
    "POST /api/v1/chats/<int:chat_id>/join": "chat",
    "POST /api/v1/chats/<int:chat_id>/members": "chat",
    "PATCH /api/v1/chats/<int:chat_id>/members/<int:user_id>": "chat",
    "DELETE /api/v1/chats/<int:chat_id>/members/<int:user_id>": "chat",
    "POST /api/v1/chats/<int:chat_id>/invites": "chat",
    "GET /api/v1/chats/<int:chat_id>/messages": "chat",
    "POST /api/v1/chats/<int:chat_id>/messages": "chat",
    "GET /api/v1/chats/<int:chat_id>/pins": "chat",
    "POST /api/v1/chats/<int:chat_id>/read": "chat",
    "GET /api/v1/chats/<int:chat_id>/threads/<int:root_id>": "chat",
    "POST /api/v1/chats/<int:chat_id>/threads/<int:root_id>/read": "chat",
    "POST /api/v1/chats/<int:chat_id>/delivered": "chat",
    "PATCH /api/v1/messages/<int:message_id>": "message",
    "DELETE /api/v1/messages/<int:message_id>": "message",
    "GET /api/v1/messages/<int:message_id>/edits": "message",
    "PUT /api/v1/messages/<int:message_id>/reactions/<path:emoji>": "message",
    "DELETE /api/v1/messages/<int:message_id>/reactions/<path:emoji>": "message",
    "PUT /api/v1/messages/<int:message_id>/pin": "message",
    "DELETE /api/v1/messages/<int:message_id>/pin": "message",
    "GET /api/v1/calls/<int:call_id>": "call",
    "GET /api/v1/chats/<int:chat_id>/media": "chat",
    "GET /api/v1/files/<int:file_id>": "file",
    "GET /api/v1/files/<int:file_id>/thumb": "file",
    "PUT /api/v1/chats/<int:chat_id>/avatar": "chat",
    "DELETE /api/v1/chats/<int:chat_id>/avatar": "chat",
    "PATCH /api/v1/chats/<int:chat_id>/prefs": "chat",
    "POST /api/v1/chats/<int:chat_id>/clear": "chat",
    "POST /api/v1/chats/<int:chat_id>/delete-for-me": "chat",
    "PUT /api/v1/messages/<int:message_id>/star": "message",
    "DELETE /api/v1/messages/<int:message_id>/star": "message",
}

# The WebSocket itself: its handshake is checked per role, its ops one by one below.
SOCKET = "GET /api/v1/ws"

OP_SIGNED_IN: dict[str, str] = {
    "ping": "keeps your own socket alive",
    "presence.set": "your own presence",
}
OP_SCOPED: dict[str, str] = {
    "message.send": "chat",
    "chat.read": "chat",
    "chat.delivered": "chat",
    "typing.start": "chat",
    "typing.stop": "chat",
    "call.start": "chat",
    "message.edit": "message",
    "thread.read": "chat",
    "message.delete": "message",
    "reaction.add": "message",
    "reaction.remove": "message",
    "call.accept": "call",
    "call.decline": "call",
    "call.join": "call",
    "call.leave": "call",
    "call.end": "call",
    "call.media": "call",
    "sfu.offer": "call",
    "sfu.answer": "call",
}

# What the blocked person may still do in their direct chat (protocol.md, "In a direct chat
# where either person blocked the other"): only writes that reach the other person are refused.
BLOCKED_MAY: dict[str, str] = {
    "GET /api/v1/chats/<int:chat_id>": "reading your own chat reaches nobody",
    "GET /api/v1/chats/<int:chat_id>/messages": "reading your own chat reaches nobody",
    "GET /api/v1/chats/<int:chat_id>/pins": "reading your own chat reaches nobody",
    "GET /api/v1/chats/<int:chat_id>/media": "reading your own chat reaches nobody",
    "GET /api/v1/files/<int:file_id>": "reading your own chat reaches nobody",
    "GET /api/v1/files/<int:file_id>/thumb": "reading your own chat reaches nobody",
    "GET /api/v1/messages/<int:message_id>/edits": "reading your own message reaches nobody",
    "GET /api/v1/calls/<int:call_id>": "reading your own chat's call log reaches nobody",
    "POST /api/v1/chats/<int:chat_id>/join": "joining a chat you're in changes nothing",
    "DELETE /api/v1/messages/<int:message_id>": "protocol: deleting stays possible",
    "POST /api/v1/chats/<int:chat_id>/read": "protocol: a read mark still moves your cursor",
    "POST /api/v1/chats/<int:chat_id>/delivered": "protocol: as a read mark",
    "chat.read": "protocol: a read mark still moves your own cursor",
    "GET /api/v1/chats/<int:chat_id>/threads/<int:root_id>": "reading your own chat reaches nobody",
    "POST /api/v1/chats/<int:chat_id>/threads/<int:root_id>/read": "your own read mark",
    "thread.read": "your own read mark, told to nobody else",
    "chat.delivered": "protocol: as a read mark",
    "message.delete": "protocol: deleting stays possible",
    "typing.start": "the hub sends typing to nobody who blocked or was blocked by the typist",
    "typing.stop": "as typing.start",
    "PATCH /api/v1/chats/<int:chat_id>/prefs": "your own view of the chat reaches nobody",
    "POST /api/v1/chats/<int:chat_id>/clear": "your own view of the chat reaches nobody",
    "POST /api/v1/chats/<int:chat_id>/delete-for-me": "your own view of the chat reaches nobody",
    "PUT /api/v1/messages/<int:message_id>/star": "your own stars reach nobody",
    "DELETE /api/v1/messages/<int:message_id>/star": "your own stars reach nobody",
}

# Refused answers by role: 401 to those not signed in, 403/404 to the signed-in others; in a
# direct chat, what no direct chat allows (renaming, members, invite links) is 400 direct_chat.
REFUSED_STATUS = {
    "anonymous": {401},
    "revoked_session": {401},
    "disabled_account": {401, 403},
    "non_member": {403, 404},
    "removed_member": {403, 404},
    "blocked": {400, 403, 404},
}
REFUSED_400_CODES = {"direct_chat"}
# The WebSocket's error codes that mean "not you" (an op result has no status).
REFUSED_CODES = {
    "not_a_member",
    "chat_not_found",
    "message_not_found",
    "call_not_found",
    "not_found",
    "forbidden",
    "blocked",
    "not_allowed",
    "not_in_call",
    # A block ends a direct call at once (ringing or answered): what the blocked person then
    # tries on it finds it over.
    "call_ended",
}

SKIPPED_METHODS = {"HEAD", "OPTIONS"}  # HEAD runs the GET view; OPTIONS is Quart's Allow answer
EMOJI = quote(THUMBS_UP, safe="")


def _picture() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(image, "PNG")
    return image.getvalue()


PICTURE = _picture()  # a raw body (an image), not JSON

# Request bodies and query strings that an allowed caller's request would succeed with.
# "{name}" is replaced by the case's target ids (a whole-string placeholder becomes an int).
BODIES: dict[str, Any] = {
    "POST /api/v1/files": {"an upload": "its bytes are this JSON text"},
    "PUT /api/v1/me/avatar": PICTURE,
    "PUT /api/v1/chats/<int:chat_id>/avatar": PICTURE,
    "POST /api/v1/setup": {"token": "not-the-token", "username": "late", "password": PASSWORD},
    "POST /api/v1/auth/signup": {"username": "{taken_username}", "password": PASSWORD},
    "POST /api/v1/auth/login": {"login": "{taken_username}", "password": "wrong password"},
    "POST /api/v1/auth/refresh": {"refresh_token": "not-a-refresh-token"},
    "POST /api/v1/auth/reset": {"token": "not-a-reset-token", "password": PASSWORD},
    "POST /api/v1/auth/forgot": {"login": "{taken_username}"},
    "POST /api/v1/activity/read": {},
    "PATCH /api/v1/me": {"status_text": "here"},
    "POST /api/v1/me/password": {"current_password": PASSWORD, "new_password": PASSWORD + "!"},
    "DELETE /api/v1/me": {"password": PASSWORD},
    "POST /api/v1/contacts": {"user_id": "{user}"},
    "POST /api/v1/blocks": {"user_id": "{user}"},
    "POST /api/v1/chats": {"kind": "group", "title": "Mine"},
    "POST /api/v1/admin/invites": {"uses": 1},
    "PATCH /api/v1/admin/users/<int:user_id>": {"is_admin": False},
    "PATCH /api/v1/chats/<int:chat_id>": {"topic": "taken over"},
    "POST /api/v1/chats/<int:chat_id>/members": {"user_ids": ["{outsider}"]},
    "PATCH /api/v1/chats/<int:chat_id>/members/<int:user_id>": {"role": "admin"},
    "POST /api/v1/chats/<int:chat_id>/invites": {},
    "POST /api/v1/chats/<int:chat_id>/messages": {"client_id": "{client_id}", "body": "let me in"},
    "POST /api/v1/chats/<int:chat_id>/read": {"message_id": "{message}"},
    "POST /api/v1/chats/<int:chat_id>/threads/<int:root_id>/read": {},
    "POST /api/v1/chats/<int:chat_id>/delivered": {"message_id": "{message}"},
    "PATCH /api/v1/messages/<int:message_id>": {"body": "rewritten"},
    "PATCH /api/v1/chats/<int:chat_id>/prefs": {"mute": "always", "archived": True},
}
QUERIES: dict[str, dict[str, Any]] = {
    "GET /api/v1/search": {"q": SECRET},
    "GET /api/v1/users": {"q": ""},
    "DELETE /api/v1/messages/<int:message_id>": {"for": "everyone"},
}
OP_DATA: dict[str, dict[str, Any]] = {
    "ping": {},
    "presence.set": {"status": "away"},
    "message.send": {"chat_id": "{chat}", "client_id": "{client_id}", "body": "let me in"},
    "chat.read": {"chat_id": "{chat}", "message_id": "{message}"},
    "thread.read": {"chat_id": "{chat}", "root_id": "{message}"},
    "chat.delivered": {"chat_id": "{chat}", "message_id": "{message}"},
    "typing.start": {"chat_id": "{chat}"},
    "typing.stop": {"chat_id": "{chat}"},
    "call.start": {"chat_id": "{chat}", "kind": "audio"},
    "message.edit": {"message_id": "{message}", "body": "rewritten"},
    "message.delete": {"message_id": "{message}", "for": "everyone"},
    "reaction.add": {"message_id": "{message}", "emoji": THUMBS_UP},
    "reaction.remove": {"message_id": "{message}", "emoji": THUMBS_UP},
    "call.accept": {"call_id": "{call}"},
    "call.decline": {"call_id": "{call}"},
    "call.join": {"call_id": "{call}"},
    "call.leave": {"call_id": "{call}"},
    "call.end": {"call_id": "{call}"},
    "call.media": {"call_id": "{call}", "mic": True, "camera": False, "screen": False},
    "sfu.offer": {"call_id": "{call}", "sdp": "v=0\r\n"},
    "sfu.answer": {"call_id": "{call}", "sdp": "v=0\r\n"},
}
# Ops whose positive control needs more than this test sets up, and where that is proven.
OP_NO_POSITIVE: dict[str, str] = {
    "sfu.offer": "needs a real SDP offer: tests/realtime/test_calls.py negotiates with aiortc",
    "sfu.answer": "needs the server's subscribe offer first: as sfu.offer",
    "call.start": "the group already has a call (one per chat): tests/realtime/test_calls.py",
}
# Which path parameter holds which target.
PARAMS = {
    "chat_id": "chat",
    "message_id": "message",
    "root_id": "message",
    "call_id": "call",
    "file_id": "file",
    "user_id": "user",
    "session_id": "session",
    "emoji": "emoji",
    "path": "asset",
    "code": "chat_invite",
}
ROUTE_PARAMS = {
    "GET /api/v1/invites/<code>": {"code": "account_invite"},
    "DELETE /api/v1/admin/invites/<code>": {"code": "account_invite"},
}


# --- the route table, read from a throwaway app at collection ------------------------------------


def route_table(app: Quart) -> dict[str, Rule]:
    table: dict[str, Rule] = {}
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
            table[f"{method} {rule.rule}"] = rule
    return table


def _collect() -> tuple[dict[str, Rule], dict[str, Any], list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(make_settings(Path(folder) / "data"))
        return route_table(app), dict(app.view_functions), build_registry().names()


ROUTES, VIEWS, OPS = _collect()


def classification(route: str) -> str:
    if route == SOCKET:
        return "socket"
    for name, table in (
        ("public", PUBLIC),
        ("signed_in", SIGNED_IN),
        ("admin", ADMIN),
        ("scoped", SCOPED),
    ):
        if route in table:
            return name
    return "unclassified"


def refusal_cases() -> list[Any]:
    cases = []
    for route in ROUTES:
        kind = classification(route)
        if kind in {"public", "socket"}:
            continue
        roles = AUTH_ROLES if kind == "signed_in" else ROLES
        for role in roles:
            if role == "blocked" and route in BLOCKED_MAY:
                continue
            cases.append(pytest.param(route, role, id=f"{route} | {role}"))
    return cases


# Known bugs, one case each, until the app is fixed (strict: a fix makes the case fail here,
# so the mark comes off with it).
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def op_cases() -> list[Any]:
    cases = []
    for op in OPS:
        if op in OP_SIGNED_IN:
            continue  # open to any signed-in socket; the handshake keeps the others out
        for role in CHAT_ROLES:
            if role == "blocked" and op in BLOCKED_MAY:
                continue
            bug = KNOWN_BUGS.get((op, role))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            cases.append(pytest.param(op, role, id=f"{op} | {role}", marks=marks))
    return cases


# --- the world: people, chats, messages, calls ---------------------------------------------------


@dataclass
class Account:
    id: int
    username: str
    session: IssuedSession

    @property
    def token(self) -> str:
        return self.session.access_token


@dataclass
class World:
    born: float
    people: dict[str, Account]
    revoked: IssuedSession  # bob's second session, signed out
    group: int  # ada owns it; bob, kai members, cyd admin; rex removed; dis disabled (a member)
    group_message: int  # ada's, edited, reacted to, pinned
    removed_message: int  # rex's own, sent before his removal
    channel: int  # a public channel of ada's, for the join's positive control
    direct: int  # dan and blo; dan blocked blo
    blocked_message: int  # blo's own, in the direct chat
    group_file: int  # a picture ada posted in the group (before rex's removal)
    direct_file: int  # a picture blo posted in the direct chat (before the block)
    # The calls' starters (kai, dan) never open a socket here: closing one would make them
    # leave their call a few seconds later, a write in the middle of some other case.
    group_call: int  # started by kai, ringing the others, rex too (before his removal)
    direct_call: int  # started by dan, ringing blo (before the block)
    chat_invite: str
    account_invite: str
    removed_at_seq: int  # the seq of rex's member.removed

    def __getitem__(self, name: str) -> Account:
        return self.people[name]

    def targets(self, role: str) -> dict[str, Any]:
        """The ids a request of `role` names: its own things where it has any."""
        names: dict[str, Any] = {
            "chat": self.group,
            "message": self.group_message,
            "call": self.group_call,
            "file": self.group_file,
            "user": self["bob"].id,
            "outsider": self["eve"].id,
            "session": self["bob"].session.session_id,
            "emoji": EMOJI,
            "asset": "manifest.json",
            "chat_invite": self.chat_invite,
            "account_invite": self.account_invite,
            "taken_username": self["bob"].username,
            "client_id": f"matrix-{next(_client_ids)}",
        }
        if role == "removed_member":
            names["message"] = self.removed_message
        if role == "blocked":
            names.update(
                chat=self.direct,
                message=self.blocked_message,
                call=self.direct_call,
                file=self.direct_file,
                user=self["dan"].id,
            )
        if role == "signed_in":
            names["session"] = self["eve"].session.session_id
        return names


_client_ids = itertools.count(1)
_worlds = itertools.count(1)


async def build_world(hearth: Hearth) -> World:
    n = next(_worlds)

    async def person(name: str, admin: bool = False) -> Account:
        row = await hearth.accounts.create_user(f"{name}{n}", PASSWORD, is_admin=admin)
        return Account(row.id, row.username, await hearth.sessions.start(row, "matrix", "local"))

    people = {
        name: await person(name, admin=name == "root")
        for name in ("root", "ada", "bob", "cyd", "kai", "rex", "eve", "blo", "dan", "dis")
    }
    ada, bob, cyd, kai, rex = (people[k] for k in ("ada", "bob", "cyd", "kai", "rex"))
    blo, dan, dis = people["blo"], people["dan"], people["dis"]
    bob_user = await hearth.accounts.get(bob.id)
    revoked = await hearth.sessions.start(bob_user, "old phone", "local")
    chats, messaging = hearth.chats, hearth.messaging

    async def send(who: Account, chat_id: int, body: str) -> int:
        view, _ = await messaging.send(
            who.id, chat_id, client_id=f"w{n}-{next(_client_ids)}", body=body
        )
        return view.id

    group = (
        await chats.create(
            ada.id,
            kind="group",
            title="Kitchen",
            member_ids=[bob.id, cyd.id, kai.id, rex.id, dis.id],
        )
    ).id
    await chats.set_role(ada.id, group, cyd.id, "admin")
    group_message = await send(ada, group, f"{SECRET} before the removal")

    async def post_picture(who: Account, chat_id: int) -> int:
        image = io.BytesIO()
        Image.new("RGB", (8, 8), "red").save(image, "PNG")

        async def body() -> AsyncIterator[bytes]:
            yield image.getvalue()

        upload = await hearth.files.upload(who.id, "picture.png", body(), length=None)
        await messaging.send(
            who.id, chat_id, client_id=f"w{n}-{next(_client_ids)}", attachments=[upload.id]
        )
        return upload.id

    group_file = await post_picture(ada, group)
    removed_message = await send(rex, group, f"{SECRET} from rex")
    await messaging.react(ada.id, group_message, THUMBS_UP, add=True)
    group_call = (await hearth.calls.start(kai.id, group, "audio")).id
    await chats.remove_member(ada.id, group, rex.id)
    removed_at_seq = (await hearth.events.position()).latest
    # What happens in the group after the removal: none of it may reach rex.
    await send(ada, group, f"{SECRET} after the removal")
    await messaging.edit(ada.id, group_message, f"{SECRET} edited after the removal")
    await messaging.pin(ada.id, group_message, pinned=True)
    await messaging.react(bob.id, removed_message, THUMBS_UP, add=True)
    await chats.update(ada.id, group, {"topic": "after the removal"})
    chat_invite = (await chats.create_invite(ada.id, group, uses=100, days=7, base_url=ORIGIN)).code
    account_invite = (await hearth.accounts.create_invite(people["root"].id)).code
    channel = (await chats.create(ada.id, kind="channel", title="Lobby", is_public=True)).id

    direct = (await chats.open_direct(dan.id, blo.id))[0].id
    blocked_message = await send(blo, direct, "hi dan")
    direct_file = await post_picture(blo, direct)
    await send(dan, direct, "hi blo")
    direct_call = (await hearth.calls.start(dan.id, direct, "audio")).id
    await hearth.contacts.block(dan.id, blo.id)

    await hearth.accounts.set_flags(dis.id, disabled=True)
    await hearth.sessions.revoke(bob.id, revoked.session_id)
    return World(
        born=time.monotonic(),
        people=people,
        revoked=revoked,
        group=group,
        group_message=group_message,
        removed_message=removed_message,
        channel=channel,
        direct=direct,
        blocked_message=blocked_message,
        group_file=group_file,
        direct_file=direct_file,
        group_call=group_call,
        direct_call=direct_call,
        chat_invite=chat_invite,
        account_invite=account_invite,
        removed_at_seq=removed_at_seq,
    )


async def retire(hearth: Hearth, world: World) -> None:
    """End the old world's calls, so no ring timer writes to the database later."""
    for starter, call_id in ((world["kai"], world.group_call), (world["dan"], world.direct_call)):
        # Already over (declined, or ended by a positive control) is fine.
        with contextlib.suppress(Exception):
            await hearth.calls.end(starter.id, call_id)


# --- the database, as a fingerprint: a refusal must not change a row ------------------------------

VOLATILE = {"sessions": {"last_used_at", "ip"}, "users": {"last_seen_at"}}


def fingerprint(config: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but the search index, derived from messages, and the columns
    that reading may touch: a session's last use and address, a user's last seen)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with sqlite.database(config) as connection:
        if isinstance(connection, sqlite3.Connection):
            tables = {
                name: [row[1] for row in connection.execute(f"PRAGMA table_info({name})")]
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'messages_fts%' AND name NOT LIKE 'sqlite_%'"
                )
            }
        else:  # PostgreSQL: its search index is a column of messages
            tables = {}
            for name, column in connection.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND column_name <> 'body_tsv'"
                " ORDER BY table_name, ordinal_position"
            ):
                tables.setdefault(name, []).append(column)
        for table in sorted(tables):
            columns = [c for c in tables[table] if c not in VOLATILE.get(table, set())]
            rows = connection.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            found[table] = sorted(rows, key=repr)
    return found


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))


class Worlds:
    """One world at a time, rebuilt when it was changed (or is old enough for a ring timer)."""

    MAX_AGE = 120.0  # seconds; calls.ring_timeout_seconds is 300 here

    def __init__(self, app: Quart) -> None:
        self.app = app
        self.hearth: Hearth = app.extensions["hearth"]
        self.config = self.hearth.config
        self.world: World | None = None
        self.print: dict[str, Any] = {}

    async def current(self) -> World:
        stale = self.world is None or time.monotonic() - self.world.born > self.MAX_AGE
        if not stale and fingerprint(self.config) != self.print:
            stale = True
        if stale:
            if self.world is not None:
                await retire(self.hearth, self.world)
            self.world = await build_world(self.hearth)
            self.print = fingerprint(self.config)
        assert self.world is not None
        return self.world

    def unchanged(self) -> list[str]:
        """The tables changed since the world was built (none after a refusal)."""
        return changed_tables(self.print, fingerprint(self.config))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Quart]:
    settings = make_settings(
        tmp_path_factory.mktemp("matrix") / "data",
        limits=ROOMY_LIMITS,
        calls={"ring_timeout_seconds": 300},
    )
    application = create_app(settings)
    async with application.test_app():
        yield application


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def worlds(app: Quart) -> Worlds:
    return Worlds(app)


@pytest_asyncio.fixture(loop_scope="module")
async def world(worlds: Worlds) -> World:
    return await worlds.current()


# --- requests -------------------------------------------------------------------------------------


def fill(template: Any, names: dict[str, Any]) -> Any:
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in names:
            return names[template[1:-1]]
        return template.format(**names)
    if isinstance(template, list):
        return [fill(item, names) for item in template]
    if isinstance(template, dict):
        return {key: fill(value, names) for key, value in template.items()}
    return template


def concrete_path(route: str, names: dict[str, Any]) -> str:
    rule = ROUTES[route]
    where = {**PARAMS, **ROUTE_PARAMS.get(route, {})}
    values = {}
    for argument in rule.arguments:
        assert argument in where, (
            f"{route}: the matrix does not know how to fill <{argument}>; add it to PARAMS"
        )
        values[argument] = names[where[argument]]
    path = rule.rule
    for argument, value in values.items():
        path = path.replace(f"<{_converter(rule, argument)}{argument}>", str(value))
    return path


def _converter(rule: Rule, argument: str) -> str:
    for converter in ("int:", "path:", ""):
        if f"<{converter}{argument}>" in rule.rule:
            return converter
    raise AssertionError(f"{rule.rule}: no <{argument}>")


@dataclass(frozen=True)
class Credentials:
    bearer: str | None = None
    cookie: str | None = None


def credentials_of(world: World, role: str) -> list[Credentials]:
    """How `role` calls: a Bearer token and, for the signed-out sessions, the cookie as well."""
    if role == "anonymous":
        return [Credentials()]
    if role == "revoked_session":
        return [Credentials(world.revoked.access_token), Credentials(cookie=world.revoked.cookie)]
    if role == "disabled_account":
        session = world["dis"].session
        return [Credentials(session.access_token), Credentials(cookie=session.cookie)]
    person = {
        "non_member": "eve",
        "removed_member": "rex",
        "blocked": "blo",
        "signed_in": "eve",
        "admin": "root",
        "owner": "ada",
        "outsider": "eve",
        "direct_member": "dan",  # dan, in the direct chat (dan blocked blo)
    }[role]
    return [Credentials(world[person].token)]


async def call_route(
    app: Quart, route: str, names: dict[str, Any], credentials: Credentials
) -> tuple[int, str]:
    method = route.split(" ", 1)[0]
    headers: dict[str, str] = {}
    if credentials.bearer:
        headers["Authorization"] = f"Bearer {credentials.bearer}"
    if credentials.cookie:
        headers["Cookie"] = f"hearth_session={credentials.cookie}"
        if method in {"POST", "PUT", "PATCH", "DELETE"}:
            headers["Origin"] = ORIGIN
    kwargs: dict[str, Any] = {}
    if isinstance(BODIES.get(route), bytes):
        kwargs["data"] = BODIES[route]
    elif route in BODIES:
        kwargs["json"] = fill(BODIES[route], names)
    if route in QUERIES:
        kwargs["query_string"] = fill(QUERIES[route], names)
    client = app.test_client(use_cookies=False)
    response = await client.open(
        concrete_path(route, names), method=method, headers=headers, scheme="https", **kwargs
    )
    # A file answers bytes; refusals and everything else are JSON text. An export (a zip) is
    # read as the JSON it holds, so the checks below see what it shows.
    data = await response.get_data()
    if response.content_type == "application/zip":
        return response.status_code, zip_as_json(data)
    return response.status_code, data.decode("utf-8", "replace")


def zip_as_json(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.dumps(
            {n: json.loads(archive.read(n)) for n in archive.namelist() if n.endswith(".json")}
        )


def error_code(text: str) -> str | None:
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code"))
    return None


class SocketClient:
    """One in-process WebSocket, greeted; `op` returns the op's result frame."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.frames: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    async def until(self, request_id: str) -> dict[str, Any]:
        while True:
            frame = json.loads(await self.connection.receive())
            self.frames.append(frame)
            if frame.get("type") == "result" and frame.get("id") == request_id:
                return frame

    async def request(self, op: str, data: Any) -> dict[str, Any]:
        request_id = f"m{next(self._ids)}"
        await self.connection.send(json.dumps({"id": request_id, "type": op, "data": data}))
        return await self.until(request_id)


def socket_to(app: Quart, token: str) -> Any:
    return app.test_client().websocket(
        f"{API}/ws", headers={"Authorization": f"Bearer {token}"}, scheme="wss"
    )


async def run_op(app: Quart, token: str, op: str, data: Any) -> dict[str, Any]:
    async with socket_to(app, token) as connection:
        socket = SocketClient(connection)
        hello = await socket.request("hello", {"resume_from": None})
        assert hello["ok"] is True, hello
        return await socket.request(op, data)


# --- the classification is complete --------------------------------------------------------------


async def test_every_route_and_op_is_classified():
    classified = set(PUBLIC) | set(SIGNED_IN) | ADMIN | set(SCOPED) | {SOCKET}
    missing = sorted(set(ROUTES) - classified)
    stale = sorted(classified - set(ROUTES))
    assert not missing, f"routes nobody classified (add each to the matrix): {missing}"
    assert not stale, f"classified routes the app no longer has: {stale}"
    tables = [set(PUBLIC), set(SIGNED_IN), ADMIN, set(SCOPED)]
    for a, b in itertools.combinations(tables, 2):
        assert not a & b, f"classified twice: {sorted(a & b)}"
    op_missing = sorted(set(OPS) - set(OP_SIGNED_IN) - set(OP_SCOPED))
    assert not op_missing, f"ops nobody classified: {op_missing}"
    assert not (set(OP_SIGNED_IN) | set(OP_SCOPED)) - set(OPS), "classified ops that are gone"
    assert set(OP_DATA) == set(OPS), "every op needs its data in OP_DATA"
    assert set(BLOCKED_MAY) <= set(SCOPED) | set(OP_SCOPED)


async def test_every_request_body_the_api_validates_is_given():
    """A route with a request model (or a query string with required fields) would answer a
    bare request 400 before asking who calls; the matrix must send each a valid one, so that
    a refusal means what it says."""
    checked = 0
    for route, rule in ROUTES.items():
        view = VIEWS[rule.endpoint]
        if getattr(view, QUART_SCHEMA_REQUEST_ATTRIBUTE, None) is not None:
            assert route in BODIES, f"{route} validates a body: add one to BODIES"
            checked += 1
        query = getattr(view, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, None)
        if query is not None:
            model = query[0] if isinstance(query, tuple) else query
            required = [name for name, f in model.model_fields.items() if f.is_required()]
            assert not required or route in QUERIES, f"{route} needs {required}: add to QUERIES"
    assert checked > 0, "quart-schema no longer marks validated views this way"


# --- routes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("route", "role"), refusal_cases())
async def test_route_refuses(app, worlds, world, route, role):
    assert classification(route) != "unclassified", f"{route} is not classified"
    names = world.targets(role)
    for credentials in credentials_of(world, role):
        status, text = await call_route(app, route, names, credentials)
        expected = REFUSED_STATUS[role]
        if classification(route) == "admin" and role in CHAT_ROLES:
            expected = {403}
        assert status in expected, (route, role, credentials, status, text[:300])
        if status == 400:
            assert error_code(text) in REFUSED_400_CODES, (route, role, text[:300])
        assert worlds.unchanged() == [], f"a refused {route} by {role} changed the database"


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if classification(r) not in {"public", "signed_in", "socket"}]
)
async def test_route_is_allowed_to_whom_it_is_for(app, world, route):
    """The positive control: the refused request, from the owner (or an admin), succeeds."""
    kind = classification(route)
    assert kind != "unclassified", f"{route} is not classified"
    role = "admin" if kind == "admin" else "owner"
    names = world.targets(role)
    if route == "POST /api/v1/chats/<int:chat_id>/join":
        names["chat"] = world.channel  # joining is for public channels, by anyone outside
        role = "outsider"
    if route == "POST /api/v1/chats/<int:chat_id>/delete-for-me":
        names["chat"] = world.direct  # only a direct chat is deleted for you
        role = "direct_member"
    (credentials,) = credentials_of(world, role)
    status, text = await call_route(app, route, names, credentials)
    assert 200 <= status < 300, (route, role, status, text[:300])


@pytest.mark.parametrize("route", sorted(BLOCKED_MAY.keys() & ROUTES.keys()))
async def test_blocked_may_still(app, world, route):
    (credentials,) = credentials_of(world, "blocked")
    status, text = await call_route(app, route, world.targets("blocked"), credentials)
    assert 200 <= status < 300, (route, BLOCKED_MAY[route], status, text[:300])


@pytest.mark.parametrize("route", sorted(PUBLIC))
async def test_public_route_asks_nobody_to_sign_in(app, world, route):
    (credentials,) = credentials_of(world, "anonymous")
    status, text = await call_route(app, route, world.targets("anonymous"), credentials)
    assert status < 500, (route, status, text[:300])
    assert error_code(text) != "unauthenticated", (route, PUBLIC[route], status, text[:300])


@pytest.mark.parametrize("route", sorted(SIGNED_IN))
@pytest.mark.parametrize("role", ["non_member", "removed_member"])
async def test_signed_in_route_answers_and_shows_nothing_of_others_chats(app, world, route, role):
    (credentials,) = credentials_of(world, role)
    names = world.targets("signed_in" if role == "non_member" else role)
    names["session"] = world[
        {"non_member": "eve", "removed_member": "rex"}[role]
    ].session.session_id
    status, text = await call_route(app, route, names, credentials)
    assert status < 500 and status != 401, (route, role, status, text[:300])
    if route.startswith("GET ") and route != "GET /api/v1/chat-invites/<code>":
        if route == "GET /api/v1/me/export":  # their own messages, and only those
            others = ("before the removal", "after the removal")
            assert not any(line in text for line in others), (route, role, text[:300])
        else:
            assert SECRET not in text, (route, role, "shows the group's messages", text[:300])
        body = json.loads(text)
        chats = body.get("chats", []) if isinstance(body, dict) else []
        assert world.group not in [c["id"] for c in chats], (route, role)
        calls = body.get("calls", []) if isinstance(body, dict) else []
        assert world.group_call not in [c["id"] for c in calls], (route, role)


async def test_nobody_signs_out_someone_elses_session(app, worlds, world):
    (credentials,) = credentials_of(world, "non_member")
    route = "DELETE /api/v1/auth/sessions/<session_id>"
    status, text = await call_route(app, route, world.targets("non_member"), credentials)
    assert status == 404, (status, text)
    assert worlds.unchanged() == []


# --- the WebSocket: handshake, then every op ------------------------------------------------------


@pytest.mark.parametrize("role", AUTH_ROLES)
async def test_socket_handshake_refuses(app, world, role):
    from quart.testing.connections import WebsocketResponseError

    for credentials in credentials_of(world, role):
        headers: dict[str, str] = {}
        if credentials.bearer:
            headers["Authorization"] = f"Bearer {credentials.bearer}"
        if credentials.cookie:
            headers["Cookie"] = f"hearth_session={credentials.cookie}"
            headers["Origin"] = "https://localhost"
        connection = app.test_client(use_cookies=False).websocket(
            f"{API}/ws", headers=headers, scheme="wss"
        )
        with pytest.raises(WebsocketResponseError) as refused:
            async with connection as ws:
                await ws.send(json.dumps({"id": "h", "type": "hello", "data": {}}))
                await ws.receive()
        assert refused.value.response.status_code in REFUSED_STATUS[role], (role, credentials)


@pytest.mark.parametrize(("op", "role"), op_cases())
async def test_op_refuses(app, worlds, world, op, role):
    assert op in OP_SCOPED, f"op {op} is not classified"
    (credentials,) = credentials_of(world, role)
    assert credentials.bearer is not None
    reply = await run_op(app, credentials.bearer, op, fill(OP_DATA[op], world.targets(role)))
    assert reply["ok"] is False, (op, role, reply)
    assert reply["error"]["code"] in REFUSED_CODES, (op, role, reply)
    assert worlds.unchanged() == [], f"a refused {op} by {role} changed the database"


@pytest.mark.parametrize("op", [op for op in OPS if op not in OP_NO_POSITIVE])
async def test_op_is_allowed_to_whom_it_is_for(app, world, op):
    """The positive control: ada (the group's owner) for chat and message ops; cyd, an admin
    being rung, for call ops. Call ops that need cyd in the call
    join it first, and cyd leaves after, so no disconnect grace timer outlives the case."""
    kind = OP_SCOPED.get(op)
    person = world["cyd"] if kind == "call" else world["ada"]
    names = world.targets("owner")
    async with socket_to(app, person.token) as connection:
        socket = SocketClient(connection)
        assert (await socket.request("hello", {"resume_from": None}))["ok"] is True
        if op == "call.media":
            joined = await socket.request("call.join", {"call_id": world.group_call})
            assert joined["ok"] is True, joined
        reply = await socket.request(op, fill(OP_DATA[op], names))
        if kind == "call":
            await socket.request("call.leave", {"call_id": world.group_call})
    assert reply["ok"] is True, (op, reply)


@pytest.mark.parametrize("op", sorted(BLOCKED_MAY.keys() & set(OPS)))
async def test_blocked_may_still_op(app, world, op):
    reply = await run_op(app, world["blo"].token, op, fill(OP_DATA[op], world.targets("blocked")))
    assert reply["ok"] is True, (op, BLOCKED_MAY[op], reply)


@pytest.mark.parametrize("op", sorted(OP_SIGNED_IN))
async def test_signed_in_op_answers_anyone_signed_in(app, world, op):
    reply = await run_op(app, world["eve"].token, op, fill(OP_DATA[op], world.targets("signed_in")))
    assert reply["ok"] is True, (op, OP_SIGNED_IN[op], reply)


# --- replay and search ----------------------------------------------------------------------------


async def replay(app: Quart, token: str, resume_from: int) -> list[dict[str, Any]]:
    """Every stored event a socket resuming from `resume_from` is sent (up to a ping's reply)."""
    async with socket_to(app, token) as connection:
        socket = SocketClient(connection)
        assert (await socket.request("hello", {"resume_from": resume_from}))["ok"] is True
        await socket.request("ping", {})
    return [frame for frame in socket.frames if frame.get("type") == "event"]


def chat_of(event: dict[str, Any]) -> int | None:
    data = event["data"]
    chat = data.get("chat_id", data.get("id") if event["event"].startswith("chat.") else None)
    return int(chat) if chat is not None else None


async def test_a_removed_members_replay_holds_nothing_of_the_chat_after_the_removal(app, world):
    events = await replay(app, world["rex"].token, 0)
    assert events, "rex's replay is empty: the check below would prove nothing"
    after = [e for e in events if e["seq"] > world.removed_at_seq and chat_of(e) == world.group]
    assert after == [], after
    removal = [e for e in events if e["event"] == "member.removed"]
    assert [e["data"]["user_id"] for e in removal] == [world["rex"].id]
    # Nothing said in the group after the removal, in any event at all.
    assert "after the removal" not in json.dumps(events)
    # And the members do replay it (the same check on them would fail if the world were empty).
    bobs = await replay(app, world["bob"].token, world.removed_at_seq)
    assert any("after the removal" in json.dumps(e["data"]) for e in bobs)


async def test_a_removed_member_resuming_from_before_the_removal_gets_none_of_it(app, world):
    events = await replay(app, world["rex"].token, world.removed_at_seq - 1)
    assert [e["event"] for e in events if chat_of(e) == world.group] in ([], ["member.removed"])
    assert SECRET not in json.dumps(events)


async def search(app: Quart, token: str, **query: Any) -> tuple[int, Any]:
    client = app.test_client(use_cookies=False)
    response = await client.get(
        f"{API}/search",
        query_string=query,
        headers={"Authorization": f"Bearer {token}"},
        scheme="https",
    )
    return response.status_code, await response.get_json()


@pytest.mark.parametrize("who", ["rex", "eve"])
async def test_search_never_finds_the_chats_messages_for_outsiders(app, world, who):
    status, body = await search(app, world["bob"].token, q=SECRET)
    assert status == 200 and len(body["results"]) >= 2, body  # the members find them
    token = world[who].token
    status, body = await search(app, token, q=SECRET)
    assert status == 200 and body["results"] == [], body
    status, body = await search(app, token, q=SECRET[:5])  # a prefix
    assert status == 200 and body["results"] == [], body
    status, body = await search(app, token, q=SECRET, chat_id=world.group)
    assert status in {403, 404} or (status == 200 and body["results"] == []), body


async def test_a_removed_members_open_socket_stops_hearing_the_chat(app, worlds, world):
    """Live, not replay: cyd is online when she is removed; nothing after reaches her socket
    (bob's socket, still a member, hears it all first)."""
    hearth = worlds.hearth
    ada, bob, cyd = world["ada"], world["bob"], world["cyd"]
    members = [bob.id, cyd.id]
    chat = (await hearth.chats.create(ada.id, kind="group", title="Live", member_ids=members)).id
    async with socket_to(app, cyd.token) as gone, socket_to(app, bob.token) as stays:
        leaver, member = SocketClient(gone), SocketClient(stays)
        for socket in (leaver, member):
            assert (await socket.request("hello", {"resume_from": None}))["ok"] is True
        await hearth.chats.remove_member(ada.id, chat, cyd.id)
        await hearth.messaging.send(ada.id, chat, client_id="live-1", body=f"{SECRET} live")
        await hearth.chats.update(ada.id, chat, {"title": "Renamed"})
        while not any(f.get("event") == "chat.updated" for f in member.frames):
            await member.request("ping", {})
        await leaver.request("ping", {})
    heard = [f for f in leaver.frames if f.get("type") in {"event", "signal"}]
    assert any(f.get("event") == "member.removed" for f in heard), heard
    after = [f for f in heard if SECRET in json.dumps(f) or "Renamed" in json.dumps(f)]
    assert after == [], after
    told = [f for f in member.frames if SECRET in json.dumps(f)]
    assert told, "bob heard nothing: the check on cyd would prove nothing"
