"""Store behaviour that several workers rely on, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from aggregator.config import SourceConfig
from aggregator.store import Store
from aggregator.store.models import UTCDateTime

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _sources(n: int) -> list[SourceConfig]:
    return [SourceConfig(name=f"s{i}", url=f"https://example.com/{i}.xml") for i in range(n)]


def test_two_workers_never_claim_the_same_source(db_url: str) -> None:
    setup = Store(db_url)
    setup.sync_sources(_sources(40), timedelta(minutes=30), NOW)
    setup.close()
    workers = [Store(db_url, worker_id=f"w{i}") for i in range(4)]
    claimed: list[list[str]] = [[] for _ in workers]
    barrier = threading.Barrier(len(workers))

    def work(index: int) -> None:
        barrier.wait()
        for _ in range(10):
            claimed[index] += [s.name for s in workers[index].claim_sources(NOW, limit=3)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [name for names in claimed for name in names]
    assert sorted(everything) == sorted(f"s{i}" for i in range(40))  # each exactly once
    for worker in workers:
        worker.close()


def test_a_lease_expires_so_a_crashed_worker_does_not_hold_sources(store: Store) -> None:
    store.sync_sources(_sources(2), timedelta(minutes=30), NOW)
    assert len(store.claim_sources(NOW, lease=timedelta(minutes=5))) == 2
    assert store.claim_sources(NOW + timedelta(minutes=1)) == []
    assert len(store.claim_sources(NOW + timedelta(minutes=6))) == 2


def test_sync_sources_adds_updates_and_deactivates(store: Store) -> None:
    store.sync_sources(_sources(3), timedelta(minutes=30), NOW)
    assert sorted(store.source_names()) == ["s0", "s1", "s2"]
    changed = [SourceConfig(name="s0", url="https://example.com/moved.xml"),
               SourceConfig(name="s3", url="https://example.com/3.xml")]
    store.sync_sources(changed, timedelta(minutes=30), NOW)
    assert sorted(store.source_names()) == ["s0", "s3"]
    urls = {s.name: s.url for s in store.claim_sources(NOW)}
    assert urls == {"s0": "https://example.com/moved.xml", "s3": "https://example.com/3.xml"}


def test_due_only_claims_respect_next_fetch_at(store: Store) -> None:
    store.sync_sources(_sources(1), timedelta(minutes=30), NOW)
    assert store.claim_sources(NOW - timedelta(seconds=1)) == []
    assert len(store.claim_sources(NOW)) == 1


def test_datetimes_come_back_as_aware_utc() -> None:
    kind = UTCDateTime()
    stored = kind.process_bind_param(datetime(2026, 1, 1, 15, tzinfo=UTC), None)  # type: ignore[arg-type]
    assert stored is not None and stored.tzinfo is None
    back = kind.process_result_value(stored, None)  # type: ignore[arg-type]
    assert back == datetime(2026, 1, 1, 15, tzinfo=UTC) and back.tzinfo is UTC
