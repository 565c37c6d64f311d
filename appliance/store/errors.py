"""Store-level errors: what a constraint said, in domain words."""


class DuplicateError(Exception):
    """A unique value (a username, an email) is taken."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} already exists")
        self.field = field


class ConstraintError(Exception):
    """PostgreSQL refused a row that breaks a constraint (a unique key, a foreign key); the
    message names the constraint, as sqlite3.IntegrityError's does on SQLite."""


class ContentionError(Exception):
    """PostgreSQL undid this statement to break a deadlock with another process's transaction
    (or a serialization failure): nothing of the job stayed, and running it again can work."""


class UnstorableTextError(ValueError):
    """Text with a NUL character, which PostgreSQL's text cannot hold (SQLite's can; the
    services refuse it in what people write, so only odd input gets this far)."""

    def __init__(self) -> None:
        super().__init__("Text cannot hold a NUL character.")


class StorageFullError(Exception):
    """The disk (or the file system under the data folder) is full: nothing of this write was
    stored. Reads still work; writes work again once there is room."""

    def __init__(self) -> None:
        super().__init__("the storage under the data folder is full")
