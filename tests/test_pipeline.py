"""The core path against a real local HTTP server and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from lxml import etree
from sqlmodel import Session, select

from aggregator.clock import utc_now
from aggregator.config import load_config
from aggregator.site import render_output
from aggregator.store import Store
from aggregator.store.models import ItemRow, SourceRow, StoryRow
from aggregator.types import Outcome
from aggregator.update import update_sources
from tests.conftest import ATOM_RNG, write_config
from tests.feedserver import FEEDS, FeedServer

ATOM = "{http://www.w3.org/2005/Atom}"


def _setup(tmp_path: Path, store: Store, sources: dict[str, str]):
    config = load_config(write_config(tmp_path, sources))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    return config


def _rows(store: Store, model):
    with Session(store.engine) as session:
        return list(session.exec(select(model)).all())


def test_fetching_twice_stores_each_item_once_and_the_second_run_is_304s(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, store, {
        "rss2": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "atom": feed_server.serve_file("/atom.xml", "atom.xml", "application/atom+xml"),
        "rss1": feed_server.serve_file("/rss1.rdf", "rss1.rdf", "application/rdf+xml"),
    })
    first = {r.source: r for r in update_sources(store, config)}
    assert {r.outcome for r in first.values()} == {Outcome.OK}
    assert (first["rss2"].new, first["atom"].new, first["rss1"].new) == (3, 2, 2)
    assert len(_rows(store, ItemRow)) == 7

    second = update_sources(store, config)
    assert {r.outcome for r in second} == {Outcome.NOT_MODIFIED}
    assert sum(r.new for r in second) == 0
    assert len(_rows(store, ItemRow)) == 7
    # the validators were sent back exactly as the server gave them
    conditional = feed_server.hits("/rss2.xml")[-1].headers
    assert conditional["If-None-Match"].startswith('"')
    assert conditional["If-Modified-Since"] == "Tue, 24 Nov 2026 12:00:00 GMT"


def test_a_server_that_ignores_validators_is_not_reparsed(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    url = feed_server.serve("/plain.xml", (Path(__file__).parent / "data/feeds/rss2.xml")
                            .read_bytes(), validators=False)
    config = _setup(tmp_path, store, {"plain": url})
    assert update_sources(store, config)[0].new == 3
    again = update_sources(store, config)[0]
    assert again.outcome is Outcome.NOT_MODIFIED
    assert feed_server.hits("/plain.xml")[-1].headers.get("If-None-Match") is None


def test_the_same_compressed_bytes_again_are_not_even_inflated(
        tmp_path: Path, store: Store, feed_server: FeedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that ignores validators and sends the same gzip bytes: the second
    answer is known by the hash of its bytes on the wire, before any inflating. The same
    body compressed otherwise is known by its body's hash (not parsed again); a new body
    is parsed; a body sent uncompressed leaves no wire hash behind."""
    import aggregator.ingest.fetch as fetch_module

    rss = (Path(__file__).parent / "data/feeds/rss2.xml").read_bytes()
    url = feed_server.serve("/gz.xml", gzip.compress(rss, mtime=1), validators=False)
    feed_server.routes["/gz.xml"].headers["Content-Encoding"] = "gzip"
    config = _setup(tmp_path, store, {"gz": url})

    def hashes() -> tuple[str | None, str | None]:
        row = _rows(store, SourceRow)[0]
        return row.body_hash, row.wire_hash

    assert update_sources(store, config)[0].new == 3
    first = hashes()
    assert first[0] is not None and first[1] is not None and first[0] != first[1]

    inflated: list[str] = []
    real = fetch_module._Inflater

    class Counting(real):  # type: ignore[valid-type,misc]
        def __init__(self, encoding: str) -> None:
            inflated.append(encoding)
            super().__init__(encoding)

    monkeypatch.setattr(fetch_module, "_Inflater", Counting)
    again = update_sources(store, config)[0]
    assert (again.outcome, again.new, inflated) == (Outcome.NOT_MODIFIED, 0, [])
    assert hashes() == first
    assert _rows(store, SourceRow)[0].last_http_status == 200

    # the same body, compressed at another time: other bytes, the same body hash
    feed_server.routes["/gz.xml"].body = gzip.compress(rss, mtime=2)
    again = update_sources(store, config)[0]
    assert (again.outcome, again.new, inflated) == (Outcome.NOT_MODIFIED, 0, ["gzip"])
    assert hashes()[0] == first[0] and hashes()[1] not in (None, first[1])

    # a new body is parsed; the same body uncompressed keeps no wire hash
    changed = rss.replace(b"</channel>", b"<item><title>New one</title>"
                          b"<link>https://example.com/new</link></item></channel>")
    feed_server.routes["/gz.xml"].body = gzip.compress(changed, mtime=2)
    assert update_sources(store, config)[0].new == 1
    del feed_server.routes["/gz.xml"].headers["Content-Encoding"]
    feed_server.routes["/gz.xml"].body = changed
    again = update_sources(store, config)[0]
    assert (again.outcome, again.new) == (Outcome.NOT_MODIFIED, 0)
    assert hashes()[1] is None


