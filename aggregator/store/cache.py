"""SQLite's page cache and WAL checkpoints per connection, by the size of the database:
the writer's connections (store.py: as each opens, and again after each merge of the
recent tables, so that a long-running process keeps up with a store that grows) and a
parse worker's (lookahead.py, its cache)."""

from __future__ import annotations

import sqlite3
from typing import Final

#: SQLite's page cache per connection: a 64th of the file when it is opened, 2-8 MiB.
#: Its job is the interior pages of the indexes (a 300th of the file, measured on the
#: bench's store) and the hot leaves; an update uses one connection. 8 MiB whatever the
#: size cost the cold 1,000-feed run's main process 6-9 MB at its peak (single runs:
#: 114.5 and 115.6 MB, against 106.0 and 109.0 with 2 MiB; it opens an empty file); a
#: 100,000-item store (330 MB) gets 5 MiB and a million-item one (3.3 GB) 8 MiB, as
#: before.
CACHE_KIB: Final = (2048, 8192)
#: pages of WAL written before a commit checkpoints them into the database (SQLite's
#: default is 1,000): a sixth of the file's pages when it is opened, 10,000-40,000 (80-320
#: MiB of 8 KiB pages). A group's commit rewrites pages all over the indexes with random
#: keys (``item_band_recent``, ``story_key_recent``, ``story.published_at``), more of them the
#: bigger the store; between two checkpoints, a page rewritten by several commits is
#: copied into the file once. 1,000 -> 10,000: the cold run 3.4 -> 2.7 GB written, +3-11%
#: items/s. 10,000 -> 40,000 into a million-item store (2.2 GB, 267,000 pages): 5.2 ->
#: 3.8 GB written, +1% to +15% items/s (5 alternating pairs, median +8%); 80,000 wrote
#: 3.4 GB and was no faster. The cold run (a new file) keeps 10,000: 40,000 there wrote
#: 1.39 GB instead of 1.55 at the same items/s. ``journal_size_limit`` is as many bytes.
CHECKPOINT_PAGES: Final = (10_000, 40_000)


def cache_kib(cursor: sqlite3.Cursor | sqlite3.Connection) -> int:
    """The page cache for a connection to the database ``cursor`` reads (KiB)."""
    pages = cursor.execute("PRAGMA page_count").fetchone()[0]
    size = cursor.execute("PRAGMA page_size").fetchone()[0]
    return size_kib(int(pages) * int(size))


def size_kib(file_bytes: int) -> int:
    least, most = CACHE_KIB
    return min(most, max(least, file_bytes // 64 // 1024))


def checkpoint_pages(pages: int) -> int:
    """The WAL's pages before a commit checkpoints, for a file of ``pages`` pages."""
    least, most = CHECKPOINT_PAGES
    return min(most, max(least, pages // 6))


def tune(cursor: sqlite3.Cursor | sqlite3.Connection) -> None:
    """Size the connection's page cache (``size_kib``) and its WAL checkpoints
    (``checkpoint_pages``; ``journal_size_limit`` as many pages' bytes) by the
    database's size now."""
    pages = int(cursor.execute("PRAGMA page_count").fetchone()[0])
    size = int(cursor.execute("PRAGMA page_size").fetchone()[0])
    cursor.execute(f"PRAGMA cache_size=-{size_kib(pages * size)}")
    wal = checkpoint_pages(pages)
    cursor.execute(f"PRAGMA wal_autocheckpoint={wal}")
    # the WAL file is cut back to this once it restarts after a bigger transaction (a
    # merge into a big index): it does not keep the largest size it ever reached
    cursor.execute(f"PRAGMA journal_size_limit={wal * size}")
