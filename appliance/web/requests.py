"""The request class: JSON bodies that are not JSON get clear errors, not silence."""

from __future__ import annotations

import re
from typing import Any

from quart import Request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from appliance.api import jsontext


class MalformedJSONError(BadRequest):
    description = "The request body is not valid JSON."


# Where a profile or group picture is sent (PUT, the image as the body).
PICTURE_PATH = re.compile(r"/api/v1/(?:me|chats/[0-9]+)/avatar")


class HearthRequest(Request):
    # Uploads stream past the JSON body limit (their own limits are checked as they arrive):
    # `for_uploads` makes the class that allows them this much, on the upload path, and
    # pictures the image limit on the avatar paths.
    upload_path = ""
    upload_limit: int | None = None
    picture_limit: int | None = None

    def __init__(self, method: str, scheme: str, path: str, *args: Any, **kwargs: Any) -> None:
        if method == "POST" and path == self.upload_path and self.upload_limit is not None:
            kwargs["max_content_length"] = self.upload_limit
        elif method == "PUT" and self.picture_limit is not None and PICTURE_PATH.fullmatch(path):
            kwargs["max_content_length"] = self.picture_limit
        super().__init__(method, scheme, path, *args, **kwargs)

    @classmethod
    def for_uploads(cls, path: str, limit: int, picture_limit: int) -> type[HearthRequest]:
        limits = {"upload_path": path, "upload_limit": limit, "picture_limit": picture_limit}
        return type(cls.__name__, (cls,), limits)

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not (force or silent or self.is_json):
            raise UnsupportedMediaType("Send the request body as application/json.")
        try:
            value = await super().get_json(force=force, silent=silent, cache=cache)
            jsontext.check(value, await self.get_data(cache=True))  # depth, lone surrogates
            return value
        except (UnicodeDecodeError, RecursionError, jsontext.NotJSON):
            # RecursionError: nested deeper than the parser goes (`[[[[...` 5,000 deep).
            if silent:
                return None
            raise MalformedJSONError() from None

    def on_json_loading_failed(self, error: Exception) -> Any:
        raise MalformedJSONError()
