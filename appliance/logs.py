"""Logging set-up: text for people, JSON lines for collectors; never secrets."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from appliance.config import LoggingSettings


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "client"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(settings: LoggingSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    # Hypercorn's own access log is replaced by ours (request ids, /health left out).
    logging.getLogger("hypercorn.access").disabled = True
    for noisy in ("aiosqlite", "aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
