"""A feed's near-duplicate candidates read by the parse worker ahead of the writer
(store/lookahead.py): the writer finds the same stories whether it uses the worker's
read or reads itself, and reads itself whenever the worker's snapshot could miss an
item (another process wrote, a range or an item it did not read)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import Session

from aggregator import metrics, update
from aggregator.clock import utc_now
from aggregator.config import Config, SourceConfig, load_config
from aggregator.ingest.prepare import prepare_feed
from aggregator.store import Store, bandfilter, bands
from aggregator.store.lookahead import (
    Lookahead,
    WrittenBands,
    prepare_and_read,
    read_candidates,
    usable,
)
from aggregator.stories.fingerprints import Fingerprints
from aggregator.types import CandidateRead, Outcome, PreparedFeed, SourceToFetch, SourceUpdate
from aggregator.update import update_sources
from tests.conftest import write_config
from tests.feedserver import FeedServer
from tests.test_syndication import EDITED, ORIGINAL, RELAYED, T0, TITLE, _paragraphs, _rss, _serve

NOW = datetime.now(UTC).replace(microsecond=0)


def _prepared(channel: str, title: str, url: str, paragraphs: list[str]) -> PreparedFeed:
    body = _rss(channel, [(title, url, _paragraphs(paragraphs), T0)])
    return prepare_feed(body, {"content-type": "application/rss+xml"}, f"https://{channel}/",
                        NOW)


ORIGINAL_FEED = _prepared("Известия", "Касым-Жомарт Токаев: Казахстан и Россия — союзники",
                          "https://iz.ru/1/tokaev-statya", ORIGINAL)
RELAYED_FEED = _prepared("Turantimes.kz", TITLE, "https://turantimes.kz/news/tokaev", RELAYED)


def _update(prepared: PreparedFeed, read: CandidateRead | None = None) -> SourceUpdate:
    return SourceUpdate(outcome=Outcome.OK, now=NOW, next_fetch_at=NOW + timedelta(hours=1),
                        new_items=prepared.items, story_keys=prepared.story_keys,
                        fingerprints=prepared.fingerprints, credits=prepared.credits,
                        candidates=read)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite"


def _sources(store: Store) -> list[SourceToFetch]:
    store.sync_sources([SourceConfig(name=n, url=f"https://{n}.example/feed.xml")
                        for n in ("izvestia", "turantimes")], timedelta(minutes=30), NOW)
    return sorted(store.claim_sources(NOW), key=lambda s: s.name)


def _joined(store: Store) -> tuple[bool, str]:
    """Whether the two items are one story, and why the relayed one joined."""
    with store.engine.connect() as connection:
        rows = dict(connection.execute(text(
            "SELECT source.name, item.story_id FROM item JOIN source"
            " ON source.id = item.source_id")).all())
        reason = connection.execute(text(
            "SELECT join_reason FROM item WHERE guid LIKE '%turantimes%'")).scalar_one()
    return rows["izvestia"] == rows["turantimes"], str(reason)


def _counted() -> tuple[int, int]:
    counts = metrics.METRICS.counts
    return counts["candidates_read_ahead"], counts["candidates_read_by_writer"]


def _after(before: tuple[int, int]) -> tuple[int, int]:
    now = _counted()
    return now[0] - before[0], now[1] - before[1]


def test_the_worker_reads_the_candidate_and_its_fingerprint(path: Path) -> None:
    store = Store(f"sqlite:///{path}")
    izvestia, turantimes = _sources(store)
    store.apply(izvestia.id, _update(ORIGINAL_FEED))
    read = read_candidates(Lookahead(str(path), turantimes.id), RELAYED_FEED, NOW)
    assert read.snapshot == 1 and read.guids == {RELAYED_FEED.items[0].guid}
    assert {item_id for _, item_id, _ in read.hits} == {1}
    item = ORIGINAL_FEED.items[0]
    assert read.prints == {1: Fingerprints().of_many([(item.title, item.content_html)])[0]}
    before = _counted()
    store.apply(turantimes.id, _update(RELAYED_FEED, read))
    assert _after(before) == (1, 0)
    joined, reason = _joined(store)
    assert joined and reason.startswith("near-duplicate of item #1 (izvestia)")
    # an item the worker finds stored is neither fingerprinted nor looked up again
    body = _rss("Turantimes.kz", [(TITLE, "https://turantimes.kz/news/tokaev",
                                   _paragraphs(RELAYED), T0)])
    again = prepare_and_read(body, {"content-type": "application/rss+xml"},
                             "https://Turantimes.kz/", NOW,
                             Lookahead(str(path), turantimes.id))
    assert again.skipped == {RELAYED_FEED.items[0].guid} and again.fingerprints == {}
    assert again.candidates is not None
    assert again.candidates.guids == frozenset() and again.candidates.hits == ()


def test_the_worker_finds_a_merged_candidate_through_the_filter(path: Path) -> None:
    """The original's rows merged into ``item_band`` (its filter built by the writer):
    the worker, holding no copy of the filter (another process), reads it from the
    store and finds the candidate there; the relay joins its story."""
    store = Store(f"sqlite:///{path}")
    izvestia, turantimes = _sources(store)
    store.apply(izvestia.id, _update(ORIGINAL_FEED))
    with Session(store.engine) as session:
        bands.merge(session)
        session.commit()
    bandfilter._held.clear()  # as in the worker: only what the store holds
    read = read_candidates(Lookahead(str(path), turantimes.id), RELAYED_FEED, NOW)
    assert bandfilter._held  # read from the store
    assert {item_id for _, item_id, _ in read.hits} == {1}
    store.apply(turantimes.id, _update(RELAYED_FEED, read))
    joined, reason = _joined(store)
    assert joined and reason.startswith("near-duplicate of item #1 (izvestia)")


def test_items_this_process_wrote_after_the_snapshot_are_found(path: Path) -> None:
    store = Store(f"sqlite:///{path}")
    izvestia, turantimes = _sources(store)
    read = read_candidates(Lookahead(str(path), turantimes.id), RELAYED_FEED, NOW)
    assert read.snapshot == 0 and read.hits == ()
    before = _counted()
    batch = store.batch()  # the original is written, not committed, in the same group
    batch.apply(izvestia.id, _update(ORIGINAL_FEED))
    batch.apply(turantimes.id, _update(RELAYED_FEED, read))
    batch.commit()
    assert _after(before) == (1, 1)  # the first came without a read
    joined, reason = _joined(store)
    assert joined and reason.startswith("near-duplicate of item #1 (izvestia)")


def test_items_another_process_wrote_after_the_snapshot_make_the_writer_read(
        path: Path) -> None:
    store = Store(f"sqlite:///{path}")
    izvestia, turantimes = _sources(store)
    read = read_candidates(Lookahead(str(path), turantimes.id), RELAYED_FEED, NOW)
    other = Store(f"sqlite:///{path}")  # another process, as far as `store` can tell
    other.apply(izvestia.id, _update(ORIGINAL_FEED))
    before = _counted()
    store.apply(turantimes.id, _update(RELAYED_FEED, read))
    assert _after(before) == (0, 1)
    joined, reason = _joined(store)
    assert joined and reason.startswith("near-duplicate of item #1 (izvestia)")


def test_a_rolled_back_group_is_forgotten(path: Path) -> None:
    store = Store(f"sqlite:///{path}")
    izvestia, turantimes = _sources(store)
    read = read_candidates(Lookahead(str(path), turantimes.id), RELAYED_FEED, NOW)
    batch = store.batch()
    batch.apply(izvestia.id, _update(ORIGINAL_FEED))
    batch.rollback()
    before = _counted()
    store.apply(turantimes.id, _update(RELAYED_FEED, read))
    assert _after(before) == (1, 0)  # nothing written since the snapshot: nothing missed
    with store.engine.connect() as connection:
        stored = connection.execute(text("SELECT id, join_reason FROM item")).all()
    assert [(i, r.split(":")[0]) for i, r in stored] == [(1, "new story")]


def test_a_read_that_does_not_cover_the_items_or_dates_is_not_used() -> None:
    item = RELAYED_FEED.items[0]
    read = CandidateRead(snapshot=3, low=100, high=200, guids=frozenset({item.guid}),
                         hits=(), prints={})
    assert usable(read, [item], 100, 200) is read
    assert usable(read, [item], 99, 200) is None  # dated earlier than the worker read
    assert usable(read, [item], 100, 201) is None
    assert usable(replace(read, guids=frozenset()), [item], 100, 200) is None
    assert usable(None, [item], 100, 200) is None


def test_parse_workers_store_the_stories_the_writer_alone_stores(
        tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold update, then the relay's feed with one more item (the worker, told what is
    stored, fingerprints that one alone): the same rows with a parse worker as
    without."""
    # the worker reads ahead whenever it can (update.read_ahead: when the writer is
    # behind, which one source at a time never is)
    monkeypatch.setattr(update, "read_ahead", lambda staged: True)
    found = {}
    for workers in (-1, 1):
        sources = _serve(feed_server)
        folder = tmp_path / str(workers)
        folder.mkdir()
        config = load_config(write_config(folder, sources, settings={
            "parse_workers": workers, "concurrency": 1}))
        store = Store(f"sqlite:///{folder / 'store.sqlite'}")
        store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
        before = _counted()
        assert all(r.outcome is Outcome.OK for r in update_sources(store, config))
        ahead, by_writer = _after(before)
        assert (ahead, by_writer) == ((0, 4) if workers < 0 else (4, 0))
        found[workers] = _after_a_second_relayed_item(feed_server, store, config)
    assert found[1] == found[-1]
    assert sum(row[3].startswith("near-duplicate") for row in found[1]) >= 3


