"""Security headers on every response and the Origin check on state-changing requests."""

from __future__ import annotations

from quart import Quart, Response, request

from appliance.api.auth import COOKIE_NAME
from appliance.services.errors import ForbiddenError, InvalidError

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self), geolocation=()",
}


STRICT_TRANSPORT_SECURITY = f"max-age={365 * 24 * 3600}"


def check_origin() -> None:
    """Refuse cross-site writes. Browsers send Origin on every POST/PUT/PATCH/DELETE, so a
    cookie-authenticated write without one did not come from our pages."""
    if request.method not in STATE_CHANGING:
        return
    origin = request.headers.get("Origin")
    if origin is None:
        if COOKIE_NAME in request.cookies and "Authorization" not in request.headers:
            raise ForbiddenError(
                "Requests with the session cookie must send Origin.", code="bad_origin"
            )
        return
    if origin != f"{request.scheme}://{request.host}":
        raise ForbiddenError("Cross-site requests are refused.", code="bad_origin")


def refuse_nul_in_query() -> None:
    """A NUL in the query string (`%00`): no person types one and PostgreSQL text cannot hold
    it, so it is refused before any search or lookup sees it, on either engine."""
    if b"%00" in request.query_string:
        raise InvalidError("The query holds a NUL character.")


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.scheme == "https":
        # Browsers ignore it over a certificate they were told to accept (the self-signed
        # default) and for IP addresses; with a trusted one (tls.cert_file) it keeps visitors
        # on HTTPS. No includeSubDomains, no preload: this is one LAN host.
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def install(app: Quart) -> None:
    app.before_request(check_origin)
    app.before_request(refuse_nul_in_query)
    app.after_request(add_security_headers)
