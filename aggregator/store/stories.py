"""Writing one source's new and changed items: story assignment in batches.

Part of the store (queries live only in this package). The decisions are pure
(assign.assign_batch, assign.choose_representative); this module fetches what they
need in a few queries per batch, not per item, and writes the result back in bulk.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, delete, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, SQLModel, col, select

from aggregator.store.bands import ItemBands, PendingBands, placeholder, stored_hits
from aggregator.store.keys import key_hash
from aggregator.store.models import (
    ItemEnclosureRow,
    ItemRow,
    SourceRow,
    StoryKeyRow,
    StoryRow,
)
from aggregator.stories.assign import (
    Candidate,
    NewStory,
    StoryMember,
    StoryRef,
    assign_batch,
    choose_representative,
)
from aggregator.stories.attribution import outlet_key
from aggregator.stories.similarity import WINDOW, fingerprint
from aggregator.text import html_to_text
from aggregator.types import Credit, Fingerprint, ItemData, SourceUpdate

InsertIgnore = Callable[[Session, type[SQLModel], list[dict[str, Any]], Sequence[str]], None]
_CHUNK = 500
_CANDIDATE_COLUMNS = [col(getattr(ItemRow, name)) for name in (
    "id", "story_id", "title", "content_html", "published_at", "first_seen_at")]
_MEMBER_COLUMNS = [col(getattr(ItemRow, name)) for name in (
    "id", "story_id", "source_id", "published_at", "first_seen_at", "cites")]


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _label(item_id: int | str, source_name: str) -> str:
    return f"item #{item_id} ({source_name})"


def _text_key(title: str, content_html: str) -> bytes:
    """What a fingerprint is made of, as a digest: the title and content an item row
    holds (the content is what the fingerprint's text is derived from)."""
    digest = hashlib.blake2b(title.encode("utf-8", "surrogatepass"), digest_size=16)
    digest.update(b"\x1f")
    digest.update(content_html.encode("utf-8", "surrogatepass"))
    return digest.digest()


class Fingerprints:
    """The fingerprints of stored items, made again from their title and content.

    The store keeps no fingerprint (1.6 KB an item, a quarter of the database): a
    candidate's is ``similarity.fingerprint`` of the text it was made of, which the item
    row holds. The last ``size`` fingerprints made or stored by this process are kept
    (without their band keys, which ``compare`` does not read: about 1.8 KB each;
    4,096 of them added 9 MB to a cold run's peak), keyed by a digest of that text, so
    a candidate added or compared lately costs no second computation (a story's copies
    arrive within hours of each other)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._recent: OrderedDict[bytes, Fingerprint | None] = OrderedDict()
        self._lock = threading.Lock()  # a store may be written from several threads

    def _keep(self, key: bytes, fp: Fingerprint | None) -> Fingerprint | None:
        kept = replace(fp, bands=()) if fp is not None and fp.bands else fp
        with self._lock:
            self._recent[key] = kept
            self._recent.move_to_end(key)
            while len(self._recent) > self.size:
                self._recent.popitem(last=False)
        return kept

    def remember(self, title: str, content_html: str, fp: Fingerprint | None) -> None:
        self._keep(_text_key(title, content_html), fp)

    def of(self, title: str, content_html: str) -> Fingerprint | None:
        """The fingerprint of an item row's text, without band keys (None: too little
        text to compare)."""
        key = _text_key(title, content_html)
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        return self._keep(key, fingerprint(title, html_to_text(content_html)))


def _seen_at(item: ItemData, now: datetime) -> datetime:
    return item.published_at or now


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def _exact_matches(session: Session, hashes: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    connection = session.connection()
    mark = placeholder(connection)
    for chunk in _chunks(sorted(hashes)):
        # the driver's own SQL, as in _band_candidates: no per-value coercion
        found.update(connection.exec_driver_sql(
            f"SELECT key_hash, story_id FROM story_key"
            f" WHERE key_hash IN ({', '.join([mark] * len(chunk))})", tuple(chunk)).all())
    return found


def _band_candidates(session: Session, prints: Fingerprints, bands: set[int], low: datetime,
                     high: datetime, *, pending: PendingBands) -> dict[int, list[Candidate]]:
    """Stored items (and those of ``pending``) sharing a band with the batch, within the
    window, by band."""
    hits = stored_hits(session, bands, _epoch(low), _epoch(high), pending)
    ids = sorted({item_id for _, item_id in hits})
    loaded: dict[int, Candidate] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select_columns(*_CANDIDATE_COLUMNS, col(SourceRow.name))
            .join(SourceRow, col(SourceRow.id) == ItemRow.source_id)
            .where(col(ItemRow.id).in_(chunk))).all()
        for row in rows:
            fp = prints.of(row.title, row.content_html)
            if fp is not None:
                loaded[row.id] = Candidate(row.id, row.story_id, _label(row.id, row.name),
                                           fp, row.published_at or row.first_seen_at)
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
        for chunk in _chunks(ids):
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


def add_items(session: Session, insert_ignore: InsertIgnore, fingerprints: Fingerprints,
              source: SourceRow, change: SourceUpdate, *, pending: PendingBands) -> Added:
    """Insert a source's new items, each joined to its story. Their band rows are
    returned (``Added.bands``), for the caller to add to ``pending`` once this source's
    writes are sure to stay (its savepoint released)."""
    items = change.new_items
    if not items:
        return Added()
    now = change.now
    keys = {i.guid: change.story_keys.get(i.guid, ()) for i in items}
    prints = {i.guid: change.fingerprints.get(i.guid) for i in items}
    hashed = {k: key_hash(k) for ks in keys.values() for k in ks}
    stored = _exact_matches(session, set(hashed.values()))
    exact = {k: stored[h] for k, h in hashed.items() if h in stored}
    seen = [_seen_at(i, now) for i in items]
    by_band = _band_candidates(session, fingerprints,
                               {b for fp in prints.values() if fp for b in fp.bands},
                               min(seen) - WINDOW, max(seen) + WINDOW, pending=pending)
    batch = assign_batch(items, keys, prints, exact, by_band, source_id=source.id or 0,
                         source_name=source.name, now=now)
    story_ids = _create_stories(session, insert_ignore, batch.new_stories)

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
    # Core, not the ORM's bulk path (Python calls per row): one executemany, or one
    # multi-row INSERT ... RETURNING per batch where the driver needs it for the ids
    table = SQLModel.metadata.tables["item"]
    inserted = session.connection().execute(
        table.insert().returning(table.c.id, table.c.guid, sort_by_parameter_order=True),
        rows).all()
    item_ids = {guid: item_id for item_id, guid in inserted}
    key_rows: list[dict[str, Any]] = []
    band_rows: list[ItemBands] = []
    for item, seen_at, row in zip(items, seen, rows, strict=True):
        key_rows += [{"key_hash": hashed[k], "story_id": row["story_id"]}
                     for k in keys[item.guid]]
        fp = prints[item.guid]
        if fp is not None:
            fingerprints.remember(item.title, item.content_html, fp)
            item_id, when = item_ids[item.guid], _epoch(seen_at)
            band_rows.append((item_id, when, tuple(dict.fromkeys(fp.bands))))
    insert_ignore(session, StoryKeyRow, key_rows, ["key_hash"])
    _write_enclosures(session, {item_ids[i.guid]: i for i in items if i.enclosures})
    _merge_stored(session, {old: stored_id(new) for old, new in batch.merges.items()})
    touched = {int(r["story_id"]) for r in rows}
    gained = sorted(touched - set(story_ids.values()))
    for chunk in _chunks(gained):  # an existing story gained an outlet: it changed
        session.execute(update(StoryRow).where(col(StoryRow.id).in_(chunk))
                        .values(updated_at=now))
    return Added(touched, new_stories=len(batch.new_stories),
                 near_duplicates=sum(a.reason.startswith("near-duplicate")
                                     for a in batch.items),
                 merges=sum(old != stored_id(new) for old, new in batch.merges.items()),
                 bands=band_rows)


def _merge_stored(session: Session, merges: dict[int, int]) -> None:
    """Fold stored stories into the story an item showed them to be part of.

    The surviving story keeps its id; the folded story's entry leaves the outputs and
    its outlets appear under the survivor (the rarer cost of recall: see dedupe).
    """
    for old, new in merges.items():
        if old == new:
            continue
        for model in (ItemRow, StoryKeyRow):
            session.execute(update(model).where(col(model.story_id) == old)
                            .values(story_id=new))
        session.execute(delete(StoryRow).where(col(StoryRow.id) == old))


def _create_stories(session: Session, insert_ignore: InsertIgnore,
                    new_stories: Mapping[str, NewStory]) -> dict[str, int]:
    """Insert the batch's new stories (a uid another worker created meanwhile is reused)."""
    if not new_stories:
        return {}
    insert_ignore(session, StoryRow, [
        {"uid": uid, "published_at": new.published_at, "first_seen_at": new.first_seen_at,
         "updated_at": new.updated_at} for uid, new in new_stories.items()], ["uid"])
    ids: dict[str, int] = {}
    connection = session.connection()
    mark = placeholder(connection)
    for chunk in _chunks(sorted(new_stories)):  # the driver's own SQL (_band_candidates)
        ids.update((uid, story_id) for story_id, uid in connection.exec_driver_sql(
            f"SELECT id, uid FROM story WHERE uid IN ({', '.join([mark] * len(chunk))})",
            tuple(chunk)).all())
    return ids


