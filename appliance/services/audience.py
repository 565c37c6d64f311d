"""Who may see what, kept in memory: chat memberships and blocks.

The database is the authority (services check membership inside their transactions); this
index mirrors it so that fanout, presence and typing need no query per event. It is loaded at
startup and updated by the services right after each commit, before the events are published.
"""

from __future__ import annotations

from collections import defaultdict

from appliance.store import chats, contacts
from appliance.store.db import Database


class Audience:
    def __init__(self) -> None:
        self._members: defaultdict[int, set[int]] = defaultdict(set)
        self._chats: defaultdict[int, set[int]] = defaultdict(set)
        self._blocks: set[tuple[int, int]] = set()

    async def load(self, db: Database) -> None:
        async with db.read() as conn:
            pairs = await chats.all_memberships(conn)
            blocks = await contacts.all_blocks(conn)
        self._members.clear()
        self._chats.clear()
        for chat_id, user_id in pairs:
            self.add(chat_id, user_id)
        self._blocks = set(blocks)

    def members(self, chat_id: int) -> set[int]:
        return self._members.get(chat_id, set())

    def chats_of(self, user_id: int) -> set[int]:
        return self._chats.get(user_id, set())

    def add(self, chat_id: int, user_id: int) -> None:
        self._members[chat_id].add(user_id)
        self._chats[user_id].add(chat_id)

    def remove(self, chat_id: int, user_id: int) -> None:
        self._members.get(chat_id, set()).discard(user_id)
        self._chats.get(user_id, set()).discard(chat_id)

    def drop_chat(self, chat_id: int) -> None:
        for user_id in self._members.pop(chat_id, set()):
            self._chats.get(user_id, set()).discard(chat_id)

    def block(self, blocker_id: int, blocked_id: int) -> None:
        self._blocks.add((blocker_id, blocked_id))

    def unblock(self, blocker_id: int, blocked_id: int) -> None:
        self._blocks.discard((blocker_id, blocked_id))

    def blocked(self, a: int, b: int) -> bool:
        """Either has blocked the other."""
        return (a, b) in self._blocks or (b, a) in self._blocks

    def peers(self, user_id: int) -> set[int]:
        """Everyone who shares a chat with `user_id`, minus blocks either way."""
        found: set[int] = set()
        for chat_id in self.chats_of(user_id):
            found |= self.members(chat_id)
        found.discard(user_id)
        return {peer for peer in found if not self.blocked(user_id, peer)}
