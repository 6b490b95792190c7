"""A Bloom filter of the band keys in ``item_band`` (SQLite): lookups skip the keys it
says are not there.

About 98% of the band keys a new item looks up are in no row, and against a big index
each probe is a walk down a B-tree much bigger than any cache: 2-3 us against the 15.5
million rows of a million-item store's window (at 58 keys an item; 8.5 million at 32),
0.23 us against an empty index. The filter answers "certainly absent" for all but ~1% of
the absent keys, at 12 bits a key (13 MB for 8.5 million rows), and the lookup then
probes the index only for the rest. It never answers "absent" for a key that is there,
so what a lookup finds is the same either way.

It lives in the database, one row of ``item_band_filter`` (``ItemBandFilterRow``), so
that every process reading the index (the writer, the parse worker reading ahead) sees
the filter of exactly the rows its transaction sees: the filter changes only where rows
enter ``item_band``, at a merge (``store/bands.merge``), in the merge's transaction, and
each change draws a new random ``token``, by which a process knows whether the copy it
holds is current. Rows leaving the index (pruning) leave their bits set: the filter
only answers "maybe" more often, until it is built again. It is built again from the
index itself when it has fewer than ``REBUILD_BELOW`` bits for each key added to it, and
at the first merge of a store that has none (a store from before it; ~6 s for 15
million rows). No filter, or no row: every key is probed, as before.

``item_band_recent`` changes at every commit, so its filter (``RecentFilter``) is not
stored: the process that writes its rows keeps one in memory, and a token in the row
``RECENT_ROW``, drawn again at every write of that table, tells it whether anyone else
wrote since. PostgreSQL writes ``item_band`` directly and keeps no filter (its table
stays empty).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import numpy as np

from aggregator.store.bands import RECENT

TABLE: Final = "item_band_filter"
#: bits for each key when the filter is built (k = 3: ~1% of absent keys answer "maybe")
BITS_PER_KEY: Final = 12
#: built again once keys were added past this many bits each (~5% "maybe")
REBUILD_BELOW: Final = 6
HASHES: Final = 3
_SMALLEST: Final = 1 << 16  # bits
#: at most 2**32 bits (512 MiB, 358 million keys at 12 bits): a position is a 32-bit
#: hash times the size, in 64 bits
_LARGEST: Final = 1 << 32
#: keys read and hashed at a time while building or adding: their text and their
#: positions (~0.4 MB for 16,384 keys) are all a build holds beside the filter
_SCAN_ROWS: Final = 1 << 14
_BLOB_BYTES: Final = 1 << 20  # the filter read and written a piece at a time
#: the row of ``TABLE`` that stands for ``item_band_recent``: only its ``token`` counts,
#: drawn again by every transaction that writes that table's rows (no bits: RecentFilter)
RECENT_ROW: Final = 2
#: a RecentFilter is built again from the table once the keys probed while it was not
#: current number a quarter of the table's rows: reading a row to build it costs about a
#: quarter of probing a key (0.4 against 1.5-3 us), so the probes it spares pay for it
REBUILD_ROWS_PER_KEY: Final = 4
_M1: Final = np.uint64(0xFF51AFD7ED558CCD)
_M2: Final = np.uint64(0xC4CEB9FE1A85EC53)
_S33: Final = np.uint64(33)
_S32: Final = np.uint64(32)
_LOW32: Final = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class BandFilter:
    """One version of the filter: ``size`` bits in ``bits``, told apart by ``token``."""

    token: int
    size: int
    bits: np.ndarray  # uint8, ``size`` / 8 of them

    def maybe(self, keys: Sequence[int]) -> list[int]:
        """The keys of ``keys`` that may be in the index, in their order."""
        if not keys:
            return []
        wanted = np.asarray(keys, dtype=np.int64)
        positions = _positions(wanted, self.size)
        found = np.ones(len(wanted), dtype=bool)
        for row in positions:
            found &= ((self.bits[row >> 3] >> (row & 7).astype(np.uint8)) & 1).astype(bool)
        listed: list[int] = wanted[found].tolist()
        return listed


def _positions(keys: np.ndarray, size: int) -> np.ndarray:
    """``HASHES`` bit positions of each key (rows of the result): the key mixed by
    MurmurHash3's finalizer (the keys' low bits are band numbers, not random), then
    double hashing of its two halves, each mapped onto [0, size) by a multiply."""
    with np.errstate(over="ignore"):
        mixed = keys.view(np.uint64)
        mixed = (mixed ^ (mixed >> _S33)) * _M1
        mixed = (mixed ^ (mixed >> _S33)) * _M2
        mixed ^= mixed >> _S33
        high, low = mixed >> _S32, mixed & _LOW32
        span = np.uint64(size)
        return np.stack([(((low + np.uint64(i) * high) & _LOW32) * span) >> _S32
                         for i in range(HASHES)])


def _set(bits: np.ndarray, keys: np.ndarray, size: int) -> None:
    for start in range(0, len(keys), _SCAN_ROWS):
        for row in _positions(keys[start:start + _SCAN_ROWS], size):
            np.bitwise_or.at(bits, row >> 3, np.left_shift(1, (row & 7).astype(np.uint8)))


_held: list[BandFilter] = []  # this process's copy of the last filter read
_held_lock = threading.Lock()


def current(connection: sqlite3.Connection) -> BandFilter | None:
    """The filter of the index as ``connection``'s transaction sees it (None: there is
    none, and every key must be probed). Call it inside the transaction that probes."""
    row = connection.execute(f"SELECT token, size FROM {TABLE} WHERE id = 1").fetchone()
    if row is None:
        return None
    token, size = int(row[0]), int(row[1])
    with _held_lock:
        if _held and _held[0].token == token:
            return _held[0]
        _held.clear()  # let the old copy go before the new one is read
    if not _SMALLEST <= size <= _LARGEST or size % 64:
        return None  # not a filter this module wrote: every key is probed (and the next
        # merge builds it again), as when it has not the length its size says
    bits = np.empty(size // 8, dtype=np.uint8)
    with connection.blobopen(TABLE, "bits", 1, readonly=True) as blob:
        if len(blob) != len(bits):
            return None
        for start in range(0, len(bits), _BLOB_BYTES):  # no copy of the whole filter
            bits[start:start + _BLOB_BYTES] = np.frombuffer(blob.read(_BLOB_BYTES), np.uint8)
    found = BandFilter(token, size, bits)
    with _held_lock:
        _held[:] = [found]
    return found


def add(connection: sqlite3.Connection, added: str, main: str) -> None:
    """Count in the keys of table ``added``, just copied into table ``main`` in
    ``connection``'s transaction; the filter is built again from ``main`` instead when
    there is none yet or it would be too full."""
    count = _count(connection, added)
    known = current(connection)
    counted = connection.execute(f"SELECT keys FROM {TABLE} WHERE id = 1").fetchone()
    if known is None or counted is None or (counted[0] + count) * REBUILD_BELOW > known.size:
        rebuild(connection, main)
        return
    # this process's copy is changed in place, not copied (23 MB for a million-item
    # store): a lookup still using it meanwhile only finds more keys "maybe there", and
    # if the merge is rolled back, the token no longer matches and the copy is read again
    for keys in _keys(connection, added, count):
        _set(known.bits, keys, known.size)
    _write(connection, counted[0] + count, known.size, known.bits)


def rebuild(connection: sqlite3.Connection, main: str) -> None:
    """Build the filter of every key in table ``main``, in ``connection``'s transaction."""
    count = _count(connection, main)
    size = min(_LARGEST, max(_SMALLEST, -(-count * BITS_PER_KEY // 64) * 64))
    bits = np.zeros(size // 8, dtype=np.uint8)
    for keys in _keys(connection, main, count):
        _set(bits, keys, size)
    _write(connection, count, size, bits)


def _count(connection: sqlite3.Connection, table: str) -> int:
    return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _keys(connection: sqlite3.Connection, table: str, count: int) -> Iterator[np.ndarray]:
    """The band keys of ``table`` (``count`` rows), a slice of the key space at a time:
    read as text (``group_concat``, then numpy's parser), 3x faster than a row at a time
    through the driver."""
    slices = count // _SCAN_ROWS + 1
    bounds = [-(1 << 63) + (n << 64) // slices for n in range(slices)] + [1 << 63]
    for low, high in pairwise(bounds):
        text = connection.execute(
            f"SELECT group_concat(band) FROM {table} WHERE band >= ? AND band <= ?",
            (low, high - 1)).fetchone()[0]
        if text:
            yield np.fromstring(text, dtype=np.int64, sep=",")


def _write(connection: sqlite3.Connection, keys: int, size: int, bits: np.ndarray) -> None:
    """Store a new version of the filter, and hold it as this process's copy (not read
    back: it is what this transaction now sees). The bits are written through a blob
    handle, a piece at a time: a row written whole took two more copies of them."""
    token = _new_token()
    connection.execute(f"INSERT OR REPLACE INTO {TABLE} (id, token, keys, size, bits) "
                       "VALUES (1, ?, ?, ?, zeroblob(?))", (token, keys, size, len(bits)))
    with connection.blobopen(TABLE, "bits", 1) as blob:
        for start in range(0, len(bits), _BLOB_BYTES):
            blob.write(bits[start:start + _BLOB_BYTES].tobytes())
    with _held_lock:
        _held[:] = [BandFilter(token, size, bits)]


class RecentFilter:
    """A Bloom filter of the band keys of ``item_band_recent``, kept in memory by a
    process that writes them: its probes of that table skip the keys the filter rules
    out, as probes of the main table do. In a cold ingest that table holds up to a
    million rows, and probing all of a new item's keys in it (58 then) was a tenth of
    the writer's CPU.

    Every transaction that writes the table's rows (``bands.PendingBands.write``) counts
    them into its process's filter and draws a new token in the row ``RECENT_ROW``
    (``wrote``). The filter is current while that row holds the token it drew last:
    after a write by another process or connection, or a rollback, the row holds another
    token and every key is probed, until the filter is built again from the table
    (``REBUILD_ROWS_PER_KEY``). Rows leaving the table (pruned, merged by someone else)
    leave their bits set, as in the main table's filter. Safe for several threads: the
    bits are only ever set in place, which makes a lookup meanwhile find more keys
    "maybe there", never fewer."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity  # keys the bits are sized for (a merge empties the table)
        self._lock = threading.Lock()
        self._held: BandFilter | None = None
        self._keys = 0  # counted into ``_held``
        self._probed = 0  # keys probed while ``_held`` was not current
        self._count_at = 0  # ... when the table's rows are next counted

    def maybe(self, connection: sqlite3.Connection, keys: Sequence[int]) -> Sequence[int]:
        """The keys of ``keys`` that may be in ``item_band_recent`` as ``connection``'s
        transaction sees it: all of them when the filter is not current."""
        token = _recent_token(connection)
        with self._lock:
            held = self._held
            if held is not None and held.token == token:
                return held.maybe(keys)
            self._probed += len(keys)
            if self._probed < self._count_at:
                return keys
        rows = _count(connection, RECENT)
        with self._lock:
            if self._probed * REBUILD_ROWS_PER_KEY < rows:
                self._count_at = rows // REBUILD_ROWS_PER_KEY
                return keys
        bits, size = self._empty(rows)
        for found in _keys(connection, RECENT, rows):
            _set(bits, found, size)
        built = BandFilter(token, size, bits)
        with self._lock:
            self._held, self._keys, self._probed, self._count_at = built, rows, 0, 0
        return built.maybe(keys)

    def wrote(self, connection: sqlite3.Connection, keys: np.ndarray, *,
              emptied: bool = False) -> None:
        """Count in ``keys``, just inserted into ``item_band_recent`` in ``connection``'s
        transaction (``emptied``: then every row of the table deleted, as a merge does),
        and draw the table's new token."""
        before = _recent_token(connection)
        token = recent_written(connection)
        with self._lock:
            held, counted = self._held, self._keys + len(keys)
            if emptied:  # (new bits: a lookup may hold the old ones)
                bits, size = self._empty(0)
                self._held, self._keys = BandFilter(token, size, bits), 0
            elif held is not None and held.token == before \
                    and counted * REBUILD_BELOW <= held.size:
                _set(held.bits, keys, held.size)
                self._held, self._keys = BandFilter(token, held.size, held.bits), counted
            else:  # not current (or too full): built again when probing has cost enough
                self._held = None

    def _size(self, rows: int) -> int:
        return min(_LARGEST, -(-max(2 * rows, self._capacity) * BITS_PER_KEY // 64) * 64)

    def _empty(self, rows: int) -> tuple[np.ndarray, int]:
        size = self._size(rows)
        return np.zeros(size // 8, dtype=np.uint8), size


def _new_token() -> int:
    """A random token, not negative (os.urandom, not secrets: that loads OpenSSL, hmac,
    3.5 MB in the parse worker)."""
    return int.from_bytes(os.urandom(8)) >> 1


def recent_written(connection: sqlite3.Connection) -> int:
    """Draw a new token for ``item_band_recent``, whose rows ``connection``'s transaction
    has just written (every such transaction does): the other processes' filters of
    that table are then no longer current. The token."""
    token = _new_token()
    connection.execute(f"INSERT OR REPLACE INTO {TABLE} (id, token, keys, size, bits) "
                       "VALUES (?, ?, 0, 0, x'')", (RECENT_ROW, token))
    return token


def _recent_token(connection: sqlite3.Connection) -> int:
    """The token of ``item_band_recent``'s rows (-1: no row, as in a store made since no
    transaction wrote that table; tokens are not negative)."""
    row = connection.execute(f"SELECT token FROM {TABLE} WHERE id = ?", (RECENT_ROW,)).fetchone()
    return -1 if row is None else int(row[0])
