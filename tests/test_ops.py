"""Operations: /healthz (database and scheduler), /metrics (Prometheus text), and the
structured log lines of the long-running commands."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette

from aggregator.clock import utc_now
from aggregator.config import SourceConfig, load_config
from aggregator.exceptions import StorageError
from aggregator.logs import JsonFormatter, configure, wants_json
from aggregator.service import Service
from aggregator.site import render_site
from aggregator.store import Store
from aggregator.types import Fingerprint, ItemData, Outcome, SourceUpdate
from aggregator.web import (
    HEALTH_STALE,
    Heartbeat,
    SiteCache,
    assess_health,
    create_app,
    health_check,
)
from tests.conftest import write_config
from tests.feedserver import FeedServer
from tests.test_web import free_port

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@contextmanager
def serving(app: Starlette) -> Iterator[httpx.Client]:
    """The app on a real uvicorn on 127.0.0.1, and a client for it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(5)


def _beat(started: timedelta, last: timedelta | None) -> Heartbeat:
    heartbeat = Heartbeat(NOW - started)
    heartbeat.last = NOW - last if last is not None else None
    return heartbeat


@pytest.mark.parametrize(("problem", "heartbeat", "ok", "scheduler"), [
    (None, None, True, "scheduler: none in this process"),
    (None, _beat(timedelta(hours=1), timedelta(seconds=4)), True,
     "scheduler: last tick at 2026-06-01T11:59:56Z (4 s ago)"),
    (None, _beat(timedelta(seconds=30), None), True,
     "scheduler: no tick since it started at 2026-06-01T11:59:30Z (30 s ago)"),
    (None, _beat(timedelta(hours=1), None), False,
     "scheduler: failing: no tick since it started at 2026-06-01T11:00:00Z (3600 s ago)"),
    (None, _beat(timedelta(hours=1), HEALTH_STALE + timedelta(seconds=1)), False,
     "scheduler: failing: no tick for over 600 s, last tick at 2026-06-01T11:49:59Z "
     "(601 s ago)"),
    ("cannot connect", _beat(timedelta(hours=1), timedelta(seconds=4)), False,
     "scheduler: last tick at 2026-06-01T11:59:56Z (4 s ago)"),
])
def test_health_is_the_database_and_the_scheduler(
        problem: str | None, heartbeat: Heartbeat | None, ok: bool, scheduler: str) -> None:
    health = assess_health(problem, heartbeat, NOW)
    assert health.ok is ok
    assert health.lines == (
        f"database: failing: {problem}" if problem else "database: ok", scheduler)
    assert health.text.splitlines()[0] == ("ok" if ok else "unhealthy")


