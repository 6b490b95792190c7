"""An output and its stories -> Atom 1.0 (RFC 4287), RSS 2.0 and JSON Feed 1.1 bytes.

Pure and deterministic: every date is set explicitly, so the same data renders the
same bytes (and so the same ETag). Atom and RSS are one lxml tree each, built in the
document's order and serialized once: each entry's id, title, dates, author, content,
alternate link, summary and categories; its ``link rel="enclosure"`` (with type and
length), ``link rel="related"`` (one per other outlet) and ``link rel="describedby"``
(the story's page, in RSS too), a complete ``atom:source`` (id, title, links,
updated); the feed's paging (RFC 5005) and WebSub links; each RSS item's
``<enclosure>``. A story's picture goes out as ``media:thumbnail`` (and
``itunes:image`` on an RSS episode). JSON Feed is a plain dict dumped as JSON.

The documents are byte for byte what feedgen 1.0 wrote, completed by lxml, before
(tests/data/golden): the same elements in the same order, dates as feedgen wrote them
(Atom's ``isoformat()``, RSS's RFC 822 date in English), an element feedgen wrote with
an empty text written empty (``<summary/>``).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from lxml import etree

from aggregator.text import http_url, strip_illegal_xml
from aggregator.types import Enclosure, Outlet, OutputFeed, StoryView
from aggregator.version import __version__

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"  # Media RSS: media:thumbnail
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"  # itunes:image
GENERATOR_URI = "https://github.com/aggregator/aggregator"
STORY_REL = "describedby"  # the link from an entry to its story's page (_story_link)
STORY_LINK_TITLE = "Every outlet of this story"
_A = f"{{{ATOM_NS}}}"
#: the type a format that requires one (RSS, JSON Feed) gets for a file of unknown type
UNKNOWN_TYPE = "application/octet-stream"


def _text(value: str | None) -> str:
    return strip_illegal_xml(value or "").strip()


@lru_cache(maxsize=4096)  # an outlet's URLs recur in every story it carries
def _url(value: str | None) -> str:
    """A URL we republish: absolute http(s), else "" (text.http_url)."""
    return http_url(value) or ""


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _outlet_link(outlet: Outlet) -> str:
    name = html.escape(_text(outlet.source_title) or outlet.source_name)
    href = _url(outlet.item_url) or _url(outlet.site_url)
    return f'<a href="{html.escape(href)}">{name}</a>' if href else name


def attribution_html(story: StoryView) -> str:
    """The human line readers see even when their reader ignores links, e.g.
    "Originally published by Известия · also carried by Turantimes.kz, Kazinform"."""
    lead = "Originally published by" if story.representative_is_original else "Published by"
    line = f"{lead} {_outlet_link(story.representative)}"
    if story.others:
        line += " · also carried by " + ", ".join(_outlet_link(o) for o in story.others)
    if story.credited_origin:
        line += " · credited to " + html.escape(_text(story.credited_origin))
    if story.others and _url(story.page_url):
        line += (f' · <a href="{html.escape(_url(story.page_url))}">compare the '
                 f"{len(story.others) + 1} copies</a>")
    return f'<p class="attribution">{line}</p>'


def enclosures(story: StoryView) -> list[Enclosure]:
    """The story's enclosures we republish: absolute http(s) URLs only."""
    return [e for e in story.enclosures if _url(e.url)]


def rss_enclosure(story: StoryView) -> Enclosure | None:
    """The one enclosure RSS 2.0 allows: the first audio or video, else the first."""
    found = enclosures(story)
    return next((e for e in found if e.is_playable), found[0] if found else None)


def _episode(story: StoryView) -> Enclosure | None:
    """The audio or video a podcast client would take from the story's RSS item."""
    enclosure = rss_enclosure(story)
    return enclosure if enclosure is not None and enclosure.is_playable else None


