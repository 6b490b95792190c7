"""The ingest's bulk writes (store/driver.py, stories.add_items) store what SQLAlchemy's
Core and reading back would, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, case, create_engine, func, text, update
from sqlmodel import SQLModel

from aggregator.config import SourceConfig
from aggregator.packing import pack_text
from aggregator.store import Store
from aggregator.store.driver import insert_many, select_rows
from aggregator.store.store import create_schema
from aggregator.text import url_host
from aggregator.types import Credit, ItemData, Outcome, SourceUpdate

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ITEM = SQLModel.metadata.tables["item"]
NAMES = tuple(c.name for c in ITEM.c if c.name != "id")
WHEN = st.one_of(st.none(), st.builds(
    lambda when, hours: when.astimezone(timezone(timedelta(hours=hours))),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                 timezones=st.just(UTC)), st.integers(-12, 12)))
TEXTS = st.lists(st.text("ab\n ", min_size=0, max_size=3), max_size=3).map(tuple)


def _row(guid: str, when: datetime | None, later: datetime | None,
         categories: tuple[str, ...], content: str | bytes) -> dict[str, Any]:
    return {"source_id": 1, "story_id": 1, "guid": guid, "url": None,
            "canonical_url": "https://e.com/a", "title": "Т", "author": None,
            "content_html": content, "summary_text": "s", "categories": categories,
            "published_at": when, "updated_at": later, "first_seen_at": later or NOW,
            "last_changed_at": NOW, "content_hash": "h", "relayed_by": None,
            "cites": categories, "credit_line": None, "join_reason": "", "full_text_status": None,
            "image_url": None}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(WHEN, WHEN, TEXTS, st.sampled_from(["<p>x</p>", b"\0packed"])),
                min_size=1, max_size=4))
def test_the_driver_stores_and_reads_what_core_does(
        rows: list[tuple[datetime | None, datetime | None, tuple[str, ...], str | bytes]]
) -> None:
    """Each value converted by its column type's processor: datetimes in any zone (the
    same instant twice in a batch too), lists, texts packed or not."""
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        create_schema(connection)
        connection.execute(text("INSERT INTO source (id, name, url, tags, "
                                "poll_interval_seconds, fixed_interval, active, stopped, "
                                "created_at, error_count, next_fetch_at, host) VALUES "
                                "(1, 's', 'u', '', 1, 0, 1, 0, '2026-01-01', 0, "
                                "'2026-01-01', '')"))
        connection.execute(text("INSERT INTO story (id, uid, representative_is_original, "
                                "published_at, first_seen_at, updated_at) VALUES "
                                "(1, 'u', 0, '2026-01-01', '2026-01-01', '2026-01-01')"))
        core = [_row(f"c{n}", *values) for n, values in enumerate(rows)]
        ours = [_row(f"d{n}", *values) for n, values in enumerate(rows)]
        connection.execute(ITEM.insert(), core)
        assert insert_many(connection, ITEM, NAMES, [
            tuple(row[name] for name in NAMES) for row in ours]) == len(ours)
        stored = [tuple(row) for row in connection.execute(text(
            f"SELECT {', '.join(NAMES[3:])} FROM item ORDER BY id"))]
        assert stored[:len(rows)] == stored[len(rows):]
        columns = [(ITEM, name) for name in NAMES]
        read = select_rows(connection, f"SELECT {', '.join(NAMES)} FROM item ORDER BY id", (),
                           columns)
        by_core = [tuple(row) for row in connection.execute(
            ITEM.select().with_only_columns(*(ITEM.c[name] for name in NAMES))
            .order_by(ITEM.c.id))]
        assert read == by_core
    engine.dispose()


def _item(guid: str, key: str, hours: int, cites: tuple[str, ...] = ()) -> tuple[
        ItemData, tuple[str, ...], Credit | None]:
    item = ItemData(guid=guid, url=None, canonical_url=None, title=guid, author=None,
                    content_html=f"<p>{guid}</p>", summary_text=guid,
                    published_at=NOW - timedelta(hours=hours), updated_at=None,
                    content_hash=guid)
    return item, (f"url:https://e.com/{key}",), Credit(None, cites, "...") if cites else None


def _apply(store: Store, source_id: int, entries: list[tuple[
        ItemData, tuple[str, ...], Credit | None]]) -> None:
    store.apply(source_id, SourceUpdate(
        outcome=Outcome.OK, now=NOW, next_fetch_at=NOW,
        new_items=tuple(item for item, _, _ in entries),
        story_keys={item.guid: keys for item, keys, _ in entries},
        credits={item.guid: credit for item, _, credit in entries if credit},
        packed={f"<p>{item.guid}</p>": pack_text(f"<p>{item.guid}</p>")
                for item, _, _ in entries}))


def _stories(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT * FROM story ORDER BY id"))]


def test_representatives_chosen_in_memory_are_those_read_back(store: Store) -> None:
    """A story created by a batch with its items alone has its representative chosen
    without reading its items back: the same choice as reading them, for new stories
    of one item or several, an item crediting its own outlet, stories that gained an
    outlet."""
    from aggregator.store.stories import refresh_representatives

    store.sync_sources([SourceConfig(name="izvestia", url="https://iz.ru/rss"),
                        SourceConfig(name="tt", url="https://tt.kz/rss")],
                       timedelta(minutes=30), NOW)
    ids = {s.name: s.id for s in store.claim_sources(NOW)}
    batches = [("izvestia", [_item("a1", "k1", 3), _item("a2", "k1", 5),
                             _item("a3", "k3", 1, ("Izvestia",)), _item("a4", "k4", 2)]),
               ("tt", [_item("b1", "k1", 9), _item("b2", "k5", 4, ("Известия",)),
                       _item("b3", "k3", 0, ("izvestia",)), _item("b4", "k6", 1),
                       _item("b5", "k6", 2, ("Reuters",))])]
    for name, entries in batches:
        _apply(store, ids[name], entries)
        written = _stories(store)
        assert all(row[2] is not None for row in written)
        assert [row[3] for row in written].count(True) == 1  # a3's: its outlet credited
        with store._session() as session:  # read back and chosen again
            refresh_representatives(session, [row[0] for row in written])
        assert _stories(store) == written
    assert len(written) == 5


def test_items_get_the_ids_their_rows_and_band_rows_say(store: Store) -> None:
    from aggregator.types import Fingerprint

    store.sync_sources([SourceConfig(name="s", url="https://e.com/s")],
                       timedelta(minutes=30), NOW)
    (source,) = store.claim_sources(NOW)
    fp = Fingerprint(words=30, shingles=26, signature=b"\0" * 1536, bands=(1, 2),
                     numbers=(), skeleton_hash="0" * 16)
    for batch in ("abc", "de"):
        items = [replace(_item(guid, guid, 1)[0]) for guid in batch]
        store.apply(source.id, SourceUpdate(
            outcome=Outcome.OK, now=NOW, next_fetch_at=NOW, new_items=tuple(items),
            fingerprints={i.guid: replace(fp, bands=(ord(i.guid),)) for i in items}))
    with store.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT item.id, item.guid, band FROM item JOIN (SELECT band, item_id FROM"
            " item_band UNION ALL SELECT band, item_id FROM item_band_recent) AS bands"
            " ON item_id = item.id ORDER BY item.id")).all()
    assert [(guid, band) for _, guid, band in rows] == [(g, ord(g)) for g in "abcde"]
    assert [item_id for item_id, _, _ in rows] == list(range(rows[0][0], rows[0][0] + 5))


# apply_many's UPDATEs as SQLAlchemy's Core statements (how it wrote before it sent the
# driver its own SQL): the reference the driver's must match, row for row
_SOURCE = SQLModel.metadata.tables["source"].c


def _param(name: str, column: str) -> Any:
    return bindparam(name, type_=_SOURCE[column].type)


def _polled_values() -> dict[str, Any]:
    return {"last_fetched_at": _param("b_now", "last_fetched_at"),
            "last_outcome": _param("b_outcome", "last_outcome"),
            "last_http_status": _param("b_status", "last_http_status"),
            "next_fetch_at": func.coalesce(_param("b_next", "next_fetch_at"),
                                           _SOURCE.next_fetch_at),
            "lease_owner": None, "lease_until": None}


_MOVED, _BODY_HASH = _param("b_moved", "moved_to"), _param("b_body_hash", "body_hash")
_CORE_CONFIRMED = update(SQLModel.metadata.tables["source"]).where(
    _SOURCE.id == bindparam("b_id")).values(
    **_polled_values(), stopped=False, error_count=0, last_error=None,
    last_success_at=_param("b_now2", "last_success_at"),
    etag=_param("b_etag", "etag"), last_modified=_param("b_last_modified", "last_modified"),
    body_hash=func.coalesce(_BODY_HASH, _SOURCE.body_hash),
    wire_hash=case((_BODY_HASH.is_(None), _SOURCE.wire_hash),
                   else_=_param("b_wire_hash", "wire_hash")),
    moved_to=case((_MOVED.is_(None), _SOURCE.moved_to), (_SOURCE.url == _MOVED, None),
                  else_=_MOVED),
    host=case((_MOVED.is_(None), _SOURCE.host), else_=_param("b_host", "host")))
_CORE_FAILED = update(SQLModel.metadata.tables["source"]).where(
    _SOURCE.id == bindparam("b_id")).values(
    **_polled_values(), error_count=_SOURCE.error_count + 1,
    last_error=_param("b_error", "last_error"), stopped=_param("b_stopped", "stopped"))


def _core(source_id: int, change: SourceUpdate) -> tuple[Any, dict[str, Any]]:
    polled = {"b_id": source_id, "b_now": change.now, "b_outcome": change.outcome.value,
              "b_status": change.http_status, "b_next": change.next_fetch_at}
    if change.outcome in (Outcome.ERROR, Outcome.GONE):
        return _CORE_FAILED, {**polled, "b_error": change.error,
                              "b_stopped": change.outcome is Outcome.GONE}
    return _CORE_CONFIRMED, {
        **polled, "b_now2": change.now, "b_etag": change.etag,
        "b_last_modified": change.last_modified, "b_body_hash": change.body_hash or None,
        "b_wire_hash": change.wire_hash or None, "b_moved": change.moved_to,
        "b_host": url_host(change.moved_to)[:255] if change.moved_to else None}


_TEXT = st.one_of(st.none(), st.just(""), st.text("aé\"0", min_size=1, max_size=4))
_POLLS = st.builds(
    lambda outcome, when, status, etag, modified, body_hash, wire_hash, moved, error: SourceUpdate(
        outcome=outcome, now=when or NOW, next_fetch_at=when if outcome is not Outcome.GONE
        else None, http_status=status, etag=etag, last_modified=modified,
        body_hash=body_hash, wire_hash=wire_hash, moved_to=moved,
        error=error if outcome is not Outcome.NOT_MODIFIED else None),
    st.sampled_from([Outcome.NOT_MODIFIED, Outcome.ERROR, Outcome.GONE]), WHEN,
    st.sampled_from([None, 200, 304, 410, 500]), _TEXT, _TEXT, _TEXT, _TEXT,
    st.sampled_from([None, "https://example.com/{i}.xml", "https://example.org/new.xml",
                     "https://Example.org:8443/x"]), _TEXT)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(polls=st.lists(_POLLS, min_size=1, max_size=6))
def test_apply_many_writes_what_core_did(store: Store, polls: list[SourceUpdate]) -> None:
    """The 304s and errors apply_many sends as the driver's own SQL leave each source
    exactly as the Core statements did, from a state with history (a move, a body hash,
    an error), on SQLite and PostgreSQL."""
    store.sync_sources([SourceConfig(name=f"s{i}", url=f"https://example.com/{i}.xml")
                        for i in range(2 * len(polls))], timedelta(minutes=30), NOW)
    ids = {s.name: s.id for s in store.claim_sources(NOW, due_only=False)}
    history = [SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=NOW, next_fetch_at=NOW,
                            http_status=200, body_hash="a" * 64, wire_hash="w" * 64,
                            etag='"e1"', moved_to="https://example.net/moved.xml"),
               SourceUpdate(outcome=Outcome.ERROR, now=NOW, next_fetch_at=NOW,
                            http_status=503, error="HTTP 503")]
    store.apply_many([(i, change) for i in ids.values() for change in history[:1]])
    store.apply_many([(i, change) for i in ids.values() for change in history[1:]])
    ours, pairs = [], []
    with store.engine.begin() as connection:
        for n, change in enumerate(polls):
            a, b = ids[f"s{2 * n}"], ids[f"s{2 * n + 1}"]
            moved = change.moved_to
            statement, values = _core(a, replace(change, moved_to=moved and moved.format(i=2 * n)))
            connection.execute(statement, [values])
            ours.append((b, replace(change, moved_to=moved and moved.format(i=2 * n + 1))))
            pairs.append((a, b))
    store.apply_many(ours)
    with store.engine.connect() as connection:
        rows = {row.id: row._asdict() for row in connection.execute(text("SELECT * FROM source"))}
    for a, b in pairs:
        assert {k: v for k, v in rows[a].items() if k not in ("id", "name", "url")} == \
            {k: v for k, v in rows[b].items() if k not in ("id", "name", "url")}


def test_a_claim_reads_each_source_as_the_orm_does(store: Store) -> None:
    """claim_sources leases and reads with the driver's own SQL: each source it hands
    back is the one source_to_fetch reads through the ORM (moved, its feed's rhythm,
    errors, validators, its own interval), on SQLite and PostgreSQL."""
    store.sync_sources([SourceConfig(name=f"s{i}", url=f"https://e{i}.example.com/{i}.xml",
                                     poll_interval=timedelta(hours=i) if i % 2 else None)
                        for i in range(1, 7)], timedelta(minutes=30), NOW)
    token = store.lease_token()
    ids = [s.id for s in store.claim_sources(NOW, token=token)]
    store.apply_many([(ids[0], SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=NOW,
                                            next_fetch_at=NOW - timedelta(minutes=1),
                                            http_status=304, etag='"é"', body_hash="b" * 64,
                                            moved_to="https://example.org/moved.xml")),
                      (ids[1], SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=NOW,
                                            next_fetch_at=NOW, weekly_entries=2.75,
                                            feed_ttl_seconds=600, last_modified="Wed")),
                      (ids[2], SourceUpdate(outcome=Outcome.ERROR, now=NOW,
                                            next_fetch_at=NOW, error="HTTP 500"))])
    store.release_leases(token)
    claimed = store.claim_sources(NOW + timedelta(seconds=1), per_host=1)
    assert len(claimed) == 6
    later = NOW + timedelta(seconds=2)
    assert [replace(s, due_at=s.due_at and s.due_at.astimezone(UTC)) for s in claimed] == [
        store.source_to_fetch(s.id, NOW + timedelta(seconds=1)) for s in claimed]
    assert claimed[1].weekly_entries == 2.75 and claimed[0].url.endswith("moved.xml")
    assert store.claim_sources(later, per_host=1) == []  # leased to the first claim
