"""Deleting an account, with what config says happens to its messages
(`messages.on_account_deleted`): the account first (signed out, scrubbed), then, when asked,
its messages, deleted for everyone in batches. Both steps can be repeated: a removal cut short
is finished by deleting the account again."""

from __future__ import annotations

from typing import Literal

from appliance.services.accounts import Accounts
from appliance.services.messaging import Messaging


class Leaving:
    def __init__(
        self, accounts: Accounts, messaging: Messaging, messages: Literal["keep", "remove"]
    ) -> None:
        self._accounts = accounts
        self._messaging = messaging
        self._messages = messages

    async def delete(self, user_id: int, password: str | None) -> None:
        await self._accounts.delete_account(user_id, password)
        if self._messages == "remove":
            await self._messaging.remove_all_of(user_id)
