"""The process's metrics, for ``/metrics`` in the Prometheus text format.

Events are counted here in plain Python as they happen (a lock, a few integers), so a
command that never shows them pays nothing for them; prometheus-client, their one home,
is imported only by :func:`exposition`, when they are scraped. No label names a source
(a metric per source would grow with the feeds.yaml): outcomes are the few ``Outcome``
values.

    aggregator_fetches_total{outcome}          sources fetched, by outcome
    aggregator_fetch_duration_seconds          one fetch (request and body), histogram
    aggregator_fetch_lag_seconds               how late a due source was fetched, histogram
    aggregator_items_stored_total              new items stored
    aggregator_items_updated_total             stored items whose content changed
    aggregator_stories_created_total           new stories
    aggregator_near_duplicates_total           items that joined a story as near-duplicates
    aggregator_story_merges_total              stored stories folded into another
    aggregator_stories_pruned_total            stories pruned by retention
    aggregator_candidates_read_ahead_total     feeds whose near-duplicate candidates a
                                               parse worker read (SQLite)
    aggregator_candidates_read_by_writer_total feeds whose candidates the writer read
    aggregator_publish_duration_seconds        rendering the whole site, histogram
    aggregator_database_errors_total           database operations that failed
    aggregator_scheduler_last_tick_timestamp_seconds   when the scheduler last ticked
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
LAG_BUCKETS = (1.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0)
PUBLISH_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_lock = threading.Lock()


@dataclass
class Histogram:
    """Counts of observations at or below each bucket's upper bound (the last: +Inf)."""

    buckets: Sequence[float]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.buckets) + 1)

    def observe(self, value: float) -> None:
        with _lock:
            self.counts[bisect_left(self.buckets, value)] += 1
            self.total += value

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus's buckets: (upper bound, observations at or below it)."""
        running, result = 0, []
        for bound, count in zip([*map(str, self.buckets), "+Inf"], self.counts, strict=True):
            running += count
            result.append((bound, running))
        return result


@dataclass
class Metrics:
    """What this process did since it started."""

    fetches: Counter[str] = field(default_factory=Counter)
    fetch_seconds: Histogram = field(default_factory=lambda: Histogram(FETCH_BUCKETS))
    fetch_lag: Histogram = field(default_factory=lambda: Histogram(LAG_BUCKETS))
    publish_seconds: Histogram = field(default_factory=lambda: Histogram(PUBLISH_BUCKETS))
    counts: Counter[str] = field(default_factory=Counter)
    last_tick: float | None = None  # epoch seconds

    def add(self, name: str, amount: int = 1) -> None:
        if amount:
            with _lock:
                self.counts[name] += amount


METRICS = Metrics()
_COUNTERS = {
    "items_stored": "new items stored",
    "items_updated": "stored items whose content changed",
    "stories_created": "new stories",
    "near_duplicates": "items that joined a story as near-duplicates",
    "story_merges": "stored stories folded into another",
    "stories_pruned": "stories pruned by retention",
    "candidates_read_ahead": "feeds whose near-duplicate candidates a parse worker read",
    "candidates_read_by_writer": "feeds whose near-duplicate candidates the writer read",
    "marks_made_by_writer": "feeds whose fingerprints and credits the writer made (the "
                            "parse worker was behind)",
    "database_errors": "database operations that failed",
}


def record_fetch(outcome: str, seconds: float, lag: float | None = None) -> None:
    """One source fetched: its outcome, how long the request took, and how long after
    it was due it started (None: it was not fetched for being due)."""
    with _lock:
        METRICS.fetches[outcome] += 1
    METRICS.fetch_seconds.observe(seconds)
    if lag is not None:
        METRICS.fetch_lag.observe(max(0.0, lag))


def count(name: str, amount: int = 1) -> None:
    """Add to one of the counters (``_COUNTERS``)."""
    if name not in _COUNTERS:
        raise ValueError(f"unknown counter {name!r}")
    METRICS.add(name, amount)


def record_publish(seconds: float) -> None:
    METRICS.publish_seconds.observe(seconds)


def record_tick(epoch_seconds: float) -> None:
    METRICS.last_tick = epoch_seconds


class _Collector:
    """Turns METRICS into metric families at each scrape."""

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        with _lock:
            fetches = CounterMetricFamily("aggregator_fetches", "sources fetched, by outcome",
                                          labels=["outcome"])
            for outcome in sorted(METRICS.fetches):
                fetches.add_metric([outcome], METRICS.fetches[outcome])
            families: list[Any] = [fetches]
            for name, text in _COUNTERS.items():
                families.append(CounterMetricFamily(f"aggregator_{name}", text,
                                                    value=METRICS.counts[name]))
            for name, text, histogram in (
                    ("fetch_duration_seconds", "one fetch, request and body",
                     METRICS.fetch_seconds),
                    ("fetch_lag_seconds", "how late a due source was fetched",
                     METRICS.fetch_lag),
                    ("publish_duration_seconds", "rendering the whole site",
                     METRICS.publish_seconds)):
                families.append(HistogramMetricFamily(
                    f"aggregator_{name}", text, buckets=histogram.cumulative(),
                    sum_value=histogram.total))
            if METRICS.last_tick is not None:
                families.append(GaugeMetricFamily(
                    "aggregator_scheduler_last_tick_timestamp_seconds",
                    "when the scheduler last ticked", value=METRICS.last_tick))
        yield from families


_registry: Any = None


def exposition() -> tuple[bytes, str]:
    """This process's metrics (and the standard process and Python ones) in the
    Prometheus text format, with its content type."""
    global _registry  # noqa: PLW0603 (one registry per process, made at the first scrape)
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        GC_COLLECTOR,
        PLATFORM_COLLECTOR,
        PROCESS_COLLECTOR,
        CollectorRegistry,
        generate_latest,
    )

    with _lock:
        if _registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(_Collector())
            for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                registry.register(standard)
            _registry = registry
    return generate_latest(_registry), CONTENT_TYPE_LATEST
