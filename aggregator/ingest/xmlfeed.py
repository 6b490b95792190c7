"""The fast path of parse.py: well-formed RSS 2.0 and Atom 1.0 read with lxml.

It builds the part of feedparser's result that parse.py reads (the feed's and each
entry's keys), the way feedparser's strict parser would build it, so parse.py maps
both with the same code. Whatever it does not map with certainty (not well-formed,
a DOCTYPE, another root or version, an element or attribute it does not know, markup
inside a text construct, one element twice where feedparser keeps a single value,
xml:base...) makes it return None, and parse.py asks feedparser.

What is copied from feedparser, step by step (feedparser 6, mixin.py and
namespaces/_base.py): the bytes are decoded as feedparser's ``convert_to_utf8`` does;
a text value is stripped, made a URI as feedparser's ``_urljoin`` does where feedparser
does, read again as UTF-8 when it is UTF-8 read as ISO-8859-1, and its C1 controls
mapped to windows-1252; dates are read as feedparser's ``_parse_date`` reads them; RSS
titles that look like HTML become HTML (``looks_like_html``). Those rules live in
feedrules.py, which imports feedparser only for the uncommon inputs; a guid that is a permalink, or
an Atom id, is the entry's link until a link says otherwise; an entry without a
summary gets its content as summary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from aggregator.ingest.feedrules import (
    CP1252,
    fix_uri,
    looks_like_html,
    parse_date,
    to_utf8,
    xml_escape,
)

ATOM = "{http://www.w3.org/2005/Atom}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_WFW = "{http://wellformedweb.org/CommentAPI/}"
_SLASH = "{http://purl.org/rss/1.0/modules/slash/}"
_ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
_XML = "{http://www.w3.org/XML/1998/namespace}"
_XHTML = "{http://www.w3.org/1999/xhtml}"
#: feedparser writes xlink declarations out as attributes in xhtml; not mapped here
_XLINK = b"http://www.w3.org/1999/xlink"
#: namespaces that would make feedparser call the document RSS 1.0 or 0.90
_VERSION_NAMESPACES = frozenset({"http://purl.org/rss/1.0/",
                                 "http://my.netscape.com/rdf/simple/0.9/"})
_DECLARATIONS = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<\w")
_C1 = re.compile("[\x80-\x9f]")
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")
_ENTITY_LEFT = re.compile("&([A-Za-z0-9_]+);")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
#: Atom text types read as text: feedparser's ``map_content_type`` of each
_TEXT_TYPES = {"text": "text/plain", "plain": "text/plain", "text/plain": "text/plain",
               "html": "text/html", "text/html": "text/html",
               "xhtml": "application/xhtml+xml",
               "application/xhtml+xml": "application/xhtml+xml"}


class _Fallback(Exception):
    """The document holds something this path does not map: feedparser reads it."""


@dataclass(frozen=True, slots=True)
class Document:
    """feedparser's result, as far as parse.py reads it."""

    version: str
    feed: dict[str, Any]
    entries: list[dict[str, Any]]


def read_feed(body: bytes, headers: Mapping[str, str]) -> Document | None:
    """``body`` read as feedparser would read it, or None to leave it to feedparser.

    ``headers`` are the response headers as parse.py gives them to feedparser
    (lower-case names).
    """
    data, encoding = to_utf8(headers, body)
    if not encoding:
        return None  # feedparser would use its loose parser
    start = _FIRST_ELEMENT.search(data)
    if start is None or _DECLARATIONS.search(data, 0, start.start()) or _XLINK in data:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    if len(parser.error_log):
        return None
    if _VERSION_NAMESPACES & set(root.nsmap.values()):
        return None
    lang = headers.get("content-language")
    try:
        if root.tag == "rss":
            return _rss(root, lang)
        if root.tag == ATOM + "feed":
            return _atom(root, lang)
    except _Fallback:
        return None
    return None


# --- values, as feedparser's pop() makes them ---------------------------------------

def _text_of(element: Any) -> str:
    """The text of an element that must hold nothing but text."""
    if len(element):  # a child element, a comment or a processing instruction
        raise _Fallback(element.tag)
    return element.text or ""


