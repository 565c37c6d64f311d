"""Email Hearth sends by itself: the password reset link a person asks for on the sign-in page
(FR1.4). Sending runs in the background, so a request never waits on SMTP, and answers the
same whether or not the account exists (nothing to learn from it about who has an account).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from appliance.lifecycle import Background
from appliance.net.mail import Mailer, MailError
from appliance.services.accounts import Accounts
from appliance.services.errors import ConflictError
from appliance.services.ratelimit import RateLimiter

log = logging.getLogger(__name__)

# Per account asked for: enough for a retry, not for a mailbomb. Per client address: a few
# people behind one address (a shared laptop), not a sweep through every account.
RESETS_PER_HOUR = 3
RESET_ASKS_PER_ADDRESS_HOUR = 10
STOP_WAIT_SECONDS = 3.0


class Mailings:
    def __init__(
        self, accounts: Accounts, mailer: Mailer, *, link_hours: int, per_login: RateLimiter,
        per_address: RateLimiter,
    ) -> None:  # fmt: skip
        self._accounts = accounts
        self._mailer = mailer
        self._link_hours = link_hours
        self._per_login = per_login
        self._per_address = per_address
        self._sending = Background()

    @property
    def enabled(self) -> bool:
        return self._mailer.enabled

    def reset_requested(self, login: str, origin: str, address: str) -> None:
        """Email a reset link to the account `login` names (username or email), if it has an
        address, at `origin` (the Hearth URL the person's device used)."""
        if not self.enabled:
            raise ConflictError(
                "Email is not set up on this Hearth: ask an administrator for a reset link.",
                code="email_not_set_up",
            )
        self._per_address.hit(address)
        self._per_login.hit(login.strip().lower())
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

    async def wait(self) -> None:
        """Until every email asked for so far is sent or given up."""
        await self._sending.wait()

    async def stop(self) -> None:
        """A send under way gets a moment to finish; then it is dropped (the person asks
        again)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._sending.wait()), STOP_WAIT_SECONDS)
        await self._sending.cancel()
