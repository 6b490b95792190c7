"""A fresh PostgreSQL schema for one benchmark run, as tests/conftest.py makes one per test.

``fresh_schema(url)`` creates ``bench_<hex>`` in the database of ``url``, yields the URL
with ``?options=-csearch_path=<schema>`` (every connection of the store, and of worker
processes given that URL, lands in it) and drops it on exit unless ``keep``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres:"))


def _engine_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1).replace(
        "postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def fresh_schema(url: str, *, keep: bool = False, prefix: str = "bench") -> Iterator[str]:
    """The URL of a new, empty schema in the database of ``url`` (dropped on exit)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(_engine_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield make_url(url).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        if not keep:
            with engine.connect() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
