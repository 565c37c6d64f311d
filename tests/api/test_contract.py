"""The published contract is the server's: ids in paths are bounded like ids in bodies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from accounts_helpers import error_of
from werkzeug.routing import IntegerConverter

from appliance import limits
from appliance.web.contract import IdConverter

HUGE_ID = "372399006615136649944760320"  # from the issue: OverflowError in SQLite
OUT_OF_RANGE = ["0", str(limits.ID_MAX + 1), HUGE_ID, "9" * 5000]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


# --- ids in paths ----------------------------------------------------------------------------


def id_routes(app: Any) -> Iterator[tuple[str, Any]]:
    """(method, rule) for every HTTP route with an integer in its path."""
    for rule in app.url_map.iter_rules():
        converters = rule._converters.values()
        if rule.websocket or not any(isinstance(c, IntegerConverter) for c in converters):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def path_with(rule: Any, id_value: str) -> str:
    """The rule's path with `id_value` for each integer and a plain word for the rest."""

    def fill(match: re.Match[str]) -> str:
        integer = isinstance(rule._converters[match.group(1)], IntegerConverter)
        return id_value if integer else "x"

    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", fill, rule.rule)


def test_every_integer_in_a_route_is_a_bounded_id(app):
    converters = [
        (rule.rule, converter)
        for rule in app.url_map.iter_rules()
        for converter in rule._converters.values()
        if isinstance(converter, IntegerConverter)
    ]
    assert len(list(id_routes(app))) >= 25
    for rule, converter in converters:
        assert isinstance(converter, IdConverter), rule
        assert (converter.min, converter.max) == (limits.ID_MIN, limits.ID_MAX), rule


@pytest.mark.parametrize("id_value", OUT_OF_RANGE, ids=["zero", "max+1", "huge", "5000-digits"])
async def test_an_out_of_range_id_is_404_on_every_route(client, admin, id_value):
    """Signed in, with a well-formed body: nothing stands between the id and the handler but
    the route itself, and the route refuses it."""
    routes = list(id_routes(client.raw.app))
    assert len(routes) >= 25
    for method, rule in routes:
        kwargs = {"json": {}} if method in WRITES else {}
        response = await client.request(method, path_with(rule, id_value), **kwargs)
        body = await response.get_json()
        assert response.status_code == 404, (method, rule.rule, response.status_code, body)
        assert body["error"]["code"] == "not_found", (method, rule.rule, body)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/calls/{}", "call_not_found"),
        ("/api/v1/chats/{}", "chat_not_found"),
        ("/api/v1/messages/{}/edits", "message_not_found"),
    ],
)
async def test_the_largest_id_reaches_the_handler(client, admin, path, code):
    await error_of(await client.get(path.format(limits.ID_MAX)), 404, code)
