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
from aggregator.stories import marks
from aggregator.stories.dedupe import shared_urls, story_keys, unique_items
from aggregator.text import http_url
from aggregator.types import FeedMeta, PreparedFeed


def _site_url(link: str | None, feed_url: str) -> str | None:
    """The feed's home page: absolute against the feed's URL, and http(s) or nothing."""
    return http_url(urljoin(feed_url, link.strip())) if link and link.strip() else None


#: the content hashes a store holds for some of a source's guids (a parse worker's read
#: of a SQLite store: store/lookahead.py)
StoredHashes = Callable[[Sequence[str]], Mapping[str, str]]


def prepare_feed(body: bytes, headers: Mapping[str, str], url: str, now: datetime,
                 stored: StoredHashes | None = None, *, pack: bool = True,
                 defer: bool = False) -> PreparedFeed:
    """Everything about a fetched feed that needs no database. Raises ParseError.

    With ``stored``, what only new or changed items need is made for them alone: an
    item stored as it is gets no fingerprint, credit or packed text (the guids of the
    stored ones, changed or not, are ``PreparedFeed.skipped``). Without it, everything
    is made for every item.
    ``pack=False``: no text is packed (``PreparedFeed.packed`` is empty; the store
    packs what it is given, models.CompressedText).
    ``defer=True``: no fingerprint or credit either; the plain texts they are made of
    are ``PreparedFeed.deferred``, for ``stories.marks.finish`` (the writer's, when the
    parse worker is the one behind: update.defer_to_writer)."""
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
    deferred = {item.guid: texts[item.guid] for item in fresh_items} if defer else {}
    fingerprints, credits = ({}, {}) if defer else marks.of_items(fresh_items, texts)
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
        deferred=deferred,
    )
