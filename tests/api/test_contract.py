"""The published contract is the server's: ids in paths are bounded like ids in bodies, every
operation in /openapi.json declares its security, its success and error answers, and every
length limit the schema publishes is the one the server enforces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.routing import IntegerConverter

from appliance import limits
from appliance.api.errors import ErrorOut
from appliance.web.contract import IdConverter
from tests.support.app import PASSWORD, Client, bare, make_user
from tests.support.app import signed_in as sign_in
from tests.support.responses import error_of, json_of

HUGE_ID = "372399006615136649944760320"  # from the issue: OverflowError in SQLite
OUT_OF_RANGE = ["0", str(limits.ID_MAX + 1), HUGE_ID, "9" * 5000]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
SIGNED_IN = [{"bearer": []}, {"cookie": []}]


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


async def test_path_ids_are_published_with_their_bounds(client):
    spec = await json_of(await client.get("/openapi.json"), 200)
    integers = [
        parameter["schema"]
        for operations in spec["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path" and parameter["schema"].get("type") == "integer"
    ]
    assert len(integers) >= 25
    for schema in integers:
        assert schema["minimum"] == limits.ID_MIN
        assert schema["maximum"] == limits.ID_MAX


# --- what each operation declares -------------------------------------------------------------


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def sample_path(path: str) -> str:
    return re.sub(r"\{[^}]*_id\}", "1", re.sub(r"\{(code|emoji|session_id)\}", "x", path))


async def test_every_operation_declares_the_error_body(client):
    spec = await json_of(await client.get("/openapi.json"), 200)
    schemas = spec["components"]["schemas"]
    assert schemas["ErrorOut"]["required"] == ["error"]
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        assert any(status.startswith("2") for status in responses), (method, path)
        wanted = {"400", "401", "403", "404", "409", "429", "500"}
        if "requestBody" in operation:
            # A JSON body may be too large or not JSON; an upload takes any bytes, and may
            # also find the disk full.
            json_body = "application/json" in operation["requestBody"]["content"]
            wanted |= {"413", "415"} if json_body else {"413", "507"}
        assert wanted <= set(responses), (method, path, sorted(responses))
        for status in wanted:
            content = responses[status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorOut"}


async def test_routes_that_answer_204_declare_it(client):
    spec = await json_of(await client.get("/openapi.json"), 200)
    declared = {(m, p) for m, p, op in operations(spec) if "204" in op["responses"]}
    assert ("POST", "/api/v1/auth/logout") in declared
    assert ("DELETE", "/api/v1/messages/{message_id}") in declared
    assert len(declared) >= 15
    for method, path in declared:
        assert set(spec["paths"][path][method.lower()]["responses"]) & {"200", "201"} == set()


async def test_security_declared_is_security_enforced(app, client):
    """Each operation says which schemes sign it in (none for public ones), and the server
    agrees: without credentials a signed-in operation is 401, a public one never is."""
    spec = await json_of(await client.get("/openapi.json"), 200)
    schemes = set(spec["components"]["securitySchemes"])
    public = set()
    for method, path, operation in operations(spec):
        assert "security" in operation, (method, path)
        for requirement in operation["security"]:
            assert set(requirement) <= schemes, (method, path, requirement)
        kwargs = {"json": {}} if "requestBody" in operation else {}
        response = await bare(app, method, sample_path(path), **kwargs)
        code = (await response.get_json() or {}).get("error", {}).get("code")
        if operation["security"]:
            assert operation["security"] == SIGNED_IN, (method, path)
            assert (response.status_code, code) == (401, "unauthenticated"), (method, path)
        else:
            public.add((method, path))
            assert code != "unauthenticated", (method, path)
    assert public == {
        ("GET", "/api/v1/info"),
        ("POST", "/api/v1/setup"),
        ("POST", "/api/v1/auth/signup"),
        ("GET", "/api/v1/invites/{code}"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/reset"),
        ("POST", "/api/v1/auth/forgot"),
    }


async def test_error_bodies_are_the_declared_error_schema(client, admin):
    """The schema in /openapi.json is the shape the server sends (each kind of error)."""
    bodies = [
        await client.get("/api/v1/nope"),
        await client.post("/api/v1/chats", json={"kind": 5}),
        await client.post("/api/v1/chats", data=b"{", headers={"Content-Type": "application/json"}),
        await client.post("/api/v1/chats", data=b"{}", headers={"Content-Type": "text/plain"}),
        await client.get("/api/v1/chats/5"),
        await client.delete("/api/v1/info"),
    ]
    for response in bodies:
        assert response.status_code >= 400
        ErrorOut.model_validate(await response.get_json())


# --- length limits: the schema's are the server's --------------------------------------------


def string_limit(schema: dict[str, Any]) -> int | None:
    if "maxLength" in schema:
        return int(schema["maxLength"])
    for option in schema.get("anyOf", []):
        if "maxLength" in option:
            return int(option["maxLength"])
    return None


def published_limits(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, int]]:
    """{(method, path): {field: maxLength}} for request body fields and query parameters."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    for method, path, operation in operations(spec):
        fields: dict[str, int] = {}
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        for name, schema in body.get("schema", {}).get("properties", {}).items():
            if (limit := string_limit(schema)) is not None:
                fields[name] = limit
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and (limit := string_limit(parameter["schema"])):
                fields[parameter["name"]] = limit
        if fields:
            found[(method, path)] = fields
    return found


