"""Contacts and blocks: requests that the other person accepts, and blocking."""

from __future__ import annotations

from appliance.api import shapes
from appliance.services import views
from appliance.services.errors import ForbiddenError, InvalidError, NotFoundError
from appliance.services.ratelimit import Limits
from appliance.services.unit import Outbox, Work
from appliance.store import contacts, users
from appliance.store.db import Connection, on_thread
from appliance.store.users import UserRow


class Contacts:
    def __init__(self, work: Work, limits: Limits) -> None:
        self.work = work
        self.limits = limits

    async def overview(self, user_id: int) -> shapes.ContactsOut:
        async with self.work.read() as conn:
            return await self._list(conn, user_id)

    async def _list(self, conn: Connection, user_id: int) -> shapes.ContactsOut:
        states = await contacts.states(conn, user_id)
        blocked = await contacts.blocked_by(conn, user_id)
        people = await users.by_ids(conn, [*states, *blocked])
        found = shapes.ContactsOut(contacts=[], incoming=[], outgoing=[], blocked=[])
        lists = {"accepted": found.contacts, "incoming": found.incoming, "outgoing": found.outgoing}
        for other_id, state in states.items():
            if other_id in people:
                lists[state].append(views.user(people[other_id]))
        found.blocked = [views.user(people[b]) for b in blocked if b in people]
        return found

    async def _people(
        self, conn: Connection, user_id: int, other_id: int
    ) -> tuple[UserRow, UserRow]:
        """(me, the other person), refusing yourself and anyone gone."""
        if other_id == user_id:
            raise InvalidError("That is you.", field="user_id")
        other = await users.get(conn, other_id)
        if other is None or other.disabled:
            raise NotFoundError("There is no such person.", code="user_not_found")
        me = await users.get(conn, user_id)
        assert me is not None
        return me, other

    async def request(self, user_id: int, other_id: int) -> shapes.ContactsOut:
        """Ask `other_id` to be a contact; accepts at once if they had asked first."""
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            me, other = await self._people(tx, user_id, other_id)
            if await on_thread(tx, contacts.either_blocked, user_id, other_id):
                raise ForbiddenError("You cannot add this person.", code="blocked")
            state = await contacts.state(tx, user_id, other_id)
            if state is None:
                await contacts.request(tx, user_id, other_id, outbox.now)
                await self._events(tx, outbox, "contact.requested", me, other)
            elif state == "incoming":
                await contacts.accept(tx, user_id, other_id)
                await self._events(tx, outbox, "contact.accepted", other, me)
            return await self._list(tx, user_id)

    async def accept(self, user_id: int, other_id: int) -> shapes.ContactsOut:
        return await self._answer(user_id, other_id, accept=True)

    async def reject(self, user_id: int, other_id: int) -> shapes.ContactsOut:
        return await self._answer(user_id, other_id, accept=False)

    async def _answer(self, user_id: int, other_id: int, *, accept: bool) -> shapes.ContactsOut:
        """Accept or turn down the request `other_id` sent `user_id`."""
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            me, other = await self._people(tx, user_id, other_id)
            if await contacts.state(tx, user_id, other_id) != "incoming":
                raise NotFoundError("There is no request from this person.", code="no_request")
            if accept:
                await contacts.accept(tx, user_id, other_id)
            else:
                await contacts.remove(tx, user_id, other_id)
            event = "contact.accepted" if accept else "contact.removed"
            await self._events(tx, outbox, event, other, me)
            return await self._list(tx, user_id)

    async def remove(self, user_id: int, other_id: int) -> None:
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            me, other = await self._people(tx, user_id, other_id)
            if await contacts.remove(tx, user_id, other_id):
                await self._events(tx, outbox, "contact.removed", me, other)

    async def _events(
        self, tx: Connection, outbox: Outbox, type: str, sender: UserRow, receiver: UserRow
    ) -> None:
        """One event for each of the two people; `user` is the other person for each."""
        for person, other in ((sender, receiver), (receiver, sender)):
            data = shapes.ContactChangeOut(
                from_user_id=sender.id, to_user_id=receiver.id, user=views.user(other)
            )
            await outbox.event(tx, type, data, user_id=person.id)

    async def block(self, user_id: int, other_id: int) -> None:
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            me, other = await self._people(tx, user_id, other_id)
            await contacts.block(tx, user_id, other_id, outbox.now)
            # Blocking and removing a contact are separate acts: a contact stays one (unblock
            # and nothing is lost); only a request still pending between the two is dropped.
            if await contacts.state(tx, user_id, other_id) in {"incoming", "outgoing"}:
                await contacts.remove(tx, user_id, other_id)
                await self._events(tx, outbox, "contact.removed", me, other)
            outbox.blocked.append((user_id, other_id))

    async def unblock(self, user_id: int, other_id: int) -> None:
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            await self._people(tx, user_id, other_id)
            await contacts.unblock(tx, user_id, other_id)
            outbox.unblocked.append((user_id, other_id))
