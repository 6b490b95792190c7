"""Pure OPML 2.0: export the sources as a subscription list, and import one.

Export writes one ``<outline type="rss">`` per source, its tags in ``category``
(``"/ru,/news"``) and its name in ``aggregator:name``, so a list exported here
imports back with the same names. Import reads what Miniflux, FreshRSS, Feedly,
Inoreader and NetNewsWire write: feeds nested in folders (every enclosing folder
becomes a tag), ``category`` paths (every part becomes a tag), attribute names in
any case, ``feed://`` URLs, bare ``&`` and HTML entities such as ``&nbsp;``.
A feed listed in several folders is one source with the tags of all of them;
FreshRSS's scraped pages (``type="HTML+XPath"``) are not feeds and are skipped.

The XML parser resolves no entity, loads no DTD and touches no network (no XXE,
no billion laughs); anything that is not an OPML document is an ``OpmlError``.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from aggregator.text import (
    MAX_NAME,
    canonical_url,
    http_url,
    is_slug,
    slugify,
    strip_illegal_xml,
)

#: the namespace of the one attribute OPML lacks: the source's name in feeds.yaml
AGGREGATOR_NS = "urn:x-aggregator:opml"
_NAME_ATTRIBUTE = f"{{{AGGREGATOR_NS}}}name"
_BARE_AMPERSAND = re.compile(rb"&(?!#[0-9]+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9._-]*;)")
_NAMED_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})


class OpmlError(ValueError):
    """The data is not an OPML document (not XML, or another kind of XML)."""


@dataclass(frozen=True, slots=True)
class OpmlSource:
    """One feed of a subscription list."""

    name: str  # a feeds.yaml slug
    title: str
    xml_url: str
    html_url: str | None = None
    tags: tuple[str, ...] = ()


# ---- names ---------------------------------------------------------------------


def derive_name(title: str | None, url: str) -> str:
    """A slug for a source: from its title, else its host (without ``www.``), else ``feed``."""
    host = (urlsplit(url.strip()).hostname or "").removeprefix("www.")
    return slugify(title or "") or slugify(host) or "feed"


def unique_name(base: str, taken: Collection[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... (kept within 64 characters) not in ``taken``."""
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[:MAX_NAME - len(suffix)].rstrip("-_") + suffix
        if candidate not in taken:
            return candidate
        number += 1


# ---- export --------------------------------------------------------------------


def _clean(text: str | None) -> str:
    return strip_illegal_xml(text or "").strip()


def _label(text: str) -> str:
    """A title or folder name on one line: whitespace runs (newlines too) become a space."""
    return " ".join(strip_illegal_xml(text).split())


def _tag_for_category(tag: str) -> str:
    # "," separates categories and "/" separates a path's parts: neither can be in a tag
    return _clean(tag.replace(",", "-").replace("/", "-"))


def export_opml(title: str, sources: Sequence[OpmlSource]) -> bytes:
    """An OPML 2.0 document listing ``sources`` in order. Deterministic: no dates."""
    root = etree.Element("opml", version="2.0", nsmap={"aggregator": AGGREGATOR_NS})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _clean(title) or "Subscriptions"
    body = etree.SubElement(root, "body")
    for source in sources:
        outline = etree.SubElement(body, "outline", type="rss")
        text = _clean(source.title) or source.name
        outline.set("text", text)
        outline.set("title", text)
        outline.set("xmlUrl", _clean(source.xml_url))
        if http_url(source.html_url):
            outline.set("htmlUrl", _clean(source.html_url))
        tags = [t for t in (_tag_for_category(t) for t in source.tags) if t]
        if tags:
            outline.set("category", ",".join(f"/{t}" for t in dict.fromkeys(tags)))
        outline.set(_NAME_ATTRIBUTE, source.name)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


