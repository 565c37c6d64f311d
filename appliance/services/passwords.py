"""bcrypt hashing, always off the event loop: a cost-12 hash takes a quarter second of CPU."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import bcrypt

from appliance import limits

MIN_LENGTH = limits.PASSWORD_MIN
MAX_LENGTH = limits.PASSWORD_MAX


def _prepare(password: str) -> bytes:
    # bcrypt reads at most 72 bytes; longer passphrases are pre-hashed so no byte is ignored.
    raw = password.encode("utf-8")
    if len(raw) > 72:
        raw = base64.b64encode(hashlib.sha256(raw).digest())
    return raw


class PasswordHasher:
    def __init__(self, cost: int) -> None:
        self.cost = cost
        # Checked against when a login names no account, so timing does not tell who exists.
        # Made on first need, not at start-up: a cost-12 hash would delay readiness.
        self._dummy: bytes | None = None

    async def hash(self, password: str) -> str:
        salt = bcrypt.gensalt(self.cost)
        hashed = await asyncio.to_thread(bcrypt.hashpw, _prepare(password), salt)
        return hashed.decode("ascii")

    async def verify(self, password: str, hashed: str | None) -> bool:
        if hashed is None:
            if self._dummy is None:
                self._dummy = await asyncio.to_thread(
                    bcrypt.hashpw, b"no account", bcrypt.gensalt(self.cost)
                )
            await asyncio.to_thread(bcrypt.checkpw, _prepare(password), self._dummy)
            return False
        return await asyncio.to_thread(bcrypt.checkpw, _prepare(password), hashed.encode("ascii"))
