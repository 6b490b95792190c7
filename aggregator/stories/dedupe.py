"""Pure deduplication: one item per guid in a feed, new/changed/unchanged against the
store, the exact keys and near-duplicate verdicts that make items from several sources
one story, and the choice of a story's representative."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from aggregator.stories.attribution import outlet_key
from aggregator.stories.similarity import WINDOW, Match, compare
from aggregator.types import Fingerprint, ItemData

# A guid is only trusted across sources when it names something globally:
# a URL, a tag: URI or a urn:. "12345" from two sources are two different items.
_GLOBAL_GUID = re.compile(r"^(?:https?://|tag:|urn:)", re.IGNORECASE)


def unique_items(items: Iterable[ItemData]) -> list[ItemData]:
    """One item per guid, whatever order the feed lists them in.

    A guid repeated in one feed is either the same entry listed twice (kept once) or a
    broken generator giving several entries one guid. In that case every entry of the
    repeated guid is keyed by guid + link (or + content hash when links repeat too), so
    the key does not depend on the order of the feed (after Miniflux's rss adapter).
    """
    by_guid: dict[str, list[ItemData]] = defaultdict(list)
    for item in items:
        group = by_guid[item.guid]
        if all(other.content_hash != item.content_hash for other in group):
            group.append(item)
    result: list[ItemData] = []
    for guid, group in by_guid.items():
        if len(group) == 1:
            result.append(group[0])
            continue
        links = Counter(i.canonical_url for i in group)
        for item in group:
            suffix = item.canonical_url if item.canonical_url and links[item.canonical_url] == 1 \
                else item.content_hash[:16]
            result.append(replace(item, guid=f"{guid}#{suffix}"))
    return result


@dataclass(frozen=True, slots=True)
class Decision:
    """Which parsed items are new to the store, which changed, how many are as stored."""

    new: tuple[ItemData, ...]
    changed: tuple[ItemData, ...]
    unchanged: int


def decide(items: Iterable[ItemData], stored_hashes: Mapping[str, str]) -> Decision:
    """Compare items with the content hashes stored for their guids."""
    new: list[ItemData] = []
    changed: list[ItemData] = []
    unchanged = 0
    for item in items:
        known = stored_hashes.get(item.guid)
        if known is None:
            new.append(item)
        elif known != item.content_hash:
            changed.append(item)
        else:
            unchanged += 1
    return Decision(tuple(new), tuple(changed), unchanged)


def shared_urls(items: Iterable[ItemData]) -> frozenset[str]:
    """Canonical URLs that several items of one feed point to (a home page, a section):
    they identify no single article, so they must not join stories."""
    counts = Counter(i.canonical_url for i in items if i.canonical_url)
    return frozenset(url for url, n in counts.items() if n > 1)


def story_keys(item: ItemData, ambiguous_urls: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The exact keys under which an item meets the same article from other sources."""
    keys: list[str] = []
    url = item.canonical_url
    if url and url not in ambiguous_urls and urlsplit(url).path not in ("", "/"):
        keys.append(f"url:{url}")
    if _GLOBAL_GUID.match(item.guid) and not item.guid.startswith("sha256:"):
        keys.append(f"guid:{item.guid}")
    return tuple(dict.fromkeys(keys))


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


def choose_representative(members: Sequence[StoryMember]) -> Representative:
    """The original publisher when the credits name one of the story's outlets, else the
    earliest item. An origin credited but not carried by any of our sources is named."""
    if not members:
        raise ValueError("a story has at least one item")
    by_time = sorted(members, key=lambda m: (m.published, m.item_id))
    credited = Counter(c for m in members for c in m.cites)
    cited_keys = {outlet_key(name) for name in credited}
    originals = [m for m in by_time if m.outlet_keys & cited_keys]
    if originals:
        return Representative(originals[0].item_id, True, None)
    origin = credited.most_common(1)[0][0] if credited else None
    return Representative(by_time[0].item_id, False, origin)


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
