"""One mapping from what went wrong to what the client is told, for REST and the WebSocket:
`{"code", "message"[, "fields"][, "retry_after"]}` with an HTTP status (REST uses it; a
WebSocket result carries the same body)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from appliance.services.errors import (
    BusyError,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    RateLimitedError,
    ServiceError,
    StorageFullError,
    TooLargeError,
    UnauthenticatedError,
    UnsupportedTypeError,
)

_STATUS: list[tuple[type[ServiceError], int]] = [
    (InvalidError, 400),
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (TooLargeError, 413),
    (UnsupportedTypeError, 415),
    (RateLimitedError, 429),
    (BusyError, 503),
    (StorageFullError, 507),
]


@dataclass(frozen=True, slots=True)
class WireError:
    status: int
    code: str
    message: str
    fields: list[dict[str, str]] | None = None
    retry_after: float | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields is not None:
            body["fields"] = self.fields
        if self.retry_after is not None:
            body["retry_after"] = round(self.retry_after, 1)
        return body


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    return [
        {"loc": ".".join(str(p) for p in item["loc"]) or "body", "message": item["msg"]}
        for item in error.errors(include_url=False, include_input=False)
    ]


def invalid(error: ValidationError, what: str = "request") -> WireError:
    fields = field_errors(error)
    summary = "; ".join(f"{f['loc']}: {f['message']}" for f in fields[:5])
    return WireError(400, "validation_error", f"Invalid {what}: {summary}", fields=fields)


def from_service(error: ServiceError) -> WireError:
    status = next((status for kind, status in _STATUS if isinstance(error, kind)), 400)
    fields = None
    if isinstance(error, InvalidError) and error.field:
        fields = [{"loc": error.field, "message": error.message}]
    retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
    return WireError(status, error.code, error.message, fields, retry_after)


INTERNAL = WireError(500, "internal", "Something went wrong on the server.")


# --- the error body as a schema: /openapi.json declares it on every operation -------------------


class FieldErrorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loc: str
    message: str


class ErrorDetailOut(BaseModel):
    """What went wrong: a stable `code`, a sentence for people, and with some codes the fields
    at fault (`validation_error`) or the seconds to wait (`rate_limited`)."""

    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    fields: list[FieldErrorOut] | None = None
    retry_after: float | None = None


class ErrorOut(BaseModel):
    """The one error body, for every status from 400 to 500 (`WireError.body()` inside)."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetailOut
