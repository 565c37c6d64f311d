"""Security headers on every response, the Origin check on writes, and the public odds and ends
(/health, /openapi.json, /docs, unknown paths)."""

from __future__ import annotations

import pytest

from appliance.app import create_app
from tests.support.app import PASSWORD, bare, make_settings, make_user, running, with_cookie
from tests.support.responses import error_of, json_of, session_cookie, text_of

EVIL = "https://evil.example"

# (method, path, json body or None): a spread of successes and failures, API and not.
RESPONSES = [
    ("GET", "/api/v1/info", None),
    ("GET", "/api/v1/me", None),
    ("GET", "/api/v1/nope", None),
    ("POST", "/api/v1/auth/login", {"login": 1}),
    ("POST", "/api/v1/auth/refresh", {"refresh_token": "nope"}),
    ("GET", "/health", None),
    ("GET", "/", None),
    ("GET", "/login", None),
    ("GET", "/openapi.json", None),
    ("GET", "/no-such-file.js", None),
]


async def send(client, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    return await client.request(method, path, **kwargs)


# --- headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), RESPONSES)
async def test_every_response_has_a_content_security_policy(client, method, path, body):
    response = await send(client, method, path, body)
    policy = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize(("method", "path", "body"), RESPONSES)
async def test_every_response_has_nosniff_and_frame_options(client, method, path, body):
    response = await send(client, method, path, body)
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") in {"DENY", "SAMEORIGIN"}


@pytest.mark.parametrize(
    ("method", "path", "body"), [r for r in RESPONSES if r[1].startswith("/api/")]
)
async def test_api_responses_are_not_cached(client, method, path, body):
    response = await send(client, method, path, body)
    assert "no-store" in response.headers.get("Cache-Control", "")


async def test_login_result_is_not_cached(hearth, client, admin):
    response = await client.get("/api/v1/me")
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")


async def test_security_headers_on_a_413(tmp_path):
    async with running(tmp_path, limits={"max_body_bytes": 1024}) as (_, _, client):
        response = await client.post(
            "/api/v1/auth/login", json={"login": "x", "password": "p" * 5000}
        )
        assert response.status_code == 413
        assert "script-src 'self'" in response.headers.get("Content-Security-Policy", "")
        assert "no-store" in response.headers.get("Cache-Control", "")


# --- Origin check --------------------------------------------------------------------------------


async def test_cookie_write_from_a_foreign_origin_is_refused(hearth, client, admin):
    response = await client.patch("/api/v1/me", json={"bio": "pwned"}, headers={"Origin": EVIL})
    await error_of(response, 403, "bad_origin")
    assert (await hearth.accounts.get(admin["user"]["id"])).bio == ""


async def test_cookie_write_without_origin_is_refused(hearth, client, admin):
    response = await client.raw.open(
        "/api/v1/me", method="PATCH", json={"bio": "pwned"}, scheme="https"
    )
    await error_of(response, 403, "bad_origin")
    assert (await hearth.accounts.get(admin["user"]["id"])).bio == ""


async def test_cookie_logout_from_a_foreign_origin_is_refused(client, admin):
    response = await client.post("/api/v1/auth/logout", headers={"Origin": EVIL})
    await error_of(response, 403, "bad_origin")
    assert (await client.get("/api/v1/me")).status_code == 200


@pytest.mark.parametrize(
    "origin",
    ["http://localhost", "https://localhost:8443", "https://localhost.evil.example", "null"],
)
async def test_origin_must_match_scheme_host_and_port(client, admin, origin):
    response = await client.post("/api/v1/admin/invites", json={}, headers={"Origin": origin})
    await error_of(response, 403, "bad_origin")


async def test_cookie_write_with_our_origin_is_accepted(client, admin):
    response = await client.patch("/api/v1/me", json={"bio": "fine"})
    assert (await json_of(response, 200))["bio"] == "fine"


async def test_cookie_read_needs_no_origin(client, admin):
    response = await client.raw.open("/api/v1/me", method="GET", scheme="https")
    assert response.status_code == 200


async def test_login_posted_from_a_foreign_site_is_refused(hearth, app):
    """Login CSRF: a foreign page must not sign the visitor into an account of its choosing."""
    await make_user(hearth, "mallory")
    response = await bare(
        app,
        "POST",
        "/api/v1/auth/login",
        json={"login": "mallory", "password": PASSWORD},
        headers={"Origin": EVIL},
    )
    await error_of(response, 403, "bad_origin")
    assert not response.headers.getlist("Set-Cookie")


async def test_setup_posted_from_a_foreign_site_is_refused(hearth, app):
    token = await hearth.accounts.setup_token()
    response = await bare(
        app,
        "POST",
        "/api/v1/setup",
        json={"token": token, "username": "ada", "password": PASSWORD},
        headers={"Origin": EVIL},
    )
    await error_of(response, 403, "bad_origin")
    assert await hearth.accounts.setup_needed() is True


async def test_stolen_cookie_without_origin_cannot_write(app, hearth):
    token = await hearth.accounts.setup_token()
    response = await bare(
        app,
        "POST",
        "/api/v1/setup",
        json={"token": token, "username": "ada", "password": PASSWORD},
        headers={"Origin": "https://localhost"},
    )
    cookie = session_cookie(response)
    accepted = await with_cookie(app, "PATCH", "/api/v1/me", cookie, json={"bio": "ok"})
    assert accepted.status_code == 200
    refused = await with_cookie(
        app, "PATCH", "/api/v1/me", cookie, json={"bio": "x"}, headers={"Origin": EVIL}
    )
    await error_of(refused, 403, "bad_origin")


# --- errors and public endpoints -----------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), RESPONSES)
async def test_error_bodies_never_contain_a_traceback(client, method, path, body):
    response = await send(client, method, path, body)
    text = await text_of(response)
    assert "Traceback" not in text
    assert 'File "/' not in text


async def test_internal_errors_are_the_error_shape_without_details(tmp_path):
    """An unexpected exception answers 500 in the error shape, with no detail of the code."""
    app = create_app(make_settings(tmp_path / "data"))

    async def crash() -> str:
        raise RuntimeError("secret internals /work/main/appliance")

    app.add_url_rule("/api/v1/test-crash", "test_crash", crash)
    async with app.test_app():
        response = await app.test_client().get("/api/v1/test-crash", scheme="https")
        error = await error_of(response, 500, "internal")
        text = await text_of(response)
    assert "Traceback" not in text
    assert "secret internals" not in text
    assert "RuntimeError" not in error["message"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_health_is_ok(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}
    assert response.headers["Content-Type"].startswith("application/json")


async def test_openapi_lists_the_auth_endpoints(client):
    body = await json_of(await client.get("/openapi.json"), 200)
    for path in (
        "/api/v1/auth/login",
        "/api/v1/auth/signup",
        "/api/v1/me",
        "/api/v1/admin/invites",
    ):
        assert path in body["paths"], sorted(body["paths"])
    assert "post" in body["paths"]["/api/v1/auth/login"]


async def test_docs_page_is_html(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_unknown_api_path_is_a_json_404(client):
    response = await client.get("/api/v1/nope")
    assert response.headers["Content-Type"].startswith("application/json")
    await error_of(response, 404, "not_found")


async def test_unknown_api_path_is_not_the_web_app(client, admin):
    response = await client.get("/api/v1/nope/deeper")
    await error_of(response, 404, "not_found")


async def test_wrong_method_on_an_api_path_is_a_json_error(client):
    response = await client.get("/api/v1/auth/login")
    assert response.status_code in {404, 405}
    assert set((await response.get_json())["error"]) >= {"code", "message"}


async def test_app_routes_serve_the_web_app(client):
    for path in ("/", "/login", "/signup", "/setup", "/reset", "/settings"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"].startswith("text/html"), path


async def test_path_traversal_is_refused(client):
    response = await client.get("/..%2f..%2fappliance/config.py")
    assert response.status_code == 404
    assert "pydantic" not in await text_of(response)