def update_items(session: Session, source: SourceRow, change: SourceUpdate) -> set[int]:
    """Rewrite items whose content changed. Returns the touched stories."""
    if not change.changed_items:
        return set()
    by_guid = {i.guid: i for i in change.changed_items}
    rows = session.exec(select(ItemRow).where(
        ItemRow.source_id == source.id, col(ItemRow.guid).in_(list(by_guid)))).all()
    touched: set[int] = set()
    rewritten: dict[int, ItemData] = {}
    for row in rows:
        item = by_guid[row.guid]
        rewritten[row.id or 0] = item
        published = item.published_at or row.published_at  # a date once known stays
        for name, value in _item_columns(item, change.credits.get(item.guid),
                                         change.full_text.get(item.guid)).items():
            setattr(row, name, value)
        row.published_at, row.last_changed_at = published, change.now
        session.add(row)
        touched.add(row.story_id)
    _write_enclosures(session, rewritten, rewrite=True)
    for chunk in _chunks(sorted(touched)):
        session.execute(update(StoryRow).where(col(StoryRow.id).in_(chunk))
                        .values(updated_at=change.now))
    return touched


_OUTLET_COLUMNS = [col(getattr(SourceRow, name)) for name in (
    "id", "name", "title", "feed_title", "site_url", "url")]


