"""What routes promise, kept by construction: ids in paths are bounded like ids in bodies."""

from __future__ import annotations

from quart import Quart
from werkzeug.routing import IntegerConverter, Map

from appliance import limits


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


def install(app: Quart) -> None:
    """Before any blueprint: rules take their converters when they are added."""
    app.url_map.converters["int"] = IdConverter
