"""The CPU-heavy, pure half of an update: a feed body -> everything the store needs.

Parse, normalize, one item per guid, exact story keys, near-duplicate fingerprints,
syndication credits, the texts packed as the store keeps them. Pure and picklable both
ways, so a process pool can run it on every core while the event loop fetches and one
thread writes to the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from urllib.parse import urljoin

from aggregator.exceptions import ParseError
from aggregator.ingest.hub import discover
from aggregator.ingest.normalize import normalize_entry_with_text
from aggregator.ingest.parse import parse_feed
from aggregator.ingest.schedule import feed_ttl, weekly_entry_rate
from aggregator.packing import pack_texts
from aggregator.stories import similarity
from aggregator.stories.attribution import CACHED, find_credits
from aggregator.stories.dedupe import shared_urls, story_keys, unique_items
from aggregator.text import http_url
from aggregator.types import Credit, FeedMeta, Fingerprint, PreparedFeed

# Items fingerprinted together: their texts and titles stay in attribution's cache
# (attribution.CACHED texts, two an item) until find_credits reads them. 16, not the
# 60 the cache allows: the same CPU (120 bench feeds: 5.32-5.44 s either way) and 6 MB
# less of the worker's peak (the batch's numpy arrays).
_BATCH = min(16, CACHED // 2 - 4)


def _site_url(link: str | None, feed_url: str) -> str | None:
    """The feed's home page: absolute against the feed's URL, and http(s) or nothing."""
    return http_url(urljoin(feed_url, link.strip())) if link and link.strip() else None


#: the content hashes a store holds for some of a source's guids (a parse worker's read
#: of a SQLite store: store/lookahead.py)
StoredHashes = Callable[[Sequence[str]], Mapping[str, str]]


def prepare_feed(body: bytes, headers: Mapping[str, str], url: str, now: datetime,
                 stored: StoredHashes | None = None, *, pack: bool = True) -> PreparedFeed:
    """Everything about a fetched feed that needs no database. Raises ParseError.

    With ``stored``, what only new or changed items need is made for them alone: an
    item stored as it is gets no fingerprint, credit or packed text (the guids of the
    stored ones, changed or not, are ``PreparedFeed.skipped``). Without it, everything
    is made for every item.
    ``pack=False``: no text is packed (``PreparedFeed.packed`` is empty; the store
    packs what it is given, models.CompressedText)."""
    parsed = parse_feed(body, headers)
    normalized = [n for n in (normalize_entry_with_text(e, url, now) for e in parsed.entries)
                  if n is not None]
    items = unique_items(item for item, _ in normalized)
    if parsed.entries and not items:
        raise ParseError(f"none of the {len(parsed.entries)} entries could be used")
    ambiguous = shared_urls(items)
    # unique_items may re-key a repeated guid; the content hash still names the text
    by_hash = {item.content_hash: text for item, text in normalized}
    texts = {i.guid: by_hash[i.content_hash] for i in items}
    hub, topic = discover(parsed.hub, parsed.self_url, headers, url)
    known = stored([item.guid for item in items]) if stored is not None and items else {}
    # new and changed items (a changed one's new text is matched again: store/stories.py)
    fresh_items = [item for item in items if known.get(item.guid) != item.content_hash]
    fingerprints: dict[str, Fingerprint | None] = {}
    credits: dict[str, Credit | None] = {}
    for start in range(0, len(fresh_items), _BATCH):  # the credits right after the
        batch = fresh_items[start:start + _BATCH]  # fingerprints: attribution reuses what
        made = similarity.fingerprints(  # it found when stripping
            [(item.title, texts[item.guid]) for item in batch])
        for item, fp in zip(batch, made, strict=True):
            fingerprints[item.guid] = fp
            credits[item.guid] = find_credits(texts[item.guid])
    fresh = {item.guid for item in fresh_items}
    return PreparedFeed(
        feed=FeedMeta(parsed.title, _site_url(parsed.site_url, url), parsed.feed_id,
                      parsed.updated,
                      (parsed.language or "")[:35] or None, hub=hub, topic=topic),
        items=tuple(items),
        story_keys={i.guid: story_keys(i, ambiguous) for i in items},
        fingerprints=fingerprints,
        credits=credits,
        weekly_entries=weekly_entry_rate((i.published_at for i in items), now),
        ttl=feed_ttl(parsed.ttl, parsed.update_period, parsed.update_frequency),
        packed=pack_texts(text for i in items if i.guid in fresh
                          for text in (i.content_html, i.summary_text)) if pack else {},
        skipped=frozenset(known),
    )
