"""The store's SQL, as written for SQLite, in the form psycopg sends to PostgreSQL.

Store functions are written once, with SQLite's parameters: `?` in order, `?N` by number (a
value used twice), or `:name`. psycopg takes `%s` or `%(name)s`, and a literal `%` doubled.
`translate` rewrites a statement once (cached) and says how to pass its parameters; the SQL
itself is portable (the store avoids what only one engine accepts, and the few statements that
must differ say so where they are).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_REST = _NAME_START | frozenset("0123456789")


class SqlTextError(ValueError):
    """A statement mixes `:name` with `?` parameters, which neither engine allows."""


@dataclass(frozen=True, slots=True)
class Statement:
    text: str  # psycopg's form
    numbered: bool  # `?N` (or a `?` among them): parameters go as {"pN": value}

    def parameters(self, values: Sequence[Any] | Mapping[str, Any]) -> Any:
        if self.numbered and not isinstance(values, Mapping):
            return {f"p{number}": value for number, value in enumerate(values, 1)}
        return values


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> Statement:
    """`sql` with psycopg's placeholders. Quoted strings, quoted names and comments are kept
    as they are (a `?` in a string is not a parameter); PostgreSQL's `::` casts are not names.
    A bare `?` after numbered ones gets the next number, as SQLite numbers it."""
    out: list[str] = []
    size = len(sql)
    positional = named = False
    numbers: list[int] = []
    biggest = 0
    bare: list[int] = []  # where in `out` each bare `?` went (rewritten if any are numbered)
    i = 0
    while i < size:
        char = sql[i]
        if char in "'\"":  # a string or a quoted name, '' or "" inside
            end = i + 1
            while end < size:
                if sql[end] == char:
                    if end + 1 < size and sql[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = size if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = size if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif char == "?":
            end = i + 1
            while end < size and sql[end].isdigit():
                end += 1
            if end > i + 1:
                number = int(sql[i + 1 : end])
                numbers.append(number)
                out.append(f"%(p{number})s")
            else:
                number = biggest + 1
                bare.append(len(out))
                out.append(f"%(p{number})s")
            biggest = max(biggest, number)
            positional = True
            i = end
        elif char == ":" and i + 1 < size and sql[i + 1] == ":":  # a cast
            out.append("::")
            i += 2
        elif char == ":" and i + 1 < size and sql[i + 1] in _NAME_START:
            end = i + 2
            while end < size and sql[end] in _NAME_REST:
                end += 1
            out.append(f"%({sql[i + 1 : end]})s")
            named = True
            i = end
        elif char == "%":
            out.append("%%")
            i += 1
        else:
            end = i + 1
            while end < size and sql[end] not in "'\"-/?:%":
                end += 1
            out.append(sql[i:end])
            i = end
    if positional and named:
        raise SqlTextError(f"a statement mixes :name and ? parameters: {sql!r}")
    numbered = bool(numbers)
    if positional and not numbered:
        for at in bare:
            out[at] = "%s"
    return Statement("".join(out), numbered)
