"""A feed's near-duplicate candidates, read by the parse worker ahead of the writer.

On SQLite the process that writes was the bottleneck of a cold ingest, and a fifth of
its time went to finding a feed's candidates: ~2,900 band keys probed in the index,
the hit items' rows read and their fingerprints made again (which also loaded numpy
into it). The parse worker, which has a core of its own, now does that right after
preparing the feed (``prepare_and_read``), on a read-only connection of its own, as of
one snapshot (``CandidateRead``): the largest item id it saw, the band hits of the
items it found not stored, within a range of dates a little wider than the writer's,
and the hit items' fingerprints.

The writer (store/stories.py) then adds what the snapshot could not see: the items
numbered above it, all written by this process since (its open group's, and the
groups committed meanwhile), whose band rows it keeps for a while (``WrittenBands``).
When it cannot be sure of that (another process wrote items, the snapshot is older
than what it kept, a prune ran, the new items or the dates are not the ones read), it
reads the candidates itself, as before: the result is the same either way.

The hit items' fingerprints are read back from their prints (store/prints.py) where
they have one of their present text, else made from their text.

This module imports the standard library's sqlite3 and the story logic only: the
worker loads neither SQLAlchemy nor the models.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from aggregator.packing import unpack_text
from aggregator.store.bands import ItemBands, padded_chunks, sqlite_hits
from aggregator.store.cache import cache_kib
from aggregator.types import CandidateRead, Fingerprint, ItemData, PreparedFeed

if TYPE_CHECKING:
    from aggregator.stories.fingerprints import Fingerprints

#: how much wider (seconds, each side) the worker reads than the writer will look: an
#: undated item is dated when it is written, a little later than when it was prepared
SLACK: Final = 3600
_connections: dict[str, sqlite3.Connection] = {}
#: the worker's fingerprints of stored candidates without a print, made from their text;
#: made on the first read (the writer imports this module too, for WrittenBands)
_prints: list[Fingerprints] = []


def _worker_prints() -> Fingerprints:
    if not _prints:
        from aggregator.stories.fingerprints import Fingerprints

        _prints.append(Fingerprints())
    return _prints[0]


@dataclass(frozen=True, slots=True)
class Lookahead:
    """What a parse worker reads of a SQLite store for a feed: the file, the source, and
    whether the writer is behind (``update.read_ahead``): the worker then also reads
    the feed's candidates and packs its texts, the writer's to do otherwise. ``defer``:
    the worker is the one behind (``update.defer_to_writer``): it leaves the
    fingerprints and credits to the writer (``prepare_feed``'s ``defer``)."""

    path: str
    source_id: int
    ahead: bool = True
    defer: bool = False


def seen_at(item: ItemData, now: datetime) -> int:
    """An item's date in the index (epoch seconds): its own, else when it is stored."""
    return int((item.published_at or now).timestamp())


def prepare_and_read(body: bytes, headers: Mapping[str, str], url: str, now: datetime,
                     where: Lookahead) -> PreparedFeed:
    """``prepare_feed``, told which items the store holds as they are (so that only the
    new ones are fingerprinted), then, if asked, the candidates of its new items (none
    if the store cannot be read: the writer then reads them itself). Raises
    ParseError."""
    from aggregator.ingest.prepare import prepare_feed

    prepared = prepare_feed(body, headers, url, now, pack=where.ahead,
                            stored=lambda guids: stored_hashes(where, guids),
                            defer=where.defer and not where.ahead)
    if not where.ahead:
        return prepared
    try:
        return replace(prepared, candidates=read_candidates(where, prepared, now))
    except sqlite3.Error:
        _connections.pop(where.path, None)  # opened again for the next feed
        return prepared


def _connect(path: str) -> sqlite3.Connection:
    connection = _connections.get(path)
    if connection is None:
        for other in _connections.values():  # one store at a time (tests open many)
            other.close()
        _connections.clear()
        # a short busy timeout: a reader of a WAL database rarely waits, and when it
        # would, the writer reads instead (prepare_and_read)
        connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=2,
                                     isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA query_only=1")
        connection.execute(f"PRAGMA cache_size=-{cache_kib(connection)}")  # as the writer
        _connections[path] = connection
    return connection


def stored_hashes(where: Lookahead, guids: Sequence[str]) -> dict[str, str]:
    """The content hashes stored for ``guids`` of the source (none if the store cannot
    be read: every item is then prepared whole)."""
    found: dict[str, str] = {}
    try:
        connection = _connect(where.path)
        for chunk in padded_chunks(guids):
            found.update(connection.execute(
                "SELECT guid, content_hash FROM item"
                f" WHERE source_id = ? AND guid IN ({_marks(chunk)})",
                (where.source_id, *chunk)).fetchall())
    except sqlite3.Error:
        _connections.pop(where.path, None)
        return {}
    return found


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def read_candidates(where: Lookahead, prepared: PreparedFeed, now: datetime) -> CandidateRead:
    """The candidates of ``prepared``'s items not stored yet (not ``skipped``), as of
    one snapshot."""
    from aggregator.store import prints as item_prints
    from aggregator.stories.similarity import WINDOW

    window = int(WINDOW.total_seconds())
    connection = _connect(where.path)
    texts: list[tuple[int, str, bytes | str | None]] = []
    connection.execute("BEGIN")  # one snapshot for every read below
    try:
        snapshot = int(connection.execute("SELECT max(id) FROM item").fetchone()[0] or 0)
        # the items not stored when prepare_feed asked (the source is leased to this
        # update: none is stored meanwhile; one deleted meanwhile has no fingerprint,
        # and the writer prepares its feed again: update.decide)
        new = [item for item in prepared.items if item.guid not in prepared.skipped]
        seen = [seen_at(item, now) for item in new]
        low = min(seen, default=0) - window - SLACK
        high = max(seen, default=0) + window + SLACK
        bands: set[int] = set()
        for item in new:
            fp = prepared.fingerprints.get(item.guid)
            if fp is not None:
                bands.update(fp.bands)
        hits: list[tuple[int, int, int]] = sqlite_hits(connection, sorted(bands), low, high,
                                                         "band, item_id, seen")
        ids = sorted({item_id for _, item_id, _ in hits})
        printed = item_prints.read(connection.execute, "?", ids)  # (the others: from their text)
        for chunk in padded_chunks([item_id for item_id in ids if item_id not in printed]):
            texts += connection.execute(
                f"SELECT id, title, content_html FROM item WHERE id IN ({_marks(chunk)})",
                tuple(chunk)).fetchall()
    finally:
        connection.execute("COMMIT")
    cache = _worker_prints()
    made = cache.of_many([(title, "" if content is None else unpack_text(content))
                          for _, title, content in texts])  # together: one numpy pass
    prints: dict[int, Fingerprint | None] = {
        **printed, **{item_id: fp for (item_id, _, _), fp in zip(texts, made, strict=True)}}
    hits.sort()
    return CandidateRead(snapshot, low, high, frozenset(item.guid for item in new),
                         tuple(hits), prints)


class WrittenBands:
    """The band rows of the items this process wrote lately, in the order of their ids,
    and the ids they cover: what a worker's snapshot (``CandidateRead.snapshot``) did
    not see, if this process wrote every item numbered above it.

    Items are added once their writes are sure to stay (their savepoint released); a
    gap in the ids (another process wrote items) starts the cover again. Rows are
    dropped once two commits have followed theirs (a read takes its snapshot less than
    a commit before it is used: one that took longer finds the rows gone, and the
    writer reads itself), and at most ``keep`` items are kept; ``reset`` forgets
    everything (a rollback, a prune).

    An id is never given twice to items a snapshot could tell apart: SQLite numbers an
    item one above the largest stored, and only retention deletes items, those of
    stories untouched for days, never the newest."""

    def __init__(self, keep: int = 8192) -> None:
        self.keep = keep
        self._rows: deque[ItemBands] = deque()
        self._first: int | None = None  # the lowest id of the cover
        self._last: int | None = None  # the highest id written
        self._commits: deque[int] = deque(maxlen=2)  # the last ids of the last commits
        self._floor: int | None = None  # a read that saw no id above it is not used
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._rows.clear()
            self._commits.clear()
            self._first = self._last = None

    def distrust(self, floor: int) -> None:
        """Band rows of stored items (changed ones, below the cover) are being written
        in a transaction in which ``floor`` is the largest item id: a read whose
        snapshot saw no id above it may predate them, and is not used (an id above
        ``floor`` is only seen once that transaction is committed)."""
        with self._lock:
            self._floor = floor if self._floor is None else max(self._floor, floor)

    def add(self, first: int, last: int, rows: Iterable[ItemBands]) -> None:
        """Items ``first``..``last`` were written by this process (``rows``: the band
        rows of those that have some)."""
        with self._lock:
            if self._last is None or first != self._last + 1:
                self._rows.clear()
                self._first = first
            self._last = last
            self._rows.extend(rows)
            while len(self._rows) > self.keep:
                self._first = self._rows.popleft()[0] + 1

    def committed(self) -> None:
        """What was added so far is committed."""
        with self._lock:
            if self._last is None:
                return
            self._commits.append(self._last)
            if len(self._commits) == self._commits.maxlen:
                self._drop(self._commits[0])

    def _drop(self, upto: int) -> None:
        while self._rows and self._rows[0][0] <= upto:
            self._first = self._rows.popleft()[0] + 1

    def covers(self, snapshot: int, newest: int) -> bool:
        """Whether every item numbered above ``snapshot``, up to ``newest`` (the largest
        id stored now), was written by this process and is here."""
        with self._lock:
            if self._floor is not None and snapshot <= self._floor:
                return False
            if newest <= snapshot:
                return True
            return (self._last == newest and self._first is not None
                    and self._first <= snapshot + 1)

    def hits(self, bands: set[int], low: int, high: int, above: int,
             skip: Container[int] = ()) -> list[tuple[int, int]]:
        """(band, item_id) of the rows of items numbered above ``above`` with one of
        ``bands``, seen within [``low``, ``high``]; none of the items in ``skip`` (the
        open transaction's, which its ``PendingBands`` finds by band)."""
        found: list[tuple[int, int]] = []
        with self._lock:
            for item_id, seen, keys in reversed(self._rows):
                if item_id <= above:
                    break
                if item_id in skip:
                    continue
                if low <= seen <= high and not bands.isdisjoint(keys):
                    found += [(band, item_id) for band in keys if band in bands]
        return found


def usable(read: CandidateRead | None, items: Sequence[ItemData], low: int,
           high: int) -> CandidateRead | None:
    """``read`` if it holds the candidates of ``items`` within [``low``, ``high``]."""
    if read is None or low < read.low or high > read.high:
        return None
    if not all(item.guid in read.guids for item in items):
        return None
    return read