def _recode(output: str) -> str:
    """UTF-8 read as ISO-8859-1 read again, C1 controls as windows-1252 (pop() does).
    Both leave ASCII as it is, and the second anything without C1 controls."""
    if output.isascii():
        return output
    # a character beyond ISO-8859-1 (most often the first letter of a Cyrillic text) is
    # found at once: the encoding would fail, and its exception (in contextlib.suppress)
    # costs more (0.6 -> 0.2 us a value)
    if _BEYOND_LATIN1.search(output) is None:
        try:
            recoded = output.encode("iso-8859-1").decode("utf-8")
        except UnicodeDecodeError:
            recoded = output
        output = recoded
    return output.translate(CP1252) if _C1.search(output) else output


def _value(element: Any, uri: bool = False) -> str:
    """A text element's value, as feedparser stores it."""
    output = _text_of(element).strip()
    if uri and output:
        output = fix_uri(output)
    return _recode(output)


def _attributes(element: Any, allowed: frozenset[str] | None = None) -> dict[str, str]:
    """Attributes as feedparser sees them: lower-case names, ``rel`` and ``type``
    values in lower case. ``allowed``: the names this path maps (None: any)."""
    attrs: dict[str, str] = {}
    for name, value in element.attrib.items():
        if name.startswith("{"):
            if name != _XML + "lang":
                raise _Fallback(name)  # xml:base, or a namespaced attribute
            continue
        key = name.lower()
        if (allowed is not None and key not in allowed) or key == "base":
            raise _Fallback(name)  # base= moves feedparser's base URI as xml:base does
        attrs[key] = value.lower() if key in ("rel", "type") else value
    return attrs


def _no_attributes(element: Any) -> None:
    """Not even xml:lang: feedparser keeps an element it has no handler for, with
    attributes, as a dict of them (``<ttl xml:lang="en">`` makes ttl a dict)."""
    if element.attrib:
        raise _Fallback(f"attributes on {element.tag}")


def _enforce_href(attrs: dict[str, str]) -> dict[str, str]:
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


def _link(element: Any, context: dict[str, Any], links: list[dict[str, str]]) -> None:
    """An Atom ``<link>`` (or atom:link in RSS): feedparser's ``_start_link``."""
    _text_of(element)
    attrs = _attributes(element)
    attrs.setdefault("rel", "alternate")
    attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
    attrs = _enforce_href(attrs)
    if "href" not in attrs:
        raise _Fallback("a link without href reads its text")
    attrs["href"] = fix_uri(attrs["href"])
    links.append(attrs)
    if attrs["rel"] == "alternate" and _map_type(attrs["type"]) in _HTML_TYPES:
        context["link"] = attrs["href"]


def _construct(element: Any, default: str) -> tuple[str, str]:
    """An Atom text construct: its type and its value."""
    kind = _text_type(element, default)
    if kind == "application/xhtml+xml":
        return kind, _xhtml(element)
    return kind, _value(element)


def _xhtml(element: Any) -> str:
    """An xhtml text construct as feedparser writes it out: lower-case names, its own
    escaping, comments dropped, the wrapping ``<div>`` taken off."""
    pieces: list[tuple[bool, str]] = []  # (is text, piece), as handle_data gets them

    def text(value: str | None) -> None:
        if value:
            value = xml_escape(value)
            if pieces and pieces[-1][0]:
                pieces[-1] = (True, pieces[-1][1] + value)
            else:
                pieces.append((True, value))

    def write(parent: Any) -> None:
        for child in parent:
            if isinstance(child.tag, str):
                if not child.tag.startswith(_XHTML):
                    raise _Fallback(f"{child.tag} in xhtml")
                name = child.tag[len(_XHTML):].lower()
                if name == "body":
                    raise _Fallback("xhtml body")  # feedparser's _end_xhtml_body
                attrs = _attributes(child)
                if len(attrs) != len(child.attrib):
                    raise _Fallback("attributes that differ in case only")
                written = "".join(f' {k}="{xml_escape(v, quote=True)}"'
                                  for k, v in attrs.items())
                pieces.append((False, f"<{name}{written}>"))
                text(child.text)
                write(child)
                pieces.append((False, f"</{name}>"))
            text(child.tail)

    text(element.text)
    write(element)
    while len(pieces) > 1 and pieces[-1][0] and not pieces[-1][1].strip():
        del pieces[-1]
    while len(pieces) > 1 and pieces[0][0] and not pieces[0][1].strip():
        del pieces[0]
    if pieces and (pieces[0][1] == "<div>" or pieces[0][1].startswith("<div ")) \
            and pieces[-1][1] == "</div>" and _one_element(pieces):
        pieces = pieces[1:-1]
    return _recode("".join(piece for _, piece in pieces).strip())


