"""The stories' exact keys (canonical URLs, global guids; hashed: ``keys.key_hash``) in
two tables: ``story_key``, and on SQLite ``story_key_recent``, where new keys go until
they move into ``story_key`` in key order, with the band index's recent rows
(``bands.PendingBands.write``).

Why two tables: a key is the table's row id, a random 64-bit value, so each new key
lands on a random leaf page. Into a store of a million stories, each commit of a group
of feeds rewrote about 1,100 of ``story_key``'s 2,400 leaf pages (8 KiB each) for its
~1,150 new keys: 40% of the pages the commit wrote. ``story_key_recent`` stays small
enough for SQLite's page cache, and a merge writes each page of ``story_key`` once: the
bench's cold run into that store writes 3.0 GB instead of 3.9, at the same items/s
(there the page cache takes the writes; a disk that syncs slowly does not).
A key is in one table, never both: it is added only where no table holds it (``find``
reads both under the stories lock). PostgreSQL writes new keys straight into
``story_key`` (its recent table stays empty), as it does band rows. A store whose
items have no band rows (each too short to fingerprint) never merges: its keys stay in
the recent table, which then costs what ``story_key`` did, and lookups probe both.

Part of the store (queries live only in this package).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from sqlalchemy import Connection

from aggregator.store.bands import padded_chunks, placeholder

MAIN: Final = "story_key"
RECENT: Final = "story_key_recent"
TABLES: Final = (MAIN, RECENT)


def find(connection: Connection, hashes: Iterable[int]) -> dict[int, int]:
    """The story of each of ``hashes`` that either table holds."""
    found: dict[int, int] = {}
    mark = placeholder(connection)
    for chunk in padded_chunks(sorted(hashes)):
        marks = ", ".join([mark] * len(chunk))
        for table in TABLES:  # a statement each: at most 500 parameters (bands.IN_LIST)
            # the driver's own SQL: a few hundred integers, with no per-value coercion
            found.update(connection.exec_driver_sql(
                f"SELECT key_hash, story_id FROM {table} WHERE key_hash IN ({marks})",
                tuple(chunk)).all())
    return found


def add(connection: Connection, rows: Sequence[tuple[int, int]]) -> None:
    """Store (key hash, story id) rows whose keys neither table holds (``find``): on
    SQLite in the recent table, elsewhere in the main one. Of two rows with one key,
    the first is kept."""
    if not rows:
        return
    mark = placeholder(connection)
    table = RECENT if connection.dialect.name == "sqlite" else MAIN
    connection.exec_driver_sql(
        f"INSERT INTO {table} (key_hash, story_id) VALUES ({mark}, {mark})"
        " ON CONFLICT (key_hash) DO NOTHING", list(rows))


def merge(connection: Connection) -> None:
    """Move the recent table's keys into the main one, in key order (each of its pages
    written once), in the caller's transaction."""
    connection.exec_driver_sql(
        f"INSERT INTO {MAIN} (key_hash, story_id) SELECT key_hash, story_id FROM {RECENT}"
        " WHERE true ORDER BY key_hash ON CONFLICT (key_hash) DO NOTHING")
    connection.exec_driver_sql(f"DELETE FROM {RECENT}")


def move(connection: Connection, old: int, new: int) -> None:
    """The keys of story ``old`` now lead to story ``new`` (``old`` was folded into it)."""
    mark = placeholder(connection)
    for table in TABLES:
        connection.exec_driver_sql(
            f"UPDATE {table} SET story_id = {mark} WHERE story_id = {mark}", (new, old))


def of_stories(connection: Connection, story_ids: Sequence[int]) -> list[int]:
    """The key hashes of the stories ``story_ids``, in both tables."""
    mark = placeholder(connection)
    found: list[int] = []
    for chunk in padded_chunks(list(story_ids)):
        marks = ", ".join([mark] * len(chunk))
        for table in TABLES:
            found += [hashed for (hashed,) in connection.exec_driver_sql(
                f"SELECT key_hash FROM {table} WHERE story_id IN ({marks})",
                tuple(chunk)).all()]
    return found


def delete_of_stories(connection: Connection, story_ids: Sequence[int]) -> None:
    """Delete the keys of the stories ``story_ids`` from both tables."""
    mark = placeholder(connection)
    for chunk in padded_chunks(list(story_ids)):
        marks = ", ".join([mark] * len(chunk))
        for table in TABLES:
            connection.exec_driver_sql(
                f"DELETE FROM {table} WHERE story_id IN ({marks})", tuple(chunk))