def _after_a_second_relayed_item(feed_server: FeedServer, store: Store,
                                 config: Config) -> list[Any]:
    """The relay's feed with one more item, updated (one new item): then every stored
    item's source, guid, story, join reason and credit."""
    feed_server.serve("/tt.xml", _rss("Turantimes.kz", [
        (TITLE, "https://turantimes.kz/news/tokaev", _paragraphs(RELAYED), T0),
        ("Второй материал", "https://turantimes.kz/news/2", _paragraphs(EDITED),
         T0 + timedelta(hours=5))]))
    again = update_sources(store, config, names=["turantimes"],
                           now=utc_now() + timedelta(hours=1))
    assert [(r.new, r.updated) for r in again] == [(1, 0)]
    with store.engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT source.name, item.guid, item.story_id, item.join_reason,"
            " item.relayed_by FROM item JOIN source ON source.id = item.source_id"
            " ORDER BY item.id")).all())


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), max_size=12),
       st.integers(0, 40))
def test_the_cover_says_whether_every_later_item_is_known(
        writes: list[tuple[int, int]], snapshot: int) -> None:
    """Writes by this process (``gap`` ids written by another first, then ``n`` of
    ours): ``covers`` is true exactly when every id above the snapshot is ours and
    still kept."""
    written = WrittenBands(keep=6)
    kept: list[int] = []
    newest = 0
    for gap, n in writes:
        first = newest + gap + 1
        rows = [(i, 0, (i,)) for i in range(first, first + n)]
        written.add(first, first + n - 1, rows)
        kept = (kept if gap == 0 else []) + [i for i, _, _ in rows]
        kept = kept[-6:]
        newest = first + n - 1
    later = range(snapshot + 1, newest + 1)
    assert written.covers(snapshot, newest) == all(i in kept for i in later)
    # the rows found above the snapshot are the kept ones above it, newest first
    if written.covers(snapshot, newest):
        bands = set(range(newest + 1))
        assert [i for _, i in written.hits(bands, 0, 0, snapshot)] == [
            i for i in reversed(kept) if i > snapshot]
        # the open transaction's items are skipped (its PendingBands finds them)
        pending = set(kept[len(kept) // 2:])
        assert [i for _, i in written.hits(bands, 0, 0, snapshot, skip=pending)] == [
            i for i in reversed(kept) if i > snapshot and i not in pending]


def test_the_worker_reads_ahead_while_the_writer_is_behind(
        tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    # more feeds than the backlog holds: those prepared once it is full find the writer
    # AHEAD_AT or more feeds behind
    count = update.backlog_size(1) + 6
    sources = {f"s{i}": feed_server.serve_file(f"/ahead{i}.xml", "rss2.xml")
               for i in range(count)}
    config = load_config(write_config(tmp_path, sources, settings={
        "parse_workers": 1, "concurrency": count}))
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    real_stage = update.stage

    def slow_stage(*args: Any, **kwargs: Any) -> Any:  # a writer slower than the worker
        time.sleep(0.1)
        return real_stage(*args, **kwargs)

    monkeypatch.setattr(update, "stage", slow_stage)
    before = _counted()
    assert all(r.outcome is Outcome.OK for r in update_sources(store, config))
    ahead, by_writer = _after(before)
    assert ahead + by_writer == count and ahead >= 4


def test_a_store_the_worker_cannot_read_leaves_the_reads_to_the_writer(
        tmp_path: Path) -> None:
    body = _rss("Turantimes.kz", [(TITLE, "https://turantimes.kz/news/tokaev",
                                   _paragraphs(RELAYED), T0)])
    missing = Lookahead(str(tmp_path / "no-such-folder" / "store.sqlite"), 1)
    prepared = prepare_and_read(body, {"content-type": "application/rss+xml"},
                                "https://turantimes.kz/", NOW, missing)
    assert prepared.candidates is None and len(prepared.items) == 1


def _two_items() -> bytes:
    return _rss("Turantimes.kz", [
        (TITLE, "https://turantimes.kz/news/tokaev", _paragraphs(RELAYED), T0),
        ("Второй материал", "https://turantimes.kz/news/2", _paragraphs(ORIGINAL), T0)])


def test_told_what_is_stored_prepare_makes_fingerprints_for_new_and_changed_items_only(
        ) -> None:
    headers = {"content-type": "application/rss+xml"}
    whole = prepare_feed(_two_items(), headers, "https://turantimes.kz/", NOW)
    first, second = whole.items
    asked: list[list[str]] = []

    def stored(guids: list[str]) -> dict[str, str]:
        asked.append(list(guids))
        return {first.guid: first.content_hash, second.guid: "an older text"}

    told = prepare_feed(_two_items(), headers, "https://turantimes.kz/", NOW, stored=stored)
    assert asked == [[first.guid, second.guid]]
    assert told.items == whole.items and told.story_keys == whole.story_keys
    assert told.skipped == {first.guid, second.guid}
    # the unchanged one gets none; the changed one's text is matched again
    assert told.fingerprints == {second.guid: whole.fingerprints[second.guid]}
    assert set(told.credits) == {second.guid}  # the changed one is written again
    assert told.credits[second.guid] == whole.credits[second.guid]
    assert set(told.packed) == {second.content_html, second.summary_text}

    def nothing(guids: list[str]) -> dict[str, str]:
        return {}

    fresh = prepare_feed(_two_items(), headers, "https://turantimes.kz/", NOW, stored=nothing)
    assert replace(fresh, skipped=frozenset()) == whole


def test_an_item_the_worker_found_stored_and_is_new_now_is_prepared_again(
        path: Path, tmp_path: Path) -> None:
    from aggregator.types import Fetched
    from aggregator.update import decide

    store = Store(f"sqlite:///{path}")
    _, turantimes = _sources(store)
    body = _two_items()
    headers = {"content-type": "application/rss+xml"}
    first, second = prepare_feed(body, headers, "https://turantimes.kz/", NOW).items
    # the worker's snapshot held the first item; it is gone when the writer decides
    stale = prepare_feed(body, headers, "https://turantimes.kz/", NOW,
                         stored=lambda guids: {first.guid: first.content_hash})
    response = Fetched(url="https://turantimes.kz/", status=200, headers=headers, body=body)
    config = load_config(write_config(tmp_path, {"turantimes": turantimes.url}))
    decided = decide(store, config, turantimes, response, stale)
    assert [i.guid for i in decided.update.new_items] == [first.guid, second.guid]
    assert decided.update.fingerprints[first.guid] is not None


def test_rows_two_commits_old_are_dropped() -> None:
    written = WrittenBands()
    written.add(1, 2, [(1, 0, (10,)), (2, 0, (20,))])
    written.committed()
    written.add(3, 3, [(3, 0, (30,))])
    assert written.covers(0, 3)  # one commit since: a read of before it still works
    written.committed()  # two commits since the first: its rows are dropped
    assert not written.covers(0, 3) and written.covers(2, 3)
    assert written.hits({10, 20, 30}, 0, 0, 2) == [(30, 3)]


def test_no_read_that_saw_no_item_above_the_floor_is_trusted() -> None:
    """A changed item's rows (an id below the cover) reach the index with the commit of
    a transaction whose largest item id is the floor: a read whose snapshot saw none
    above it may predate them and is not used, however many commits follow."""
    written = WrittenBands()
    written.add(1, 2, [(1, 0, (10,)), (2, 0, (20,))])
    assert written.covers(0, 2) and written.covers(2, 2)
    written.distrust(2)
    assert not written.covers(2, 2) and not written.covers(0, 2)
    for _ in range(3):
        written.committed()
    assert not written.covers(2, 2)
    written.add(3, 3, [(3, 0, (30,))])
    written.committed()
    assert written.covers(3, 3) and not written.covers(2, 3)
    written.distrust(1)  # a lower floor later: the higher one stands
    assert not written.covers(2, 3) and written.covers(3, 3)


def test_a_read_older_than_a_changed_item_s_new_rows_is_not_used(path: Path) -> None:
    """A stub whose text becomes the article's gets band rows for its old id: a read
    taken before they were committed misses them and is not used, even once another
    commit has added an item after them; the copy joins the changed item's story."""
    store = Store(f"sqlite:///{path}")
    izvestia, turantimes = _sources(store)
    url = "https://iz.ru/1/tokaev-statya"
    store.apply(izvestia.id, _update(_prepared("Известия", "Токаев написал статью", url,
                                               ["Подробности позже."])))
    read = read_candidates(Lookahead(str(path), turantimes.id), RELAYED_FEED, NOW)
    assert read.snapshot == 1 and read.hits == ()
    store.apply(izvestia.id, SourceUpdate(  # the stub becomes the article (no new item)
        outcome=Outcome.OK, now=NOW, next_fetch_at=NOW + timedelta(hours=1),
        changed_items=ORIGINAL_FEED.items, fingerprints=ORIGINAL_FEED.fingerprints,
        credits=ORIGINAL_FEED.credits))
    store.apply(izvestia.id, _update(_prepared(  # a commit with a new item after it
        "Известия", "Другое", "https://iz.ru/2", ["Совсем другой текст о погоде."] * 3)))
    before = _counted()
    store.apply(turantimes.id, _update(RELAYED_FEED, read))
    assert _after(before) == (0, 1)
    with store.engine.connect() as connection:
        stories = dict(connection.execute(text(
            "SELECT guid, story_id FROM item")).all())
    assert stories[url] == stories[RELAYED_FEED.items[0].guid] != stories["https://iz.ru/2"]


def test_texts_the_worker_left_unpacked_are_stored_as_those_it_packed(path: Path) -> None:
    """When the writer has time, the worker leaves the texts to it (read_ahead): the
    store packs them into the same bytes as the worker would have."""
    body = _rss("Известия", [(TITLE, "https://iz.ru/1", _paragraphs(ORIGINAL), T0)])
    headers = {"content-type": "application/rss+xml"}
    packed = prepare_feed(body, headers, "https://iz.ru/", NOW)
    unpacked = prepare_feed(body, headers, "https://iz.ru/", NOW, pack=False)
    assert packed.packed and unpacked.packed == {}
    assert replace(unpacked, packed=packed.packed) == packed  # nothing else differs
    store = Store(f"sqlite:///{path}")
    izvestia, turantimes = _sources(store)
    store.apply(izvestia.id, replace(_update(packed), packed=packed.packed))
    store.apply(turantimes.id, _update(unpacked))
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT content_html, summary_text FROM item ORDER BY source_id").all()
    store.close()
    assert len(rows) == 2 and rows[0] == rows[1]
    assert isinstance(rows[0][0], bytes) and rows[0][0][:1] == b"\x01"  # deflated


@pytest.mark.parametrize("ahead", [True, False])
def test_the_worker_packs_only_when_it_reads_ahead(ahead: bool) -> None:
    body = _rss("Известия", [(TITLE, "https://iz.ru/1", _paragraphs(ORIGINAL), T0)])
    where = update.lookahead("/no-such-folder/store.sqlite", 7, ahead)
    prepared = prepare_and_read(body, {"content-type": "application/rss+xml"},
                                "https://iz.ru/", NOW, where)
    assert bool(prepared.packed) is ahead


# ---- the marks a parse worker leaves to the writer (stories/marks.py) ----


@pytest.mark.parametrize("channel,title,url,paragraphs", [
    ("Известия", "Касым-Жомарт Токаев: Казахстан и Россия — союзники",
     "https://iz.ru/1/tokaev-statya", ORIGINAL),
    ("Turantimes.kz", TITLE, "https://turantimes.kz/news/tokaev", RELAYED),
])
def test_the_writer_makes_the_marks_a_worker_left_as_the_worker_makes_them(
        channel: str, title: str, url: str, paragraphs: list[str]) -> None:
    """``prepare_feed(defer=True)`` leaves the fingerprints and credits, with the plain
    texts they are made of; ``finish`` makes them: the same values, credit lines
    ("передает Turantimes.kz со ссылкой на ...") included."""
    from aggregator.stories.marks import finish

    body = _rss(channel, [(title, url, _paragraphs(paragraphs), T0)])
    headers = {"content-type": "application/rss+xml"}
    whole = prepare_feed(body, headers, f"https://{channel}/", NOW)
    left = prepare_feed(body, headers, f"https://{channel}/", NOW, defer=True)
    assert left.fingerprints == {} and left.credits == {}
    assert set(left.deferred) == {item.guid for item in whole.items}
    assert left.items == whole.items and left.story_keys == whole.story_keys
    done = finish(left)
    assert done.deferred == {} and finish(done) is done
    assert done.fingerprints == whole.fingerprints and done.credits == whole.credits
    assert all(fp is not None for fp in done.fingerprints.values())
    if channel == "Turantimes.kz":
        credit = done.credits[whole.items[0].guid]
        assert credit is not None and credit.relayed_by == "Turantimes.kz"


def test_a_worker_told_what_is_stored_leaves_the_writer_the_new_items_only(
        path: Path) -> None:
    store = Store(f"sqlite:///{path}")
    _, turantimes = _sources(store)
    store.apply(turantimes.id, _update(RELAYED_FEED))
    left = prepare_and_read(_two_items(), {"content-type": "application/rss+xml"},
                            "https://Turantimes.kz/", NOW,
                            Lookahead(str(path), turantimes.id, ahead=False, defer=True))
    assert left.skipped == {RELAYED_FEED.items[0].guid}
    assert set(left.deferred) == {left.items[1].guid} and left.fingerprints == {}
    # reading ahead, the worker fingerprints (its read needs the bands): no deferral
    read = prepare_and_read(_two_items(), {"content-type": "application/rss+xml"},
                            "https://Turantimes.kz/", NOW,
                            Lookahead(str(path), turantimes.id, ahead=True, defer=True))
    assert read.deferred == {} and set(read.fingerprints) == {read.items[1].guid}


@given(st.integers(0, 40), st.integers(0, 40))
def test_the_writer_takes_the_marks_only_when_it_waits_for_the_worker(
        staged: int, preparing: int) -> None:
    """The mirror of read_ahead: the marks go to the writer when no prepared feed waits
    for it and DEFER_AT new bodies wait for the worker; never when the worker reads
    ahead (the writer is behind then)."""
    deferred = update.defer_to_writer(staged, preparing)
    assert deferred == (staged == 0 and preparing >= update.DEFER_AT)
    assert not (deferred and update.read_ahead(staged))


def test_feeds_whose_marks_the_writer_made_store_the_stories_a_worker_stores(
        tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every feed's marks left to the writer, then the relay's feed with one more item:
    the same rows, stories and credits as when the worker makes them, and counted."""
    found = {}
    for defer in (False, True):
        monkeypatch.setattr(update, "defer_to_writer", lambda staged, preparing, d=defer: d)
        sources = _serve(feed_server)
        folder = tmp_path / str(defer)
        folder.mkdir()
        config = load_config(write_config(folder, sources, settings={
            "parse_workers": 1, "concurrency": 1}))
        store = Store(f"sqlite:///{folder / 'store.sqlite'}")
        store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
        before = metrics.METRICS.counts["marks_made_by_writer"]
        assert all(r.outcome is Outcome.OK for r in update_sources(store, config))
        found[defer] = _after_a_second_relayed_item(feed_server, store, config)
        made = metrics.METRICS.counts["marks_made_by_writer"] - before
        assert made == (len(sources) + 1 if defer else 0)
    assert found[True] == found[False]
    assert sum(row[3].startswith("near-duplicate") for row in found[True]) >= 3
    assert any(row[4] for row in found[True])  # a credit line read by the writer
