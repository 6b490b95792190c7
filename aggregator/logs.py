"""Logging for the long-running commands: one line per event on stderr.

On a terminal, the human line (``2026-01-31 12:00:00,123 INFO tass: 12 new, 0 updated``).
Elsewhere (the journal, a container, a file), one JSON object per line::

    {"timestamp": "2026-01-31T12:00:00.123Z", "level": "INFO", "logger": "aggregator.service",
     "message": "tass: 12 new, 0 updated", "source": "tass", "outcome": "ok",
     "duration": 0.412, "new": 12, "updated": 0}

The fields after ``message`` are the ``extra=`` of the call that logged it; a traceback
is one ``exception`` string. ``$AGGREGATOR_LOG_FORMAT`` (``json`` or ``text``) chooses
regardless of the terminal. One-off commands (``fetch``) configure nothing: they print
their own lines and, as before, only a warning reaches stderr, as its bare message.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

HUMAN_FORMAT = "%(asctime)s %(levelname)s %(message)s"
FORMAT_VARIABLE = "AGGREGATOR_LOG_FORMAT"
# the attributes every LogRecord has: anything else on a record came from extra=
_STANDARD = {*vars(logging.LogRecord("", 0, "", 0, "", None, None)), "message", "asctime",
             "taskName"}
QUIET = ("httpx", "httpcore", "apscheduler", "alembic")  # their INFO lines are noise


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: timestamp (UTC), level, logger, message, the
    ``extra=`` fields that are not None, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((key, value) for key, value in vars(record).items()
                     if key not in _STANDARD and key not in entry and value is not None)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def wants_json(stream: TextIO) -> bool:
    """JSON unless the stream is a terminal; $AGGREGATOR_LOG_FORMAT decides if set."""
    chosen = os.environ.get(FORMAT_VARIABLE, "").strip().lower()
    if chosen in ("json", "text"):
        return chosen == "json"
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return True


def configure(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send every logger's records at ``level`` and above to ``stream`` (stderr), one
    line each, JSON or human (``wants_json``). Replaces the root logger's handlers."""
    target = stream or sys.stderr
    handler = logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter() if wants_json(target)
                         else logging.Formatter(HUMAN_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
