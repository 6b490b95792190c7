"""The stories' exact keys in their two tables (store/story_keys.py): whatever the order
of adds, merges, story merges and deletions, lookups find what one table would hold."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, text
from sqlmodel import SQLModel

from aggregator.config import SourceConfig
from aggregator.store import Store, bands, story_keys
from aggregator.store.models import StoryKeyRecentRow, StoryKeyRow, StoryRow
from aggregator.types import Fingerprint, ItemData, Outcome, SourceUpdate
from tests.conftest import PG_URL, pg_schema

KEYS = st.integers(-4, 4) | st.sampled_from([-2**63, 2**63 - 1])
STORIES = st.integers(1, 4)
STEPS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.lists(st.tuples(KEYS, STORIES), max_size=6)),
    st.tuples(st.just("merge")),
    st.tuples(st.just("move"), STORIES, STORIES),
    st.tuples(st.just("delete"), st.lists(STORIES, max_size=3))), max_size=12)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
WHEN = NOW.replace(tzinfo=None)


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    engine = create_engine(url)
    SQLModel.metadata.create_all(engine, tables=[
        StoryRow.__table__, StoryKeyRow.__table__,  # type: ignore[list-item]
        StoryKeyRecentRow.__table__])  # type: ignore[list-item]
    try:
        with engine.begin() as connection:
            for story in range(1, 5):
                connection.execute(text(
                    "INSERT INTO story (id, uid, representative_is_original, published_at,"
                    " first_seen_at, updated_at) VALUES (:i, :u, false, :t, :t, :t)"),
                    {"i": story, "u": f"u{story}", "t": WHEN})
            yield connection
    finally:
        engine.dispose()


def _rows(connection: Connection, table: str) -> dict[int, int]:
    return dict(connection.execute(text(f"SELECT key_hash, story_id FROM {table}")).all())


def _run(connection: Connection, steps: list[tuple[object, ...]]) -> None:
    model: dict[int, int] = {}  # what one table of keys would hold
    for step in steps:
        if step[0] == "add":  # as add_items: the keys neither table holds, first one kept
            pairs = step[1]
            assert isinstance(pairs, list)
            found = story_keys.find(connection, {key for key, _ in pairs})
            assert found == {key: model[key] for key, _ in pairs if key in model}
            new = [(key, story) for key, story in pairs if key not in found]
            story_keys.add(connection, new)
            for key, story in new:
                model.setdefault(key, story)
        elif step[0] == "merge":
            story_keys.merge(connection)
            assert _rows(connection, story_keys.RECENT) == {}
        elif step[0] == "move":
            old, new_story = int(str(step[1])), int(str(step[2]))
            story_keys.move(connection, old, new_story)
            model = {k: new_story if s == old else s for k, s in model.items()}
        else:
            doomed = step[1]
            assert isinstance(doomed, list)
            assert sorted(story_keys.of_stories(connection, doomed)) == sorted(
                k for k, s in model.items() if s in doomed)
            story_keys.delete_of_stories(connection, doomed)
            model = {k: s for k, s in model.items() if s not in doomed}
        main, recent = _rows(connection, story_keys.MAIN), _rows(connection, story_keys.RECENT)
        assert not main.keys() & recent.keys()  # a key is in one table, never both
        assert {**main, **recent} == model
        assert story_keys.find(connection, set(range(-5, 6))) == {
            k: s for k, s in model.items() if -5 <= k <= 5}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_sqlite_keys_go_to_the_recent_table_and_merge_in_key_order(
        steps: list[tuple[object, ...]]) -> None:
    with _connection("sqlite://") as connection:
        _run(connection, steps)
        story_keys.add(connection, [(99, 1)])
        assert _rows(connection, story_keys.RECENT).get(99) == 1  # new keys: recent first
        statements: list[str] = []
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.set_trace_callback(statements.append)
        story_keys.merge(connection)
        assert any("ORDER BY key_hash" in s for s in statements)
        assert _rows(connection, story_keys.MAIN).get(99) == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_postgresql_keys_go_straight_to_the_main_table(
        steps: list[tuple[object, ...]]) -> None:
    if not PG_URL:
        pytest.skip("PostgreSQL tests need AGGREGATOR_TEST_DATABASE_URL")
    with pg_schema() as url, _connection(url.replace("postgresql://",
                                                     "postgresql+psycopg://")) as connection:
        _run(connection, steps)
        assert _rows(connection, story_keys.RECENT) == {}


def test_a_merged_key_is_found_and_never_stored_twice(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the store: a key moved into story_key by a merge joins a later item of
    another source to its story, and that item's write adds the key to neither table."""
    merge_at = [1]  # the first write merges, the others do not
    monkeypatch.setattr(bands.RecentRows, "merge_at", staticmethod(lambda _: merge_at[0]))
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        store.sync_sources([SourceConfig(name=n, url=f"https://{n}.example.com/feed.xml")
                            for n in ("a", "b")], timedelta(minutes=30), NOW)
        ids = {s.name: s.id for s in store.claim_sources(NOW, due_only=False)}

        def add(source: str, guid: str, keys: tuple[str, ...]) -> None:
            item = ItemData(guid=guid, url=None, canonical_url=None, title=guid, author=None,
                            content_html="", summary_text="", published_at=None,
                            updated_at=None, content_hash=guid)
            digest = hashlib.sha256(guid.encode()).digest()
            store.apply(ids[source], SourceUpdate(
                outcome=Outcome.OK, now=NOW, next_fetch_at=NOW, new_items=(item,),
                story_keys={guid: keys}, fingerprints={guid: Fingerprint(
                    words=30, shingles=26, signature=digest * 2,
                    bands=(int.from_bytes(digest[:7]),), numbers=(),
                    skeleton_hash=digest.hex()[:16])}))

        add("a", "first", ("url:https://example.com/x",))
        with store.engine.connect() as connection:
            assert _rows(connection, story_keys.RECENT) == {}  # merged
            assert len(_rows(connection, story_keys.MAIN)) == 1
        merge_at[0] = 10**9
        add("b", "copy", ("url:https://example.com/x", "url:https://example.com/y"))
        with store.engine.connect() as connection:
            main = _rows(connection, story_keys.MAIN)
            recent = _rows(connection, story_keys.RECENT)
            stories = connection.execute(text("SELECT DISTINCT story_id FROM item")).all()
        assert len(stories) == 1  # the copy joined the first item's story by its key
        assert not main.keys() & recent.keys() and len(main) == len(recent) == 1
    finally:
        store.close()