def _outlet_keys(source: Any) -> frozenset[str]:
    """The outlet keys a source is known by (a SourceRow or a row of _OUTLET_COLUMNS)."""
    names = [source.name, source.title or "", source.feed_title or ""]
    for url in (source.site_url, source.url):
        host = urlsplit(url or "").hostname or ""
        names.append(host.removeprefix("www."))
    return frozenset(k for k in map(outlet_key, names) if k)


_STORY = SQLModel.metadata.tables["story"]
_SET_REPRESENTATIVE = _STORY.update().where(_STORY.c.id == bindparam("story_id")).values(
    representative_item_id=bindparam("item_id"),
    representative_is_original=bindparam("is_original"),
    credited_origin=bindparam("origin"), published_at=bindparam("published"))


def refresh_representatives(session: Session, story_ids: Iterable[int]) -> None:
    """Choose each touched story's representative, the credited original, else the
    earliest item, and date the story as it (assign.choose_representative)."""
    ids = sorted(story_ids)
    if not ids:
        return
    rows = [row for chunk in _chunks(ids) for row in session.execute(
        select_columns(*_MEMBER_COLUMNS).where(col(ItemRow.story_id).in_(chunk)))]
    keys: dict[int, frozenset[str]] = {}  # by source: only the sources of these members
    for chunk in _chunks(sorted({row.source_id for row in rows})):
        keys.update((s.id or 0, _outlet_keys(s)) for s in session.execute(
            select_columns(*_OUTLET_COLUMNS).where(col(SourceRow.id).in_(chunk))))
    members: dict[int, list[StoryMember]] = defaultdict(list)
    for row in rows:
        members[row.story_id].append(StoryMember(
            item_id=row.id, outlet_keys=keys[row.source_id],
            published=row.published_at or row.first_seen_at, cites=row.cites))
    changes = []
    for story_id, story_members in members.items():
        choice = choose_representative(story_members)
        changes.append({
            "story_id": story_id, "item_id": choice.item_id,
            "is_original": choice.is_original, "origin": choice.credited_origin,
            "published": choice.published})
    if changes:  # one executemany by primary key, in Core: the ORM's bulk path is slower
        session.connection().execute(_SET_REPRESENTATIVE, changes)