def address(length: int, letter: str) -> str:
    """A valid email address exactly `length` characters long."""
    local = letter * min(limits.EMAIL_LOCAL_MAX, length - 2)
    return f"{local}@{'d' * (length - 1 - len(local))}"


def refused_for_length(status: int, body: Any, field: str) -> bool:
    if status != 400 or "fields" not in body.get("error", {}):
        return False
    return any(
        item["loc"] == field and "character" in item["message"].lower()
        for item in body["error"]["fields"]
    )


class LimitCheck:
    """Runs, for one operation: each `opaque` value at its limit is not refused for length
    (it is wrong in another way, like a made-up token); all `at_limit` values at once
    succeed; and each field one character over its limit is refused, naming the field."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.published = published_limits(spec)
        self.checked: set[tuple[str, str]] = set()

    async def run(
        self,
        client: Client,
        method: str,
        path: str,
        *,
        base: dict[str, Any],
        at_limit: dict[str, str],
        opaque: dict[str, str] | None = None,
        ok: int = 200,
        url: str | None = None,
    ) -> Any:
        opaque = opaque or {}
        published = self.published[(method, path)]
        assert set(published) == set(at_limit) | set(opaque), (method, path, published)
        for field, value in {**at_limit, **opaque}.items():
            assert len(value) == published[field], (method, path, field)
        self.checked.add((method, path))
        where = "query_string" if method == "GET" else "json"

        async def send(values: dict[str, str]) -> tuple[int, Any]:
            response = await client.request(method, url or path, **{where: {**base, **values}})
            return response.status_code, await response.get_json()

        for field, value in opaque.items():
            status, body = await send({field: value})
            assert not refused_for_length(status, body, field), (method, path, field, body)
        # Refusals first: the success may end what the client may do (DELETE /me).
        for field, value in {**at_limit, **opaque}.items():
            status, body = await send({field: value + value[-1]})
            assert status == 400, (method, path, field, status, body)
            assert field in [item["loc"] for item in body["error"]["fields"]], (field, body)
        status, success = await send(at_limit)
        assert status == ok, (method, path, status, success)
        return success


async def test_every_published_length_limit_is_the_servers(hearth, client, new_client):
    spec = await json_of(await client.get("/openapi.json"), 200)
    check = LimitCheck(spec)
    password = "p" * limits.PASSWORD_MAX
    email = address(limits.EMAIL_MAX, "a")
    device = "v" * 200

    await check.run(
        client,
        "POST",
        "/api/v1/setup",
        base={
            "token": await hearth.accounts.setup_token(),
            "username": "ada",
            "password": PASSWORD,
        },
        opaque={"token": "t" * 200},
        at_limit={
            "username": "s" * limits.USERNAME_MAX,
            "password": password,
            "display_name": "D" * limits.DISPLAY_NAME_MAX,
            "email": email,
            "device": device,
        },
        ok=201,
    )
    invite = await hearth.accounts.create_invite(None, uses=10)
    grace = new_client()
    await check.run(
        grace,
        "POST",
        "/api/v1/auth/signup",
        base={"username": "grace", "password": PASSWORD, "invite": invite.code},
        opaque={"invite": "i" * 2000},
        at_limit={
            "username": "g" * limits.USERNAME_MAX,
            "password": password,
            "display_name": "G" * limits.DISPLAY_NAME_MAX,
            "email": address(limits.EMAIL_MAX, "g"),
            "device": device,
        },
        ok=201,
    )
    signed_in = await check.run(
        new_client(),
        "POST",
        "/api/v1/auth/login",
        base={"login": "nobody", "password": PASSWORD},
        at_limit={"login": email, "password": password, "device": device},
    )
    await check.run(
        new_client(),
        "POST",
        "/api/v1/auth/refresh",
        base={"refresh_token": signed_in["refresh_token"]},
        opaque={"refresh_token": "r" * 200},
        at_limit={},
    )
    await check.run(
        new_client(),
        "POST",
        "/api/v1/auth/forgot",
        base={"login": "nobody"},
        at_limit={"login": email},
        ok=409,  # past validation: this Hearth has no SMTP (email_not_set_up)
    )
    grace_id = (await hearth.accounts.get_by_username("g" * limits.USERNAME_MAX)).id
    link = await hearth.accounts.create_reset_link(grace_id)
    await check.run(
        new_client(),
        "POST",
        "/api/v1/auth/reset",
        base={"token": link.token, "password": PASSWORD},
        opaque={"token": "t" * 200},
        at_limit={"password": password},
        ok=204,
    )
    await check.run(
        client,
        "PATCH",
        "/api/v1/me",
        base={},
        at_limit={
            "display_name": "D" * limits.DISPLAY_NAME_MAX,
            "bio": "b" * limits.BIO_MAX,
            "status_text": "s" * limits.STATUS_TEXT_MAX,
            "email": email,
        },
    )
    await check.run(
        client,
        "POST",
        "/api/v1/me/password",
        base={"current_password": password, "new_password": password},
        at_limit={"current_password": password, "new_password": password},
        ok=204,
    )
    await check.run(client, "GET", "/api/v1/users", base={}, at_limit={"q": "s" * 100})
    await check.run(client, "GET", "/api/v1/channels", base={}, at_limit={"q": "c" * 100})
    await check.run(
        client, "GET", "/api/v1/admin/users", base={}, at_limit={"q": "a" * limits.ADMIN_SEARCH_MAX}
    )
    leaving = new_client()
    await make_user(hearth, "leaving", password)
    await sign_in(hearth, leaving, "leaving")
    await check.run(
        leaving, "DELETE", "/api/v1/me", base={}, at_limit={"password": password}, ok=204
    )
    await check.run(client, "GET", "/api/v1/chats", base={}, at_limit={}, opaque={"cursor": "9" * 64})
    await check.run(client, "GET", "/api/v1/search", base={}, at_limit={"q": "w" * 200})
    chat = await check.run(
        client,
        "POST",
        "/api/v1/chats",
        base={"kind": "group", "title": "Kitchen"},
        at_limit={"title": "T" * limits.TITLE_MAX, "topic": "t" * limits.TOPIC_MAX},
        ok=201,
    )
    await check.run(
        client,
        "PATCH",
        "/api/v1/chats/{chat_id}",
        url=f"/api/v1/chats/{chat['id']}",
        base={},
        at_limit={"title": "U" * limits.TITLE_MAX, "topic": "u" * limits.TOPIC_MAX},
    )
    max_length = hearth.config.messages.max_length
    message = await check.run(
        client,
        "POST",
        "/api/v1/chats/{chat_id}/messages",
        url=f"/api/v1/chats/{chat['id']}/messages",
        base={"client_id": "c-1", "body": "hello"},
        at_limit={"client_id": "k" * limits.CLIENT_ID_MAX, "body": "m" * max_length},
        ok=201,
    )
    await check.run(
        client,
        "PATCH",
        "/api/v1/messages/{message_id}",
        url=f"/api/v1/messages/{message['id']}",
        base={"body": "hello"},
        at_limit={"body": "n" * max_length},
    )
    assert check.checked == set(check.published), set(check.published) - check.checked


async def test_the_message_limit_published_is_this_servers_config(tmp_path):
    from tests.support.app import running

    async with running(tmp_path, messages={"max_length": 250}) as (_, _, client):
        spec = await json_of(await client.get("/openapi.json"), 200)
    assert published_limits(spec)[("POST", "/api/v1/chats/{chat_id}/messages")]["body"] == 250
