"""Pure scheduling: when a source is fetched next. The clock is always an argument.

The rules, in order:

1. **Gone** (HTTP 410): no next fetch; the source is stopped until its URL changes.
2. **Error**: the interval doubles per consecutive error (``interval * 2**(errors-1)``),
   bounded by ``max_error_interval``: a broken feed is still retried and recovers by
   itself. A ``Retry-After`` (429/503) pushes the next fetch later, never earlier,
   capped at ``MAX_RETRY_AFTER``.
3. **Success** (200 or 304): the configured interval, or - when the source did not fix
   its own interval - the feed's rhythm in the spirit of Miniflux's entry frequency,
   ``7 days / weekly entries``, clamped to ``[min_interval, max_interval]``.
   Then never more often than the server allows: ``Cache-Control: max-age``,
   ``Expires``, RSS ``<ttl>`` and ``sy:updatePeriod/updateFrequency`` are floors,
   each capped at ``max_interval`` so a hint of a year cannot stop polling.
4. **Jitter**: up to +10 % of the interval, so sources never poll in lockstep.
5. **Pushed** (a live WebSub subscription, ``pushed_until`` after now): a poll is only a
   safety net, at most once a day (``PUSHED_INTERVAL``), but due when the lease ends,
   so a lapsed subscription falls back to the rules above at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aggregator.types import Outcome

MIN_INTERVAL = timedelta(minutes=1)  # the floor of any interval, even one set by hand
MAX_RETRY_AFTER = timedelta(days=7)
JITTER_SHARE = 0.1
WEEK = timedelta(days=7)
RHYTHM_WINDOW = timedelta(days=30)  # entries older than this say nothing of the rhythm
PUSHED_INTERVAL = timedelta(days=1)  # the safety-net poll of a source a hub pushes
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\b", re.IGNORECASE)
_SY_PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": WEEK,
               "monthly": timedelta(days=30), "yearly": timedelta(days=365)}


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How often one source may be polled, from feeds.yaml."""

    interval: timedelta
    adaptive: bool = True  # False when the source sets its own poll_interval
    min_interval: timedelta = timedelta(minutes=5)
    max_interval: timedelta = timedelta(hours=24)
    max_error_interval: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class ServerHints:
    """What a response and its feed said about how often to come back."""

    retry_after: datetime | None = None
    fresh_for: timedelta | None = None  # Cache-Control max-age, or Expires - now
    feed_ttl: timedelta | None = None  # RSS <ttl>, sy:updatePeriod / updateFrequency


def next_fetch_at(now: datetime, policy: PollPolicy, outcome: Outcome, error_count: int,
                  jitter: float, *, weekly_entries: float | None = None,
                  hints: ServerHints = ServerHints(),
                  pushed_until: datetime | None = None) -> datetime | None:
    """The next time a source is due, or None when it must not be polled again (410).

    ``jitter`` is a number in [0, 1) chosen by the caller (random in the shell, fixed
    in tests). ``error_count`` counts consecutive errors including this one.
    ``pushed_until`` is the lease of the source's live WebSub subscription, if any.
    """
    if outcome is Outcome.GONE:
        return None
    due = _polled_at(now, policy, outcome, error_count, jitter,
                     weekly_entries=weekly_entries, hints=hints)
    if pushed_until is not None and pushed_until > now:
        due = max(due, min(now + PUSHED_INTERVAL, pushed_until))
    return due


def _polled_at(now: datetime, policy: PollPolicy, outcome: Outcome, error_count: int,
               jitter: float, *, weekly_entries: float | None,
               hints: ServerHints) -> datetime:
    if outcome is Outcome.ERROR:
        interval = max(policy.interval, MIN_INTERVAL)
        cap = max(policy.max_error_interval, interval)
        interval = min(interval * (2 ** min(max(error_count - 1, 0), 20)), cap)
        due = now + interval + interval * (JITTER_SHARE * jitter)
        if hints.retry_after is not None:
            due = max(due, min(hints.retry_after, now + MAX_RETRY_AFTER))
        return due  # type: ignore[no-any-return]
    interval = policy.interval
    if policy.adaptive and weekly_entries is not None:
        interval = (WEEK / weekly_entries if weekly_entries > 0 else policy.max_interval)
        interval = min(max(interval, policy.min_interval), policy.max_interval)
    for floor in (hints.fresh_for, hints.feed_ttl):
        if floor is not None:
            interval = max(interval, min(floor, policy.max_interval))
    interval = max(interval, MIN_INTERVAL)
    return now + interval + interval * (JITTER_SHARE * jitter)


def weekly_entry_rate(published: Iterable[datetime | None], now: datetime) -> float | None:
    """Entries per week, from the dates of the entries a feed shows.

    Uses the entries of the last 30 days: ``(n - 1) / span`` scaled to a week, so a feed
    that shows only its last 10 entries of two busy days is not mistaken for a slow one.
    None when the feed has no dated entries (the configured interval then applies).
    """
    dates = sorted(d for d in published if d is not None and d <= now)
    if not dates:
        return None
    recent = [d for d in dates if now - d <= RHYTHM_WINDOW]
    if len(recent) < 2:
        return float(len(recent))
    span = max(recent[-1] - recent[0], timedelta(hours=1))
    return (len(recent) - 1) / (span / WEEK)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """``Retry-After`` as seconds or an HTTP date -> an absolute time, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=min(int(value), int(MAX_RETRY_AFTER.total_seconds())))
    when = _http_date(value)
    return None if when is None else max(when, now)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        from email.utils import parsedate_to_datetime  # here: 1.9 MB, rarely needed

        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def freshness(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """How long a response says it stays fresh: Cache-Control max-age, else Expires.

    ``no-store`` / ``no-cache`` mean no freshness at all (no floor on the interval).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    control = lowered.get("cache-control", "")
    if _NO_CACHE.search(control):
        return None
    match = _MAX_AGE.search(control)
    if match:
        return timedelta(seconds=int(match.group(1))) if int(match.group(1)) > 0 else None
    expires = _http_date(lowered.get("expires"))
    if expires is not None:
        base = _http_date(lowered.get("date")) or now
        left = expires - base
        return left if left > timedelta(0) else None
    return None


def feed_ttl(ttl: str | None, update_period: str | None,
             update_frequency: str | None) -> timedelta | None:
    """RSS ``<ttl>`` (minutes) or ``sy:updatePeriod`` / ``sy:updateFrequency``."""
    if ttl and ttl.strip().isdigit() and int(ttl) > 0:
        return timedelta(minutes=int(ttl))
    period = _SY_PERIODS.get((update_period or "").strip().lower())
    if period is None:
        return None
    frequency = (update_frequency or "1").strip()
    times = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
    return period / times
