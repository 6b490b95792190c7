"""Pure feed autodiscovery: which feeds a web page announces, and whether a body is a feed.

``discover_feeds`` reads the ``<link rel="alternate" type=... href=...>`` elements
of an HTML page (the convention every feed reader follows) and returns them
absolute, deduplicated, Atom first, then RSS, then JSON Feed, each kind in the
order the page lists them. ``looks_like_feed`` is the quick check that tells a
feed from a page before deciding to run discovery on it. Nothing here does I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree, html

from aggregator.text import canonical_url

ATOM = "application/atom+xml"
RSS = "application/rss+xml"
JSON_FEED = "application/feed+json"
JSON = "application/json"
#: the media types announced feeds use, in the order discovery returns them
FEED_TYPES: dict[str, int] = {ATOM: 0, RSS: 1, JSON_FEED: 2, JSON: 2}

_ATOM_NAMESPACES = frozenset({"http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#"})
_RDF_NAMESPACE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NOT_FEEDS = frozenset({"image", "audio", "video", "font"})
_CHUNK = 16 * 1024


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    """A feed a page announces: absolute URL, its title (if any) and media type."""

    url: str
    title: str | None
    type: str  # one of ATOM, RSS, JSON_FEED, JSON


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _parse_html(document: bytes | str, encoding: str | None) -> html.HtmlElement | None:
    if isinstance(document, str):
        # lxml refuses str with an encoding declaration; bytes + a known encoding never fail
        data, encoding = document.encode("utf-8", "surrogatepass"), "utf-8"
    else:
        data = document
        if encoding is None:
            try:  # most pages are UTF-8 whether they say so or not; libxml2 would guess Latin-1
                data.decode("utf-8")
                encoding = "utf-8"
            except UnicodeDecodeError:
                encoding = None  # let the page's <meta charset> decide
    if not data.strip():
        return None
    try:
        parser = html.HTMLParser(encoding=encoding, no_network=True)
        return html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError, LookupError):
        return None


def _is_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def discover_feeds(document: bytes | str, base_url: str, *,
                   encoding: str | None = None) -> list[DiscoveredFeed]:
    """The feeds ``document`` (an HTML page fetched from ``base_url``) announces.

    Reads every ``<link rel="alternate">`` whose type is Atom, RSS or JSON Feed
    (``application/json`` too, but not WordPress's ``/wp-json/`` API links), resolves
    ``href`` against the page's ``<base href>`` and ``base_url``, keeps http(s) URLs
    only, drops repeats (compared in canonical form) and orders them Atom, RSS,
    JSON, each kind as the page lists them. ``encoding`` is the charset from the
    HTTP Content-Type, when known. Never raises on bad markup: it finds nothing.
    """
    root = _parse_html(document, encoding)
    if root is None:
        return []
    base = base_url
    for element in root.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            base = urljoin(base_url, href)
            break
    found: list[tuple[int, int, DiscoveredFeed]] = []
    seen: set[str] = set()
    for position, link in enumerate(root.iter("link")):
        rel = (link.get("rel") or "").lower().split()
        kind = _media_type(link.get("type"))
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or "stylesheet" in rel or kind not in FEED_TYPES or not href:
            continue
        url = urljoin(base, href)
        if not _is_http(url) or (kind == JSON and "/wp-json/" in urlsplit(url).path):
            continue
        key = canonical_url(url) or url
        if key in seen:
            continue
        seen.add(key)
        title = " ".join((link.get("title") or "").split()) or None
        found.append((FEED_TYPES[kind], position, DiscoveredFeed(url, title, kind)))
    return [feed for _, _, feed in sorted(found, key=lambda t: (t[0], t[1]))]


def _xml_root(body: bytes) -> tuple[str | None, str] | None:
    """(namespace, local name) of the document element, reading no further than needed.

    A feed broken after its root (a stray control character, a wrong charset, an
    entity bomb) still names its root: that is all a quick check needs.
    """
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True,
                                 huge_tree=False, load_dtd=False)
    for offset in range(0, len(body), _CHUNK):
        try:
            parser.feed(body[offset:offset + _CHUNK])
        except etree.XMLSyntaxError:
            return _first_start(parser)
        found = _first_start(parser)
        if found is not None:
            return found
    return None


def _first_start(parser: etree.XMLPullParser) -> tuple[str | None, str] | None:
    for _event, element in parser.read_events():
        if isinstance(element, etree._Element):
            name = etree.QName(element)
            return name.namespace, name.localname
    return None


def _is_json_feed(body: bytes) -> bool:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    version = document.get("version") if isinstance(document, dict) else None
    return isinstance(version, str) and version.startswith(("https://jsonfeed.org/version/",
                                                            "http://jsonfeed.org/version/"))


def looks_like_feed(body: bytes, content_type: str | None = None) -> bool:
    """A quick check that ``body`` is a feed: an XML document whose root is ``rss``,
    Atom's ``feed`` or ``rdf:RDF`` (RSS 1.0), or a JSON Feed (a ``version`` of
    ``https://jsonfeed.org/version/...``).

    The body decides, because servers often send feeds as text/html or
    text/plain; ``content_type`` only rules out images, audio, video and fonts.
    """
    if _media_type(content_type).split("/")[0] in _NOT_FEEDS:
        return False
    text = body.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text[:1] == b"{":
        return _is_json_feed(text)
    root = _xml_root(text)
    if root is None:
        return False
    namespace, name = root
    return ((name == "rss" and namespace is None)
            or (name == "feed" and (namespace in _ATOM_NAMESPACES or namespace is None))
            or (name == "RDF" and namespace == _RDF_NAMESPACE))
