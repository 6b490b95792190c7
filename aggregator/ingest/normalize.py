"""Pure normalization: canonical URLs, UTC dates, stable guids, sanitized HTML, plain text.

Nothing here does I/O; the clock is passed in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from aggregator.text import (
    canonical_joined,
    html_to_text,
    http_url,
    join_url,
    sanitize_html,
    strip_illegal_xml,
)
from aggregator.types import Enclosure, ItemData, ParsedEnclosure, ParsedEntry

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
    # folded from a head of the text: what that gives is the start of the whole text's fold
    # (its last word maybe cut short), so more than ``limit`` characters of it are enough
    flat = " ".join(text[:2 * limit + 64].split())
    if len(flat) <= limit and len(text) > 2 * limit + 64:
        flat = " ".join(text.split())
    return _cut_line(flat, limit)


def _cut_line(flat: str, limit: int) -> str:
    """``flat`` (one line) if it has at most ``limit`` characters, else its first
    ``limit`` cut at a word boundary in their second half, with an ellipsis."""
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


# ---- enclosures and the item's picture ----------------------------------------------

#: enclosures kept per item: an episode has one, a photo story a few; past this a feed is
#: not listing attachments, and every one is republished in each format
MAX_ENCLOSURES = 16
MAX_MEDIA_URL = 4096  # characters: signed CDN and tracking-prefix URLs run to a few hundred
MAX_LENGTH = 10 ** 12  # bytes: a larger "length" is no file's size (and JSON keeps it exact)
MAX_MEDIA_DURATION = 30 * 86400  # seconds
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_COUNT = re.compile(r"[0-9]{1,20}")
_CLOCK = re.compile(r"[0-9]{1,9}(?::[0-9]{1,2}){0,2}(?:[.,][0-9]+)?")
#: the type of a file from its extension, when the feed gives none or a broken one: a
#: table of our own (the standard library's reads the system's files, so it would differ
#: between machines), of what feeds enclose
_BY_EXTENSION = {
    ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".ogg": "audio/ogg",
    ".oga": "audio/ogg", ".opus": "audio/ogg", ".flac": "audio/flac", ".wav": "audio/wav",
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
    ".webm": "video/webm", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
    ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".pdf": "application/pdf",
    ".epub": "application/epub+zip",
}


def media_url(value: str | None, base: str) -> str | None:
    """An enclosure's or picture's URL made absolute against ``base`` (the item's link,
    else the feed's URL): http(s) and at most MAX_MEDIA_URL characters, else None."""
    if not value:
        return None
    try:
        url = http_url(join_url(base, strip_illegal_xml(value).strip()))
    except ValueError:  # an invalid IPv6 literal, a port out of range
        return None
    if url is None or len(url) > MAX_MEDIA_URL:
        return None
    return url.replace(" ", "%20")


def media_type(value: str | None, url: str) -> str | None:
    """``type/subtype`` in lowercase without parameters; a missing or malformed type is
    guessed from the URL's extension (_BY_EXTENSION), else None."""
    kind = (value or "").split(";", 1)[0].strip().lower()
    if _MEDIA_TYPE.fullmatch(kind):
        return kind
    return _BY_EXTENSION.get(PurePosixPath(urlsplit(url).path).suffix.lower())


def media_count(value: str | None, limit: int = MAX_LENGTH) -> int | None:
    """A size in bytes from a feed: a whole number from 1 to ``limit``, else None (0,
    negative, decimal, "12 MB" or beyond the limit: unknown)."""
    text = (value or "").strip()
    if not _COUNT.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= limit else None


def duration_seconds(value: str | None) -> int | None:
    """``"3723"``, ``"62:03"``, ``"1:02:03"`` (itunes:duration; media:content's seconds,
    with a fraction or not) -> whole seconds, from 1 to MAX_MEDIA_DURATION, else None."""
    text = (value or "").strip()
    if not _CLOCK.fullmatch(text):
        return None
    seconds = 0
    for part in re.split(r"[.,]", text, maxsplit=1)[0].split(":"):
        seconds = seconds * 60 + int(part)
    return seconds if 0 < seconds <= MAX_MEDIA_DURATION else None


def _enclosure(raw: ParsedEnclosure, base: str) -> Enclosure | None:
    url = media_url(raw.url, base)
    if url is None:
        return None
    return Enclosure(url, media_type(raw.media_type, url), media_count(raw.length),
                     duration_seconds(raw.duration))


def _width(raw: ParsedEnclosure) -> int:
    return media_count(raw.width, 100_000) or 0


def normalize_media(entry: ParsedEntry, base: str) -> tuple[tuple[Enclosure, ...], str | None]:
    """The item's enclosures and its picture, every URL absolute against ``base``.

    Enclosures: ``<enclosure>`` and ``link rel="enclosure"``, then ``media:content``, one
    per URL, at most MAX_ENCLOSURES; itunes:duration goes to the first audio or video
    one that has no duration of its own. The picture: the first ``media:thumbnail``,
    else the widest ``media:content`` image (medium="image" or an image type), else
    ``itunes:image``, else the first image enclosure.
    """
    kept: dict[str, Enclosure] = {}
    for raw in (*entry.enclosures, *entry.media_content):
        enclosure = _enclosure(raw, base)
        if enclosure is not None and enclosure.url not in kept:
            kept[enclosure.url] = enclosure
            if len(kept) == MAX_ENCLOSURES:
                break
    enclosures = list(kept.values())
    duration = duration_seconds(entry.duration)
    playable = next((i for i, e in enumerate(enclosures) if e.is_playable), None)
    if duration and playable is not None and enclosures[playable].duration is None:
        enclosures[playable] = replace(enclosures[playable], duration=duration)
    pictures = sorted((raw for raw in entry.media_content if _is_picture(raw, base)),
                      key=_width, reverse=True)  # stable: the first of equal widths
    image = _first_url((*entry.thumbnails, *(raw.url for raw in pictures),
                        entry.itunes_image, *(e.url for e in enclosures if e.is_image)), base)
    return tuple(enclosures), image


def _is_picture(raw: ParsedEnclosure, base: str) -> bool:
    if (raw.medium or "").lower() == "image":
        return True
    url = media_url(raw.url, base)
    return url is not None and (media_type(raw.media_type, url) or "").startswith("image/")


def _first_url(candidates: Iterable[str | None], base: str) -> str | None:
    return next((url for url in (media_url(c, base) for c in candidates) if url), None)


def _media_parts(enclosures: tuple[Enclosure, ...], image: str | None) -> list[str]:
    """What the enclosures and the picture add to an item's content hash: nothing when
    it has none, so the hash of an item without media is what it always was."""
    parts = [f"enclosure {e.url} {e.media_type or ''} {e.length or ''} {e.duration or ''}"
             for e in enclosures]
    return [*parts, f"image {image}"] if image else parts


def normalize_entry(entry: ParsedEntry, feed_url: str, now: datetime) -> ItemData | None:
    """One parsed entry -> ItemData, or None when it carries nothing worth keeping."""
    normalized = normalize_entry_with_text(entry, feed_url, now)
    return normalized[0] if normalized else None


def normalize_entry_with_text(entry: ParsedEntry, feed_url: str,
                              now: datetime) -> tuple[ItemData, str] | None:
    """:func:`normalize_entry`, with the plain text of the item's content (what the
    fingerprint and the credit lines are made of), so it is not derived twice."""
    link = join_url(feed_url, strip_illegal_xml(entry.link).strip()) if entry.link else None
    url = canonical_joined(link) if link is not None else None  # (canonical_url, joined once)
    content = sanitize_html(entry.content_html or entry.summary_html, link or feed_url)
    text = html_to_text(content)
    title = html_to_text(entry.title) if entry.title else ""
    if not title and not text and not url:
        return None
    summary_source = html_to_text(entry.summary_html) if entry.summary_html else text
    digest = content_hash(title, content, url)
    enclosures, image = normalize_media(entry, link or feed_url)
    # the guid (from the text's digest) stays; a new enclosure or picture is a change
    media = _media_parts(enclosures, image)
    item_hash = content_hash(title, content, url, *media) if media else digest
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
        content_hash=item_hash,
        categories=tuple(dict.fromkeys(filter(None, map(html_to_text, entry.categories)))),
        enclosures=enclosures,
        image_url=image,
    ), text


