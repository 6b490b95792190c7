"""Which story each new item joins, and which item represents a story: pure.

:func:`assign_story` decides for one item (an exact key, else the best verified
near-duplicate, else a new story); :func:`assign_batch` does it for one source's batch:
the store loads what the batch can match (stored exact keys, stored candidates sharing
a band), assign_batch decides, the store writes the result. Items of the batch can join
each other, and an item matching several stories folds them into one.
:func:`choose_representative` picks the credited original, else the earliest item.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aggregator.stories.attribution import outlet_key
from aggregator.stories.similarity import WINDOW, Match, compare
from aggregator.types import Fingerprint, ItemData

STORY_NAMESPACE = uuid.UUID("6f1e7a52-5d0b-4c1e-9a57-2b1f3c7d9e10")


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One item of a story, as the choice of its representative sees it."""

    item_id: int
    outlet_keys: frozenset[str]  # outlet_key() of its source's name, titles and host
    published: datetime
    cites: tuple[str, ...] = ()  # outlets its credit line names as the origin


@dataclass(frozen=True, slots=True)
class Representative:
    item_id: int
    is_original: bool  # another item credits this one's outlet as the origin
    credited_origin: str | None  # the outlet credited as the origin, when not among ours
    published: datetime  # the story's date: the representative's (see choose_representative)


def choose_representative(members: Sequence[StoryMember]) -> Representative:
    """The original publisher when the credits name one of the story's outlets, else the
    earliest item. An origin credited but not carried by any of our sources is named.

    The story is dated as the item it shows: the original's date when the original is
    known (even when a relay that credits it is dated earlier: the entry says
    "Originally published by" the original, so its date is the original's), else the
    earliest item's. ``published`` is an item's date, else when it was first seen.
    """
    if not members:
        raise ValueError("a story has at least one item")
    if len(members) == 1 and not members[0].cites:  # most stories: one item, no credit
        return Representative(members[0].item_id, False, None, members[0].published)
    by_time = sorted(members, key=lambda m: (m.published, m.item_id))
    credited = Counter(c for m in members for c in m.cites)
    cited_keys = {outlet_key(name) for name in credited}
    originals = [m for m in by_time if m.outlet_keys & cited_keys]
    if originals:
        return Representative(originals[0].item_id, True, None, originals[0].published)
    origin = credited.most_common(1)[0][0] if credited else None
    return Representative(by_time[0].item_id, False, origin, by_time[0].published)