def _one_element(pieces: list[tuple[bool, str]]) -> bool:
    """Whether the first tag closes only at the last piece (feedparser's depth walk)."""
    depth = 0
    for is_text, piece in pieces[:-1]:
        if is_text:
            continue
        if piece.startswith("</"):
            depth -= 1
            if depth == 0:
                return False
        else:
            depth += 1
    return True


def _map_type(value: str) -> str:
    value = value.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html",
            "xhtml": "application/xhtml+xml"}.get(value, value)


def _text_type(element: Any, default: str) -> str:
    """The type of an Atom text construct this path maps, else fall back."""
    attrs = _attributes(element, frozenset({"type"}))
    kind = _TEXT_TYPES.get(attrs.get("type", default))
    if kind is None:
        raise _Fallback(f"type {attrs.get('type')!r}")
    return kind


def _category(element: Any, tags: list[dict[str, str | None]]) -> None:
    """feedparser's ``_start_category`` and ``_end_category`` (which dedupe)."""
    attrs = _attributes(element)
    _add_tag(tags, attrs.get("term"), attrs.get("scheme", attrs.get("domain")),
             attrs.get("label"))
    value = _value(element)
    if not value:
        return
    if tags and not tags[-1]["term"]:
        tags[-1]["term"] = value
    else:
        _add_tag(tags, value, None, None)


def _add_tag(tags: list[dict[str, str | None]], term: str | None, scheme: str | None,
             label: str | None) -> None:
    if not term and not scheme and not label:
        return
    tag = {"term": term, "scheme": scheme, "label": label}
    if tag not in tags:
        tags.append(tag)


def _once(seen: set[str], element: Any) -> None:
    """An element feedparser keeps one value of: a second one falls back."""
    if element.tag in seen:
        raise _Fallback(f"{element.tag} twice")
    seen.add(element.tag)


def _ignored(element: Any) -> None:
    """An element whose value parse.py does not read: text only, nothing else."""
    _text_of(element)


def _date(element: Any) -> Any:
    return parse_date(_value(element))


def _media(element: Any, entry: dict[str, Any]) -> bool:
    """``media:content``, ``media:thumbnail`` and a ``media:group`` of them, as
    feedparser keeps them (attributes as written; a thumbnail's URL may be its text).
    False when ``element`` is none of these."""
    tag = element.tag
    if tag == _MEDIA + "content":
        for child in element:  # no handler reads its text
            if isinstance(child.tag, str):
                if child.tag != _MEDIA + "credit":
                    raise _Fallback(f"media:content/{child.tag}")
                _media(child, entry)
        entry.setdefault("media_content", []).append(_attributes(element))
    elif tag == _MEDIA + "credit":
        _attributes(element)
        _ignored(element)
    elif tag == _MEDIA + "thumbnail":
        attrs = _attributes(element)
        url = _value(element, uri=True)
        if url.strip() and "url" not in attrs:
            attrs["url"] = url
        entry.setdefault("media_thumbnail", []).append(attrs)
    elif tag == _MEDIA + "group":
        _no_attributes(element)
        for child in element:
            if isinstance(child.tag, str) and (child.tag == tag or not _media(child, entry)):
                raise _Fallback(f"media:group/{child.tag}")
    else:
        return False
    return True


def _content(entry: dict[str, Any], kind: str, value: str) -> None:
    entry["content"] = [{"type": kind, "value": value}]
    entry.setdefault("summary", value)  # _end_content's copy to summary


# --- RSS 2.0 --------------------------------------------------------------------------