def _media_namespaces(stories: Sequence[StoryView], itunes: bool) -> dict[str, str]:
    """The namespaces the stories' pictures and episodes need: none for stories without
    either, so such a feed is what it was before media were published."""
    namespaces = {"media": MEDIA_NS} if any(_url(s.image_url) for s in stories) else {}
    if itunes and any((episode := _episode(s)) and (episode.duration or _url(s.image_url))
                      for s in stories):
        namespaces["itunes"] = ITUNES_NS
    return namespaces


def _add_picture(entry: etree._Element, story: StoryView, itunes: bool = False) -> None:
    """The story's picture as ``media:thumbnail`` (what Miniflux, FreshRSS, Inoreader
    and podcastparser read), and in RSS for an episode also as ``itunes:image`` (what
    podcast apps show as the episode's art)."""
    image = _url(story.image_url)
    if not image:
        return
    etree.SubElement(entry, f"{{{MEDIA_NS}}}thumbnail", url=image)
    if itunes and _episode(story):
        etree.SubElement(entry, f"{{{ITUNES_NS}}}image", href=image)


def _add_element(parent: etree._Element, tag: str, text: str | None = None,
                 **attributes: str) -> etree._Element:
    """An Atom element; an attribute only when not empty, the text even when empty."""
    element = etree.SubElement(parent, _A + tag, {k: v for k, v in attributes.items() if v})
    if text is not None:
        element.text = text
    return element


def _element(parent: etree._Element, tag: str, text: str | None = None,
             attributes: dict[str, str] | None = None) -> etree._Element:
    """An element written as the feedgen of the documents before wrote it: its
    attributes in the given order, even empty ones; an empty text written as none."""
    element = etree.SubElement(parent, tag, attributes)
    if text:
        element.text = text
    return element


def _required(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"Required fields not set ({what})")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("Datetime object has no timezone info")
    return value


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _rfc822(value: datetime) -> str:
    """``Tue, 24 Nov 2026 09:00:00 +0000`` (RSS 2.0's date): English names whatever the
    locale, the offset as strftime's %z writes it."""
    value = _aware(value)
    return (f"{_DAYS[value.weekday()]}, {value:%d} {_MONTHS[value.month - 1]}"
            f" {value:%Y %H:%M:%S %z}")


def _story_link(parent: etree._Element, story: StoryView) -> None:
    """The story's page, as ``atom:link rel="describedby"`` (RFC 4287 allows any IANA
    link relation): "a resource providing information about the link's context", here
    every outlet of the entry, when each carried it, and how their copies differ. Not
    ``alternate`` (the original article: one per type), not ``related`` (each other
    outlet's copy), not ``via`` (where the entry's content came from: the outlet)."""
    if _url(story.page_url):
        _add_element(parent, "link", rel=STORY_REL, href=_url(story.page_url),
                     type="text/html", title=STORY_LINK_TITLE)


def _complete_entry(entry: etree._Element, story: StoryView) -> None:
    """What follows an entry's own fields: its media, the other outlets' copies, the
    story's page and its ``atom:source``."""
    for enclosure in enclosures(story):
        _add_element(entry, "link", rel="enclosure", href=enclosure.url,
                     type=enclosure.media_type or "",
                     length=str(enclosure.length) if enclosure.length else "")
    _add_picture(entry, story)
    for outlet in story.others:
        if _url(outlet.item_url):
            _add_element(entry, "link", rel="related", href=_url(outlet.item_url),
                         title=_text(outlet.source_title), type="text/html")
    _story_link(entry, story)
    rep = story.representative
    source = _add_element(entry, "source")
    _add_element(source, "id", _text(rep.feed_id))
    _add_element(source, "title", _text(rep.source_title))
    if _url(rep.feed_url):
        _add_element(source, "link", rel="self", href=_url(rep.feed_url))
    if _url(rep.site_url):
        _add_element(source, "link", rel="alternate", href=_url(rep.site_url), type="text/html")
    _add_element(source, "updated", _iso(rep.feed_updated))


def _feed_links(feed: OutputFeed) -> list[tuple[str, str]]:
    """(rel, href) of the feed's hub and paging links."""
    links = [("hub", feed.hub_url), ("first", feed.first_url), ("next", feed.next_url),
             ("previous", feed.previous_url)]
    return [(rel, href) for rel, href in links if href]


