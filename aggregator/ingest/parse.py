"""The feedparser adapter: response bytes + headers -> ParsedFeed.

feedparser is called on the raw bytes with the response headers, so the
declared charset (windows-1251, koi8-r ...) and the base URL are honoured.
Its own HTML sanitizer is off: we sanitize with nh3 (text.sanitize_html).
Well-formed RSS 2.0 and Atom 1.0 take a faster road to the same result
(xmlfeed.read_feed, lxml); whatever it does not map with certainty goes to feedparser.
"""

from __future__ import annotations

import calendar
import html
import re
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from aggregator.exceptions import ParseError
from aggregator.ingest.xmlfeed import Document, read_feed
from aggregator.text import strip_illegal_xml
from aggregator.types import ParsedEnclosure, ParsedEntry, ParsedFeed

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _as_datetime(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _as_html(detail: Mapping[str, Any] | None, fallback: str | None = None) -> str | None:
    """A feedparser text construct as HTML: plain text is escaped, HTML passed through."""
    if detail is None:
        return fallback
    value = detail.get("value")
    if value is None:
        return fallback
    if detail.get("type") in _HTML_TYPES:
        return str(value)
    return html.escape(str(value), quote=False)


def _content(entry: Mapping[str, Any]) -> str | None:
    contents = entry.get("content") or []
    best: str | None = None
    for part in contents:
        candidate = _as_html(part)
        if candidate and (best is None or len(candidate) > len(best)):
            best = candidate
    return best


def _string(value: object) -> str | None:
    """An attribute feedparser read, as a non-empty string or None."""
    if value is None or isinstance(value, dict | list | tuple):
        return None
    return str(value).strip() or None


def _enclosures(entry: Mapping[str, Any]) -> tuple[ParsedEnclosure, ...]:
    """RSS ``<enclosure>`` and Atom ``link rel="enclosure"`` (feedparser's
    ``enclosures``), in document order."""
    return tuple(
        ParsedEnclosure(url, _string(raw.get("type")), _string(raw.get("length")))
        for raw in entry.get("enclosures") or () if isinstance(raw, Mapping)
        if (url := _string(raw.get("href") or raw.get("url"))))


def _media_content(entry: Mapping[str, Any]) -> tuple[ParsedEnclosure, ...]:
    """Every ``media:content`` (Media RSS), in document order."""
    return tuple(
        ParsedEnclosure(url, _string(raw.get("type")), _string(raw.get("filesize")),
                        _string(raw.get("duration")), _string(raw.get("medium")),
                        _string(raw.get("width")))
        for raw in entry.get("media_content") or () if isinstance(raw, Mapping)
        if (url := _string(raw.get("url"))))


def _itunes_image(entry: Mapping[str, Any]) -> str | None:
    image = entry.get("image")
    return _string(image.get("href") or image.get("url")) \
        if isinstance(image, Mapping) else None


def _entry(entry: dict[str, Any]) -> ParsedEntry:
    author = entry.get("author")
    return ParsedEntry(
        id=entry.get("id") or None,
        link=entry.get("link") or None,
        title=_as_html(entry.get("title_detail"), entry.get("title")),
        summary_html=_as_html(entry.get("summary_detail"), entry.get("summary")),
        content_html=_content(entry),
        author=html.escape(author, quote=False) if author else None,
        published=_as_datetime(entry.get("published_parsed") or entry.get("created_parsed")),
        updated=_as_datetime(dict.get(entry, "updated_parsed")),  # no feedparser fallback
        categories=tuple(
            html.escape(str(t.get("term") or t.get("label")), quote=False)
            for t in entry.get("tags") or () if t.get("term") or t.get("label")
        ),
        enclosures=_enclosures(entry),
        media_content=_media_content(entry),
        thumbnails=tuple(url for raw in entry.get("media_thumbnail") or ()
                         if isinstance(raw, Mapping) and (url := _string(raw.get("url")))),
        itunes_image=_itunes_image(entry),
        duration=_string(entry.get("itunes_duration")),
    )


_PROLOG = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# Single-byte charsets that decode any bytes at all: as a declaration they prove nothing.
_ANYTHING_GOES = frozenset({"iso-8859-1", "latin-1", "latin1", "l1", "iso8859-1",
                            "windows-1252", "cp1252", "us-ascii", "ascii"})
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _decodes(body: bytes, encoding: str | None) -> bool:
    if not encoding:
        return False
    try:
        body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return False
    return True


def _mostly_utf8(body: bytes) -> bool:
    """UTF-8 with a few broken bytes: a bad byte must cost one character, not the feed
    (read in another charset, every other character would be mojibake)."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - body.count("\ufffd".encode())
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))  # no loop per char
    good = non_ascii - text.count("\ufffd")
    return good >= 10 * bad


def _single_byte(body: bytes) -> str | None:
    """windows-1252, windows-1251 or koi8-r, from the words of ``body``; None to leave
    it to detection.

    Read as windows-1252, French or Portuguese words mix plain and accented letters
    ("très", "liderança"), while Cyrillic bytes make words of nothing but accented
    letters ("Íîâîñòè"): that is how a windows-1251 or koi8-r feed labelled (or taken
    for) ISO-8859-1 gives itself away. Between those two, each reads the other's
    lowercase letters as capitals, and running text is mostly lowercase.
    """
    words = re.findall(r"[^\W\d_]+", body.decode("cp1252", errors="replace"))
    mixed = sum(1 for w in words if not w.isascii() and not all(ord(c) > 0x7F for c in w))
    whole = sum(1 for w in words if len(w) >= 2 and all(ord(c) > 0x7F for c in w))
    if whole <= mixed:
        return "cp1252"
    best: tuple[float, str] | None = None
    for encoding in ("cp1251", "koi8-r"):
        letters = [c for c in body.decode(encoding, errors="replace")
                   if "а" <= c.lower() <= "я" or c in "ёЁ"]
        share = sum(c.islower() for c in letters) / len(letters) if letters else 0.0
        if best is None or share > best[0]:
            best = (share, encoding)
    return best[1] if best is not None and best[0] >= 0.6 else None


def choose_encoding(body: bytes, content_type: str | None) -> str | None:
    """The charset to read ``body`` in, when feedparser's own choice would be wrong.

    Returns None when there is nothing to correct (plain ASCII, a BOM, or a declared
    charset that fits). Order: UTF-8, even with a few broken bytes (they become U+FFFD);
    the HTTP charset or the XML prolog when the bytes decode in it and it is not one of
    the single-byte charsets that decode anything; windows-1252 (which browsers read
    for ISO-8859-1) when the words look Western European, declared or not,
    windows-1251 or koi8-r when they read as Russian; else detection
    (charset-normalizer). So a windows-1251 or koi8-r feed served as
    ``text/xml`` without a charset, or with a wrong one, reads as Russian.
    """
    if body.startswith(_BOMS) or body.isascii():
        return None
    match = _CHARSET.search(content_type or "")
    declared = match.group(1).lower() if match else None
    prolog_match = _PROLOG.match(body[:500])
    prolog = prolog_match.group(1).decode("ascii").lower() if prolog_match else None
    if _decodes(body, "utf-8"):
        wanted = "utf-8"
    elif _mostly_utf8(body):
        return "utf-8"  # re-encoded with the broken bytes replaced, whatever was declared
    else:
        fitting = [e for e in (declared, prolog)
                   if e and e not in _ANYTHING_GOES and _decodes(body, e)]
        if fitting:
            wanted = fitting[0]
        elif single := _single_byte(body):
            wanted = single
        else:
            import charset_normalizer  # (4 MB resident: loaded for such bodies only)

            best = charset_normalizer.from_bytes(body).best()
            wanted = best.encoding if best is not None else (declared or prolog or "cp1252")
    if declared == wanted or (declared is None and prolog in (wanted, None) and
                              wanted == "utf-8"):
        return None
    return wanted


def _as_utf8(body: bytes, encoding: str) -> bytes:
    text = body.decode(encoding, errors="replace")
    text = re.sub(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[A-Za-z0-9._:-]+""",
                  r"\g<1>utf-8", text, count=1)
    return text.encode("utf-8")


