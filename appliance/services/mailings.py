"""Email Hearth sends by itself: the password reset link a person asks for on the sign-in page
(FR1.4), and a note to someone mentioned while no device of theirs is connected. Sending runs
in the background, so no request waits on SMTP; asking for a reset link answers the same
whether or not the account exists (nothing to learn from it about who has an account).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from appliance.lifecycle import Background
from appliance.net.mail import Mailer, MailError
from appliance.services.accounts import Accounts
from appliance.services.errors import ConflictError, RateLimitedError
from appliance.services.ratelimit import Limiter
from appliance.store.events import EventRow

log = logging.getLogger(__name__)

# Per account asked for: enough for a retry, not for a mailbomb. Per client address: a few
# people behind one address (a shared laptop), not a sweep through every account.
RESETS_PER_HOUR = 3
RESET_ASKS_PER_ADDRESS_HOUR = 10
STOP_WAIT_SECONDS = 3.0


MENTION_PREVIEW = 200  # characters of the message in a mention email


class Mailings:
    def __init__(
        self, accounts: Accounts, mailer: Mailer, *, link_hours: int, per_login: Limiter,
        per_address: Limiter, online: Callable[[int], bool],
        muted: Callable[[int, int], Awaitable[bool]], mentions: Limiter | None,
        urls: Callable[[], list[str]],
    ) -> None:  # fmt: skip
        """`online(user_id)`: whether a device of theirs is connected; `muted(user, chat)`:
        whether they muted that chat; `mentions`: one mention
        email per person per window (None: no mention emails); `urls`: where people reach this
        Hearth, best first."""
        self._accounts = accounts
        self._mailer = mailer
        self._link_hours = link_hours
        self._per_login = per_login
        self._per_address = per_address
        self._online = online
        self._muted = muted
        self._mentions = mentions
        self._urls = urls
        self._sending = Background()

    @property
    def enabled(self) -> bool:
        return self._mailer.enabled

    async def reset_requested(self, login: str, origin: str, address: str) -> None:
        """Email a reset link to the account `login` names (username or email), if it has an
        address, at `origin` (the Hearth URL the person's device used)."""
        if not self.enabled:
            raise ConflictError(
                "Email is not set up on this Hearth: ask an administrator for a reset link.",
                code="email_not_set_up",
            )
        await self._per_address.hit(address)
        await self._per_login.hit(login.strip().lower())
        self._sending.spawn(self._send_reset(login.strip(), origin.rstrip("/")), "reset-email")

    async def _send_reset(self, login: str, origin: str) -> None:
        user = await self._accounts.find_by_login(login)
        if user is None or user.disabled or not user.email:
            log.info("a reset link was asked for an account that cannot get one by email")
            return
        link = await self._accounts.create_reset_link(user.id)
        body = (
            f"Hello {user.username},\n\nsomeone (you, we hope) asked for a link to set a new "
            f"Hearth password. Open it on your device:\n\n  {origin}/reset?token={link.token}\n\n"
            f"It works once and for {self._link_hours} hours. If you did not ask for it, "
            "ignore this email: your password stays as it is.\n"
        )
        try:
            await self._mailer.send(user.email, "Your Hearth password reset link", body)
        except MailError as error:
            log.warning("could not email %s their reset link: %s", user.username, error)
            return
        log.info("emailed %s a password reset link", user.username)

    def on_event(self, event: EventRow) -> None:
        """A bus subscriber: a committed message that mentions someone who is away."""
        if event.type != "message.created" or self._mentions is None or not self.enabled:
            return
        message = json.loads(event.data)
        for user_id in message.get("mentions") or ():
            if user_id == message.get("sender_id") or self._online(user_id):
                continue
            self._sending.spawn(self._send_mention(user_id, message), "mention-email")

    async def _send_mention(self, user_id: int, message: dict[str, object]) -> None:
        assert self._mentions is not None
        try:
            # Counted here, in the task: a bus subscriber (on_event) is not awaited.
            await self._mentions.hit(str(user_id))
        except RateLimitedError:
            return  # told recently: the app shows the rest when they come back
        user = await self._accounts.find(user_id)
        if user is None or user.disabled or not user.email:
            return
        chat_id = message.get("chat_id")
        if isinstance(chat_id, int) and await self._muted(user_id, chat_id):
            return  # they muted the chat: no email either
        sender_id = message.get("sender_id")
        sender = await self._accounts.find(sender_id) if isinstance(sender_id, int) else None
        who = (sender.display_name or sender.username) if sender else "Someone"
        text = str(message.get("body") or "")
        preview = text if len(text) <= MENTION_PREVIEW else text[: MENTION_PREVIEW - 1] + "…"
        where = "\n".join(f"  {url}/chats/{message.get('chat_id')}" for url in self._urls())
        body = (
            f"Hello {user.username},\n\n{who} mentioned you on Hearth:\n\n  {preview}\n\n"
            f"Open the chat at whichever address works from your device:\n\n{where}\n\n"
            "You get this because no device of yours was connected. Hearth sends at most one "
            "such email every little while.\n"
        )
        try:
            await self._mailer.send(user.email, f"{who} mentioned you on Hearth", body)
        except MailError as error:
            log.warning("could not email %s about a mention: %s", user.username, error)

    async def wait(self) -> None:
        """Until every email asked for so far is sent or given up."""
        await self._sending.wait()

    async def stop(self) -> None:
        """A send under way gets a moment to finish; then it is dropped (the person asks
        again)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._sending.wait()), STOP_WAIT_SECONDS)
        await self._sending.cancel()
