"""/openapi.json says what the server does: every operation declares its security (none for
public routes), its 204, the one error body for each error status, bounded path ids, and
limits that come from config (a message's length) as this server is configured."""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any, TypeVar

from quart import Quart
from quart_schema import QuartSchema
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing import BaseConverter, Rule
from werkzeug.routing.converters import NumberConverter

from appliance.api.current import EXTENSION_KEY
from appliance.api.errors import ErrorOut
from appliance.api.requests import MAX_LENGTH_FROM

NO_CONTENT_ATTRIBUTE = "_hearth_no_content"
RAW_BODY_ATTRIBUTE = "_hearth_raw_body"
PICTURE_BODY_ATTRIBUTE = "_hearth_picture_body"
BINARY_ATTRIBUTE = "_hearth_binary"
F = TypeVar("F", bound=Callable[..., Any])
REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_SCHEMA = {"$ref": REF_TEMPLATE.format(model=ErrorOut.__name__)}

# Every operation may answer these (the error mapper in api/errors.py and web/errors.py).
ERRORS = {
    400: "`validation_error` (with `fields`), `malformed_json` or `bad_request`.",
    401: "Not signed in, or signed in no longer: `unauthenticated`, `invalid_credentials`, "
    "`token_expired`, `invalid_token`, `token_reused`, `session_revoked`.",
    403: "Refused: `forbidden`, `bad_origin`, `account_disabled`, `not_a_member`, `blocked` "
    "and the other refusals in docs/protocol.md.",
    404: "`not_found`, or the more precise `chat_not_found`, `message_not_found`, ...",
    409: "A conflict: `conflict`, `username_taken`, `email_taken`, `last_admin`, `setup_done`, ...",
    429: "`rate_limited`, with `retry_after` (and the Retry-After header) in seconds.",
    500: "`internal`: something went wrong on the server; the details are in its log.",
}
# ...and these only where there is a request body.
BODY_ERRORS = {
    413: "`payload_too_large`: the body is over `limits.max_body_bytes`.",
    415: "`unsupported_media_type`: the body is not `application/json`.",
}


# An upload (a raw body, not JSON) and what only writing to disk can answer.
UPLOAD_ERRORS = {
    413: "`payload_too_large` (over `limits.max_image_bytes` or `limits.max_file_bytes`), "
    "`quota_exceeded` (over `limits.storage_per_user`) or `image_too_large` (too many pixels).",
    507: "`storage_full`: the appliance's disk is full; nothing was stored.",
}
PICTURE_ERRORS = {
    415: "`unsupported_media_type`: the body is not a JPEG, PNG, GIF or WebP picture.",
}
BINARY = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
RAW_BODY = {
    "description": "The file's bytes, as they are; its name percent-encoded in X-File-Name.",
    "required": True,
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}
PICTURE_BODY = {
    "description": "The picture's bytes, as they are (JPEG, PNG, GIF or WebP).",
    "required": True,
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def raw_request_body(func: F) -> F:
    """A route whose body is raw bytes (an upload): /openapi.json says so."""
    setattr(func, RAW_BODY_ATTRIBUTE, True)
    return func


def picture_request_body(func: F) -> F:
    """A route whose body is a picture's raw bytes (a profile or chat picture)."""
    setattr(func, RAW_BODY_ATTRIBUTE, True)
    setattr(func, PICTURE_BODY_ATTRIBUTE, True)
    return func


def binary_response(func: F) -> F:
    """A route answering with a file's bytes (any type), partly for a Range (206), or 304."""
    setattr(func, BINARY_ATTRIBUTE, True)
    return func


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


def _write_config_limits(node: Any, config: Any) -> None:
    """Replace each `x-max-length-from: "section.key"` with that setting's `maxLength`."""
    if isinstance(node, dict):
        setting = node.pop(MAX_LENGTH_FROM, None)
        if setting is not None:
            node["maxLength"] = reduce(getattr, setting.split("."), config)
        for value in node.values():
            _write_config_limits(value, config)
    elif isinstance(node, list):
        for value in node:
            _write_config_limits(value, config)


class HearthOpenAPI(OpenAPIProvider):
    def schema(self) -> dict[str, Any]:
        schema = super().schema()
        error = ErrorOut.model_json_schema(ref_template=REF_TEMPLATE, mode="serialization")
        components: dict[str, Any] = schema["components"]["schemas"]
        components.update(error.pop("$defs", {}))
        components[ErrorOut.__name__] = error
        _write_config_limits(schema, self._app.extensions[EXTENSION_KEY].config)
        return schema

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        view = self._app.view_functions[rule.endpoint]
        no_content = getattr(view, NO_CONTENT_ATTRIBUTE, False)
        raw_body = getattr(view, RAW_BODY_ATTRIBUTE, False)
        picture = getattr(view, PICTURE_BODY_ATTRIBUTE, False)
        binary = getattr(view, BINARY_ATTRIBUTE, False)
        for operations in paths.values():
            for method, operation in operations.items():
                if raw_body:
                    body = PICTURE_BODY if picture else RAW_BODY
                    operation = {**operation, "requestBody": body}
                operation = self._complete(
                    operation, no_content=no_content, raw_body=raw_body, binary=binary
                )
                if picture:
                    for status, description in PICTURE_ERRORS.items():
                        operation["responses"][status] = _error_response(description)
                operations[method] = operation
        return paths, components

    def _complete(
        self, operation: dict[str, Any], *, no_content: bool, raw_body: bool, binary: bool
    ) -> dict[str, Any]:
        responses: dict[int, Any] = dict(operation["responses"])
        if no_content:
            responses[204] = {"description": "Done; no content."}
        if binary:
            responses[200] = {"description": "The bytes.", "content": BINARY}
            responses[206] = {"description": "The range asked for.", "content": BINARY}
            responses[304] = {"description": "Not modified (If-None-Match)."}
            responses[416] = {"description": "The range is outside the file."}
        errors = {**ERRORS, **BODY_ERRORS} if "requestBody" in operation else ERRORS
        if raw_body:
            errors = {**ERRORS, **UPLOAD_ERRORS}
        for status, description in sorted(errors.items()):
            responses[status] = _error_response(description)
        # Routes behind login_required/admin_required carry their schemes; the rest are public.
        return {**operation, "responses": responses, "security": operation.get("security", [])}

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        if isinstance(converter, NumberConverter):
            if converter.min is not None:
                parameter["schema"]["minimum"] = converter.min
            if converter.max is not None:
                parameter["schema"]["maximum"] = converter.max
        return parameter


def install(app: Quart) -> None:
    extension: QuartSchema = app.extensions["QUART_SCHEMA"]
    extension.openapi_provider = HearthOpenAPI(app, extension)
