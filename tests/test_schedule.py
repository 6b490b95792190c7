from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.schedule import next_fetch_at, parse_retry_after
from aggregator.types import Outcome

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.mark.parametrize(("interval", "outcome", "errors", "jitter", "expected"), [
    (30 * M, Outcome.OK, 0, 0.0, 30 * M),
    (30 * M, Outcome.NOT_MODIFIED, 0, 0.0, 30 * M),
    (30 * M, Outcome.OK, 0, 0.5, 30 * M + 90 * timedelta(seconds=1)),
    (30 * M, Outcome.ERROR, 1, 0.0, 30 * M),
    (30 * M, Outcome.ERROR, 2, 0.0, 60 * M),
    (30 * M, Outcome.ERROR, 4, 0.0, 240 * M),
    (30 * M, Outcome.ERROR, 50, 0.0, 24 * H),      # bounded: never stops polling
    (48 * H, Outcome.ERROR, 50, 0.0, 48 * H),      # a long interval is not shortened
    (timedelta(seconds=5), Outcome.OK, 0, 0.0, M),  # never more often than a minute
])
def test_next_fetch_at(interval: timedelta, outcome: Outcome, errors: int, jitter: float,
                       expected: timedelta) -> None:
    assert next_fetch_at(NOW, interval, outcome, errors, jitter) == NOW + expected


def test_jitter_spreads_by_at_most_a_tenth() -> None:
    latest = next_fetch_at(NOW, H, Outcome.OK, 0, 0.999999)
    assert NOW + H < latest < NOW + H + 6 * M + timedelta(seconds=1)


@pytest.mark.parametrize(("value", "expected"), [
    ("120", NOW + 2 * M),
    ("Wed, 25 Nov 2026 13:00:00 GMT", NOW + H),
    ("Wed, 25 Nov 2026 11:00:00 GMT", NOW),  # in the past: now
    ("soon", None),
    (None, None),
    ("", None),
])
def test_retry_after(value: str | None, expected: datetime | None) -> None:
    assert parse_retry_after(value, NOW) == expected
