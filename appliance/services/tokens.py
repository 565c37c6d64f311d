"""Secrets handed to clients: hashed at rest, signed where they must be checked without SQL."""

from __future__ import annotations

import hashlib


def token_hash(token: str) -> str:
    """Bearer secrets are stored hashed: a leaked database does not log anybody in."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
