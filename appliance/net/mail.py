"""Optional email: one message through the configured SMTP server, off the event loop, with
retries. Used for password reset links (FR1.4); nothing depends on it being set up."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage

from appliance.config import EmailSettings

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0


class MailError(Exception):
    """The message could not be sent; the text says why, for the admin."""


class Mailer:
    def __init__(self, settings: EmailSettings) -> None:
        self._settings = settings

    @property
    def enabled(self) -> bool:
        return self._settings.smtp_host is not None

    async def send(self, to: str, subject: str, body: str) -> None:
        """Send, retrying with backoff; raises MailError after the last attempt. smtplib
        blocks, so each attempt runs in a thread: the event loop never waits on the network."""
        if not self.enabled:
            raise MailError("email is not set up (email.smtp_host in the config)")
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        delay = FIRST_RETRY_SECONDS
        for attempt in range(1, self._settings.attempts + 1):
            try:
                await asyncio.to_thread(self._send_once, message)
                return
            except (OSError, smtplib.SMTPException) as error:
                if attempt == self._settings.attempts:
                    raise MailError(
                        f"could not send email through {self._settings.smtp_host}:"
                        f"{self._settings.smtp_port} after {attempt} attempt(s): {error}"
                    ) from None
                log.warning("sending email failed (attempt %d), retrying: %s", attempt, error)
                await asyncio.sleep(delay)
                delay *= 2

    def _send_once(self, message: EmailMessage) -> None:
        settings = self._settings
        host, port, timeout = settings.smtp_host or "", settings.smtp_port, settings.timeout_seconds
        smtp: smtplib.SMTP
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.username is not None and settings.password is not None:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
