"""Keys: the hash under which an exact key is stored (a story's uid:
stories.assign.story_uid), and the names and keys of the store's locks."""

from __future__ import annotations

import hashlib
from functools import lru_cache


@lru_cache(maxsize=4096)  # an update hashes its keys twice (pruned_guids, add_items)
def key_hash(key: str) -> int:
    """The key as stored: the first 8 bytes of its SHA-256, a signed 64-bit integer (on
    SQLite the table's own row id: no index beside the table). Two of a store's keys
    share one with a chance of about n**2 / 2**65: 1 in 37 million for a million keys,
    1 in 370,000 for ten million."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


#: What must not run twice at once across processes, each under its own lock: on
#: PostgreSQL an advisory lock held until the transaction ends, keyed by the lock's name
#: and the schema (advisory locks are database-wide: two stores in two schemas of one
#: database must not wait for each other); on SQLite the database's write lock, taken
#: before the transaction's first read (BEGIN IMMEDIATE).
LOCKS = frozenset({"schema", "sources", "claims", "stories", "site", "retention"})
#: the key of a lock on PostgreSQL (:name, a member of LOCKS)
ADVISORY_KEY = "hashtextextended('aggregator:' || :name || ':' || current_schema(), 0)"