def _rss(root: Any, base_lang: str | None) -> Document:
    attrs = _attributes(root, frozenset({"version", "lang"}))
    if not attrs.get("version", "").startswith("2."):
        raise _Fallback("not RSS 2.x")
    feed = _root_language(root, attrs, base_lang)
    channels = [child for child in root if isinstance(child.tag, str)]
    if len(channels) != 1 or channels[0].tag != "channel":
        raise _Fallback("not one channel")
    channel = channels[0]
    _no_attributes(channel)
    entries: list[dict[str, Any]] = []
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for child in channel:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == "item":
            entries.append(_rss_item(child))
            continue
        if tag in _RSS_CHANNEL_IGNORED:
            _no_attributes(child)
            _ignored(child)
            continue
        if tag.startswith(_ITUNES):
            _itunes_channel(child)
            continue
        if tag == ATOM + "link":
            _link(child, feed, links)
            continue
        if tag == "image":
            _image(child)
            continue
        _once(seen, child)
        _no_attributes(child)
        if tag == "title":
            feed["title"] = _value(child)
        elif tag == "link":
            feed["link"] = _ENTITY_LEFT.sub(r"&\g<1>", _value(child, uri=True))
        elif tag == "language":
            feed["language"] = _value(child)
        elif tag in ("lastBuildDate", _DC + "date"):
            feed["updated_parsed"] = _date(child)
        elif tag == "ttl":
            feed["ttl"] = _value(child)
        elif tag == _SY + "updatePeriod":
            feed["sy_updateperiod"] = _value(child)
        elif tag == _SY + "updateFrequency":
            feed["sy_updatefrequency"] = _value(child)
        elif tag in ("description", "pubDate", "generator", "copyright", "docs",
                     _SY + "updateBase"):
            _ignored(child)
        else:
            raise _Fallback(tag)
    feed["links"] = links
    return Document("rss20", feed, entries)


_RSS_CHANNEL_IGNORED = frozenset({"category", "managingEditor", "webMaster"})
#: a podcast's own elements, none of which touches what parse.py reads of the feed
_ITUNES_CHANNEL = frozenset(_ITUNES + name for name in (
    "author", "summary", "subtitle", "type", "explicit", "keywords", "block", "complete"))


def _itunes_channel(element: Any) -> None:
    tag = element.tag
    if tag in _ITUNES_CHANNEL:
        _no_attributes(element)
        _ignored(element)
    elif tag == _ITUNES + "image":
        _attributes(element)
        _ignored(element)
    elif tag == _ITUNES + "category":
        _attributes(element, frozenset({"text"}))
        for child in element:
            if isinstance(child.tag, str):
                if child.tag != tag:
                    raise _Fallback(f"itunes:category/{child.tag}")
                _itunes_channel(child)
    elif tag == _ITUNES + "owner":
        _no_attributes(element)
        for child in element:
            if isinstance(child.tag, str):
                if child.tag not in (_ITUNES + "name", _ITUNES + "email"):
                    raise _Fallback(f"itunes:owner/{child.tag}")
                _no_attributes(child)
                _ignored(child)
    else:
        raise _Fallback(tag)

_IMAGE_PARTS = frozenset({"title", "url", "link", "width", "height", "description"})


def _image(image: Any) -> None:
    """A channel's ``<image>``: feedparser keeps it apart, parse.py reads none of it."""
    _no_attributes(image)
    for child in image:
        if isinstance(child.tag, str):
            if child.tag not in _IMAGE_PARTS:
                raise _Fallback(f"image/{child.tag}")
            _no_attributes(child)
            _ignored(child)


def _root_language(root: Any, attrs: Mapping[str, str], base_lang: str | None) -> dict[str, Any]:
    """The feed's language from Content-Language and the root's xml:lang."""
    feed: dict[str, Any] = {}
    if base_lang:
        feed["language"] = base_lang.replace("_", "-")
    lang = root.get(_XML + "lang", attrs.get("lang"))
    if lang:
        feed["language"] = lang.replace("_", "-")
    return feed


_RSS_AUTHORS = frozenset({"author", _DC + "creator", _ITUNES + "author"})


