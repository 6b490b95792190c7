"""The stories' exact keys in their two tables (store/story_keys.py): whatever the order
of adds, merges, story merges and deletions, lookups find what one table would hold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, text
from sqlmodel import SQLModel

from aggregator.store import story_keys
from aggregator.store.models import StoryKeyRecentRow, StoryKeyRow, StoryRow
from tests.conftest import PG_URL, pg_schema

KEYS = st.integers(-4, 4) | st.sampled_from([-2**63, 2**63 - 1])
STORIES = st.integers(1, 4)
STEPS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.lists(st.tuples(KEYS, STORIES), max_size=6)),
    st.tuples(st.just("merge")),
    st.tuples(st.just("move"), STORIES, STORIES),
    st.tuples(st.just("delete"), st.lists(STORIES, max_size=3))), max_size=12)
WHEN = datetime(2026, 12, 1, tzinfo=UTC).replace(tzinfo=None)


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
