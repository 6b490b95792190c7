"""The ingest's bulk writes (store/driver.py, stories.add_items) store what SQLAlchemy's
Core and reading back would, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from aggregator.config import SourceConfig
from aggregator.packing import pack_text
from aggregator.store import Store
from aggregator.store.driver import insert_many, select_rows
from aggregator.store.store import create_schema
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
