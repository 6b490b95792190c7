"""The near-duplicate index's band rows: written at a transaction's commit in key order
into a small table of recent rows, merged into the main one in key order when it grows,
found in both, pruned from both.

Why two tables: the index's key is band first (random 64-bit values), so new rows land
on random pages. Once the index is bigger than SQLite's page cache, a commit of a few
feeds' rows rewrote most leaf pages of the whole index into the WAL; a store holding
100,000 items took new items at 0.71x the rate of an empty one. New rows go to
``item_band_recent`` instead, small enough for its pages to stay in the cache, and a
merge (one ``INSERT ... SELECT ... ORDER BY band`` and a ``DELETE``) moves them into
``item_band`` in key order once it holds ``RECENT_ROWS``, or 4 rows for each page of
the database file if that is more (``RecentRows``): each page of the big table is then
written once per merge, not once per commit, and a merge writes at most about one page
for every 4 rows it moves, however big the index. Lookups read both tables in one
statement, so every transaction sees each row in exactly one of them. PostgreSQL
writes a source a transaction straight into ``item_band`` (its recent table stays
empty).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, Final, TypeVar

from aggregator.store.cache import tune

if TYPE_CHECKING:
    import sqlite3

    import numpy as np
    from sqlmodel import Session

    from aggregator.store.bandfilter import RecentFilter

T = TypeVar("T")
#: an item's band rows: (item_id, seen, its distinct band keys)
ItemBands = tuple[int, int, tuple[int, ...]]

#: the index's two tables: the main one, and the recent rows not yet merged into it
MAIN: Final = "item_band"
RECENT: Final = "item_band_recent"
#: rows of ``item_band_recent`` that trigger a merge (~31,000 items of 32 band keys;
#: ~25 MB, measured against 500,000 and 2,000,000 in a store of 100,000 items, when an
#: item had 58) ...
RECENT_ROWS: Final = 1_000_000
#: ... or this many for each page of the database file, if that is more. A merge
#: rewrites about every leaf page of the main table: into an index of 58 million rows
#: (a million items' band keys at 58 an item, 3.3 GB) a merge of a million rows wrote 718 MB of WAL
#: (4.5 s of system CPU), twice in a cold run of 50,000 items
ROWS_PER_PAGE: Final = 4
#: values in one statement's list (a lookup's band keys, an ``IN`` list's ids)
IN_LIST: Final = 500
#: the lengths a statement's list is padded to (``padded_chunks``)
_PADDED: Final = (8, 16, 32, 64, 128, 256, IN_LIST)
#: band rows per INSERT on SQLite (a multi-row VALUES: 300 parameters, under the 999
#: of old SQLite builds); sqlite3's executemany costs ~0.7 us a row executed alone
_ROWS: Final = 100


def placeholder(connection: Any) -> str:
    """The driver's own parameter mark, for SQL sent past SQLAlchemy: sqlite3's ``?``,
    psycopg's ``%s``."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def _insert(connection: Any) -> str:
    """How band rows are inserted: on SQLite ``INSERT OR IGNORE INTO``, which ignores
    nothing here but a changed item's row that exists anyway (``stories.rematch_changed``
    adds only the keys it was not found with; a row dated otherwise may exist) and
    spares a statement journal: a multi-row INSERT that could fail halfway made SQLite
    copy every page it changed to a temporary file first (14,000 page writes for 5,000
    items). PostgreSQL ignores those with ``ON CONFLICT
    DO NOTHING`` (``_IGNORED``)."""
    return "INSERT OR IGNORE INTO" if connection.dialect.name == "sqlite" else "INSERT INTO"


_IGNORED = " ON CONFLICT DO NOTHING"


