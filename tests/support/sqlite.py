"""A plain sqlite3 connection for a test that looks at (or changes) a database file directly.

`with sqlite3.connect(path) as conn:` commits at the end of the block but never closes the
connection; Python 3.13 warns about every connection left open (a ResourceWarning, an error
under our pytest settings). `connect()` commits and closes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


@contextmanager
def connect(path: Path | str) -> Iterator[sqlite3.Connection]:
    """Open `path`; commit when the block ends without an error (roll back otherwise), then close."""
    with closing(sqlite3.connect(path)) as conn, conn:
        yield conn
