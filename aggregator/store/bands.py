"""The band rows of a transaction's new items, written at its commit in key order."""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from sqlmodel import Session

#: an item's band rows: (item_id, seen, its distinct band keys)
ItemBands = tuple[int, int, tuple[int, ...]]


def placeholder(connection: Any) -> str:
    """The driver's own parameter mark, for SQL sent past SQLAlchemy: sqlite3's ``?``,
    psycopg's ``%s``."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


class PendingBands:
    """The band rows of the items an open transaction added, inserted at its commit
    (``write``) as one executemany in key order, and meanwhile found by ``hits``.

    The index's key is band first, so a feed's ~2,900 rows each land on a random page:
    inserted feed by feed, each commit wrote about as many pages to the WAL as it had
    rows. Inserted for several feeds at once in key order, each page is written once
    (see docs/architecture.md, "Storing")."""

    def __init__(self) -> None:
        self.items: list[ItemBands] = []  # (item_id, seen, bands)

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, items: Iterable[ItemBands]) -> None:
        """Add items' rows: (item_id, seen, their distinct bands)."""
        self.items += items

    def hits(self, bands: Iterable[int], low: int, high: int) -> list[tuple[int, int]]:
        """(band, item_id) of the pending rows with one of ``bands``, seen within
        [``low``, ``high``]."""
        wanted = set(bands)
        # most items share no band with the batch: isdisjoint tells at C speed
        return [(band, item_id) for item_id, seen, keys in self.items
                if low <= seen <= high and not wanted.isdisjoint(keys)
                for band in keys if band in wanted]

    def write(self, session: Session) -> None:
        """Insert the pending rows (their items are new: the rows cannot exist yet)."""
        rows = [(band, item_id, seen) for item_id, seen, keys in self.items for band in keys]
        # by band alone (a third faster than whole tuples): the sort is stable, and the
        # items came in the order of their ids, so a band's rows stay in item order
        rows.sort(key=itemgetter(0))
        self.items = []
        if rows:
            connection = session.connection()
            mark = placeholder(connection)
            # the driver's own executemany: the ORM's bulk path costs Python calls per row
            connection.exec_driver_sql(
                f"INSERT INTO item_band (band, item_id, seen) VALUES ({mark}, {mark}, {mark})",
                rows)
