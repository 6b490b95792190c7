"""Pure normalization: canonical URLs, UTC dates, stable guids, sanitized HTML, plain text.

Nothing here does I/O; the clock is passed in.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

from aggregator.text import canonical_url, html_to_text, sanitize_html, strip_illegal_xml
from aggregator.types import ItemData, ParsedEntry

# Characters XML 1.0 forbids (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/F):
# lxml refuses them, so one hostile item would otherwise break a whole output feed.


# Tags we keep when republishing; everything else is unwrapped (text kept) or dropped.
SUMMARY_CHARS = 300
# A published date further in the future than this is treated as "now": a feed that
# claims 2099 must not pin its item to the top of every output forever.
FUTURE_TOLERANCE = timedelta(hours=1)


def to_utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def clamp_to_now(value: datetime | None, now: datetime) -> datetime | None:
    """Dates in the future (beyond a small tolerance) become ``now``."""
    if value is not None and value > now + FUTURE_TOLERANCE:
        return now
    return value


def summarize(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first ``limit`` characters of ``text`` on one line, cut at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def content_hash(*parts: str | None) -> str:
    """A stable hash of the parts that make an item what it is."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def item_guid(entry: ParsedEntry, canonical: str | None, text_hash: str) -> str:
    """The item's identity within its source.

    id -> link -> content hash, in that order: an entry id is the publisher's own key;
    without one the link usually is stable; without either, the content is all we have
    (such an item will be new again if its text is edited - nothing better exists).
    """
    if entry.id and entry.id.strip():
        return strip_illegal_xml(entry.id.strip())[:1000]
    if canonical:
        return canonical
    return f"sha256:{text_hash}"


def normalize_entry(entry: ParsedEntry, feed_url: str, now: datetime) -> ItemData | None:
    """One parsed entry -> ItemData, or None when it carries nothing worth keeping."""
    normalized = normalize_entry_with_text(entry, feed_url, now)
    return normalized[0] if normalized else None


def normalize_entry_with_text(entry: ParsedEntry, feed_url: str,
                              now: datetime) -> tuple[ItemData, str] | None:
    """:func:`normalize_entry`, with the plain text of the item's content (what the
    fingerprint and the credit lines are made of), so it is not derived twice."""
    url = canonical_url(entry.link, feed_url) if entry.link else None
    link = urljoin(feed_url, strip_illegal_xml(entry.link).strip()) if entry.link else None
    content = sanitize_html(entry.content_html or entry.summary_html, link or feed_url)
    text = html_to_text(content)
    title = html_to_text(entry.title) if entry.title else ""
    if not title and not text and not url:
        return None
    summary_source = html_to_text(entry.summary_html) if entry.summary_html else text
    digest = content_hash(title, content, url)
    if not title:
        title = summarize(text, 80) or (url or "Untitled")
    published = clamp_to_now(to_utc(entry.published or entry.updated), now)
    updated = clamp_to_now(to_utc(entry.updated), now)
    return ItemData(
        guid=item_guid(entry, url, digest),
        url=link if url else None,
        canonical_url=url,
        title=title,
        author=html_to_text(entry.author) or None if entry.author else None,
        content_html=content,
        summary_text=summarize(summary_source or text),
        published_at=published,
        updated_at=updated,
        content_hash=digest,
        categories=tuple(dict.fromkeys(filter(None, map(html_to_text, entry.categories)))),
    ), text