def _add_feed_links(parent: etree._Element, feed: OutputFeed) -> None:
    """The paging and hub links as atom:link, before the first entry (Atom and RSS)."""
    for rel, href in _feed_links(feed):
        etree.SubElement(parent, _A + "link", {"rel": rel, "href": href})


def _serialize(root: etree._Element) -> bytes:
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def render_atom(feed: OutputFeed, stories: Sequence[StoryView]) -> bytes:
    """An Atom 1.0 document with one entry per story, newest first."""
    nsmap: dict[str | None, str] = {None: ATOM_NS}
    nsmap.update(_media_namespaces(stories, itunes=False))
    # the stubs say Mapping[str, str]; lxml takes None for the default namespace (Atom's)
    root = etree.Element(_A + "feed", nsmap=cast(dict[str, str], nsmap))
    _element(root, _A + "id", _required(_text(feed.feed_id), "id"))
    _element(root, _A + "title", _required(_text(feed.title) or feed.name, "title"))
    _element(root, _A + "updated", _aware(feed.updated).isoformat())
    author = etree.SubElement(root, _A + "author")
    _element(author, _A + "name", _text(feed.author) or "aggregator")
    _element(root, _A + "link", None, {"href": feed.self_url, "rel": "self",
                                       "type": "application/atom+xml"})
    _element(root, _A + "link", None, {"href": feed.site_url, "rel": "alternate",
                                       "type": "text/html"})
    _element(root, _A + "generator", "aggregator", {"uri": GENERATOR_URI,
                                                    "version": __version__})
    if subtitle := _text(feed.description):
        _element(root, _A + "subtitle", subtitle)
    _add_feed_links(root, feed)
    for story in stories:
        _atom_entry(root, story)
    return _serialize(root)


def _atom_entry(root: etree._Element, story: StoryView) -> None:
    entry = etree.SubElement(root, _A + "entry")
    _element(entry, _A + "id", _required(_text(story.uid), "id"))
    _element(entry, _A + "title", _text(story.title) or "Untitled")
    _element(entry, _A + "updated", _aware(story.updated_at).isoformat())
    if story.author and (author := _text(story.author)):
        _element(etree.SubElement(entry, _A + "author"), _A + "name", author)
    _element(entry, _A + "content", _text(story.content_html) + attribution_html(story),
             {"type": "html"})
    if url := _url(story.url):  # alternate, the default (no rel, as feedgen wrote it)
        _element(entry, _A + "link", None, {"href": url})
    if story.summary_text:
        _element(entry, _A + "summary", _text(story.summary_text))
    for term in story.categories:
        if term := _text(term):
            _element(entry, _A + "category", None, {"term": term})
    _element(entry, _A + "published", _aware(story.published_at).isoformat())
    _complete_entry(entry, story)


def render_rss(feed: OutputFeed, stories: Sequence[StoryView]) -> bytes:
    """An RSS 2.0 document: the same stories and ids (as non-permalink guids)."""
    nsmap = {"atom": ATOM_NS, "content": "http://purl.org/rss/1.0/modules/content/"}
    nsmap.update(_media_namespaces(stories, itunes=True))
    root = etree.Element("rss", {"version": "2.0"}, nsmap=nsmap)
    channel = etree.SubElement(root, "channel")
    title = _text(feed.title) or feed.name
    _element(channel, "title", _required(title, "title"))
    # the channel's link is the output's page
    _element(channel, "link", _required(feed.page_url or feed.site_url, "link"))
    _element(channel, "description", _required(_text(feed.description) or title,
                                               "description"))
    _element(channel, _A + "link", None, {"href": feed.self_url, "rel": "self"})
    _element(channel, "generator", "aggregator " + __version__)
    if feed.language:
        _element(channel, "language", feed.language)
    _element(channel, "lastBuildDate", _rfc822(feed.updated))
    _add_feed_links(channel, feed)
    for story in stories:
        _rss_item(channel, story)
    return _serialize(root)


