"""The items' compact fingerprints (``item_print``): written with an item, replaced when
its text changes, read back for the candidates its band keys find, pruned with its band
rows.

Plain SQL with the driver's own parameter mark: ``read`` serves the parse worker too,
which reads a feed's candidates on a sqlite3 connection of its own (store/lookahead.py)
without SQLAlchemy; the writer passes it its connection's ``exec_driver_sql``.
The layout of a print and its stamp are stories/fingerprints.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from aggregator.store.bands import chunks, padded_chunks, placeholder
from aggregator.stories.fingerprints import pack, unpack_many
from aggregator.types import Fingerprint

if TYPE_CHECKING:
    from sqlalchemy import Connection

TABLE: Final = "item_print"
#: runs one statement: (sql, parameters) -> its rows
Execute = Callable[[str, tuple[Any, ...]], Iterable[Sequence[Any]]]
#: a print to write: (item id, seen: epoch seconds as its band rows, fingerprint, the
#: item's content_hash)
PrintRow = tuple[int, int, Fingerprint, str]


def read(execute: Execute, mark: str, ids: Sequence[int]) -> dict[int, Fingerprint]:
    """The fingerprints (without band keys) of the items of ``ids`` that have a usable
    print: one of their present text (its stamp). The others are made from their text."""
    rows: list[tuple[int, bytes, str]] = []
    for chunk in padded_chunks(ids):
        rows += [(int(item_id), data, content_hash) for item_id, data, content_hash in execute(
            f"SELECT p.item_id, p.data, item.content_hash FROM {TABLE} p"
            f" JOIN item ON item.id = p.item_id"
            f" WHERE p.item_id IN ({', '.join([mark] * len(chunk))})", tuple(chunk))]
    made = unpack_many([(data, content_hash) for _, data, content_hash in rows])
    return {item_id: fp for (item_id, _, _), fp in zip(rows, made, strict=True) if fp is not None}


def packed_rows(rows: Iterable[PrintRow]) -> list[tuple[int, int, bytes]]:
    """The rows ``write`` inserts: those whose fingerprint can be packed."""
    return [(item_id, seen, data) for item_id, seen, fp, content_hash in rows
            if (data := pack(fp, content_hash)) is not None]


def write(connection: Connection, rows: Sequence[tuple[int, int, bytes]], *,
          replace: Sequence[int] = ()) -> None:
    """Insert the prints of ``rows`` (``packed_rows``; one already there is replaced),
    after deleting those of the items of ``replace`` (items whose text changed: a print
    of the old text would not be used, by its stamp, but takes room)."""
    mark = placeholder(connection)
    for chunk in chunks(replace):
        connection.exec_driver_sql(
            f"DELETE FROM {TABLE} WHERE item_id IN ({', '.join([mark] * len(chunk))})",
            tuple(chunk))
    if rows:
        connection.exec_driver_sql(
            f"INSERT INTO {TABLE} (item_id, seen, data) VALUES ({mark}, {mark}, {mark})"
            " ON CONFLICT (item_id) DO UPDATE SET seen = excluded.seen, data = excluded.data",
            list(rows))


def prune(connection: Connection, cutoff: int) -> None:
    """Drop the prints of items seen before ``cutoff`` (epoch seconds), as their band
    rows are (bands.prune)."""
    mark = placeholder(connection)
    connection.exec_driver_sql(f"DELETE FROM {TABLE} WHERE seen < {mark}", (cutoff,))
