"""Bulk statements sent past SQLAlchemy's statement layer, converting values as it would.

SQLAlchemy's Core costs Python calls per row and per value (its parameter and result
processing: a tenth of a cold ingest's writing thread). For the ingest's hot statements
the driver gets its own SQL and plain tuples instead, each value converted by the very
processor SQLAlchemy uses for that column's type on this dialect (UTCDateTime's naive
UTC text on SQLite, CompressedText, TextList), so what is written and read back is the
same as through Core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import Connection, Dialect, Float, Table
from sqlalchemy.types import TypeDecorator, TypeEngine

from aggregator.store.bands import placeholder
from aggregator.store.models import CompressedText, UTCDateTime

Processor = Callable[[Any], Any]


@lru_cache(maxsize=64)  # by dialect: one per engine
def _bind(dialect: Dialect, table: Table, names: tuple[str, ...]) -> tuple[
        tuple[int, Processor], ...]:
    """The columns' parameter processors on ``dialect`` (those that do something)."""
    found = ((i, _processor(dialect, table.c[name].type)) for i, name in enumerate(names))
    return tuple((i, p) for i, p in found if p is not None)


def _processor(dialect: Dialect, type_: TypeEngine[Any]) -> Processor | None:
    """The column type's parameter processor, with shortcuts that bind the same."""
    if isinstance(type_, UTCDateTime):
        return _utc(dialect)
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None or not isinstance(type_, TypeDecorator):
        return process
    if isinstance(type_, CompressedText) and dialect.name == "sqlite":
        # a text packed by a parse worker (bytes) is bound as is: sqlite3 binds bytes as
        # the very BLOB it binds for LargeBinary's memoryview of them
        def packed(value: Any) -> Any:
            return value if value.__class__ is bytes else process(value)

        return packed
    if type_.impl_instance.dialect_impl(dialect).bind_processor(dialect) is None:
        return partial(type_.process_bind_param, dialect=dialect)  # one call, not two
    return process


@lru_cache(maxsize=64)
def _utc(dialect: Dialect) -> Processor | None:
    """UTCDateTime's parameter processor on ``dialect``, converting each of the last few
    thousand distinct UTC datetimes once: a batch's rows share many (when they were
    first seen, changed; a story is dated as an item), and equal UTC datetimes have
    equal fields. Any other value is converted each time."""
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    done: dict[datetime, Any] = {}

    def once(value: Any) -> Any:
        if value.__class__ is not datetime or value.tzinfo is not UTC:
            return process(value)
        converted = done.get(value)
        if converted is None:
            if len(done) >= 4096:
                done.clear()
            converted = done[value] = process(value)
        return converted

    return once


@lru_cache(maxsize=64)  # by dialect: one per engine
def _result(dialect: Dialect, table: Table, names: tuple[str, ...]) -> tuple[
        tuple[int, Processor], ...]:
    """The columns' result processors on ``dialect`` (those that do something). A float
    column has none: both drivers read it as a float (and psycopg's Numeric processor
    needs the column's type code, which is not known here)."""
    found = ((i, _reader(dialect, table.c[name].type)) for i, name in enumerate(names))
    return tuple((i, p) for i, p in found if p is not None)


def _reader(dialect: Dialect, type_: TypeEngine[Any]) -> Processor | None:
    if isinstance(type_, Float) and not type_.asdecimal:
        return None
    return type_.dialect_impl(dialect).result_processor(dialect, None)


def bound(connection: Connection, table: Table, names: tuple[str, ...],
          rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """``rows`` (values of ``table``'s columns ``names``, in that order) as the driver
    takes them: each value converted by its column type's parameter processor."""
    processors = _bind(connection.dialect, table, names)
    if not processors or not rows:
        return [tuple(row) for row in rows]
    columns = list(zip(*rows, strict=True))  # a column at a time: map() loops in C
    utc = _utc(connection.dialect)
    for i, process in processors:
        if process is utc:  # UTCDateTime: each distinct value of the column converted once
            try:
                converted = {value: process(value) for value in set(columns[i])}
            except TypeError:  # unhashable: not a datetime (nor None)
                columns[i] = tuple(map(process, columns[i]))
            else:
                columns[i] = tuple(map(converted.__getitem__, columns[i]))
        else:
            columns[i] = tuple(map(process, columns[i]))
    return list(zip(*columns, strict=True))


def insert_many(connection: Connection, table: Table, names: tuple[str, ...],
                rows: Sequence[Sequence[Any]], *, ignore: tuple[str, ...] = ()) -> int:
    """INSERT ``rows`` into ``table`` with the driver's own executemany; with ``ignore``
    (a unique key's columns), a row whose key is taken is skipped (ON CONFLICT DO
    NOTHING, on SQLite as on PostgreSQL). The rows inserted (sqlite3 and psycopg add
    up an executemany's counts)."""
    if not rows:
        return 0
    mark = placeholder(connection)
    conflict = f" ON CONFLICT ({', '.join(ignore)}) DO NOTHING" if ignore else ""
    result = connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(names)})"
        f" VALUES ({', '.join([mark] * len(names))}){conflict}",
        bound(connection, table, names, rows))
    return int(result.rowcount)


def select_rows(connection: Connection, sql: str, parameters: tuple[Any, ...],
                columns: Sequence[tuple[Table, str]]) -> list[tuple[Any, ...]]:
    """The rows of the driver's own ``sql``, whose result columns are ``columns``
    ((table, column name) each), each value converted as SQLAlchemy would read it."""
    rows = connection.exec_driver_sql(sql, parameters).all()
    processors = [(i, p) for i, (table, name) in enumerate(columns)
                  for j, p in _result(connection.dialect, table, (name,)) if j == 0]
    if not processors:
        return [tuple(row) for row in rows]
    converted = []
    for row in rows:
        values = list(row)
        for i, process in processors:
            values[i] = process(values[i])
        converted.append(tuple(values))
    return converted
