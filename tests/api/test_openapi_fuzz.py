"""Property-based run over /openapi.json (schemathesis): for every operation, a bounded number
of generated requests, valid and invalid, with a fixed seed, against the in-process app as a
signed-in admin. No answer is a 5xx, and every answer is one the schema declares: its status,
its content type and its body.

Hypothesis drives the cases from a worker thread; each request goes to the test's own event
loop (where the app and its database live) and the thread waits for the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from appliance.context import Hearth
from tests.support.app import Client, make_user
from tests.support.people import AppPerson as Person
from tests.support.responses import json_of

SEED = 13
# Cases per operation and mode: ~56 operations, so about 56 * (8 + 4) requests in all.
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 4}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
BASE = "https://localhost"
# The fuzzer's own credentials are replaced by the admin's (a fresh session per operation).
DROPPED_HEADERS = {"authorization", "cookie", "x-schemathesis-testcaseid"}
Send = Callable[[Any], Any]


async def _send(app: Any, case: Any, token: str) -> Any:
    """One generated case through the app's test client; the answer as schemathesis sees it."""
    kwargs = case.as_transport_kwargs(base_url=BASE)
    headers = {k: v for k, v in kwargs["headers"].items() if k.lower() not in DROPPED_HEADERS}
    headers["Authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body["data"] = data.encode() if isinstance(data, str) else data
    url = urlsplit(kwargs["url"])
    started = time.perf_counter()
    response = await app.test_client(use_cookies=False).open(
        url.path,
        method=kwargs["method"],
        headers=headers,
        query_string=kwargs.get("params") or None,
        scheme="https",
        **body,
    )
    content = await response.get_data()
    answer_headers: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        answer_headers.setdefault(name.lower(), []).append(value)
    sent = requests.Request(kwargs["method"], kwargs["url"], headers=headers).prepare()
    return schemathesis.Response(
        status_code=response.status_code,
        headers=answer_headers,
        content=content,
        request=sent,
        elapsed=time.perf_counter() - started,
        verify=True,
    )


def _fuzz(operation: Any, mode: Any, send: Send) -> int:
    """Run one operation's cases in this (worker) thread; returns how many were sent."""
    sent = 0

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES[mode],
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal sent
        response = send(case)
        sent += 1
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Nothing in this operation can be made invalid (no parameters, or only free text).
        assert mode is GenerationMode.NEGATIVE, operation.label
    return sent


async def _seed_data(hearth: Hearth, client: Client, admin: dict[str, Any]) -> None:
    """Small ids that exist, so some cases reach past the 404s: users 1-2, a direct chat and a
    group with messages, a contact request."""
    ada = Person(admin["user"]["id"], "admin", client)
    bob = await make_user(hearth, "bob")
    direct = await json_of(await ada.post("/chats", json={"kind": "direct", "user_id": bob}), 201)
    group = await json_of(await ada.post("/chats", json={"kind": "group", "title": "Kitchen"}), 201)
    for chat in (direct, group):
        await ada.send(chat["id"], "hello @bob")
    await ada.post("/contacts", json={"user_id": bob})


async def test_every_operation_answers_as_its_schema_says(hearth, app, client, admin):
    spec = await json_of(await client.get("/openapi.json"), 200)
    await _seed_data(hearth, client, admin)
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50
    loop = asyncio.get_running_loop()
    admin_id = admin["user"]["id"]

    async def fresh_token() -> str:
        """An active admin with a new session: an earlier case may have logged out or
        disabled the account."""
        user = await hearth.accounts.get(admin_id)
        if user.disabled or not user.is_admin:
            await hearth.accounts.set_flags(admin_id, disabled=False, is_admin=True)
            user = await hearth.accounts.get(admin_id)
        issued = await hearth.sessions.start(user, "fuzz", "127.0.0.1")
        return issued.access_token

    def on_loop(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=120)

    def fuzz_all() -> dict[str, int]:
        counts = {"operations": len(operations), "requests": 0}
        for operation in operations:
            for mode in EXAMPLES:
                token = on_loop(fresh_token())
                counts["requests"] += _fuzz(
                    operation, mode, lambda case, t=token: on_loop(_send(app, case, t))
                )
        return counts

    started = time.perf_counter()
    counts = await asyncio.to_thread(fuzz_all)
    elapsed = time.perf_counter() - started
    print(
        f"fuzzed {counts['operations']} operations, {counts['requests']} requests, {elapsed:.1f}s"
    )
    assert counts["requests"] >= len(operations) * EXAMPLES[GenerationMode.POSITIVE]