class PendingBands:
    """The band rows of the items an open transaction added, inserted at its commit
    (``write``) as one executemany in key order, and meanwhile found by ``hits``.

    The index's key is band first, so a feed's ~1,600 rows (50 items of 32 keys) each
    land on a random page: inserted feed by feed, each commit wrote about as many pages
    to the WAL as it had rows. Inserted for several feeds at once in key order, each
    page is written once (see docs/architecture.md, "Storing")."""

    def __init__(self, recent: RecentRows | None = None) -> None:
        #: what this process knows of the recent table (its rows, a filter of its keys)
        self.recent = recent
        self.items: list[ItemBands] = []  # (item_id, seen, bands)
        self.ids: set[int] = set()  # their item ids
        # band -> the position in ``items`` of the item holding it, or of each when
        # several do: ``hits`` finds a feed's ~1,600 bands here instead of testing them
        # against every pending item's 32 (~800 items in a group of 16 feeds)
        self._where: dict[int, int | list[int]] = {}

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, items: Iterable[ItemBands]) -> None:
        """Add items' rows: (item_id, seen, their distinct bands)."""
        where = self._where
        for item in items:
            position = len(self.items)
            self.items.append(item)
            self.ids.add(item[0])
            for band in item[2]:
                found = where.setdefault(band, position)
                if found is position:  # the first item with this band
                    continue
                if isinstance(found, list):
                    found.append(position)
                else:
                    where[band] = [found, position]

    def hits(self, bands: Iterable[int], low: int, high: int) -> list[tuple[int, int]]:
        """(band, item_id) of the pending rows with one of ``bands``, seen within
        [``low``, ``high``]."""
        wanted = bands if isinstance(bands, (set, frozenset)) else set(bands)
        found: list[tuple[int, int]] = []
        items, where = self.items, self._where
        for band in where.keys() & wanted:  # in C, over the smaller of the two
            at = where[band]
            for position in at if isinstance(at, list) else (at,):
                item_id, seen, _ = items[position]
                if low <= seen <= high:
                    found.append((band, item_id))
        return found

    def write(self, session: Session, *, merge_at: int | None = None) -> None:
        """Insert the pending rows (a changed item's may exist: ignored, ``_insert``): on
        SQLite into the recent table, merged into the main one once it holds
        ``merge_at`` rows (``RecentRows.merge_at`` by default), as ``recent`` knows them
        (counted otherwise), and counted into its filter (bandfilter.RecentFilter); on
        PostgreSQL, whose transactions are one source each
        and whose ``count(*)`` reads the whole table, into the main one."""
        items = self.items
        self.items, self.ids, self._where = [], set(), {}
        if not items:  # (no numpy for a commit without new items)
            return
        rows = _sorted_rows(items)
        if not len(rows):
            return
        connection = session.connection()
        mark = placeholder(connection)
        recent = connection.dialect.name == "sqlite"
        insert = f"{_insert(connection)} {RECENT if recent else MAIN} (band, item_id, seen) VALUES "
        one = f"({mark}, {mark}, {mark})"
        # the driver's own executemany: the ORM's bulk path costs Python calls per row
        whole = len(rows) - len(rows) % _ROWS if recent else 0
        if whole:  # on SQLite, _ROWS rows a statement, in the same order, each statement's
            # values made as sqlite3 asks for them (all at once held 4 MB of Python ints)
            _driver(connection).executemany(insert + ", ".join([one] * _ROWS), (
                tuple(values.tolist()) for values in rows[:whole].reshape(-1, 3 * _ROWS)))
        if whole < len(rows):
            connection.exec_driver_sql(insert + one + ("" if recent else _IGNORED),
                                       list(map(tuple, rows[whole:].tolist())))
        if recent:
            known = self.recent or RecentRows()
            emptied = known.added(session, len(rows)) >= (merge_at or known.merge_at(session))
            if emptied:
                merge(session)
                known.merged()
                # the stories' new exact keys move with them (it imports this module)
                from aggregator.store import story_keys

                story_keys.merge(connection)
                tune(_driver(connection))  # the store grew: its cache and checkpoints too
            known.keys().wrote(_driver(connection), rows[:, 0], emptied=emptied)


