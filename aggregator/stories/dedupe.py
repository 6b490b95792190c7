"""Pure deduplication within a feed: one item per guid, new/changed/unchanged against the
store, and the exact keys (canonical URL, global guid) that join items of several
sources. Which story an item joins, by those keys or as a near-duplicate, is assign.py's."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from aggregator.types import ItemData

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


def decide(items: Iterable[ItemData], stored_hashes: Mapping[str, str],
           pruned: Set[str] = frozenset()) -> Decision:
    """Compare items with the content hashes stored for their guids. An item not stored
    because retention pruned it (its guid in ``pruned``) stays out: it counts as
    unchanged."""
    new: list[ItemData] = []
    changed: list[ItemData] = []
    unchanged = 0
    for item in items:
        known = stored_hashes.get(item.guid)
        if known is None and item.guid not in pruned:
            new.append(item)
        elif known is None:
            unchanged += 1
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