#: entries read from one document. Feeds list the newest first; podcast back catalogues
#: of several hundred episodes are normal, and past a thousand an entry is unlikely to be
#: new. It bounds what one document costs: a 100,000-entry feed took 720 MB to parse.
MAX_ENTRIES = 1000
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_ROOT = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?(?:rss|feed|RDF))[\s>]")


def _cap_entries(body: bytes, limit: int) -> bytes:
    """The document cut before its entry number ``limit + 1``, its root closed again."""
    # "item" and "entry" bound the count: each of those four holds one, none the same one
    # (two scans of the body rather than four when the feed is far below the limit)
    if body.count(b"item") + body.count(b"entry") <= limit or \
            body.count(b"<item") + body.count(b"<entry") + body.count(b":item") + \
            body.count(b":entry") <= limit:
        return body
    starts = _ENTRY_START.finditer(body)
    cut = next((m.start() for i, m in enumerate(starts) if i == limit), None)
    root = _ROOT.search(body, 0, 4096)
    if cut is None or root is None:
        return body
    name = root.group(1)
    closing = b"</channel>" if name.endswith(b"rss") and b"<channel" in body[:cut] else b""
    return body[:cut] + closing + b"</" + name + b">"


_RSS_ITEMS = ("item", "{http://purl.org/rss/1.0/}item")
_RSS_TITLES = ("title", "{http://purl.org/rss/1.0/}title")


