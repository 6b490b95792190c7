"""Pure scheduling: when a source is fetched next. The clock is an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from aggregator.types import Outcome

MIN_INTERVAL = timedelta(minutes=1)
MAX_ERROR_INTERVAL = timedelta(hours=24)
JITTER_SHARE = 0.1


def next_fetch_at(
    now: datetime, interval: timedelta, outcome: Outcome, error_count: int, jitter: float,
) -> datetime:
    """The next time a source is due.

    ``jitter`` is a number in [0, 1) chosen by the caller (random in the shell, fixed in
    tests); it spreads sources by up to 10 % of their interval so they never poll in
    lockstep. After errors the interval doubles per consecutive error, up to 24 h: a
    broken feed is still retried and recovers by itself.
    """
    base = max(interval, MIN_INTERVAL)
    if outcome is Outcome.ERROR and error_count > 0:
        base = min(base * (2 ** min(error_count - 1, 16)), max(MAX_ERROR_INTERVAL, interval))
    return now + base + base * (JITTER_SHARE * jitter)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """``Retry-After`` as seconds or an HTTP date -> an absolute time, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when, now)