def test_healthz_answers_503_with_the_reason(store: Store,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(create_app(SiteCache(), health_check(store))) as client:
        _check_healthz(client, store, monkeypatch)


def _check_healthz(client: httpx.Client, store: Store,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    good = client.get("/healthz")
    assert (good.status_code, good.text) == (
        200, "ok\ndatabase: ok\nscheduler: none in this process\n")
    assert good.headers["cache-control"] == "no-store"

    def down() -> None:
        raise StorageError("database error: connection refused")

    monkeypatch.setattr(store, "ping", down)
    bad = client.get("/healthz")
    assert bad.status_code == 503
    assert bad.text.splitlines()[:2] == [
        "unhealthy", "database: failing: database error: connection refused"]
    assert client.head("/healthz").status_code == 503


def test_the_service_reports_a_stuck_scheduler(tmp_path: Path, store: Store) -> None:
    path = write_config(tmp_path, {})
    service = Service(str(path), load_config(path), store)
    assert service.health().ok  # just started
    service.heartbeat.last = utc_now() - HEALTH_STALE - timedelta(minutes=1)
    service.heartbeat.started = utc_now() - timedelta(hours=1)
    report = service.health()
    assert not report.ok and "scheduler: failing: no tick for over" in report.text
    service.update_due()  # a tick (no sources): healthy again
    assert service.health().ok


def _scrape(client: httpx.Client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_metrics_count_fetches_items_stories_and_publishing(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    with serving(create_app(SiteCache())) as client:
        _count_fetches(client, tmp_path, store, feed_server)


def _count_fetches(client: httpx.Client, tmp_path: Path, store: Store,
                   feed_server: FeedServer) -> None:
    from aggregator.update import update_sources

    before = _scrape(client)
    config = load_config(write_config(tmp_path, {
        "news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "wire": feed_server.serve_file("/atom.xml", "atom.xml", "application/atom+xml"),
        "broken": feed_server.url("/missing.xml")}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config, due_only=True)
    render_site(store, config, utc_now())
    after = _scrape(client)

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew('aggregator_fetches_total{outcome="ok"}') == 2
    assert grew('aggregator_fetches_total{outcome="error"}') == 1
    assert grew("aggregator_fetch_duration_seconds_count") == 3
    assert grew("aggregator_fetch_lag_seconds_count") == 3  # all three were due
    assert grew("aggregator_items_stored_total") == 5
    assert grew("aggregator_stories_created_total") == 4  # one URL shared by both
    assert grew("aggregator_publish_duration_seconds_count") == 1
    assert grew('aggregator_fetch_duration_seconds_bucket{le="+Inf"}') == 3
    assert "process_cpu_seconds_total" in after or "python_info" in after


def test_metrics_count_near_duplicates_and_database_errors(store: Store) -> None:
    with serving(create_app(SiteCache())) as client:
        _count_near_duplicates(client, store)


def _count_near_duplicates(client: httpx.Client, store: Store) -> None:
    before = _scrape(client)
    store.sync_sources([SourceConfig(name=n, url=f"https://{n}.example.com/f.xml")
                        for n in ("a", "b")], timedelta(minutes=30), NOW)
    ids = {s.name: s.id for s in store.claim_sources(NOW, due_only=False)}
    # (with lead hashes: the store keeps its print, and b's candidate a is compared by
    # it; a fingerprint of the text "t" would be none)
    fp = Fingerprint(words=60, shingles=56, signature=b"\1" * 1536, bands=(5, 6),
                     numbers=(), skeleton_hash="0" * 16, lead=b"\1" * 8)
    for name in ("a", "b"):
        item = ItemData(guid=name, url=None, canonical_url=None, title="t", author=None,
                        content_html="", summary_text="", published_at=NOW, updated_at=None,
                        content_hash=name)
        store.apply(ids[name], SourceUpdate(outcome=Outcome.OK, now=NOW, next_fetch_at=NOW,
                                            new_items=(item,), fingerprints={name: fp}))
    with pytest.raises((StorageError, DBAPIError)), store._session() as session:
        session.execute(text("SELECT no_such_column FROM story"))
    after = _scrape(client)
    assert after["aggregator_near_duplicates_total"] - before[
        "aggregator_near_duplicates_total"] == 1
    assert after["aggregator_stories_created_total"] - before[
        "aggregator_stories_created_total"] == 1
    assert after["aggregator_database_errors_total"] - before[
        "aggregator_database_errors_total"] == 1


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("aggregator.service", logging.WARNING, __file__, 1,
                               "%s: %s", ("tass", "HTTP 503"), None)
    record.__dict__.update(extra)
    return record


def test_a_json_log_line_has_the_event_and_its_fields() -> None:
    line = JsonFormatter().format(_record(source="tass", outcome="error", duration=0.25,
                                          moved_to=None))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry.pop("timestamp").endswith("Z")
    assert entry == {"level": "WARNING", "logger": "aggregator.service",
                     "message": "tass: HTTP 503", "source": "tass", "outcome": "error",
                     "duration": 0.25}
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        import sys

        record = _record()
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exception"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_unless_a_terminal_or_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGGREGATOR_LOG_FORMAT", raising=False)
    assert wants_json(io.StringIO()) and not wants_json(_Terminal())
    monkeypatch.setenv("AGGREGATOR_LOG_FORMAT", "text")
    assert not wants_json(io.StringIO())
    monkeypatch.setenv("AGGREGATOR_LOG_FORMAT", "JSON")
    assert wants_json(_Terminal())


def test_the_service_logs_one_json_line_per_source_event(
        tmp_path: Path, store: Store, feed_server: FeedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGGREGATOR_LOG_FORMAT", raising=False)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure(stream)
        path = write_config(tmp_path, {
            "news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
            "broken": feed_server.url("/missing.xml")})
        service = Service(str(path), load_config(path), store)
        service.sync()
        service.update_due()
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    events = {e.get("source"): e for e in map(json.loads, stream.getvalue().splitlines())}
    assert events["news"]["message"] == "news: 3 new, 0 updated"
    assert (events["news"]["outcome"], events["news"]["new"]) == ("ok", 3)
    assert events["news"]["duration"] >= 0
    assert events["broken"]["level"] == "WARNING"
    assert (events["broken"]["outcome"], events["broken"]["error_kind"]) == ("error", "http")


def test_fetch_configures_no_logging(tmp_path: Path, feed_server: FeedServer,
                                     db_url: str) -> None:
    """`aggregator fetch` piped prints its summary and nothing else (as before)."""
    from typer.testing import CliRunner

    from aggregator.cli import app

    path = write_config(tmp_path, {"news": feed_server.serve_file("/rss2.xml", "rss2.xml")})
    result = CliRunner().invoke(app, ["fetch", "-c", str(path), "--db", db_url])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.startswith("sources: 1 ok")
