"""What a message search may be narrowed to, as SQL shared by the text search
(`messages.search`) and the search of attachment names (`files.messages_named`), so both
answer the same question."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """All given conditions must hold. Times are stored milliseconds: `after` inclusive,
    `before` exclusive."""

    chat_id: int | None = None
    sender_id: int | None = None
    has_file: bool = False
    after: int | None = None
    before: int | None = None

    def sql(self, params: dict[str, Any]) -> str:
        """Conditions on `m` (messages) for a message `:user` may see in search: in a chat
        they are in (the query joins chat_members), not deleted, not hidden from them, not
        cleared from their history, and matching this filter. Adds its values to `params`."""
        sql = (
            " AND m.deleted_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM message_hidden h WHERE h.user_id = :user AND h.message_id = m.id)"
            " AND m.id > coalesce((SELECT p.cleared_through FROM chat_prefs p"
            "                      WHERE p.chat_id = m.chat_id AND p.user_id = :user), 0)"
        )
        if self.chat_id is not None:
            sql += " AND m.chat_id = :chat"
            params["chat"] = self.chat_id
        if self.sender_id is not None:
            sql += " AND m.sender_id = :sender"
            params["sender"] = self.sender_id
        if self.has_file:
            sql += " AND EXISTS (SELECT 1 FROM message_files a WHERE a.message_id = m.id)"
        if self.after is not None:
            sql += " AND m.created_at >= :after"
            params["after"] = self.after
        if self.before is not None:
            sql += " AND m.created_at < :before"
            params["before"] = self.before
        return sql
