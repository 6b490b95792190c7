"""SQLite's page cache per connection, by the size of the database: the writer's
connections (store.py) and a parse worker's (lookahead.py)."""

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


def cache_kib(cursor: sqlite3.Cursor | sqlite3.Connection) -> int:
    """The page cache for a connection to the database ``cursor`` reads (KiB)."""
    pages = cursor.execute("PRAGMA page_count").fetchone()[0]
    size = cursor.execute("PRAGMA page_size").fetchone()[0]
    return size_kib(int(pages) * int(size))


def size_kib(file_bytes: int) -> int:
    least, most = CACHE_KIB
    return min(most, max(least, file_bytes // 64 // 1024))


