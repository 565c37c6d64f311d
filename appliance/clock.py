"""Wall-clock time as stored (integer milliseconds, UTC) and as shown (ISO 8601)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
