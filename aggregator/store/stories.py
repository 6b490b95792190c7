"""Writing one source's new and changed items: story assignment in batches.

Part of the store (queries live only in this package). The decisions are pure
(assign.assign_batch, assign.choose_representative); this module fetches what they
need in a few queries per batch, not per item, and writes the result back in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, update
from sqlmodel import Session, SQLModel, col, select

from aggregator import metrics
from aggregator.store import prints as item_prints
from aggregator.store import story_keys
from aggregator.store.bands import (
    ItemBands,
    PendingBands,
    chunks,
    padded_chunks,
    placeholder,
    stored_hits,
)
from aggregator.store.driver import bound, insert_many, select_rows
from aggregator.store.keys import key_hash
from aggregator.store.lookahead import WrittenBands, usable
from aggregator.store.models import (
    ItemEnclosureRow,
    ItemRow,
    StoryRow,
)
from aggregator.stories.assign import (
    Candidate,
    NewStory,
    StoryMember,
    StoryRef,
    assign_batch,
    assign_story,
    choose_representative,
)
from aggregator.stories.attribution import outlet_key
from aggregator.stories.fingerprints import Fingerprints
from aggregator.stories.similarity import WINDOW
from aggregator.types import CandidateRead, Credit, Fingerprint, ItemData, SourceUpdate

_CANDIDATE = ("id", "story_id", "title", "content_html", "published_at", "first_seen_at")
_BRIEF = ("id", "story_id", "published_at", "first_seen_at")  # its fingerprint known
_ITEM = SQLModel.metadata.tables["item"]
_SOURCE = SQLModel.metadata.tables["source"]
_MEMBER = ("id", "story_id", "source_id", "published_at", "first_seen_at", "cites")



def _label(item_id: int | str, source_name: str) -> str:
    return f"item #{item_id} ({source_name})"


def _seen_at(item: ItemData, now: datetime) -> datetime:
    return item.published_at or now


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def _newest(connection: Connection) -> int:
    """The largest item id stored (0: none)."""
    return int(connection.exec_driver_sql("SELECT max(id) FROM item").scalar() or 0)


def _band_candidates(session: Session, prints: Fingerprints, bands: set[int], low: int,
                     high: int, *, pending: PendingBands,
                     ahead: tuple[CandidateRead, WrittenBands] | None = None,
                     hits: Sequence[tuple[int, int]] | None = None
                     ) -> dict[int, list[Candidate]]:
    """Stored items (and those of ``pending``) sharing a band with the batch, seen within
    [``low``, ``high``] (epoch seconds), by band: as a parse worker read them ahead
    (``ahead``: its read, and the rows this process wrote since), else read here (or
    found among ``hits``, ``stored_hits`` of more bands over a range that holds this
    one)."""
    known: Mapping[int, Fingerprint | None] = {}
    if ahead is not None:
        read, written = ahead
        # what this process wrote since the read: the open transaction's rows found by
        # band (pending), the others by a scan of their items (written)
        hits = sorted([(band, item_id) for band, item_id, seen in read.hits
                       if low <= seen <= high and band in bands]
                      + written.hits(bands, low, high, read.snapshot, skip=pending.ids)
                      + pending.hits(bands, low, high))
        known = read.prints
    elif hits is None:
        hits = stored_hits(session, bands, low, high, pending)
    else:
        hits = [(band, item_id) for band, item_id in hits if band in bands]
    ids = sorted({item_id for _, item_id in hits})
    loaded: dict[int, Candidate] = {}
    if ids:
        session.flush()  # the driver's SQL reads what the session holds only once flushed
    connection = session.connection()
    mark = placeholder(connection)

    def rows_of(names: tuple[str, ...], chunk: Sequence[int | None]) -> list[tuple[Any, ...]]:
        return select_rows(  # the driver's own SQL, values read as SQLAlchemy reads them
            connection, f"SELECT {', '.join(f'item.{name}' for name in names)},"
            f" source.name FROM item JOIN source ON source.id = item.source_id"
            f" WHERE item.id IN ({', '.join([mark] * len(chunk))})", tuple(chunk),
            [*((_ITEM, name) for name in names), (_SOURCE, "name")])

    unknown = [i for i in ids if i not in known]
    if unknown:  # read back from their prints, else made from their text
        known = {**known, **item_prints.read(
            lambda sql, values: connection.exec_driver_sql(sql, values).all(), mark, unknown)}
    made = [row for chunk in padded_chunks([i for i in ids if i not in known])
            for row in rows_of(_CANDIDATE, chunk)]
    brief = [row for chunk in padded_chunks([i for i in ids if i in known])
             for row in rows_of(_BRIEF, chunk)]
    # the fingerprints not known made together: one numpy pass (Fingerprints.of_many)
    for row, fp in (*zip(made, prints.of_many([(title, content) for _, _, title, content, *_
                                               in made]), strict=True),
                    *((row, known[row[0]]) for row in brief)):
        item_id, story_id, *_, published_at, first_seen_at, name = row
        if fp is not None:
            loaded[item_id] = Candidate(item_id, story_id, _label(item_id, name), fp,
                                        published_at or first_seen_at)
    by_band: dict[int, list[Candidate]] = defaultdict(list)
    for band, item_id in hits:
        if item_id in loaded:
            by_band[band].append(loaded[item_id])
    return by_band


def _item_columns(item: ItemData, credit: Credit | None,
                  full_text: str | None) -> dict[str, Any]:
    """An item row's columns from the parsed item, its credit and its full-text status
    (inserts and updates)."""
    return {
        "full_text_status": full_text,
        "url": item.url, "canonical_url": item.canonical_url, "title": item.title,
        "author": item.author, "content_html": item.content_html,
        "summary_text": item.summary_text, "categories": item.categories,
        "published_at": item.published_at, "updated_at": item.updated_at,
        "content_hash": item.content_hash,
        "relayed_by": credit.relayed_by if credit else None,
        "cites": credit.cites if credit else (),
        "credit_line": credit.line if credit else None,
        "image_url": item.image_url,
    }


def _write_enclosures(session: Session, items: Mapping[int, ItemData],
                      rewrite: bool = False) -> None:
    """Store the enclosures of ``items`` (by item id), in their order; ``rewrite`` drops
    the ones stored before (items that changed)."""
    ids = sorted(items)
    if rewrite:
        for chunk in chunks(ids):
            session.execute(delete(ItemEnclosureRow)
                            .where(col(ItemEnclosureRow.item_id).in_(chunk)))
    rows = [{"item_id": item_id, "position": position, "url": e.url,
             "media_type": e.media_type, "length": e.length, "duration": e.duration}
            for item_id in ids for position, e in enumerate(items[item_id].enclosures)]
    if rows:
        session.connection().execute(
            SQLModel.metadata.tables["item_enclosure"].insert(), rows)


@dataclass(frozen=True, slots=True)
class Added:
    """What ``add_items`` wrote: the stories it touched, and counts for the metrics."""

    touched: set[int] = field(default_factory=set)
    new_stories: int = 0
    near_duplicates: int = 0  # items that joined a story as a near-duplicate
    merges: int = 0  # stored stories folded into another
    bands: list[ItemBands] = field(default_factory=list)  # for PendingBands: not written yet
    # the members of the stories created here with the batch's items alone, by story
    members: dict[int, list[StoryMember]] = field(default_factory=dict)
    ids: tuple[int, int] | None = None  # the first and last ids given (SQLite: in a row)
    # band rows for the new text of stored items (changed): for PendingBands, not for
    # WrittenBands, which holds only rows of the ids it covers (``rematch_changed``);
    # the largest item id stored when they were written (``WrittenBands.distrust``)
    rebanded: list[ItemBands] = field(default_factory=list)
    rebanded_floor: int = 0


class Source(Protocol):
    """What add_items reads of a source row (a SourceRow, or the store's _SourceState)."""

    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def feed_title(self) -> str | None: ...
    @property
    def site_url(self) -> str | None: ...


def add_items(session: Session, fingerprints: Fingerprints, source: Source,
              change: SourceUpdate, *, pending: PendingBands,
              written: WrittenBands | None = None) -> Added:
    """Insert a source's new items, each joined to its story. Their band rows are
    returned (``Added.bands``), for the caller to add to ``pending`` (and ``written``:
    the rows this process wrote, on SQLite) once this source's writes are sure to stay
    (its savepoint released)."""
    items = change.new_items
    if not items:
        return Added()
    now = change.now
    keys = {i.guid: change.story_keys.get(i.guid, ()) for i in items}
    prints = {i.guid: change.fingerprints.get(i.guid) for i in items}
    hashed = {k: key_hash(k) for ks in keys.values() for k in ks}
    connection = session.connection()  # once: each call costs SQLAlchemy's lookups
    stored = story_keys.find(connection, set(hashed.values()))
    exact = {k: stored[h] for k, h in hashed.items() if h in stored}
    seen = [_seen_at(i, now) for i in items]
    low, high = _epoch(min(seen) - WINDOW), _epoch(max(seen) + WINDOW)
    ahead = None
    read = usable(change.candidates, items, low, high)
    if written is not None and read is not None and written.covers(
            read.snapshot, _newest(connection)):
        ahead = (read, written)
    metrics.count("candidates_read_ahead" if ahead else "candidates_read_by_writer")
    by_band = _band_candidates(session, fingerprints,
                               set().union(*(fp.bands for fp in prints.values() if fp)),
                               low, high, pending=pending, ahead=ahead)
    batch = assign_batch(items, keys, prints, exact, by_band, source_id=source.id or 0,
                         source_name=source.name, now=now)
    story_ids, all_created = _create_stories(connection, batch.new_stories)

    def stored_id(story: StoryRef) -> int:
        return story_ids[story] if isinstance(story, str) else story

    packed = change.packed  # bytes: written as they are (models.CompressedText)
    rows: list[dict[str, Any]] = [{
        **_item_columns(a.item, change.credits.get(a.item.guid),
                        change.full_text.get(a.item.guid)),
        "content_html": packed.get(a.item.content_html, a.item.content_html),
        "summary_text": packed.get(a.item.summary_text, a.item.summary_text),
        "source_id": source.id, "story_id": stored_id(a.story), "guid": a.item.guid,
        "first_seen_at": now, "last_changed_at": now, "join_reason": a.reason,
    } for a in batch.items]
    item_ids = _insert_items(connection, rows)
    key_rows: list[tuple[int, int]] = []
    band_rows: list[ItemBands] = []
    print_rows: list[item_prints.PrintRow] = []
    for item, seen_at, row in zip(items, seen, rows, strict=True):
        key_rows += [(hashed[k], row["story_id"]) for k in keys[item.guid]
                     if hashed[k] not in stored]  # (a key is in one table: story_keys)
        fp = prints[item.guid]
        if fp is not None:  # (a later candidate's fingerprint: read back from its print)
            item_id, when = item_ids[item.guid], _epoch(seen_at)
            band_rows.append((item_id, when, tuple(dict.fromkeys(fp.bands))))
            print_rows.append((item_id, when, fp, item.content_hash))
    story_keys.add(connection, key_rows)
    item_prints.write(connection, item_prints.packed_rows(print_rows))
    _write_enclosures(session, {item_ids[i.guid]: i for i in items if i.enclosures})
    merges = {old: stored_id(new) for old, new in batch.merges.items()}
    _merge_stored(session, merges)
    # a story created here, that no stored story was folded into, has the batch's items
    # alone: its members are known without reading them back
    alone = set(story_ids.values()) - set(merges.values()) if all_created else set()
    touched = {int(r["story_id"]) for r in rows}
    gained = sorted(touched - set(story_ids.values()))
    for chunk in chunks(gained):  # an existing story gained an outlet: it changed
        session.execute(update(StoryRow).where(col(StoryRow.id).in_(chunk))
                        .values(updated_at=now))
    return Added(touched, new_stories=len(batch.new_stories),
                 near_duplicates=sum(a.reason.startswith("near-duplicate")
                                     for a in batch.items),
                 merges=sum(old != stored_id(new) for old, new in batch.merges.items()),
                 bands=band_rows, members=_members(source, rows, item_ids, alone),
                 ids=(min(item_ids.values()), max(item_ids.values())))


def _members(source: Source, rows: list[dict[str, Any]], item_ids: Mapping[str, int],
             stories: set[int]) -> dict[int, list[StoryMember]]:
    """The members of ``stories`` among the item rows just inserted, as
    ``refresh_representatives`` would read them back (cites as stored: TextList)."""
    if not stories:
        return {}
    keys = _outlet_keys(source.name, source.title, source.feed_title, source.site_url,
                        source.url)
    members: dict[int, list[StoryMember]] = defaultdict(list)
    for row in rows:
        if row["story_id"] in stories:
            members[row["story_id"]].append(StoryMember(
                item_id=item_ids[row["guid"]], outlet_keys=keys,
                published=row["published_at"] or row["first_seen_at"],
                cites=tuple(c for c in "\n".join(row["cites"]).split("\n") if c)))
    return members


_ITEM_NAMES = tuple(c.name for c in _ITEM.c)


def _insert_items(connection: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert item rows (all columns but the id); their ids by guid.

    On SQLite, under the write lock the stories lock holds, the ids are given: the next
    after the largest, as SQLite itself numbers a rowid table without AUTOINCREMENT, and
    the rows go in by the driver's executemany (SQLAlchemy's INSERT ... RETURNING runs
    one statement per row there). Elsewhere, one multi-row INSERT ... RETURNING."""
    if connection.dialect.name == "sqlite":
        last = connection.exec_driver_sql("SELECT max(id) FROM item").scalar()
        first = (last or 0) + 1
        columns = itemgetter(*_ITEM_NAMES[1:])
        insert_many(connection, _ITEM, _ITEM_NAMES, [
            (first + n, *columns(row)) for n, row in enumerate(rows)])
        return {row["guid"]: first + n for n, row in enumerate(rows)}
    inserted = connection.execute(
        _ITEM.insert().returning(_ITEM.c.id, _ITEM.c.guid, sort_by_parameter_order=True),
        rows).all()
    return {guid: item_id for item_id, guid in inserted}


def _merge_stored(session: Session, merges: dict[int, int]) -> None:
    """Fold stored stories into the story an item showed them to be part of.

    The surviving story keeps its id; the folded story's entry leaves the outputs and
    its outlets appear under the survivor (the rarer cost of recall: see dedupe).
    """
    for old, new in merges.items():
        if old == new:
            continue
        session.execute(update(ItemRow).where(col(ItemRow.story_id) == old)
                        .values(story_id=new))
        story_keys.move(session.connection(), old, new)
        session.execute(delete(StoryRow).where(col(StoryRow.id) == old))


_STORY_NAMES = ("uid", "representative_item_id", "representative_is_original",
                "credited_origin", "published_at", "first_seen_at", "updated_at")


def _create_stories(connection: Connection,
                    new_stories: Mapping[str, NewStory]) -> tuple[dict[str, int], bool]:
    """Insert the batch's new stories (a uid taken already is reused: the stories lock
    keeps two workers from creating one story, so this is a safeguard):
    their ids by uid, and whether each was created here (then its items are the batch's
    alone)."""
    if not new_stories:
        return {}, True
    created = insert_many(connection, _STORY, _STORY_NAMES, [
        (uid, None, False, None, new.published_at, new.first_seen_at, new.updated_at)
        for uid, new in new_stories.items()], ignore=("uid",))
    ids: dict[str, int] = {}
    mark = placeholder(connection)
    for chunk in chunks(sorted(new_stories)):  # the driver's own SQL (_band_candidates)
        ids.update((uid, story_id) for story_id, uid in connection.exec_driver_sql(
            f"SELECT id, uid FROM story WHERE uid IN ({', '.join([mark] * len(chunk))})",
            tuple(chunk)).all())
    return ids, created == len(new_stories)


@dataclass(frozen=True, slots=True)
class Updated:
    """What ``update_items`` rewrote."""

    touched: set[int] = field(default_factory=set)  # stories with an item changed
    # the rows (by guid) given a new title or content
    texts_changed: dict[str, ItemRow] = field(default_factory=dict)


def update_items(session: Session, source: Source, change: SourceUpdate) -> Updated:
    """Rewrite items whose content changed."""
    if not change.changed_items:
        return Updated()
    by_guid = {i.guid: i for i in change.changed_items}
    rows = session.exec(select(ItemRow).where(
        ItemRow.source_id == source.id, col(ItemRow.guid).in_(list(by_guid)))).all()
    touched: set[int] = set()
    rewritten: dict[int, ItemData] = {}
    texts_changed: dict[str, ItemRow] = {}
    reprinted: list[int] = []  # items whose print goes: their text changed
    new_prints: list[item_prints.PrintRow] = []
    for row in rows:
        item = by_guid[row.guid]
        rewritten[row.id or 0] = item
        if (row.title, row.content_html) != (item.title, item.content_html):
            texts_changed[row.guid] = row
        published = item.published_at or row.published_at  # a date once known stays
        if row.guid in texts_changed or row.content_hash != item.content_hash:
            reprinted.append(row.id or 0)
            if (fp := change.fingerprints.get(row.guid)) is not None:
                new_prints.append((row.id or 0, _epoch(published or row.first_seen_at), fp,
                                   item.content_hash))
        values = _item_columns(item, change.credits.get(item.guid),
                               change.full_text.get(item.guid))
        # the same entry and text, a new full-text status (a page read later, in vain):
        # neither the item nor its story counts as updated
        changed = row.content_hash != item.content_hash or row.content_html != item.content_html
        for name, value in values.items():
            setattr(row, name, value)
        row.published_at = published
        session.add(row)
        if changed:
            row.last_changed_at = change.now
            touched.add(row.story_id)
    item_prints.write(session.connection(), item_prints.packed_rows(new_prints),
                      replace=reprinted)
    _write_enclosures(session, rewritten, rewrite=True)
    for chunk in chunks(sorted(touched)):
        session.execute(update(StoryRow).where(col(StoryRow.id).in_(chunk))
                        .values(updated_at=change.now))
    return Updated(touched, texts_changed)


@dataclass(frozen=True, slots=True)
class Rematched:
    """What ``rematch_changed`` wrote."""

    touched: set[int]  # the stories that changed items joined or that became one
    bands: list[ItemBands]  # the changed items' rows for their new text, not yet written
    merges: int  # stories folded into another
    floor: int = 0  # with bands: the largest item id stored now (WrittenBands.distrust)


def rematch_changed(session: Session, fingerprints: Fingerprints,
                    change: SourceUpdate, texts_changed: Mapping[str, ItemRow], *,
                    pending: PendingBands) -> Rematched:
    """Match the items whose title or content changed (``update_items``) again, by their
    new text.

    Each one's band rows for its new text that it has not already (stored, or pending)
    are returned, for ``pending``: a later copy of the new text finds it (the old rows
    stay until pruned: a copy of the old text still finds it too). An item alone in its
    story whose new text matches other stories' items makes them one story with its
    own, as an item that bridges stories does (``_merge_stored``; the oldest keeps its
    id): an outlet that first published a stub, then the wire's text, joins the wire's
    story. A story of several items is never split: its changed item stays. Their
    band keys are looked up once, for all of them (as ``add_items`` does a feed's)."""
    prints = {guid: (item, fp) for item in change.changed_items
              if (guid := item.guid) in texts_changed
              and (fp := change.fingerprints.get(guid)) is not None and fp.bands}
    if not prints:
        return Rematched(set(), [], 0)
    session.flush()  # (update_items' rows: the driver's SQL below reads them)
    rows = {guid: texts_changed[guid] for guid in prints}
    sizes = {story_id: count for chunk in chunks(sorted({r.story_id for r in rows.values()}))
             for story_id, count in session.exec(
                 select(ItemRow.story_id, func.count()).where(col(ItemRow.story_id).in_(chunk))
                 .group_by(col(ItemRow.story_id)))}
    found = [(rows[guid], fp, rows[guid].published_at or rows[guid].first_seen_at)
             for guid, (_, fp) in prints.items()]
    low = _epoch(min(seen for *_, seen in found) - WINDOW)
    high = _epoch(max(seen for *_, seen in found) + WINDOW)
    hits = stored_hits(session, set().union(*(fp.bands for _, fp, _ in found)), low, high,
                       pending)
    have: dict[int, set[int]] = defaultdict(set)  # item id -> its rows among the hits
    for band, item_id in hits:
        have[item_id].add(band)
    bands: list[ItemBands] = []
    alone: list[tuple[ItemRow, Fingerprint, datetime]] = []
    for row, fp, seen_at in found:
        added = tuple(b for b in dict.fromkeys(fp.bands) if b not in have[row.id or 0])
        if added:
            bands.append((row.id or 0, _epoch(seen_at), added))
        if sizes.get(row.story_id) == 1:
            alone.append((row, fp, seen_at))
    touched: set[int] = set()
    merges = 0
    if not alone:
        return Rematched(touched, bands, merges, _newest(session.connection()) if bands else 0)
    by_band = _band_candidates(session, fingerprints,
                               set().union(*(fp.bands for _, fp, _ in alone)), low, high,
                               pending=pending, hits=hits)
    moved: dict[int, int] = {}  # a story folded here -> the one it became

    def resolve(story: StoryRef) -> StoryRef:
        while isinstance(story, int) and story in moved:
            story = moved[story]
        return story

    for row, fp, seen_at in alone:
        story_id = row.story_id  # (kept current by the merges' bulk UPDATE)
        if sizes.get(story_id) != 1:  # another changed item joined it meanwhile
            continue
        others = {id(c): replace(c, story=resolve(c.story))
                  for b in fp.bands for c in by_band.get(b, ()) if c.item_id != row.id}
        decision = assign_story((), {}, fp, [c for c in others.values() if c.story != story_id],
                                seen_at)
        if row.join_reason != decision.reason:  # its new text's: its own story still,
            row.join_reason = decision.reason  # or the one it joins
            session.add(row)
        joined = {s for s in (decision.story, *decision.merge) if isinstance(s, int)}
        if not joined - {story_id}:
            continue
        survivor = min(joined | {story_id})  # the oldest: the id readers have had longest
        folded = (joined | {story_id}) - {survivor}
        session.flush()  # (before the merge's bulk UPDATE of story_id)
        _merge_stored(session, dict.fromkeys(folded, survivor))
        for story in folded:
            sizes.pop(story, None)
            moved[story] = survivor
        sizes[survivor] = 2  # several items now
        touched.add(survivor)
        touched -= folded
        merges += len(folded)
    for chunk in chunks(sorted(touched)):
        session.execute(update(StoryRow).where(col(StoryRow.id).in_(chunk))
                        .values(updated_at=change.now))
    return Rematched(touched, bands, merges,
                     _newest(session.connection()) if bands else 0)


_OUTLET = ("id", "name", "title", "feed_title", "site_url", "url")


@lru_cache(maxsize=1024)  # a source's, asked for each story it joins
def _outlet_keys(name: str, title: str | None, feed_title: str | None, site_url: str | None,
                 url: str | None) -> frozenset[str]:
    """The outlet keys a source is known by: outlet_key of its names and hosts."""
    names = [name, title or "", feed_title or ""]
    for address in (site_url, url):
        host = urlsplit(address or "").hostname or ""
        names.append(host.removeprefix("www."))
    return frozenset(k for k in map(outlet_key, names) if k)


_STORY = SQLModel.metadata.tables["story"]
_REPRESENTATIVE = ("representative_item_id", "representative_is_original",
                   "credited_origin", "published_at", "id")


def refresh_representatives(session: Session, story_ids: Iterable[int],
                            known: Mapping[int, Sequence[StoryMember]] | None = None) -> None:
    """Choose each touched story's representative, the credited original, else the
    earliest item, and date the story as it (assign.choose_representative). The members
    of the stories in ``known`` are given; the others' are read."""
    known = known or {}
    ids = sorted(set(story_ids) - known.keys())
    connection = session.connection()
    mark = placeholder(connection)
    session.flush()  # the driver's SQL reads what the session holds only once flushed
    rows = [row for chunk in chunks(ids) for row in select_rows(  # the driver's own SQL
        connection, f"SELECT {', '.join(_MEMBER)} FROM item"
        f" WHERE story_id IN ({', '.join([mark] * len(chunk))})", tuple(chunk),
        [(_ITEM, name) for name in _MEMBER])]
    keys: dict[int, frozenset[str]] = {}  # by source: only the sources of these members
    for chunk in chunks(sorted({source_id for _, _, source_id, *_ in rows})):
        keys.update((source_id, _outlet_keys(*names)) for source_id, *names in select_rows(
            connection, f"SELECT {', '.join(_OUTLET)} FROM source"
            f" WHERE id IN ({', '.join([mark] * len(chunk))})", tuple(chunk),
            [(_SOURCE, name) for name in _OUTLET]))
    members: dict[int, list[StoryMember]] = defaultdict(list)
    for item_id, story_id, source_id, published_at, first_seen_at, cites in rows:
        members[story_id].append(StoryMember(
            item_id=item_id, outlet_keys=keys[source_id],
            published=published_at or first_seen_at, cites=cites))
    changes = []
    for story_id, story_members in (*members.items(), *known.items()):
        choice = choose_representative(story_members)
        changes.append((choice.item_id, choice.is_original, choice.credited_origin,
                        choice.published, story_id))
    if changes:  # one executemany by primary key, the driver's own (store/driver.py)
        connection = session.connection()
        mark = placeholder(connection)
        connection.exec_driver_sql(
            f"UPDATE story SET {', '.join(f'{name} = {mark}' for name in _REPRESENTATIVE[:-1])}"
            f" WHERE id = {mark}", bound(connection, _STORY, _REPRESENTATIVE, changes))
