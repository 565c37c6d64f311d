"""JSON text from clients, parsed the same way for REST bodies and WebSocket frames.

Bad JSON of any shape is one error, `NotJSON`: not JSON at all, nested deeper than
`MAX_DEPTH` (Python 3.11 cannot even parse `[[[[...` 5,000 deep; 3.12+ can), or holding a lone UTF-16 surrogate escape
(`"\\ud800"`) that no UTF-8 reply, log line or SQLite text could carry.
"""

from __future__ import annotations

import json
import re
from typing import Any

# An escaped surrogate, the only way one gets into parsed JSON (real UTF-8 cannot hold one).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class NotJSON(ValueError):
    """The text is not JSON this server can use."""


MAX_DEPTH = 64  # no request of ours nests deeper; Python 3.12+ parses far deeper than 3.11


def loads(text: str | bytes) -> Any:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise NotJSON() from None
    check(value, text)
    return value


def check(value: Any, text: str | bytes) -> None:
    """Raise NotJSON for parsed JSON nested deeper than MAX_DEPTH (whatever the Python, the
    same answer) or holding a lone surrogate."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise NotJSON()
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    if may_hold_surrogates(text):
        check_unicode(value)  # pairs are fine (one character); lone halves are not


def may_hold_surrogates(text: str | bytes) -> bool:
    """Whether parsed text could hold a lone surrogate (cheap: most text has no escape)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return _SURROGATE_ESCAPE.search(text) is not None


def check_unicode(value: Any) -> None:
    """Raise NotJSON if a string in `value` (keys included) cannot be encoded as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise NotJSON() from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
