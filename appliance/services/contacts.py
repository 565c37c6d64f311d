"""Contacts and blocks: requests that the other person accepts, and blocking."""

from __future__ import annotations

from typing import Any

import aiosqlite

from appliance.bus import Bus
from appliance.services import views
from appliance.services.audience import Audience
from appliance.services.chats import Changes
from appliance.services.errors import ForbiddenError, InvalidError, NotFoundError
from appliance.store import contacts, users
from appliance.store.db import Database


class Contacts:
    def __init__(self, db: Database, bus: Bus, audience: Audience) -> None:
        self.db = db
        self.bus = bus
        self.audience = audience

    async def overview(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        async with self.db.read() as conn:
            return await self._list(conn, user_id)

    async def _list(self, conn: aiosqlite.Connection, user_id: int) -> dict[str, Any]:
        states = await contacts.states(conn, user_id)
        blocked = await contacts.blocked_by(conn, user_id)
        people = await users.by_ids(conn, [*states, *blocked])
        found: dict[str, list[dict[str, Any]]] = {
            "contacts": [], "incoming": [], "outgoing": [], "blocked": [],
        }  # fmt: skip
        names = {"accepted": "contacts", "incoming": "incoming", "outgoing": "outgoing"}
        for other_id, state in states.items():
            if other_id in people:
                found[names[state]].append(views.user(people[other_id]))
        found["blocked"] = [views.user(people[b]) for b in blocked if b in people]
        return found

    async def _other(self, conn: aiosqlite.Connection, user_id: int, other_id: int) -> Any:
        if other_id == user_id:
            raise InvalidError("That is you.", field="user_id")
        other = await users.get(conn, other_id)
        if other is None or other.disabled:
            raise NotFoundError("There is no such person.", code="user_not_found")
        return other

    async def request(self, user_id: int, other_id: int) -> dict[str, Any]:
        """Ask `other_id` to be a contact; accepts at once if they had asked first."""
        changes = Changes.start()
        async with self.db.write() as tx:
            other = await self._other(tx, user_id, other_id)
            if await contacts.either_blocked(tx, user_id, other_id):
                raise ForbiddenError("You cannot add this person.", code="blocked")
            state = await contacts.state(tx, user_id, other_id)
            me = await users.get(tx, user_id)
            assert me is not None
            if state is None:
                await contacts.request(tx, user_id, other_id, changes.now)
                await self._events(tx, changes, "contact.requested", me, other)
            elif state == "incoming":
                await contacts.accept(tx, user_id, other_id)
                await self._events(tx, changes, "contact.accepted", other, me)
            result = await self._list(tx, user_id)
        self.bus.publish(changes.written)
        return result

    async def accept(self, user_id: int, other_id: int) -> dict[str, Any]:
        return await self._answer(user_id, other_id, accept=True)

    async def reject(self, user_id: int, other_id: int) -> dict[str, Any]:
        return await self._answer(user_id, other_id, accept=False)

    async def _answer(self, user_id: int, other_id: int, *, accept: bool) -> dict[str, Any]:
        """Accept or turn down the request `other_id` sent `user_id`."""
        changes = Changes.start()
        async with self.db.write() as tx:
            other = await self._other(tx, user_id, other_id)
            if await contacts.state(tx, user_id, other_id) != "incoming":
                raise NotFoundError("There is no request from this person.", code="no_request")
            me = await users.get(tx, user_id)
            assert me is not None
            if accept:
                await contacts.accept(tx, user_id, other_id)
            else:
                await contacts.remove(tx, user_id, other_id)
            event = "contact.accepted" if accept else "contact.removed"
            await self._events(tx, changes, event, other, me)
            result = await self._list(tx, user_id)
        self.bus.publish(changes.written)
        return result

    async def remove(self, user_id: int, other_id: int) -> None:
        changes = Changes.start()
        async with self.db.write() as tx:
            other = await self._other(tx, user_id, other_id)
            me = await users.get(tx, user_id)
            assert me is not None
            if await contacts.remove(tx, user_id, other_id):
                await self._events(tx, changes, "contact.removed", me, other)
        self.bus.publish(changes.written)

    async def _events(
        self, tx: aiosqlite.Connection, changes: Changes, type: str, sender: Any, receiver: Any
    ) -> None:
        """One event for each of the two people; `user` is the other person for each."""
        base = {"from_user_id": sender.id, "to_user_id": receiver.id}
        await changes.event(tx, type, {**base, "user": views.user(receiver)}, user_id=sender.id)
        await changes.event(tx, type, {**base, "user": views.user(sender)}, user_id=receiver.id)

    async def block(self, user_id: int, other_id: int) -> None:
        changes = Changes.start()
        async with self.db.write() as tx:
            other = await self._other(tx, user_id, other_id)
            me = await users.get(tx, user_id)
            assert me is not None
            await contacts.block(tx, user_id, other_id, changes.now)
            if await contacts.remove(tx, user_id, other_id):
                await self._events(tx, changes, "contact.removed", me, other)
        self.audience.block(user_id, other_id)
        self.bus.publish(changes.written)

    async def unblock(self, user_id: int, other_id: int) -> None:
        async with self.db.write() as tx:
            await self._other(tx, user_id, other_id)
            await contacts.unblock(tx, user_id, other_id)
        self.audience.unblock(user_id, other_id)