# ---- import --------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def _repair(data: bytes) -> bytes:
    """Escape bare ``&`` and turn HTML entities into character references."""
    def numeric(match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        codepoint = html.entities.name2codepoint.get(name.decode("ascii"))
        if name in _XML_ENTITIES or codepoint is None:
            return match.group(0)
        return b"&#%d;" % codepoint
    return _NAMED_ENTITY.sub(numeric, _BARE_AMPERSAND.sub(b"&amp;", data))


def _parse_xml(data: bytes) -> etree._Element:
    data = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not data:
        raise OpmlError("not an OPML document: the file is empty")
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        repaired = _repair(data)
        if repaired != data:
            try:
                return etree.fromstring(repaired, _parser())
            except etree.XMLSyntaxError:
                pass
        raise OpmlError(f"not an OPML document: not well-formed XML ({error})") from None


def _attribute(element: etree._Element, name: str) -> str:
    """An attribute by case-insensitive name (``xmlUrl``, ``xmlurl``, ``XMLURL``)."""
    wanted = name.lower()
    for key, value in element.attrib.items():
        if isinstance(key, str) and key.lower() == wanted:
            return str(value).strip()
    return ""


def _feed_url(value: str) -> str | None:
    """An http(s) URL, accepting ``feed://host/...`` and ``feed:https://...``."""
    value = strip_illegal_xml(value).strip()
    lowered = value.lower()
    if lowered.startswith("feed:http"):
        value = value[len("feed:"):]
    elif lowered.startswith("feed://"):
        value = "http://" + value[len("feed://"):]
    parts = urlsplit(value)
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def _category_tags(value: str) -> list[str]:
    return [part.strip() for item in value.split(",") for part in item.split("/")
            if part.strip()]


def _outlines(parent: etree._Element) -> Iterator[etree._Element]:
    return (child for child in parent if isinstance(child.tag, str)
            and etree.QName(child).localname.lower() == "outline")


@dataclass(slots=True)
class _Entry:
    title: str
    xml_url: str
    html_url: str | None
    tags: list[str]
    name: str | None


def _walk(body: etree._Element) -> list[_Entry]:
    entries: dict[str, _Entry] = {}
    stack: list[tuple[etree._Element, tuple[str, ...]]] = [
        (child, ()) for child in reversed(list(_outlines(body)))]
    while stack:
        outline, folders = stack.pop()
        label = _label(_attribute(outline, "title")) or _label(_attribute(outline, "text"))
        kind = _attribute(outline, "type").lower()
        raw_url = _attribute(outline, "xmlUrl") or (
            _attribute(outline, "url") if kind in ("rss", "atom") else "")
        if "xpath" in kind:  # FreshRSS's HTML+XPath / XML+XPath: a scraped page, not a feed
            raw_url = ""
        children = list(_outlines(outline))
        if raw_url:
            url = _feed_url(raw_url)
            if url is not None:
                tags = [*folders, *_category_tags(_attribute(outline, "category"))]
                key = canonical_url(url) or url
                if key in entries:
                    entries[key].tags.extend(tags)
                else:
                    name = outline.get(_NAME_ATTRIBUTE, "").strip()
                    site = _feed_url(_attribute(outline, "htmlUrl"))
                    entries[key] = _Entry(title=label, xml_url=url, html_url=site, tags=tags,
                                          name=name if is_slug(name) else None)
        elif kind not in ("link", "include") and label:
            folders = (*folders, label)
        stack.extend((child, folders) for child in reversed(children))
    return list(entries.values())


def parse_opml(data: bytes) -> list[OpmlSource]:
    """The feeds of an OPML document (any version), in document order, with unique names.

    Names come from ``aggregator:name`` when present, else from the title or the
    host (see ``derive_name``); repeats get ``-2``, ``-3``. Titles are put on one
    line; a title missing from the file is the feed's host. Outlines whose URL is
    not http(s) are skipped.
    """
    root = _parse_xml(data)
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        found = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        raise OpmlError(f"not an OPML document: the root element is <{found}>, not <opml>")
    body = next((child for child in root if isinstance(child.tag, str)
                 and etree.QName(child).localname.lower() == "body"), None)
    if body is None:
        raise OpmlError("not an OPML document: it has no <body>")
    entries = _walk(body)
    taken: set[str] = set()
    names: list[str | None] = []
    for entry in entries:  # names the file gives win over derived ones
        name = unique_name(entry.name, taken) if entry.name else None
        if name:
            taken.add(name)
        names.append(name)
    result = []
    for entry, given in zip(entries, names, strict=True):
        host = urlsplit(entry.xml_url).hostname or entry.xml_url
        name = given or unique_name(derive_name(entry.title, entry.xml_url), taken)
        taken.add(name)
        result.append(OpmlSource(name=name, title=entry.title or host, xml_url=entry.xml_url,
                                 html_url=entry.html_url,
                                 tags=tuple(dict.fromkeys(entry.tags))))
    return result