StoryRef = int | str  # a stored story's id, or the uid of one this batch creates


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored (or just assigned) item that shares an LSH band with the new one."""

    item_id: int | str
    story: StoryRef
    label: str  # "item #12 (izvestia)", for explanations
    fingerprint: Fingerprint
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class Assignment:
    story: StoryRef | None  # None: a new story
    reason: str
    merge: tuple[StoryRef, ...] = ()  # other stories it matched too: one story after all


def assign_story(keys: Sequence[str], exact: Mapping[str, tuple[StoryRef, str]],
                 fp: Fingerprint | None, candidates: Iterable[Candidate],
                 seen_at: datetime) -> Assignment:
    """Which story a new item joins: an exact key first, then the best verified
    near-duplicate within the time window, else none (a new story)."""
    for key in keys:
        if key in exact:
            story, label = exact[key]
            kind, _, value = key.partition(":")
            return Assignment(story, f"exact match: same {_KEY_NAMES.get(kind, kind)} "
                                     f"{value} as {label}")
    if fp is None:
        return Assignment(None, "new story: too little text to compare with others")
    best: tuple[float, float, Candidate, Match] | None = None
    closest: tuple[float, Candidate, Match] | None = None
    matched: list[StoryRef] = []
    for candidate in candidates:
        if abs(candidate.seen_at - seen_at) > WINDOW:
            continue
        match = compare(fp, candidate.fingerprint)
        if match.same:
            matched.append(candidate.story)
            rank = (match.containment, match.jaccard)
            if best is None or rank > best[:2]:
                best = (*rank, candidate, match)
        elif closest is None or match.jaccard > closest[0]:
            closest = (match.jaccard, candidate, match)
    if best is not None:
        _, _, candidate, match = best
        # The item bridges every story it matched: they are one story. The oldest
        # stored one survives (its id is the one readers have had longest).
        stories = list(dict.fromkeys(matched))
        stored = sorted(s for s in stories if isinstance(s, int))
        target = stored[0] if stored else candidate.story
        return Assignment(target, f"near-duplicate of {candidate.label}: {match.reason}",
                          merge=tuple(s for s in stories if s != target))
    if closest is not None:
        _, candidate, match = closest
        return Assignment(None, f"new story: closest candidate {candidate.label} is not the "
                                f"same story: {match.reason}")
    return Assignment(None, "new story: no earlier item shares its text")


_KEY_NAMES = {"url": "canonical URL", "guid": "guid"}


def story_uid(first_key: str, now: datetime) -> str:
    """A new story's id: a UUID of version 7 (RFC 9562), its first 48 bits the
    millisecond ``now`` (when the story is created), the other 74 those of the SHA-1 of
    the first key it was created under.

    Ordered by time, so the unique index on ``story.uid`` takes a new story at its end:
    with the uuid5 of the key alone (before), each new story landed on a random page of
    that index, and a commit into a store of a million stories rewrote one page for
    nearly every story it created (the bench's cold run into such a store wrote 7.8 GB,
    5.2 GB with these). Two workers never create a story for one key at once: story
    assignment holds the stories lock from reading the keys to the commit.
    """
    digest = bytearray(hashlib.sha1(_NAMESPACE + first_key.encode()).digest()[:16])
    digest[:6] = ((now - _EPOCH) // _MS & _MS_BITS).to_bytes(6, "big")
    digest[6] = digest[6] & 0x0F | 0x70  # version 7
    digest[8] = digest[8] & 0x3F | 0x80  # RFC 9562 variant
    h = digest.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MS_BITS = (1 << 48) - 1
_NAMESPACE = STORY_NAMESPACE.bytes


@dataclass(frozen=True, slots=True)
class ItemAssignment:
    item: ItemData
    story: StoryRef  # a stored story's id, or the uid of a new one (merges resolved)
    reason: str  # why it joined, for `aggregator explain`


@dataclass(frozen=True, slots=True)
class NewStory:
    published_at: datetime
    first_seen_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BatchAssignment:
    items: tuple[ItemAssignment, ...]  # in the order of the batch
    merges: Mapping[int, StoryRef]  # stored story id -> the story it turned out to be
    new_stories: Mapping[str, NewStory]  # by uid: only those some item ended in


def assign_batch(items: Sequence[ItemData], keys: Mapping[str, Sequence[str]],
                 prints: Mapping[str, Fingerprint | None], exact: Mapping[str, int],
                 candidates: Mapping[int, Sequence[Candidate]], *, source_id: int,
                 source_name: str, now: datetime) -> BatchAssignment:
    """Assign each item (``keys`` and ``prints`` by guid) to a story.

    ``exact`` maps stored exact keys to their story's id, ``candidates`` holds the stored
    near-duplicate candidates by band. Neither is changed.
    """
    known: dict[str, tuple[StoryRef, str]] = {
        key: (story_id, "a stored item") for key, story_id in exact.items()}
    by_band: dict[int, list[Candidate]] = {band: list(found)
                                           for band, found in candidates.items() if found}
    # Only these bands can bring an item a candidate: a stored candidate's, or one two
    # items of the batch share (found by set operations; most items share none), so the
    # others are neither looked up nor indexed
    shared: set[int] = set()
    seen: set[int] = set()
    for bands in (fp.bands for fp in map(prints.get, (i.guid for i in items)) if fp):
        shared |= seen.intersection(bands)
        seen.update(bands)
    useful = shared | by_band.keys()
    new_stories: dict[str, NewStory] = {}
    merged: dict[StoryRef, StoryRef] = {}  # a story that turned out to be another one

    def resolve(story: StoryRef) -> StoryRef:
        while story in merged:
            story = merged[story]
        return story

    assigned: list[tuple[ItemData, StoryRef, str]] = []
    for item in items:
        item_keys, fp = keys.get(item.guid, ()), prints.get(item.guid)
        seen_at = item.published_at or now
        mine = useful.intersection(fp.bands) if fp else set()
        near = {id(c): c for b in fp.bands if b in mine
                for c in by_band.get(b, ())} if fp and mine else {}
        decision = assign_story(item_keys, known, fp, near.values(), seen_at)
        story: StoryRef
        if decision.story is None:
            story = story_uid(item_keys[0] if item_keys else f"item:{source_id}:{item.guid}",
                              now)
            published = item.published_at or now
            new_stories.setdefault(story, NewStory(published, now, item.updated_at or published))
        else:
            story = resolve(decision.story)
            for other in map(resolve, decision.merge):
                if other != story:
                    merged[other] = story
        assigned.append((item, story, decision.reason))
        label = f"item {item.guid} ({source_name}, same fetch)"
        for key in item_keys:
            known.setdefault(key, (story, label))
        if fp is not None and mine:  # later items of this batch can join it
            candidate = Candidate(item.guid, story, label, fp, seen_at)
            for band in fp.bands:
                if band in shared:
                    by_band.setdefault(band, []).append(candidate)
    result = tuple(ItemAssignment(item, resolve(story), reason)
                   for item, story, reason in assigned)
    used = {a.story for a in result}
    return BatchAssignment(
        items=result,
        merges={old: resolve(old) for old in merged if isinstance(old, int)},
        new_stories={uid: new for uid, new in new_stories.items() if uid in used})
