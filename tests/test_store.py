"""Store behaviour that several workers rely on, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from aggregator.config import SourceConfig
from aggregator.packing import pack_text, unpack_text
from aggregator.store import Store
from aggregator.store.models import TextList, UTCDateTime
from aggregator.types import Credit, FeedMeta, Fingerprint, ItemData, Outcome, SourceUpdate

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


def test_list_columns_round_trip_and_keep_null_apart_from_empty() -> None:
    kind = TextList()
    assert kind.process_bind_param(("a", "b"), None) == "a\nb"  # type: ignore[arg-type]
    assert kind.process_bind_param((), None) == ""  # type: ignore[arg-type]
    assert kind.process_bind_param(None, None) is None  # type: ignore[arg-type]
    assert kind.process_result_value("a\n\nb", None) == ("a", "b")  # type: ignore[arg-type]
    assert kind.process_result_value("", None) == ()  # type: ignore[arg-type]
    assert kind.process_result_value(None, None) is None  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        kind.process_bind_param("ab", None)  # type: ignore[arg-type]


def _new_item(guid: str, categories: tuple[str, ...] = ()) -> ItemData:
    return ItemData(guid=guid, url=None, canonical_url=None, title=guid, author=None,
                    content_html="", summary_text="", published_at=None, updated_at=None,
                    content_hash=guid, categories=categories)


def test_list_columns_are_stored_as_joined_text(store: Store) -> None:
    store.sync_sources([SourceConfig(name="s", url="https://e.com/s.xml", tags=("a", "b"))],
                       timedelta(minutes=30), NOW)
    (source,) = store.claim_sources(NOW)
    fp = Fingerprint(words=3, shingles=1, signature=b"\0" * 4, bands=(), numbers=(),
                     skeleton_hash="0" * 16)
    store.apply(source.id, SourceUpdate(
        outcome=Outcome.OK, now=NOW, next_fetch_at=NOW,
        new_items=(_new_item("1", ("Политика", "Мир")), _new_item("2")),
        fingerprints={"1": replace(fp, numbers=("89.5", "jul")), "2": fp},
        credits={"1": Credit(relayed_by="tt", cites=("Известия", "ТАСС"), line="...")}))
    store.apply(source.id, SourceUpdate(outcome=Outcome.OK, now=NOW, next_fetch_at=NOW,
                                        new_items=(_new_item("3"),)))
    with store.engine.connect() as connection:
        items = connection.execute(text(
            "SELECT guid, categories, cites FROM item ORDER BY guid")).all()
        tags = connection.execute(text("SELECT tags FROM source")).scalar_one()
    assert [tuple(row) for row in items] == [
        ("1", "Политика\nМир", "Известия\nТАСС"), ("2", "", ""), ("3", "", "")]
    assert tags == "a,b"


def test_a_moved_feed_is_fetched_and_shown_at_its_new_url(store: Store) -> None:
    store.sync_sources(_sources(1), timedelta(minutes=30), NOW)
    (source,) = store.claim_sources(NOW)
    store.apply(source.id, SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=NOW,
                                        next_fetch_at=NOW, moved_to="https://e.org/0.xml"))
    assert [s.url for s in store.claim_sources(NOW)] == ["https://e.org/0.xml"]
    (status,) = store.source_statuses()
    assert (status.url, status.feed_url) == ("https://example.com/0.xml", "https://e.org/0.xml")


def _band_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return dict(connection.execute(text(
            "SELECT item.guid, count(*) FROM (SELECT item_id FROM item_band UNION ALL "
            "SELECT item_id FROM item_band_recent) AS bands JOIN item ON item.id = item_id "
            "GROUP BY item.guid")).all())


def test_pruning_drops_only_the_band_keys_older_than_the_window(store: Store) -> None:
    from aggregator.update import prune_index

    store.sync_sources(_sources(1), timedelta(minutes=30), NOW)
    (source,) = store.claim_sources(NOW)
    fp = Fingerprint(words=30, shingles=26, signature=b"\0" * 1536, bands=(11, -12, 13),
                     numbers=(), skeleton_hash="0" * 16)
    dated = {"old": NOW - timedelta(days=8, hours=1), "recent": NOW - timedelta(days=7)}
    store.apply(source.id, SourceUpdate(
        outcome=Outcome.OK, now=NOW, next_fetch_at=NOW,
        new_items=tuple(replace(_new_item(guid), published_at=when)
                        for guid, when in dated.items()),
        fingerprints={"old": fp, "recent": replace(fp, bands=(11, 14))}))
    assert _band_counts(store) == {"old": 3, "recent": 2}
    assert prune_index(store, NOW) == 1  # older than the 7-day window and a day: "old"
    assert _band_counts(store) == {"recent": 2}
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM item")).scalar_one() == 2
    assert prune_index(store, NOW) == 0


def test_band_rows_are_found_and_pruned_in_both_tables(store: Store) -> None:
    from sqlmodel import Session

    from aggregator.store import bands
    from aggregator.update import prune_index

    store.sync_sources(_sources(1), timedelta(minutes=30), NOW)
    (source,) = store.claim_sources(NOW)
    fp = Fingerprint(words=30, shingles=26, signature=b"\0" * 1536, bands=(11, -12, 13),
                     numbers=(), skeleton_hash="0" * 16)
    old, recent = NOW - timedelta(days=9), NOW - timedelta(days=1)
    for guids in (("merged-old", "merged-recent"), ("new-old", "new-recent")):
        store.apply(source.id, SourceUpdate(
            outcome=Outcome.OK, now=NOW, next_fetch_at=NOW,
            new_items=tuple(replace(_new_item(guid), published_at=old if "old" in guid
                                    else recent) for guid in guids),
            fingerprints=dict.fromkeys(guids, fp)))
        if guids[0] == "merged-old":  # the first two items' rows into item_band
            with Session(store.engine) as session:
                bands.merge(session)
                session.commit()
    with Session(store.engine) as session, session.begin():
        assert bands.recent_rows(session) == (6 if store.dialect == "sqlite" else 0)
        found = bands.stored_hits(session, {11, 99}, int(old.timestamp()),
                                  int(NOW.timestamp()))
        low_recent = bands.stored_hits(session, {-12}, int(recent.timestamp()),
                                       int(NOW.timestamp()))
    assert [band for band, _ in found] == [11] * 4
    assert len(low_recent) == 2
    assert prune_index(store, NOW) == 2  # older than the window and a day: the two "old"
    assert _band_counts(store) == {"merged-recent": 3, "new-recent": 3}


def test_apply_many_records_updates_without_items_in_one_go(store: Store) -> None:
    store.sync_sources(_sources(3), timedelta(minutes=30), NOW)
    claimed = store.claim_sources(NOW)
    later = NOW + timedelta(minutes=30)
    store.apply_many([(s.id, SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=NOW,
                                          next_fetch_at=later, http_status=304,
                                          etag=f'"{s.name}"')) for s in claimed])
    states = {s.name: s for s in store.source_statuses()}
    assert {s.last_outcome for s in states.values()} == {"not_modified"}
    assert store.claim_sources(later) != []  # leases released, due again at `later`
    with pytest.raises(ValueError, match="without items"):
        store.apply_many([(claimed[0].id, SourceUpdate(
            outcome=Outcome.OK, now=NOW, next_fetch_at=NOW, new_items=(_new_item("x"),)))])


LATER = NOW + timedelta(minutes=30)
_POLLED: list[SourceUpdate] = [
    # a 304, new validators
    SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=LATER, next_fetch_at=LATER,
                 http_status=304, etag='"e2"', last_modified="Wed, 25 Nov 2026 12:00:00 GMT"),
    # the same body again, from a server that ignores validators (a body hash, no etag):
    # sent uncompressed (no wire hash), compressed, and the same compressed bytes
    SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=LATER, next_fetch_at=LATER,
                 http_status=200, body_hash="b" * 64),
    SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=LATER, next_fetch_at=LATER,
                 http_status=200, body_hash="b" * 64, wire_hash="v" * 64),
    SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=LATER, next_fetch_at=LATER,
                 http_status=200),
    # a 304 whose permanent redirect leads back to the configured URL, then elsewhere
    SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=LATER, next_fetch_at=LATER,
                 http_status=304, moved_to="https://example.com/{i}.xml"),
    SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=LATER, next_fetch_at=LATER,
                 http_status=304, moved_to="https://example.org/new.xml"),
    # an error, and a 410 (no next fetch: the stored one is kept)
    SourceUpdate(outcome=Outcome.ERROR, now=LATER, next_fetch_at=LATER + timedelta(hours=1),
                 http_status=500, error="HTTP 500 Internal Server Error"),
    SourceUpdate(outcome=Outcome.GONE, now=LATER, next_fetch_at=None, http_status=410,
                 error="HTTP 410 Gone"),
    # a changed body without a new item: its feed's metadata too
    SourceUpdate(outcome=Outcome.OK, now=LATER, next_fetch_at=LATER, http_status=200,
                 body_hash="c" * 64, etag='"e3"', weekly_entries=3.5, feed_ttl_seconds=600,
                 feed=FeedMeta(title="T", site_url="https://example.com/", feed_id="id",
                               updated=NOW, language="en", hub="https://hub.example/",
                               topic="https://example.com/t.xml")),
]


def test_apply_many_leaves_each_source_as_apply_does(store: Store) -> None:
    """apply_many writes 304s and errors in one statement a batch, not through the ORM:
    each source must end exactly as apply() leaves it, from a state with history."""
    store.sync_sources(_sources(2 * len(_POLLED)), timedelta(minutes=30), NOW)
    claimed = {s.name: s.id for s in store.claim_sources(NOW)}
    for source_id in claimed.values():  # history: a move, a body hash, an error
        store.apply(source_id, SourceUpdate(
            outcome=Outcome.NOT_MODIFIED, now=NOW, next_fetch_at=NOW, http_status=200,
            body_hash="a" * 64, wire_hash="w" * 64, etag='"e1"',
            moved_to="https://example.net/moved.xml"))
        store.apply(source_id, SourceUpdate(outcome=Outcome.ERROR, now=NOW, next_fetch_at=NOW,
                                            http_status=503, error="HTTP 503"))
    store.claim_sources(NOW)  # leased again, as a cycle finds them
    one_by_one, batched = [], []
    for n, change in enumerate(_POLLED):
        a, b = claimed[f"s{2 * n}"], claimed[f"s{2 * n + 1}"]
        moved = change.moved_to
        store.apply(a, replace(change, moved_to=moved and moved.format(i=2 * n)))
        batched.append((b, replace(change, moved_to=moved and moved.format(i=2 * n + 1))))
        one_by_one.append((a, b))
    store.apply_many(batched)
    with store.engine.connect() as connection:
        rows = {row.id: row._asdict() for row in connection.execute(text("SELECT * FROM source"))}
    for a, b in one_by_one:
        left = {k: v for k, v in rows[a].items() if k not in ("id", "name", "url")}
        right = {k: v for k, v in rows[b].items() if k not in ("id", "name", "url")}
        assert left == right
        assert left["lease_owner"] is None and left["lease_until"] is None
    gone = rows[claimed[f"s{2 * 7 + 1}"]]
    assert (gone["stopped"], gone["error_count"]) in ((True, 2), (1, 2))
    back = rows[claimed["s9"]]
    assert back["moved_to"] is None and back["error_count"] == 0
    hashes = [(rows[claimed[f"s{2 * n + 1}"]]["body_hash"],
               rows[claimed[f"s{2 * n + 1}"]]["wire_hash"]) for n in (1, 2, 3)]
    assert hashes == [("b" * 64, None), ("b" * 64, "v" * 64), ("a" * 64, "w" * 64)]


def test_the_writer_falls_back_to_one_by_one_when_a_batch_fails(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from aggregator.ingest.schedule import PollPolicy
    from aggregator.update import Writer

    store.sync_sources(_sources(2), timedelta(minutes=30), NOW)
    claimed = store.claim_sources(NOW)

    def broken(changes: object) -> None:
        raise RuntimeError("batch failed")

    monkeypatch.setattr(store, "apply_many", broken)
    writer = Writer(store)
    policy = PollPolicy(interval=timedelta(minutes=30))
    for source in claimed:
        writer.defer(source, SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=NOW,
                                          next_fetch_at=NOW, http_status=304), policy)
    assert {s.last_outcome for s in store.source_statuses()} == {None}  # not yet written
    writer.flush()
    assert {s.last_outcome for s in store.source_statuses()} == {"not_modified"}
    assert writer.pending == []


@given(st.text())
def test_packed_text_comes_back_as_it_was(value: str) -> None:
    packed = pack_text(value)
    assert unpack_text(packed) == value
    assert len(packed) <= len(value.encode()) + 1  # never more than the marker byte


def test_item_texts_are_stored_deflated_and_read_back(store: Store) -> None:
    store.sync_sources(_sources(1), timedelta(minutes=30), NOW)
    (source,) = store.claim_sources(NOW)
    content = "<p>" + " ".join(["Курс доллара вырос на бирже"] * 40) + "</p>"
    item = replace(_new_item("1"), content_html=content, summary_text="Курс доллара…")
    store.apply(source.id, SourceUpdate(outcome=Outcome.OK, now=NOW, next_fetch_at=NOW,
                                        new_items=(item,)))
    with store.engine.connect() as connection:
        raw = connection.execute(text("SELECT content_html FROM item")).scalar_one()
    assert len(raw) < len(content.encode()) / 4
    (story,) = store.stories_for(None, 10)
    assert (story.content_html, story.summary_text) == (content, "Курс доллара…")


def test_texts_packed_by_the_worker_are_written_as_they_are(store: Store) -> None:
    """A text found in ``SourceUpdate.packed`` is not packed again (the parse worker did
    it); one not found there (say, a full text read later) is packed when written."""
    store.sync_sources(_sources(1), timedelta(minutes=30), NOW)
    (source,) = store.claim_sources(NOW)
    item = replace(_new_item("1"), content_html="<p>the feed's text</p>",
                   summary_text="not packed beforehand")
    marked = b"\x00<p>packed by the worker</p>"  # a stand-in the store cannot have made
    store.apply(source.id, SourceUpdate(outcome=Outcome.OK, now=NOW, next_fetch_at=NOW,
                                        new_items=(item,),
                                        packed={item.content_html: marked}))
    with store.engine.connect() as connection:
        content, summary = connection.execute(
            text("SELECT content_html, summary_text FROM item")).one()
    assert (bytes(content), bytes(summary)) == (marked, pack_text("not packed beforehand"))