def test_a_changed_item_is_updated_not_duplicated(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    original = (Path(__file__).parent / "data/feeds/rss2.xml").read_bytes()
    url = feed_server.serve("/rss2.xml", original)
    config = _setup(tmp_path, store, {"rss2": url})
    update_sources(store, config)
    feed_server.serve("/rss2.xml", original.replace(b"Storm expected on the coast",
                                                    b"Storm expected on the whole coast"))
    result = update_sources(store, config)[0]
    assert (result.outcome, result.new, result.updated) == (Outcome.OK, 0, 1)
    titles = sorted(i.title for i in _rows(store, ItemRow))
    assert "Storm expected on the whole coast" in titles
    assert "Storm expected on the coast" not in titles
    assert len(titles) == 3


def test_the_same_url_from_two_sources_is_one_story_with_both_attributed(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, store, {
        "news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "wire": feed_server.serve_file("/atom.xml", "atom.xml", "application/atom+xml"),
    })
    update_sources(store, config)
    items = _rows(store, ItemRow)
    by_title = {i.title: i for i in items}
    shared = by_title["Shared wire story: rates unchanged"]
    wire = by_title["Rates unchanged again"]
    assert shared.story_id == wire.story_id
    assert len(_rows(store, StoryRow)) == 4  # 5 items, one story shared

    rendered = render_output(store, config, config.outputs[0], utc_now())
    root = etree.fromstring(rendered.body)
    assert etree.RelaxNG(etree.parse(str(ATOM_RNG))).validate(etree.ElementTree(root))
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 4
    story = next(e for e in entries if e.findtext(f"{ATOM}title") == "Rates unchanged again")
    # the earliest publisher (the wire, 14:00 before the news site's 15:00) represents it
    source = story.find(f"{ATOM}source")
    assert source.findtext(f"{ATOM}id") == "tag:wire.example.org,2026:feed"
    assert source.findtext(f"{ATOM}title") == "Wire Service"
    assert source.findtext(f"{ATOM}updated") == "2026-11-24T10:00:00Z"
    related = story.findall(f"{ATOM}link[@rel='related']")  # tracking parameters removed
    assert [(r.get("href"), r.get("title")) for r in related] == [
        ("https://wire.example.org/stories/rates-unchanged", "Example News")]
    content = story.findtext(f"{ATOM}content")
    assert "Published by" in content and "also carried by" in content


def test_the_story_id_never_changes_when_it_gains_sources(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    news = feed_server.serve_file("/rss2.xml", "rss2.xml")
    config = _setup(tmp_path, store, {"news": news})
    update_sources(store, config)
    before = {e.findtext(f"{ATOM}title"): e.findtext(f"{ATOM}id") for e in etree.fromstring(
        render_output(store, config, config.outputs[0], utc_now()).body).iter(f"{ATOM}entry")}
    config = _setup(tmp_path, store, {
        "news": news, "wire": feed_server.serve_file("/atom.xml", "atom.xml")})
    update_sources(store, config)
    after = {e.findtext(f"{ATOM}id") for e in etree.fromstring(
        render_output(store, config, config.outputs[0], utc_now()).body).iter(f"{ATOM}entry")}
    assert set(before.values()) <= after
    assert len(after) == 4


def test_russian_feeds_in_windows_1251_and_koi8_r_are_stored_as_russian(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, store, {
        "cp1251": feed_server.serve_file("/ru.xml", "ru-cp1251.xml", "text/xml"),
        "koi8": feed_server.serve_file("/koi.xml", "ru-koi8r.xml",
                                       "application/rss+xml; charset=koi8-r"),
    })
    results = update_sources(store, config)
    assert {r.outcome for r in results} == {Outcome.OK}
    titles = {i.title for i in _rows(store, ItemRow)}
    assert "Статью Токаева опубликовала российская газета" in titles
    assert "Ёлки на площади" in titles
    sources = {s.name: s for s in _rows(store, SourceRow)}
    assert sources["cp1251"].feed_title == "Новости Казахстана"
    assert sources["koi8"].feed_title == "Новости Казахстана"
    item = next(i for i in _rows(store, ItemRow) if "turantimes" in i.guid and "Токаев" in i.title)
    assert item.canonical_url == "https://turantimes.example.kz/news/tokaev-izvestia"
    assert "«Известия»" in item.summary_text


def test_repeated_guids_and_missing_guids_keep_every_entry_stably(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, store, {
        "broken": feed_server.serve_file("/rep.xml", "repeated-guids.xml"),
        "noguid": feed_server.serve_file("/nog.xml", "no-guids.xml"),
    })
    results = {r.source: r for r in update_sources(store, config)}
    assert results["broken"].new == 3  # the exact duplicate is dropped, three posts kept
    assert results["noguid"].new == 2
    guids = {i.guid for i in _rows(store, ItemRow)}
    assert "https://noguids.example.com/linked" in guids  # link as guid
    assert any(g.startswith("sha256:") for g in guids)  # content hash as the last resort
    # a re-poll that gets the whole body again changes nothing
    feed_server.routes["/rep.xml"].validators = False
    feed_server.routes["/nog.xml"].validators = False
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    with Session(store.engine) as session:  # forget the body hash, so they are parsed again
        for row in session.exec(select(SourceRow)).all():
            row.body_hash = None
            session.add(row)
        session.commit()
    again = update_sources(store, config)
    assert {(r.new, r.updated) for r in again} == {(0, 0)}
    assert len(_rows(store, ItemRow)) == 5


def test_one_failing_source_never_stops_the_others(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    feed_server.serve("/html", b"<!doctype html><html><body>Hi</body></html>", "text/html")
    feed_server.serve("/gone", b"gone", status=410)
    config = _setup(tmp_path, store, {
        "good": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "html": feed_server.url("/html"),
        "gone": feed_server.url("/gone"),
        "missing": feed_server.url("/nothing-here"),
        "refused": "http://127.0.0.1:9/feed.xml",
    })
    results = {r.source: r for r in update_sources(store, config)}
    assert results["good"].outcome is Outcome.OK and results["good"].new == 3
    assert str(results["html"].error) == "not a feed: the server sent an HTML page"
    assert results["gone"].outcome is Outcome.GONE
    assert str(results["gone"].error).startswith("HTTP 410 Gone: the feed is gone for good")
    assert str(results["missing"].error) == "HTTP 404 Not Found"
    assert results["refused"].outcome is Outcome.ERROR
    states = {s.name: s for s in store.source_statuses()}
    assert states["html"].error_count == 1 and states["html"].last_error.startswith("not a feed")
    assert states["good"].error_count == 0 and states["good"].items == 3


def test_hostile_content_is_sanitized_and_future_dates_clamped(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, store, {
        "hostile": feed_server.serve_file("/h.xml", "hostile.xml"),
        "ctrl": feed_server.serve_file("/c.xml", "control-chars.xml"),
    })
    assert {r.outcome for r in update_sources(store, config)} == {Outcome.OK}
    items = {i.guid: i for i in _rows(store, ItemRow)}
    hostile = items["hostile-1"]
    assert "<script" not in hostile.content_html and "javascript:" not in hostile.content_html
    assert "onerror" not in hostile.content_html and "iframe" not in hostile.content_html
    assert hostile.published_at is not None and hostile.published_at.year < 2090
    rendered = render_output(store, config, config.outputs[0], utc_now())
    root = etree.fromstring(rendered.body)  # well formed despite NUL and control bytes
    assert etree.RelaxNG(etree.parse(str(ATOM_RNG))).validate(etree.ElementTree(root))
    titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    assert "Null and bell in title" in titles


def test_feeds_prepared_in_worker_processes_store_the_same(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    sources = {"news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
               "wire": feed_server.serve_file("/atom.xml", "atom.xml"),
               "ru": feed_server.serve_file("/ru.xml", "ru-cp1251.xml", "text/xml"),
               "html": feed_server.serve("/h", b"<!doctype html><html></html>", "text/html")}
    config = load_config(write_config(tmp_path, sources, settings={"parse_workers": 2}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    results = {r.source: r for r in update_sources(store, config)}
    assert (results["news"].new, results["wire"].new, results["ru"].new) == (3, 2, 2)
    assert str(results["html"].error) == "not a feed: the server sent an HTML page"
    titles = {s.title for s in store.stories_for(None, 20)}
    assert "Ёлки на площади" in titles and "Rates unchanged again" in titles
    assert len(titles) == 6  # the shared wire story is one story


def test_few_new_feeds_wait_prepared_for_the_writer(
        tmp_path: Path, store: Store, feed_server: FeedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow writer holds back the parse pool: parsed feeds waiting for the ingest
    thread are memory, and the writer only takes one at a time."""
    import threading
    import time
    from concurrent.futures import Executor, Future
    from typing import Any

    from aggregator import update

    limit = update.backlog_size(1)
    sources = {f"s{i}": feed_server.serve_file(f"/f{i}.xml", "rss2.xml")
               for i in range(limit + 8)}
    config = load_config(write_config(tmp_path, sources, settings={"parse_workers": 1,
                                                                   "concurrency": 32}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    lock = threading.Lock()
    held = {"now": 0, "most": 0}  # bodies handed to the pool and not stored yet
    real_pool, real_stage = update.parse_pool, update.stage

    class Counting(Executor):
        def __init__(self, pool: Executor) -> None:
            self.pool = pool

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            with lock:
                held["now"] += 1
                held["most"] = max(held["most"], held["now"])
            return self.pool.submit(fn, *args, **kwargs)

    def slow_stage(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)
        try:
            return real_stage(*args, **kwargs)
        finally:
            with lock:
                held["now"] -= 1

    monkeypatch.setattr(update, "parse_pool", lambda workers: Counting(real_pool(workers)))
    monkeypatch.setattr(update, "stage", slow_stage)
    results = update_sources(store, config)
    assert sorted(r.new for r in results) == [3] * (limit + 8)
    assert limit < held["most"] + 4 and held["most"] <= limit  # reached, never passed


_UNCHANGED_CYCLE = """
import sys
from aggregator.config import load_config
from aggregator.ingest import pool
from aggregator.store import Store
from aggregator.update import update_sources

store = Store(sys.argv[2])
results = update_sources(store, load_config(sys.argv[1]))
print(sorted((r.source, r.outcome.value, r.new) for r in results))
print(sorted(m for m in ("feedparser", "lxml", "nh3", "numpy", "re2") if m in sys.modules))
print(sum(w.process is not None for p in pool._POOLS.values() for w in p._workers))
"""


def test_a_cycle_of_unchanged_feeds_starts_no_parse_worker_and_loads_no_parser(
        tmp_path: Path, feed_server: FeedServer) -> None:
    """What docs/operations.md ("Memory and CPU") promises: a 304, or the same bytes
    again from a server that ignores validators, costs neither a worker process nor the
    parsing libraries' memory, even with parse workers configured."""
    import subprocess
    import sys

    sources = {"kept": feed_server.serve_file("/kept.xml", "rss2.xml"),
               "same": feed_server.serve("/same.xml", (FEEDS / "atom.xml").read_bytes(),
                                         "application/atom+xml", validators=False)}
    config = write_config(tmp_path, sources, settings={"parse_workers": 1})
    url = f"sqlite:///{tmp_path / 'store.db'}"
    loaded = load_config(config)
    store = Store(url)
    try:
        store.sync_sources(loaded.sources, loaded.settings.poll_interval, utc_now())
        first = {r.source: r.new for r in update_sources(store, loaded)}
    finally:
        store.close()
    assert first == {"kept": 3, "same": 2}
    lines = subprocess.run([sys.executable, "-c", _UNCHANGED_CYCLE, str(config), url],
                           capture_output=True, text=True, check=True,
                           cwd=tmp_path).stdout.splitlines()
    assert lines == ["[('kept', 'not_modified', 0), ('same', 'not_modified', 0)]", "[]", "0"]
    assert feed_server.hits("/kept.xml")[-1].headers.get("If-None-Match") is not None
