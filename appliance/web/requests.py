"""The request class: JSON bodies that are not JSON get clear errors, not silence."""

from __future__ import annotations

from typing import Any

from quart import Request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from appliance.api import jsontext


class MalformedJSONError(BadRequest):
    description = "The request body is not valid JSON."


class HearthRequest(Request):
    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not (force or silent or self.is_json):
            raise UnsupportedMediaType("Send the request body as application/json.")
        try:
            value = await super().get_json(force=force, silent=silent, cache=cache)
            if jsontext.may_hold_surrogates(await self.get_data(cache=True)):
                jsontext.check_unicode(value)  # a lone surrogate ("\ud800") is not text
            return value
        except (UnicodeDecodeError, RecursionError, jsontext.NotJSON):
            # RecursionError: nested deeper than the parser goes (`[[[[...` 5,000 deep).
            if silent:
                return None
            raise MalformedJSONError() from None

    def on_json_loading_failed(self, error: Exception) -> Any:
        raise MalformedJSONError()