def _rss_item(item: Any) -> dict[str, Any]:
    _no_attributes(item)
    entry: dict[str, Any] = {}
    tags: list[dict[str, str | None]] = []
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for child in item:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == "category":
            _category(child, tags)
            continue
        if tag == "enclosure":
            _text_of(child)
            attrs = _enforce_href(_attributes(child))
            attrs["rel"] = "enclosure"
            links.append(attrs)
            continue
        if tag == ATOM + "link":
            _link(child, entry, links)
            continue
        if tag in _RSS_AUTHORS:  # the last one wins, as in feedparser
            _no_attributes(child)
            entry["author"] = _value(child)
            continue
        if tag == _ITUNES + "image":  # the last one with a URL wins
            _itunes_image(child, entry)
            continue
        if _media(child, entry):
            continue
        _once(seen, child)
        handler = _RSS_ITEM.get(tag)
        if handler is None:
            raise _Fallback(tag)
        handler(child, entry)
    entry["tags"] = tags
    entry["enclosures"] = _enclosures(links)
    return entry


def _enclosures(links: list[dict[str, str]]) -> list[dict[str, str]]:
    """feedparser's ``enclosures``: the links with rel="enclosure", without their rel."""
    return [{k: v for k, v in link.items() if k != "rel"}
            for link in links if link["rel"] == "enclosure"]


def _rss_title(child: Any, entry: dict[str, Any]) -> None:
    _no_attributes(child)
    output = _text_of(child).strip()
    kind = "text/html" if looks_like_html(output) else "text/plain"
    entry["title"] = output = _recode(output)
    entry["title_detail"] = {"type": kind, "value": output}


def _rss_link(child: Any, entry: dict[str, Any]) -> None:
    _no_attributes(child)
    output = _value(child, uri=True).replace("&amp;", "&")
    entry["link"] = _ENTITY_LEFT.sub(r"&\g<1>", output)


def _rss_description(child: Any, entry: dict[str, Any]) -> None:
    _no_attributes(child)
    entry["summary"] = output = _value(child)
    entry["summary_detail"] = {"type": "text/html", "value": output}


def _rss_content(child: Any, entry: dict[str, Any]) -> None:
    _no_attributes(child)
    _content(entry, "text/html", _value(child))


def _rss_guid(child: Any, entry: dict[str, Any]) -> None:
    permalink = _attributes(child, frozenset({"ispermalink"})).get("ispermalink", "true") \
        == "true"
    entry["id"] = output = _value(child, uri=permalink)
    if permalink:
        entry.setdefault("link", output)


def _rss_date(key: str) -> Callable[[Any, dict[str, Any]], None]:
    def save(child: Any, entry: dict[str, Any]) -> None:
        _no_attributes(child)
        entry[key] = _date(child)
    return save


def _rss_duration(child: Any, entry: dict[str, Any]) -> None:
    _no_attributes(child)
    entry["itunes_duration"] = _value(child)


def _itunes_image(child: Any, entry: dict[str, Any]) -> None:
    """``itunes:image``: its href, else its url, is the entry's image."""
    _text_of(child)
    attrs = _attributes(child)
    if attrs.get("href"):
        entry["image"] = {"href": attrs["href"]}
    elif attrs.get("url"):
        entry["image"] = {"href": attrs["url"]}


def _rss_ignored(child: Any, entry: dict[str, Any]) -> None:
    _no_attributes(child)
    _ignored(child)


def _rss_source(child: Any, entry: dict[str, Any]) -> None:
    """``<source url=...>``: feedparser keeps it apart, parse.py reads none of it."""
    _attributes(child)
    _ignored(child)


_RSS_ITEM: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "title": _rss_title,
    "link": _rss_link,
    "description": _rss_description,
    _CONTENT + "encoded": _rss_content,
    "guid": _rss_guid,
    "pubDate": _rss_date("published_parsed"),
    _DC + "date": _rss_date("updated_parsed"),
    "comments": _rss_ignored,
    _WFW + "commentRss": _rss_ignored,
    _SLASH + "comments": _rss_ignored,
    _ITUNES + "duration": _rss_duration,
    _ITUNES + "title": _rss_ignored,
    _ITUNES + "subtitle": _rss_ignored,
    _ITUNES + "episode": _rss_ignored,
    _ITUNES + "season": _rss_ignored,
    _ITUNES + "episodeType": _rss_ignored,
    _ITUNES + "explicit": _rss_ignored,
    "source": _rss_source,
}


# --- Atom 1.0 -------------------------------------------------------------------------

