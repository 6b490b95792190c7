"""The scheduling rules as tables of cases, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.ingest.schedule import (
    PollPolicy,
    ServerHints,
    feed_ttl,
    freshness,
    next_fetch_at,
    parse_retry_after,
    weekly_entry_rate,
)
from aggregator.types import Outcome

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
FIXED = PollPolicy(interval=30 * M, adaptive=False)
ADAPTIVE = PollPolicy(interval=30 * M, adaptive=True)


@pytest.mark.parametrize(("policy", "outcome", "errors", "weekly", "hints", "expected"), [
    # fixed interval
    (FIXED, Outcome.OK, 0, None, ServerHints(), 30 * M),
    (FIXED, Outcome.NOT_MODIFIED, 0, 500.0, ServerHints(), 30 * M),
    # adaptive: 7 days / weekly entries, clamped to [5 min, 24 h]
    (ADAPTIVE, Outcome.OK, 0, None, ServerHints(), 30 * M),  # no rhythm known yet
    (ADAPTIVE, Outcome.OK, 0, 7.0, ServerHints(), D),
    (ADAPTIVE, Outcome.OK, 0, 168.0, ServerHints(), H),
    (ADAPTIVE, Outcome.OK, 0, 10_000.0, ServerHints(), 5 * M),
    (ADAPTIVE, Outcome.OK, 0, 0.5, ServerHints(), D),
    (ADAPTIVE, Outcome.OK, 0, 0.0, ServerHints(), D),
    # never more often than the server allows, within the cap
    (FIXED, Outcome.OK, 0, None, ServerHints(fresh_for=2 * H), 2 * H),
    (FIXED, Outcome.OK, 0, None, ServerHints(fresh_for=10 * M), 30 * M),
    (FIXED, Outcome.OK, 0, None, ServerHints(fresh_for=365 * D), D),
    (ADAPTIVE, Outcome.OK, 0, 10_000.0, ServerHints(feed_ttl=H), H),
    (FIXED, Outcome.NOT_MODIFIED, 0, None, ServerHints(feed_ttl=3 * H, fresh_for=H), 3 * H),
    # errors back off exponentially, bounded: never stop polling
    (FIXED, Outcome.ERROR, 1, None, ServerHints(), 30 * M),
    (FIXED, Outcome.ERROR, 2, None, ServerHints(), 60 * M),
    (FIXED, Outcome.ERROR, 4, None, ServerHints(), 240 * M),
    (FIXED, Outcome.ERROR, 50, None, ServerHints(), D),
    (PollPolicy(interval=2 * D), Outcome.ERROR, 9, None, ServerHints(), 2 * D),
    # Retry-After pushes later, never earlier, and is capped at 7 days
    (FIXED, Outcome.ERROR, 1, None, ServerHints(retry_after=NOW + 3 * H), 3 * H),
    (FIXED, Outcome.ERROR, 1, None, ServerHints(retry_after=NOW + 1 * M), 30 * M),
    (FIXED, Outcome.ERROR, 1, None, ServerHints(retry_after=NOW + 90 * D), 7 * D),
    # an interval set by hand below a minute is raised to a minute
    (PollPolicy(interval=5 * S, adaptive=False), Outcome.OK, 0, None, ServerHints(), M),
])
def test_next_fetch_at(policy: PollPolicy, outcome: Outcome, errors: int,
                       weekly: float | None, hints: ServerHints, expected: timedelta) -> None:
    due = next_fetch_at(NOW, policy, outcome, errors, 0.0, weekly_entries=weekly, hints=hints)
    assert due == NOW + expected


def test_gone_stops_polling() -> None:
    assert next_fetch_at(NOW, FIXED, Outcome.GONE, 1, 0.5) is None


@pytest.mark.parametrize("outcome", [Outcome.OK, Outcome.ERROR])
def test_jitter_adds_at_most_a_tenth(outcome: Outcome) -> None:
    base = next_fetch_at(NOW, FIXED, outcome, 1, 0.0)
    late = next_fetch_at(NOW, FIXED, outcome, 1, 0.999999)
    assert base is not None and late is not None
    assert base < late <= base + 3 * M


@pytest.mark.parametrize(("dates", "expected"), [
    ([], None),
    ([None, None], None),
    ([NOW - 40 * D], 0.0),
    ([NOW - H], 1.0),
    ([NOW - D * i for i in range(8)], 7.0),  # one a day
    ([NOW - H * i for i in range(11)], 168.0),  # one an hour, only 10 hours shown
    ([NOW + D, NOW - D, NOW - 2 * D], 7.0),  # a future date says nothing
])
def test_weekly_entry_rate(dates: list[datetime | None], expected: float | None) -> None:
    assert weekly_entry_rate(dates, NOW) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("120", NOW + 2 * M),
    ("Wed, 25 Nov 2026 13:00:00 GMT", NOW + H),
    ("Wed, 25 Nov 2026 11:00:00 GMT", NOW),  # in the past: now
    ("99999999", NOW + 7 * D),
    ("soon", None),
    (None, None),
    ("", None),
])
def test_retry_after(value: str | None, expected: datetime | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Cache-Control": "public, max-age=600"}, 10 * M),
    ({"cache-control": "s-maxage=7200, max-age=60"}, 2 * H),
    ({"Cache-Control": "no-store"}, None),
    ({"Cache-Control": "no-cache, max-age=600"}, None),
    ({"Cache-Control": "max-age=0"}, None),
    ({"Expires": "Wed, 25 Nov 2026 14:00:00 GMT"}, 2 * H),
    ({"Expires": "Wed, 25 Nov 2026 14:00:00 GMT", "Date": "Wed, 25 Nov 2026 13:00:00 GMT"}, H),
    ({"Expires": "0"}, None),
    ({"Expires": "Wed, 25 Nov 2026 10:00:00 GMT"}, None),
    ({}, None),
])
def test_freshness(headers: dict[str, str], expected: timedelta | None) -> None:
    assert freshness(headers, NOW) == expected


@pytest.mark.parametrize(("ttl", "period", "frequency", "expected"), [
    ("60", None, None, H),
    ("0", None, None, None),
    ("abc", "daily", None, D),
    (None, "hourly", "2", 30 * M),
    (None, "weekly", "0", 7 * D),
    (None, "sometimes", "2", None),
    (None, None, None, None),
])
def test_feed_ttl(ttl: str | None, period: str | None, frequency: str | None,
                  expected: timedelta | None) -> None:
    assert feed_ttl(ttl, period, frequency) == expected
