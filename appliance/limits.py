"""Limits the API contract publishes and the server enforces, one definition each: the
request models (`api/requests.py`) and the URL converter for ids in paths read these."""

from __future__ import annotations

# Ids are SQLite INTEGERs (signed 64-bit); 2**62 leaves room and refuses overflow early.
ID_MIN = 1
ID_MAX = 2**62