def _atom(root: Any, base_lang: str | None) -> Document:
    attrs = _attributes(root, frozenset({"lang"}))
    feed = _root_language(root, attrs, base_lang)
    entries: list[dict[str, Any]] = []
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for child in root:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == ATOM + "entry":
            entries.append(_atom_entry(child))
        elif tag == ATOM + "link":
            _link(child, feed, links)
        elif tag in (ATOM + "author", ATOM + "contributor"):
            _person(child)
        elif tag == ATOM + "category":
            _category(child, [])
        elif tag == ATOM + "generator":
            _once(seen, child)
            _attributes(child)
            _ignored(child)
        elif tag in _ATOM_FEED_IGNORED:
            _once(seen, child)
            _construct(child, "text")
        elif tag == ATOM + "title":
            _once(seen, child)
            feed["title"] = _construct(child, "text")[1]
        else:
            _once(seen, child)
            _no_attributes(child)
            if tag == ATOM + "id":
                feed["id"] = output = _value(child, uri=True)
                feed.setdefault("link", output)
            elif tag == ATOM + "updated":
                feed["updated_parsed"] = _date(child)
            elif tag in (ATOM + "icon", ATOM + "logo"):
                _ignored(child)
            else:
                raise _Fallback(tag)
    feed["links"] = links
    return Document("atom10", feed, entries)


_SOURCE_PARTS = frozenset(ATOM + name for name in (
    "id", "title", "subtitle", "link", "updated", "rights", "icon", "logo", "generator",
    "category"))


def _source(source: Any) -> None:
    """An entry's ``<source>``: feedparser keeps what it holds apart from the entry."""
    _no_attributes(source)
    for child in source:
        if not isinstance(child.tag, str):
            continue
        if child.tag in (ATOM + "author", ATOM + "contributor"):
            _person(child)
        elif child.tag in _SOURCE_PARTS:
            _attributes(child)
            _ignored(child)
        else:
            raise _Fallback(f"source/{child.tag}")


_ATOM_FEED_IGNORED = frozenset({ATOM + "subtitle", ATOM + "rights"})
_PERSON_PARTS = frozenset({ATOM + "name", ATOM + "email", ATOM + "uri"})


def _person(person: Any) -> str:
    """An Atom author: "name (email)", the name, the email, or empty."""
    _no_attributes(person)
    if (person.text or "").strip():
        raise _Fallback("text in a person construct")
    parts: dict[str, str] = {}
    for child in person:
        if not isinstance(child.tag, str):
            continue
        if child.tag not in _PERSON_PARTS or child.tag in parts or \
                (child.tail or "").strip():
            raise _Fallback(f"person/{child.tag}")
        _no_attributes(child)
        parts[child.tag] = _text_of(child).strip()
    name, email = parts.get(ATOM + "name"), parts.get(ATOM + "email")
    if name and email:
        return f"{name} ({email})"
    return name or email or ""


def _atom_entry(element: Any) -> dict[str, Any]:
    _attributes(element, frozenset())
    entry: dict[str, Any] = {}
    tags: list[dict[str, str | None]] = []
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == ATOM + "link":
            _link(child, entry, links)
            continue
        if tag == ATOM + "category":
            _category(child, tags)
            continue
        if _media(child, entry):
            continue
        _once(seen, child)
        if tag == ATOM + "title":
            kind, entry["title"] = _construct(child, "text")
            entry["title_detail"] = {"type": kind, "value": entry["title"]}
        elif tag == ATOM + "id":
            _no_attributes(child)
            entry["id"] = output = _value(child, uri=True)
            entry.setdefault("link", output)
        elif tag == ATOM + "summary":
            kind, entry["summary"] = _construct(child, "text")
            entry["summary_detail"] = {"type": kind, "value": entry["summary"]}
        elif tag == ATOM + "content":
            _content(entry, *_construct(child, "text"))
        elif tag == ATOM + "published":
            _no_attributes(child)
            entry["published_parsed"] = _date(child)
        elif tag == ATOM + "updated":
            _no_attributes(child)
            entry["updated_parsed"] = _date(child)
        elif tag == ATOM + "author":
            entry["author"] = _person(child)
        elif tag == ATOM + "source":
            _source(child)
        else:
            raise _Fallback(tag)
    entry["tags"] = tags
    entry["enclosures"] = _enclosures(links)
    return entry
