"""Several processes on one database (issue 12): starting at once on an empty database,
two workers storing copies of one article at the same instant, per-host politeness
across workers, and the site published once through the database; on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from aggregator.clock import utc_now
from aggregator.config import Config, SourceConfig, load_config
from aggregator.ingest.plan import plan
from aggregator.ingest.prepare import prepare_feed
from aggregator.service import Service
from aggregator.site import outputs_of_sources, publish_site, render_site
from aggregator.store import Store
from aggregator.store.store import _set_sqlite_pragmas
from aggregator.types import Fetched, Outcome, SourceUpdate
from aggregator.update import poll_policy, update_sources
from tests.conftest import write_config
from tests.feedserver import FeedServer

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# Imports everything first, then waits for the given moment and runs the CLI command:
# processes started one after another still open the database at the same instant.
AT_ONCE = """
import sys, time
import aggregator.cli, aggregator.store, aggregator.update
start = float(sys.argv[1])
sys.argv = ["aggregator", *sys.argv[2:]]
while time.time() < start:
    time.sleep(0.001)
aggregator.cli.main()
"""


@pytest.mark.parametrize("trial", range(3))
def test_processes_starting_at_once_on_an_empty_database_all_succeed(
        db_url: str, tmp_path: Path, trial: int) -> None:
    """The crash of issue 12: on an empty database, two `aggregator run` started at the
    same moment raced creating the schema (SQLite: "table source already exists") and
    syncing the sources (PostgreSQL: UniqueViolation on source_name_key). Five processes
    at once, three times on a fresh database: every one succeeds, each source once."""
    config = write_config(tmp_path, {f"s{i}": f"https://example.com/{i}.xml"
                                     for i in range(40)})
    start = time.time() + 2.5  # after every interpreter has imported the package
    children = [subprocess.Popen(
        [sys.executable, "-c", AT_ONCE, str(start), "sources", "--json", "--config",
         str(config), "--db", db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=tmp_path) for _ in range(5)]
    outcomes = [(child.wait(timeout=120), *child.communicate()) for child in children]
    assert [(code, err) for code, _, err in outcomes] == [(0, "")] * 5
    for _, out, _ in outcomes:
        assert sorted(s["name"] for s in json.loads(out)) == sorted(f"s{i}" for i in range(40))
    store = Store(db_url)
    try:
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM source")).scalar() == 40
    finally:
        store.close()



def test_connections_opening_a_new_sqlite_file_at_once_all_switch_it_to_wal(
        tmp_path: Path) -> None:
    """The rare failure of the test above: switching a new file to WAL needs it to
    itself, and SQLite fails the switch at once ("database is locked") instead of
    waiting for busy_timeout (16 threads on a new file: 15 of 200 trials failed). Each
    connection retries until the switch is made, by it or by another."""
    failed: list[str] = []
    for trial in range(60):
        path = tmp_path / f"{trial}.sqlite"
        start = threading.Barrier(16)
        connections = [sqlite3.connect(path, timeout=30, check_same_thread=False)
                       for _ in range(16)]

        def open_one(connection: sqlite3.Connection, start: threading.Barrier,
                     trial: int) -> None:
            start.wait()
            try:
                _set_sqlite_pragmas(connection, None)
            except sqlite3.Error as error:
                failed.append(f"trial {trial}: {error}")

        threads = [threading.Thread(target=open_one, args=(c, start, trial))
                   for c in connections]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        modes = {c.execute("PRAGMA journal_mode").fetchone()[0] for c in connections}
        for connection in connections:
            connection.close()
        assert modes == {"wal"}, (trial, modes)
    assert failed == []

# ---- two workers, copies of one article, the same instant ----

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _article(rng: random.Random) -> tuple[str, str]:
    words = ["".join(rng.choice(_LETTERS) for _ in range(rng.randint(4, 9)))
             for _ in range(70)]
    return " ".join(words[:8]).capitalize(), " ".join(words) + "."


def _rss(items: list[tuple[str, str, str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<description>{body}</description>"
        f"<pubDate>Wed, 25 Nov 2026 11:{i % 60:02d}:00 GMT</pubDate></item>"
        for i, (guid, link, title, body) in enumerate(items))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>https://example.com/</link>{entries}</channel></rss>").encode()


def _planned(store: Store, config: Config, name: str, body: bytes,
             now: datetime) -> tuple[int, SourceUpdate]:
    """What a worker decided for one fetched feed, ready for ``store.apply``."""
    source = store.claim_sources(now, names=[name], due_only=False)[0]
    fetched = Fetched(url=source.url, status=200, body=body,
                      headers={"content-type": "application/rss+xml"},
                      digest=hashlib.sha256(body).hexdigest())
    prepared = prepare_feed(body, fetched.headers, fetched.url, now)
    return source.id, plan(source, fetched, prepared, {}, policy=poll_policy(config, source),
                           now=now, jitter=0.0)


def test_two_workers_storing_copies_of_one_article_at_once_make_one_story(
        db_url: str, tmp_path: Path) -> None:
    """Two workers (two Stores, two threads) store the same 20 articles from two outlets
    at the same instant: half are the same by an exact key (a shared global guid, under
    different links, so each worker alone would start its story under another id), half
    only by their text (near-duplicates). Story assignment holds the stories lock from
    reading the candidates to the commit, so the second worker sees the first's rows:
    one story per article, both outlets in it, no item lost. Without the lock (tried),
    on PostgreSQL every article became two stories of one outlet each; SQLite was safe
    by accident (the source's row was written, taking the write lock, before the
    candidates were read)."""
    config = load_config(write_config(tmp_path, {"a": "https://a.example/feed.xml",
                                                 "b": "https://b.example/feed.xml"}))
    setup = Store(db_url)
    setup.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    setup.close()
    workers = [Store(db_url, worker_id=f"w{i}") for i in range(2)]
    rng = random.Random(12)
    try:
        for trial in range(3):
            articles = [_article(rng) for _ in range(20)]
            now = utc_now()
            updates = [_planned(worker, config, outlet, _rss([
                (f"urn:x:{trial}:{i}" if i % 2 else f"https://{outlet}.example/{trial}/{i}",
                 f"https://{outlet}.example/{trial}/{i}", title, body)
                for i, (title, body) in enumerate(articles)]), now)
                for worker, outlet in zip(workers, ("a", "b"), strict=True)]
            barrier = threading.Barrier(2)

            def work(store: Store, update: tuple[int, SourceUpdate],
                     barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                store.apply(*update)

            threads = [threading.Thread(target=work, args=(workers[i], updates[i]))
                       for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            with workers[0].engine.connect() as connection:
                stories = connection.execute(text(
                    "SELECT story_id, count(*), count(DISTINCT source_id) FROM item "
                    "WHERE url LIKE :a OR url LIKE :b GROUP BY story_id"),
                    {"a": f"https://a.example/{trial}/%",
                     "b": f"https://b.example/{trial}/%"}).all()
            assert sorted((count, outlets) for _, count, outlets in stories) == \
                [(2, 2)] * 20, f"trial {trial}"
    finally:
        for worker in workers:
            worker.close()


# ---- per-host politeness across workers ----


def test_claims_cap_each_hosts_leases_across_workers(db_url: str) -> None:
    setup = Store(db_url)
    setup.sync_sources(
        [SourceConfig(name=f"big{i}", url=f"https://big.example/{i}.xml") for i in range(10)]
        + [SourceConfig(name=f"small{i}", url=f"https://small.example/{i}.xml")
           for i in range(3)], timedelta(minutes=30), NOW)
    setup.close()
    first, second = Store(db_url, worker_id="w1"), Store(db_url, worker_id="w2")
    try:
        taken = first.claim_sources(NOW, limit=50, per_host=2)
        assert sorted(s.name for s in taken) == ["big0", "big1", "small0", "small1"]
        # the other worker counts the first one's leases: both hosts are at their cap
        assert second.claim_sources(NOW, limit=50, per_host=2) == []
        big0 = next(s for s in taken if s.name == "big0")  # fetched: its lease is freed
        first.apply(big0.id, SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=NOW,
                                          next_fetch_at=NOW + timedelta(minutes=30)))
        assert [s.name for s in second.claim_sources(NOW, limit=50, per_host=2)] == ["big2"]
        # without a cap (a one-off fetch of named sources) every free source is taken
        assert len(second.claim_sources(NOW, due_only=False)) == 13 - 4
    finally:
        first.close()
        second.close()


def test_two_workers_updating_at_once_keep_within_the_per_host_limit(
        db_url: str, tmp_path: Path, feed_server: FeedServer) -> None:
    body = (Path(__file__).parent / "data" / "feeds" / "rss2.xml").read_bytes()
    sources = {f"s{i}": feed_server.serve(f"/{i}.xml", body, delay=0.1) for i in range(24)}
    config = load_config(write_config(tmp_path, sources,
                                      settings={"per_host_concurrency": 2, "concurrency": 2}))
    setup = Store(db_url)
    setup.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    setup.close()
    workers = [Store(db_url, worker_id=f"w{i}") for i in range(3)]
    done: list[int] = []
    try:
        threads = [threading.Thread(target=lambda w=w: done.append(len(update_sources(
            w, config, due_only=True)))) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for worker in workers:
            worker.close()
    assert sum(done) == 24  # every due source, each by one worker
    assert sorted(r.path for r in feed_server.requests) == sorted(f"/{i}.xml" for i in range(24))
    # three workers, one host: never more than per_host_concurrency at once (each worker
    # alone keeps 2 in flight, so without the shared cap there would be up to 6)
    assert feed_server.peak_in_flight({f"/{i}.xml" for i in range(24)}) == 2


# ---- the site, published once through the database ----


def _stored_site(store: Store) -> dict[str, bytes]:
    return {f.path: f.body for f in store.site_files(list(store.site_etags()))}


def test_what_a_worker_publishes_every_web_server_serves_unchanged(
        db_url: str, tmp_path: Path, feed_server: FeedServer) -> None:
    config_path = write_config(tmp_path, {
        "news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "wire": feed_server.serve_file("/atom.xml", "atom.xml", "application/atom+xml")},
        outputs="outputs:\n  - name: all\n    title: All\n"
                "  - name: news\n    title: News\n    sources: [news]\n"
                "  - name: wire\n    title: Wire\n    sources: [wire]")
    config = load_config(config_path)
    store = Store(db_url)
    web = Store(db_url)
    server = Service(str(config_path), config, web, fetch=False)
    try:
        store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
        update_sources(store, config)
        assert server.follow() is True  # nothing published yet: an empty site
        assert server.cache.get("index.html") is None
        now = utc_now()
        written = publish_site(store, config, now)
        full = render_site(store, config, now)
        assert written == sorted(full)
        assert _stored_site(store) == {path: f.body for path, f in full.items()}
        assert server.follow() is True
        assert server.cache.get("feeds/all.atom") == full["feeds/all.atom"]
        assert server.follow() is False  # the version did not move: nothing read
        assert publish_site(store, config, now) == []  # the same bytes: nothing written
        version = store.site_version()

        # the wire feed changes: only the outputs it touches are rendered again, and
        # the stored site is what a whole rendering gives
        feed_server.serve("/atom.xml", (Path(__file__).parent / "data" / "feeds" /
                                        "atom.xml").read_bytes().replace(
            b"Markets open higher", b"Markets open much higher"), "application/atom+xml")
        started = utc_now()
        update_sources(store, config, names=["wire"])
        touched = outputs_of_sources(config, store.sources_sharing_stories({"wire"}, started))
        assert touched == ["all", "wire"]  # the wire story is not in the news feed
        later = utc_now()
        written = publish_site(store, config, later, outputs=touched)
        assert "feeds/wire.atom" in written and "feeds/news.atom" not in written
        assert _stored_site(store) == {p: f.body for p, f in
                                       render_site(store, config, later).items()}
        assert store.site_version() == version + 1
        assert server.follow() is True
        assert b"much higher" in server.cache.get("feeds/wire.atom").body  # type: ignore[union-attr]
    finally:
        store.close()
        web.close()


def test_an_output_removed_from_feeds_yaml_leaves_the_published_site(
        db_url: str, tmp_path: Path, feed_server: FeedServer) -> None:
    two = "outputs:\n  - name: all\n    title: All\n  - name: old\n    title: Old"
    config = load_config(write_config(
        tmp_path, {"news": feed_server.serve_file("/rss2.xml", "rss2.xml")}, outputs=two))
    store = Store(db_url)
    try:
        publish_site(store, config, utc_now())
        assert "feeds/old.atom" in store.site_etags()
        one = load_config(write_config(
            tmp_path, {"news": feed_server.url("/rss2.xml")},
            outputs="outputs:\n  - name: all\n    title: All"))
        publish_site(store, one, utc_now())
        assert sorted(p for p in store.site_etags() if p.startswith("feeds/")) == [
            "feeds/all.atom", "feeds/all.html", "feeds/all.json", "feeds/all.rss"]
    finally:
        store.close()