def _sorted_rows(items: Sequence[ItemBands]) -> np.ndarray:
    """The rows (band, item_id, seen) of ``items``, sorted by band, a band's rows in the
    order of ``items`` (the order of their ids): a (rows, 3) array of int64. Made with
    numpy: as tuples sorted and flattened in Python, 0.5-0.7 us a row (1.4-2.1 s of the
    writer's CPU for the bench's 2.9 million rows, at 58 keys an item) against 0.2 us."""
    import numpy as np  # (what a cycle without new items never needs)

    counts = [len(keys) for _, _, keys in items]
    total = sum(counts)
    bands = np.fromiter(chain.from_iterable(keys for _, _, keys in items), np.int64, total)
    order = np.argsort(bands, kind="stable")
    rows = np.empty((total, 3), dtype=np.int64)
    rows[:, 0] = bands[order]
    for column, field in ((1, 0), (2, 1)):  # the item's id, its date
        rows[:, column] = np.repeat(np.fromiter((item[field] for item in items), np.int64,
                                                len(items)), counts)[order]
    return rows


class RecentRows:
    """How many rows the recent table holds, as this process knows it: counted once,
    then its own writes added (a ``count(*)`` at every commit cost 2.4 us an item, and
    grows with the table). Rows another process wrote, or a rollback or prune took
    away, make the figure wrong until a merge: a merge then comes later or earlier
    than due, and nothing else changes. Safe for several threads."""

    def __init__(self) -> None:
        self._rows: int | None = None
        self._lock = threading.Lock()
        self._keys: RecentFilter | None = None

    def keys(self) -> RecentFilter:
        """This process's filter of the table's keys (made at the first use: numpy)."""
        with self._lock:
            if self._keys is None:
                from aggregator.store.bandfilter import RecentFilter

                self._keys = RecentFilter(RECENT_ROWS)
            return self._keys

    def added(self, session: Session, rows: int) -> int:
        """Count ``rows`` just inserted; the rows the table holds now."""
        with self._lock:
            known = self._rows
        if known is None:  # (counted in the caller's transaction: its rows included)
            known = recent_rows(session) - rows
        with self._lock:
            self._rows = known + rows
            return self._rows

    def merged(self) -> None:
        with self._lock:
            self._rows = 0

    def forget(self) -> None:
        """Count again next time (after rows were deleted)."""
        with self._lock:
            self._rows = None

    @staticmethod
    def merge_at(session: Session) -> int:
        """The rows that make a merge due: ``RECENT_ROWS``, or ``ROWS_PER_PAGE`` for each
        page of the database file if that is more."""
        pages = int(session.connection().exec_driver_sql("PRAGMA page_count").scalar() or 0)
        return max(RECENT_ROWS, ROWS_PER_PAGE * pages)


def recent_rows(session: Session) -> int:
    """The rows in the recent table."""
    return int(session.connection().exec_driver_sql(f"SELECT count(*) FROM {RECENT}").scalar()
               or 0)


def merge(session: Session) -> None:
    """Move the recent table's rows into the main one, in key order (each page of the
    main table written once), and on SQLite count them into its filter
    (store/bandfilter.py), in the caller's transaction."""
    connection = session.connection()
    connection.exec_driver_sql(f"{_insert(connection)} {MAIN} (band, item_id, seen) "
                               f"SELECT band, item_id, seen FROM {RECENT} ORDER BY band, item_id")
    if connection.dialect.name == "sqlite":  # (PostgreSQL keeps no filter)
        from aggregator.store import bandfilter

        bandfilter.add(_driver(connection), RECENT, MAIN)
    connection.exec_driver_sql(f"DELETE FROM {RECENT}")


def lookup(tables: Sequence[str], keys: int, mark: str, columns: str, *,
           sqlite: bool) -> str:
    """The statement that finds the rows of ``tables`` with one of ``keys`` band keys,
    seen within a range: its parameters are, for each table, the keys then the range's
    two ends. PostgreSQL reads both tables in one statement, so a merge by another
    process is seen whole; SQLite one table at a time (``sqlite_hits``), in the caller's
    transaction, which sees one state of both.

    On SQLite a join from the list of keys to each table: an IN list made SQLite build
    a temporary index of its keys for each table first (~8% of the lookup's CPU, the
    rest being mostly the index's pages read, about one for each key looked up)."""
    marks = ", ".join([f"({mark})"] * keys) if sqlite else ", ".join([mark] * keys)
    return " UNION ALL ".join(
        f"SELECT {columns} FROM (VALUES {marks}) AS wanted CROSS JOIN {table}"
        f" ON band = wanted.column1 WHERE seen BETWEEN {mark} AND {mark}" if sqlite else
        f"SELECT {columns} FROM {table}"
        f" WHERE band IN ({marks}) AND seen BETWEEN {mark} AND {mark}" for table in tables)


