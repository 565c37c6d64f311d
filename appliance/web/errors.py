"""One error shape for every failure: {"error": {"code", "message"[, "fields"]}}."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response, g, jsonify, request
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import (
    HTTPException,
    MethodNotAllowed,
    NotFound,
    RequestedRangeNotSatisfiable,
)

from appliance.api.errors import INTERNAL, WireError, from_service, invalid
from appliance.services.errors import ServiceError
from appliance.web.pages import route_methods
from appliance.web.requests import MalformedJSONError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    429: "rate_limited",
}


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    response = jsonify({"error": body})
    response.status_code = status
    return response


def wire_response(error: WireError) -> Response:
    response = jsonify({"error": error.body()})
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(error.retry_after + 0.5)))
    return response


async def _service_error(error: ServiceError) -> Response:
    return wire_response(from_service(error))


async def _schema_error(error: RequestSchemaValidationError) -> Response:
    cause = error.validation_error
    if isinstance(cause, ValidationError):
        return wire_response(invalid(cause))
    if isinstance(cause, TypeError):
        return error_response(400, "validation_error", "The request body must be a JSON object.")
    return error_response(400, "validation_error", "Invalid request.")


async def _http_error(error: HTTPException) -> Response:
    if isinstance(error, MethodNotAllowed) and not route_methods():
        # Only the GET-only file fallback matched: the path is no route, whatever the method.
        error = NotFound()
    status = error.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    message = error.description or error.name
    if isinstance(error, MalformedJSONError):
        code = "malformed_json"
    elif status == 404:
        message = "Not found."
    elif status == 413:
        message = "The request body is too large."
    response = error_response(status, code, message)
    if isinstance(error, RequestedRangeNotSatisfiable) and error.length is not None:
        response.headers["Content-Range"] = f"bytes */{error.length}"
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


async def _unexpected(error: Exception) -> Response:
    log.exception(
        "unhandled error in %s %s [request %s]", request.method, request.path, g.get("request_id")
    )
    return wire_response(INTERNAL)


def install(app: Quart) -> None:
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(RequestSchemaValidationError, _schema_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
