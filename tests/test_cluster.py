"""Issue 12's deployment, for real: four `aggregator worker` processes and one
`aggregator serve` started at the same moment on an empty PostgreSQL schema, against a
local server of 300 feeds that counts the requests for each. Then a worker is killed
with SIGKILL in the middle of a cycle.

A period here is made by the test: it marks every source due (``next_fetch_at``, the
data a period ends with), so three periods take seconds, not the one-minute floor of
any interval.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from aggregator.clock import utc_now
from aggregator.config import load_config
from aggregator.site import render_site
from aggregator.store import Store
from tests.conftest import PG_URL, pg_schema, write_config
from tests.feedserver import FeedServer
from tests.test_scale import AT_ONCE
from tests.test_web import free_port

pytestmark = pytest.mark.skipif(not PG_URL, reason="the cluster test needs PostgreSQL: "
                                "set AGGREGATOR_TEST_DATABASE_URL")
SOURCES = 300
SHARED = 30  # articles every tenth source carries: stories of ten outlets each
PER_HOST = 16


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema() as url:
        yield url


def _feed(i: int, period: int) -> bytes:
    items = [(f"urn:shared:{i % SHARED}", f"Shared story {i % SHARED}",
              f"https://wire.example/shared/{i % SHARED}")]
    items += [(f"urn:feed:{i}:{n}", f"Feed {i} story {n}", f"https://f{i}.example/{n}")
              for n in range(2 + period)]  # a new item from period 1 on
    entries = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>"
        f"<description>{title}, as told by feed {i}.</description>"
        f"<pubDate>Wed, 25 Nov 2026 {10 + n % 10:02d}:{n:02d}:00 GMT</pubDate></item>"
        for n, (guid, title, link) in enumerate(items))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>'
            f"<link>https://f{i}.example/</link>{entries}</channel></rss>").encode()


def _wait_for(check: Callable[[], bool], seconds: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(why())


def _sql(store: Store, query: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query)).all()]


def _new_period(store: Store) -> None:
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE source SET next_fetch_at = :now"),
                           {"now": utc_now().replace(tzinfo=None)})


def test_four_workers_and_a_web_server_on_an_empty_database(
        pg_url: str, tmp_path: Path, feed_server: FeedServer) -> None:
    for i in range(SOURCES):
        feed_server.serve(f"/f{i}.xml", _feed(i, 0), delay=0.02)
    port = free_port()
    config_path = write_config(
        tmp_path, {f"s{i:03d}": feed_server.url(f"/f{i}.xml") for i in range(SOURCES)},
        settings={"listen": f"127.0.0.1:{port}", "adaptive_polling": False,
                  "concurrency": 8, "per_host_concurrency": PER_HOST})
    config = load_config(config_path)
    start = time.time() + 4  # every process opens the empty database at this instant
    logs = []
    processes = []
    for role in ["worker"] * 4 + ["serve"]:
        log = (tmp_path / f"{role}{len(logs)}.log").open("w")
        logs.append(log)
        processes.append(subprocess.Popen(
            [sys.executable, "-c", AT_ONCE, str(start), role, "--config", str(config_path),
             "--db", pg_url], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}))
    workers, web = processes[:4], processes[4]
    store = None

    def why() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}"
                         for p in sorted(tmp_path.glob("*.log")))

    def fetched() -> Counter[str]:
        return Counter(r.path for r in list(feed_server.requests))

    def settled(period_requests: int) -> bool:
        assert store is not None
        counts = fetched()
        return (len(counts) == SOURCES and min(counts.values()) >= period_requests
                and _sql(store, "SELECT count(*) FROM source WHERE lease_owner IS NOT NULL "
                                "OR next_fetch_at <= now() AT TIME ZONE 'UTC'")[0][0] == 0)

    try:
        _wait_for(lambda: all(p.poll() is None for p in processes) and time.time() > start + 2,
                  30, why)
        store = Store(pg_url)

        # ---- period 0: every source fetched exactly once, everything stored once ----
        _wait_for(lambda: settled(1), 90, why)
        time.sleep(2)  # nothing more is fetched in this period
        assert set(fetched().values()) == {1}, why()
        items = 3 * SOURCES
        stories = SHARED + 2 * SOURCES
        assert _sql(store, "SELECT count(*) FROM item")[0][0] == items
        assert _sql(store, "SELECT count(*) FROM story")[0][0] == stories  # no duplicate
        assert sorted(_sql(store, "SELECT count(*) FROM item GROUP BY story_id HAVING "
                                  "count(*) > 1")) == [(SOURCES // SHARED,)] * SHARED
        # politeness across the four workers: one host, at most PER_HOST at once
        assert feed_server.peak_in_flight({f"/f{i}.xml" for i in range(SOURCES)}) <= PER_HOST
        assert all(p.poll() is None for p in processes), why()

        # the web server serves what the workers stored, as a rendering of it all gives
        wanted = render_site(store, config, utc_now())
        _wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/feeds/all.atom").content
                  == wanted["feeds/all.atom"].body, 15, why)
        assert httpx.get(f"http://127.0.0.1:{port}/index.html").content == \
            wanted["index.html"].body

        # ---- period 1: due again; each source fetched once more (a conditional GET) ----
        for i in range(SOURCES):
            feed_server.serve(f"/f{i}.xml", _feed(i, 1), delay=0.02)
        _new_period(store)
        _wait_for(lambda: settled(2), 90, why)
        time.sleep(2)
        assert set(fetched().values()) == {2}, why()
        items += SOURCES
        assert _sql(store, "SELECT count(*) FROM item")[0][0] == items
        assert _sql(store, "SELECT count(*) FROM story")[0][0] == stories + SOURCES
        wanted = render_site(store, config, utc_now())
        _wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/feeds/all.atom").content
                  == wanted["feeds/all.atom"].body, 15, why)

        # ---- period 2: a worker is killed while it holds sources ----
        for i in range(SOURCES):
            feed_server.serve(f"/f{i}.xml", _feed(i, 2), delay=0.3)
        _new_period(store)
        owners = {f"{os.uname().nodename}:{w.pid}": w for w in workers}

        def leased_by_a_worker() -> list[tuple[object, ...]]:
            assert store is not None
            return _sql(store, "SELECT lease_owner, name FROM source "
                               "WHERE lease_owner IS NOT NULL")

        _wait_for(lambda: any(str(o).rsplit(":", 1)[0] in owners
                              for o, _ in leased_by_a_worker()), 30, why)
        held = leased_by_a_worker()
        victim_id = Counter(str(o).rsplit(":", 1)[0] for o, _ in held).most_common(1)[0][0]
        victim = owners[victim_id]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        orphaned = {name for owner, name in held if str(owner).startswith(victim_id + ":")}
        assert orphaned
        _wait_for(lambda: settled(3), 120, why)
        time.sleep(2)
        counts = fetched()
        # the dead worker's sources were taken by the others (a lease of a process of
        # this host that is gone is free at once; elsewhere it would expire): fetched
        # again; every other source exactly once in this period
        again = {f"/f{int(str(name)[1:])}.xml" for name in orphaned}
        assert {path for path, n in counts.items() if n > 3} <= again
        assert all(counts[path] in (3, 4) for path in again)
        assert all(n == 3 for path, n in counts.items() if path not in again)
        # nothing half-written: every source has every item of its last body, no story
        # lost its items, no lease is left
        items += SOURCES
        assert _sql(store, "SELECT count(*) FROM item")[0][0] == items
        assert set(_sql(store, "SELECT count(*) FROM item GROUP BY source_id")) == {(5,)}
        assert _sql(store, "SELECT count(*) FROM story WHERE id NOT IN "
                           "(SELECT story_id FROM item)") == [(0,)]
        assert _sql(store, "SELECT count(*) FROM story")[0][0] == stories + 2 * SOURCES
        wanted = render_site(store, config, utc_now())
        _wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/feeds/all.atom").content
                  == wanted["feeds/all.atom"].body, 15, why)

        # ---- the others stop cleanly ----
        for process in [*workers, web]:
            if process is not victim:
                process.send_signal(signal.SIGTERM)
        for process in [*workers, web]:
            if process is not victim:
                assert process.wait(timeout=60) == 0, why()
        assert "Traceback" not in why()
    finally:
        if store is not None:
            store.close()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