def stored_hits(session: Session, bands: Iterable[int], low: int, high: int,
                pending: PendingBands | None = None) -> list[tuple[int, int]]:
    """(band, item_id) of the stored rows (both tables) and the ``pending`` ones with one
    of ``bands``, seen within [``low``, ``high``], in the index's order. On SQLite the
    caller holds the write lock: its statements see one state of both tables."""
    connection = session.connection()
    hits: list[tuple[int, int]]
    if connection.dialect.name == "sqlite":
        recent = pending.recent if pending is not None else None
        hits = sqlite_hits(_driver(connection), sorted(bands), low, high, "band, item_id",
                           recent=recent.keys() if recent is not None else None)
    else:
        hits = []
        for chunk in padded_chunks(sorted(bands)):
            # the driver's own SQL: ~500 integers, with no per-value coercion
            hits += connection.exec_driver_sql(
                lookup((MAIN, RECENT), len(chunk), placeholder(connection), "band, item_id",
                       sqlite=False),
                (*chunk, low, high) * 2).all()
    if pending:
        hits += pending.hits(bands, low, high)
    return sorted(hits)


def _driver(connection: Any) -> sqlite3.Connection:
    """The sqlite3 connection under a SQLAlchemy one: its statements run in the same
    transaction."""
    driver: sqlite3.Connection = connection.connection.driver_connection
    return driver


def sqlite_hits(connection: sqlite3.Connection, bands: Sequence[int], low: int, high: int,
                columns: str, *, recent: RecentFilter | None = None) -> list[Any]:
    """``columns`` of the rows of both tables with one of ``bands`` (sorted), seen within
    [``low``, ``high``], read on SQLite in the caller's transaction (one state of both
    tables). An empty table is not probed (~1.5 us a band), the main one only for the
    bands its filter does not rule out (store/bandfilter.py), and the recent one only for
    those ``recent`` (this process's filter of it, if it writes the table) does not."""
    found: list[Any] = []
    for table in (MAIN, RECENT):
        if not connection.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            continue
        wanted = bands
        if table == MAIN:  # (numpy loads with the filter: once the main table has rows)
            from aggregator.store import bandfilter

            if (known := bandfilter.current(connection)) is not None:
                wanted = known.maybe(bands)
        elif recent is not None:
            wanted = recent.maybe(connection, bands)
        for chunk in padded_chunks(wanted):
            found += connection.execute(lookup((table,), len(chunk), "?", columns, sqlite=True),
                                        (*chunk, low, high)).fetchall()
    return found


def prune(session: Session, cutoff: int) -> int:
    """Drop the rows of both tables seen before ``cutoff`` (epoch seconds); the number of
    items whose rows were dropped."""
    connection = session.connection()
    mark = placeholder(connection)
    items = int(connection.exec_driver_sql(
        f"SELECT count(DISTINCT item_id) FROM (SELECT item_id FROM {MAIN} WHERE seen < {mark}"
        f" UNION ALL SELECT item_id FROM {RECENT} WHERE seen < {mark}) AS old",
        (cutoff, cutoff)).scalar() or 0)
    for table in (MAIN, RECENT):
        connection.exec_driver_sql(f"DELETE FROM {table} WHERE seen < {mark}", (cutoff,))
    return items


def chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in pieces of at most ``IN_LIST``: the values of one statement's list."""
    for start in range(0, len(values), IN_LIST):
        yield values[start:start + IN_LIST]


def padded_chunks(values: Sequence[T]) -> Iterator[Sequence[T | None]]:
    """``chunks`` of ``values``, each padded with None (NULL, which equals nothing, so
    a lookup finds the same rows) to one of a few lengths (``_PADDED``), for SQL whose
    text holds a mark per value: a connection prepares a few statements, not one for
    each length. (sqlite3 keeps the last 128 a connection prepared: those of lists of
    every length up to 500 held ~5 MB of a parse worker's peak.)"""
    for chunk in chunks(values):
        size = next(size for size in _PADDED if size >= len(chunk))
        yield (*chunk, *(None,) * (size - len(chunk)))
