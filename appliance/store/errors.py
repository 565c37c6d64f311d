"""Store-level errors: what a constraint said, in domain words."""


class DuplicateError(Exception):
    """A unique value (a username, an email) is taken."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} already exists")
        self.field = field
