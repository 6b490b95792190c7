"""Retention: pruning old stories in bounded batches, and the tombstones that keep them
out.

Part of the store (queries live only in this package). A story is pruned when none of
its items was stored or changed since the cutoff (every ``item.last_changed_at`` is
older); with it go its items, their near-duplicate index rows (both band tables) and its
exact keys. The item identities (``item:<source id>:<guid>``) and the exact keys become
tombstones, so a feed that still lists a pruned item does not bring it back
(``pruned_guids``, consulted beside the stored hashes when a body is new).

Each batch is one short transaction over at most ``size`` stories, which locks them
first: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` (a story being written by a worker right
now is skipped, and an item inserted into a locked story waits, then fails its foreign
key and is retried by its source's next fetch); on SQLite a first write takes the
database's write lock, so what the batch reads stays true until it commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, text, update
from sqlmodel import Session, SQLModel, col, select

from aggregator.store import story_keys
from aggregator.store.bands import placeholder
from aggregator.store.driver import select_rows
from aggregator.store.keys import ADVISORY_KEY, key_hash
from aggregator.store.models import (
    ItemBandRecentRow,
    ItemBandRow,
    ItemEnclosureRow,
    ItemPrintRow,
    ItemRow,
    StoryRow,
    TombstoneRow,
)

InsertIgnore = Callable[[Session, type[SQLModel], list[dict[str, Any]], Sequence[str]], None]
BATCH = 500  # stories per transaction
_CHUNK = 500
_TOMBSTONE = SQLModel.metadata.tables["tombstone"]
#: a tombstone's seen_at is moved forward at most this often by a feed still listing it
REFRESH = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What a prune removed (or, in a dry run, would remove)."""

    stories: int = 0
    items: int = 0
    keys: int = 0  # exact story keys, each left as a tombstone
    tombstones_expired: int = 0  # tombstones no feed listed for a retention period
    busy: bool = False  # another process was pruning: this one stopped

    def __add__(self, other: PruneReport) -> PruneReport:
        return PruneReport(self.stories + other.stories, self.items + other.items,
                           self.keys + other.keys,
                           self.tombstones_expired + other.tombstones_expired,
                           self.busy or other.busy)


def item_key(source_id: int, guid: str) -> str:
    """The tombstone key of an item's identity (the same form as a keyless story's uid)."""
    return f"item:{source_id}:{guid}"


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def prune_batch(session: Session, insert_ignore: InsertIgnore, *, postgres: bool,
                after: int, cutoff: datetime, now: datetime, size: int = BATCH,
                dry_run: bool = False) -> tuple[int | None, PruneReport]:
    """Prune the old stories among the next ``size`` with an id above ``after`` and
    first seen before ``cutoff``. Returns the last id looked at (None: no more) and what
    was pruned."""
    if postgres:
        if not dry_run and not session.execute(
                text(f"SELECT pg_try_advisory_xact_lock({ADVISORY_KEY})"),
                {"name": "retention"}).scalar():  # one process prunes at a time
            return None, PruneReport(busy=True)
    elif not dry_run:
        # pysqlite opens the transaction at the first write: make it the first statement,
        # so the reads below see the database as it stays until this batch commits
        session.execute(update(StoryRow).where(col(StoryRow.id) == -1)
                        .values(uid=StoryRow.uid))
    query = select(StoryRow.id).where(col(StoryRow.id) > after,
                                      col(StoryRow.first_seen_at) < cutoff)
    query = query.order_by(col(StoryRow.id)).limit(size)
    if postgres and not dry_run:
        query = query.with_for_update(skip_locked=True)
    candidates = [story_id for story_id in session.exec(query).all() if story_id is not None]
    if not candidates:
        return None, PruneReport()
    recent = set(session.exec(select(ItemRow.story_id).distinct().where(
        col(ItemRow.story_id).in_(candidates), col(ItemRow.last_changed_at) >= cutoff)).all())
    doomed = [story_id for story_id in candidates if story_id not in recent]
    last = candidates[-1]
    if not doomed:
        return last, PruneReport()
    items = session.exec(select(ItemRow.id, ItemRow.source_id, ItemRow.guid)
                         .where(col(ItemRow.story_id).in_(doomed))).all()
    keys = story_keys.of_stories(session.connection(), doomed)
    report = PruneReport(stories=len(doomed), items=len(items), keys=len(keys))
    if dry_run:
        return last, report
    insert_ignore(session, TombstoneRow, [
        {"key_hash": hashed, "seen_at": now}
        for hashed in [key_hash(item_key(source_id, guid)) for _, source_id, guid in items]
        + keys], ["key_hash"])
    story_keys.delete_of_stories(session.connection(), doomed)
    of_items = select(ItemRow.id).where(col(ItemRow.story_id).in_(doomed))
    for statement in (  # the rows that point to an item or a story first
            delete(ItemBandRow).where(col(ItemBandRow.item_id).in_(of_items)),
            delete(ItemBandRecentRow).where(col(ItemBandRecentRow.item_id).in_(of_items)),
            delete(ItemPrintRow).where(col(ItemPrintRow.item_id).in_(of_items)),
            delete(ItemEnclosureRow).where(col(ItemEnclosureRow.item_id).in_(of_items)),
            delete(ItemRow).where(col(ItemRow.story_id).in_(doomed)),
            delete(StoryRow).where(col(StoryRow.id).in_(doomed))):
        session.execute(statement.execution_options(synchronize_session=False))
    return last, report


def expire_tombstones(session: Session, before: datetime, *, dry_run: bool = False) -> int:
    """Drop the tombstones no feed has listed since ``before``."""
    old = col(TombstoneRow.seen_at) < before
    if dry_run:
        return int(session.exec(select(func.count()).select_from(TombstoneRow)
                                .where(old)).one())
    result = session.execute(delete(TombstoneRow).where(old))
    return int(getattr(result, "rowcount", 0) or 0)


def pruned_guids(session: Session, source_id: int, keys: Mapping[str, Sequence[str]],
                 now: datetime) -> frozenset[str]:
    """The guids (of ``keys``: guid -> the item's exact story keys) whose item, or one of
    whose keys, was pruned. Their tombstones are seen again: moved forward, at most
    once a ``REFRESH``, so they outlive the feeds that still list them."""
    connection = session.connection()
    # a store retention never pruned (every cold ingest) has no tombstone: one cheap
    # statement spares hashing every new item's identity and looking the hashes up
    if connection.exec_driver_sql("SELECT 1 FROM tombstone LIMIT 1").first() is None:
        return frozenset()
    hashes: dict[int, set[str]] = {}
    for guid, exact in keys.items():
        for key in (item_key(source_id, guid), *exact):
            hashes.setdefault(key_hash(key), set()).add(guid)
    hits: dict[int, datetime] = {}
    mark = placeholder(connection)
    for chunk in _chunks(sorted(hashes)):  # the driver's own SQL: run for every new body
        hits.update(select_rows(
            connection, f"SELECT key_hash, seen_at FROM tombstone"
            f" WHERE key_hash IN ({', '.join([mark] * len(chunk))})", tuple(chunk),
            [(_TOMBSTONE, "key_hash"), (_TOMBSTONE, "seen_at")]))
    stale = sorted(h for h, seen in hits.items() if seen < now - REFRESH)
    for chunk in _chunks(stale):
        session.execute(update(TombstoneRow).where(col(TombstoneRow.key_hash).in_(chunk))
                        .values(seen_at=now))
    return frozenset(guid for hashed in hits for guid in hashes[hashed])