def _rss_item_titles(body: bytes, document: Document) -> list[str | None] | None:
    """Each RSS item's own <title>, when the feed has other title elements too.

    feedparser keeps the last title-like element inside an item, so a ``dc:title`` or
    an Open Graph block after (or before) the item's own ``<title>`` would be published
    as its title. Read only when the body holds more titles than items can explain.
    """
    if not document.version.startswith("rss") or \
            body.count(b"title") <= 2 * len(document.entries) + 4:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True,
                             load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return None
    if root is None:
        return None
    items = list(root.iter(*_RSS_ITEMS))
    if len(items) != len(document.entries):
        return None  # the two parsers disagree on what the items are: keep feedparser's
    titles: list[str | None] = []
    for item in items:
        own = next((child for child in item if child.tag in _RSS_TITLES), None)
        titles.append(own.text.strip() if own is not None and own.text else None)
    return titles


def parse_feed(body: bytes, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse a feed document. Raise ParseError when it is not a feed at all."""
    if not body.strip():
        raise ParseError("empty body: the server sent no feed")
    # Content-Location is left out on purpose: feedparser would resolve guids against it,
    # and a guid must not change when the feed moves. Links are made absolute in normalize.
    response_headers = {k.lower(): v for k, v in headers.items()
                        if k.lower() != "content-location"}
    body = _cap_entries(body, MAX_ENTRIES)
    encoding = choose_encoding(body, response_headers.get("content-type"))
    if encoding is not None:
        body = _as_utf8(body, encoding)
        media_type = response_headers.get("content-type", "application/xml").split(";")[0]
        response_headers["content-type"] = f"{media_type}; charset=utf-8"
    document = read_feed(body, response_headers) or _feedparser(body, response_headers)
    feed = document.feed
    entries = []
    skipped = 0
    own_titles = _rss_item_titles(body, document) or [None] * len(document.entries)
    for raw, own_title in zip(document.entries, own_titles, strict=True):
        try:
            entry = _entry(raw)
        except (TypeError, ValueError, AttributeError):
            skipped += 1
            continue
        if own_title is not None and (raw.get("title") or "").strip() != own_title:
            entry = replace(entry, title=html.escape(own_title, quote=False))
        entries.append(entry)
    return ParsedFeed(
        title=strip_illegal_xml(feed.get("title") or "").strip() or None,
        site_url=feed.get("link") or None,
        feed_id=feed.get("id") or None,
        updated=_as_datetime(dict.get(feed, "updated_parsed")),
        language=feed.get("language") or None,
        entries=tuple(entries),
        skipped=skipped,
        ttl=feed.get("ttl") or None,
        update_period=feed.get("sy_updateperiod") or None,
        update_frequency=feed.get("sy_updatefrequency") or None,
        hub=_link(feed, "hub"),
        self_url=_link(feed, "self"),
    )


def _feedparser(body: bytes, response_headers: dict[str, str]) -> Document:
    """The document read by feedparser. Raise ParseError when it is not a feed at all.

    feedparser (10-14 MB resident) is imported here, for the documents the fast path
    leaves to it, so a worker that reads only RSS 2.0 and Atom never loads it."""
    import feedparser

    try:
        parsed = feedparser.parse(
            body, response_headers=response_headers,
            sanitize_html=False, resolve_relative_uris=False,
        )
    except Exception as error:  # feedparser should not raise, but a parser bug must not kill us
        raise ParseError(f"the feed parser failed: {error!r}") from error
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        head = body.lstrip()[:200].lower()
        if b"<html" in head or b"<!doctype html" in head:
            raise ParseError("not a feed: the server sent an HTML page")
        raise ParseError(f"not a feed{': ' + str(reason) if reason else ''}")
    return Document(str(parsed.get("version") or ""), parsed.feed, parsed.entries)


def _link(feed: Mapping[str, Any], rel: str) -> str | None:
    """The first feed-level ``<link rel=...>`` (Atom, or atom:link inside RSS)."""
    for link in feed.get("links") or ():
        href = link.get("href") if isinstance(link, Mapping) else None
        if link.get("rel") == rel and isinstance(href, str) and href.strip():
            return href.strip()
    return None
