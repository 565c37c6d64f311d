"""What routes promise, kept by construction: ids in paths are bounded like ids in bodies, and
a route that answers 204 says so. web/openapi.py publishes both in /openapi.json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec

from quart import Quart, Response
from werkzeug.routing import IntegerConverter, Map

from appliance import limits
from appliance.web import openapi

P = ParamSpec("P")


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an id from 1 to ID_MAX, the bounds of `Id` in request
    bodies. Anything else (0, a sign, more digits, past ID_MAX) does not match the route, so
    it is a 404 before a handler or the database sees it."""

    regex = rf"\d{{1,{len(str(limits.ID_MAX))}}}"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int = limits.ID_MIN,
        max: int = limits.ID_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def no_content(func: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[Response]]:
    """A route that answers 204 with no body; /openapi.json declares the 204."""

    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        await func(*args, **kwargs)
        return Response(status=204)

    setattr(wrapper, openapi.NO_CONTENT_ATTRIBUTE, True)
    return wrapper


def install(app: Quart) -> None:
    """Before any blueprint: rules take their converters when they are added."""
    app.url_map.converters["int"] = IdConverter
    openapi.install(app)
