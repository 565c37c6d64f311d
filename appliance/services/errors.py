"""Domain errors. Each has a stable machine code; the web layer maps kinds to HTTP statuses."""

from __future__ import annotations


class ServiceError(Exception):
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidError(ServiceError):
    """The request is well-formed but breaks a rule (400)."""

    code = "validation_error"

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code)
        self.field = field


class UnauthenticatedError(ServiceError):
    code = "unauthenticated"


class ForbiddenError(ServiceError):
    code = "forbidden"


class NotFoundError(ServiceError):
    code = "not_found"


class ConflictError(ServiceError):
    code = "conflict"


class TooLargeError(ServiceError):
    """Over a size limit (413): a file over its type's limit, over the person's quota, or a
    picture with too many pixels."""

    code = "payload_too_large"


class UnsupportedTypeError(ServiceError):
    """The bytes are not of a kind this request takes (415): a profile picture that is not a
    picture."""

    code = "unsupported_media_type"


class RateLimitedError(ServiceError):
    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many attempts; try again in {max(1, round(retry_after))} s.")
        self.retry_after = retry_after


class BusyError(ServiceError):
    """Another process's write crossed this one and PostgreSQL undid it (parallel writes
    only, and rare; a send is first run again, up to three times): nothing was stored; the
    client may simply try again (503)."""

    code = "busy"

    def __init__(self) -> None:
        super().__init__("Hearth is busy and did not save this; try again.")


class StorageFullError(ServiceError):
    """The appliance's disk is full: the write was not stored (507). Reads still work."""

    code = "storage_full"

    def __init__(self) -> None:
        super().__init__(
            "Hearth's storage is full, so this was not saved. Ask the admin to free some space."
        )