def _rss_item(channel: etree._Element, story: StoryView) -> None:
    item = etree.SubElement(channel, "item")
    _element(item, "title", _text(story.title) or "Untitled")
    if url := _url(story.url):
        _element(item, "link", url)
    _element(item, "description", _text(story.content_html) + attribution_html(story))
    if uid := _text(story.uid):
        _element(item, "guid", uid, {"isPermaLink": "false"})
    for term in story.categories:
        if term := _text(term):
            _element(item, "category", term)
    _element(item, "pubDate", _rfc822(story.published_at))
    rep = story.representative
    _element(item, "source", _text(rep.source_title) or rep.source_name,
             {"url": _text(rep.feed_url)})
    _complete_item(item, story)
    _story_link(item, story)


def _complete_item(item: etree._Element, story: StoryView) -> None:
    """An RSS item's ``<enclosure>`` (url, length, type: RSS 2.0 requires all three, so
    an unknown length is 0 and an unknown type UNKNOWN_TYPE), the episode's
    ``itunes:duration`` in seconds, and the picture."""
    enclosure = rss_enclosure(story)
    if enclosure is not None:
        etree.SubElement(item, "enclosure", url=enclosure.url,
                         length=str(enclosure.length or 0),
                         type=enclosure.media_type or UNKNOWN_TYPE)
        if enclosure.is_playable and enclosure.duration:  # podcast apps show it
            etree.SubElement(item, f"{{{ITUNES_NS}}}duration").text = str(enclosure.duration)
    _add_picture(item, story, itunes=True)


def _attachment(enclosure: Enclosure) -> dict[str, Any]:
    attachment: dict[str, Any] = {"url": enclosure.url,
                                  "mime_type": enclosure.media_type or UNKNOWN_TYPE}
    if enclosure.length:
        attachment["size_in_bytes"] = enclosure.length
    if enclosure.duration:
        attachment["duration_in_seconds"] = enclosure.duration
    return attachment


def _outlet_json(outlet: Outlet) -> dict[str, Any]:
    return {"name": _text(outlet.source_title), "feed_url": _url(outlet.feed_url) or None,
            "home_page_url": _url(outlet.site_url) or None, "url": _url(outlet.item_url) or None}


def render_json(feed: OutputFeed, stories: Sequence[StoryView]) -> bytes:
    """A JSON Feed 1.1 document. Attribution goes in the ``_aggregator`` extension."""
    document: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": _text(feed.title) or feed.name,
        "home_page_url": feed.site_url,
        "feed_url": feed.self_url,
        "authors": [{"name": _text(feed.author) or "aggregator"}],
    }
    if feed.description:
        document["description"] = _text(feed.description)
    if feed.language:
        document["language"] = feed.language
    if feed.next_url:
        document["next_url"] = feed.next_url
    if feed.hub_url:
        document["hubs"] = [{"type": "WebSub", "url": feed.hub_url}]
    items = []
    for story in stories:
        item: dict[str, Any] = {
            "id": _text(story.uid),
            "title": _text(story.title) or "Untitled",
            "content_html": _text(story.content_html) + attribution_html(story),
            "date_published": _iso(story.published_at),
            "date_modified": _iso(story.updated_at),
        }
        if _url(story.url):
            item["url"] = _url(story.url)
        if story.summary_text:
            item["summary"] = _text(story.summary_text)
        if story.author:
            item["authors"] = [{"name": _text(story.author)}]
        if story.categories:
            item["tags"] = [t for t in (_text(c) for c in story.categories) if t]
        if _url(story.image_url):
            item["image"] = _url(story.image_url)
        if attached := enclosures(story):
            item["attachments"] = [_attachment(e) for e in attached]
        item["_aggregator"] = {
            "source": _outlet_json(story.representative),
            "also_carried_by": [_outlet_json(o) for o in story.others],
        }
        if _url(story.page_url):  # ``url`` stays the article, as Atom's alternate link
            item["_aggregator"]["story_page"] = _url(story.page_url)
        items.append(item)
    document["items"] = items
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
