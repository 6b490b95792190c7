"""The schema the migrations build is the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from aggregator.store import Store


def test_migrations_build_exactly_the_models(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            assert compare_metadata(context, SQLModel.metadata) == []
            assert context.get_current_revision() is not None
            tables = set(inspect(connection).get_table_names())
        assert {"source", "item", "story", "story_key", "item_band", "output"} <= tables
    finally:
        store.close()


def test_opening_a_store_twice_migrates_once(db_url: str) -> None:
    Store(db_url).close()
    again = Store(db_url)  # already at head: nothing to do, no error
    again.close()
