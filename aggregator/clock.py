"""The clock: the one place the shell reads the time from."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The one place the shell reads the clock from; pure code takes ``now`` as an argument."""
    return datetime.now(UTC)
