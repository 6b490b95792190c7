"""The feedgen adapter: an output and its stories -> Atom 1.0 (RFC 4287), RSS 2.0 and
JSON Feed 1.1 bytes.

Pure and deterministic: every date is set explicitly, so the same data renders the
same bytes (and so the same ETag). feedgen 1.0.0 drops every attribute but ``href``
from entry links and writes only title and link into ``atom:source``, so after
feedgen has written the document, lxml adds each entry's ``link rel="related"``
(one per other outlet), ``link rel="enclosure"`` (with type and length) and
``link rel="describedby"`` (the story's page, in RSS too), a complete ``atom:source``
(id, title, links, updated), and the feed's paging (RFC 5005) and WebSub links; and each
RSS item's ``<enclosure>``. A story's picture goes out as ``media:thumbnail`` (and
``itunes:image`` on an RSS episode). feedgen has no JSON Feed writer: that one is a plain
dict dumped as JSON.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from feedgen.feed import FeedGenerator
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


def _with_namespaces(root: etree._Element, namespaces: dict[str, str]) -> etree._Element:
    """``root`` with ``namespaces`` declared on it (lxml cannot add a declaration to an
    element that exists: the children move to a copy), so extension elements below it
    share one prefix instead of repeating the declaration on each."""
    missing = {prefix: uri for prefix, uri in namespaces.items()
               if root.nsmap.get(prefix) != uri}
    if not missing:
        return root
    nsmap: dict[str | None, str] = dict(root.nsmap)
    nsmap.update(missing)
    # the stubs say Mapping[str, str]; lxml takes None for the default namespace (Atom's)
    copy = etree.Element(root.tag, {str(k): str(v) for k, v in root.attrib.items()},
                         nsmap=cast(dict[str, str], nsmap))
    copy.text = root.text
    copy.extend(list(root))
    return copy


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
    element = etree.SubElement(parent, _A + tag, {k: v for k, v in attributes.items() if v})
    if text is not None:
        element.text = text
    return element


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
    # feedgen 1.0 writes an enclosure link without its type and length: written here
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
    """(rel, href) of the feed-level links feedgen does not write itself."""
    links = [("hub", feed.hub_url), ("first", feed.first_url), ("next", feed.next_url),
             ("previous", feed.previous_url)]
    return [(rel, href) for rel, href in links if href]


def _insert_feed_links(parent: etree._Element, feed: OutputFeed, entry_tag: str) -> None:
    """Add the paging and hub links as atom:link, before the first entry (Atom and RSS)."""
    first_entry = parent.find(entry_tag)
    for rel, href in _feed_links(feed):
        link = etree.Element(_A + "link", {"rel": rel, "href": href})
        if first_entry is not None:
            first_entry.addprevious(link)
        else:
            parent.append(link)


def render_atom(feed: OutputFeed, stories: Sequence[StoryView]) -> bytes:
    """An Atom 1.0 document with one entry per story, newest first."""
    generator = FeedGenerator()
    generator.id(_text(feed.feed_id))
    generator.title(_text(feed.title) or feed.name)
    if feed.description:
        generator.subtitle(_text(feed.description))
    generator.link(href=feed.self_url, rel="self", type="application/atom+xml")
    generator.link(href=feed.site_url, rel="alternate", type="text/html")
    generator.author(name=_text(feed.author) or "aggregator")
    generator.generator("aggregator", version=__version__, uri=GENERATOR_URI)
    generator.updated(feed.updated)
    for story in stories:
        entry = generator.add_entry(order="append")
        entry.id(_text(story.uid))
        entry.title(_text(story.title) or "Untitled")
        entry.updated(story.updated_at)
        entry.published(story.published_at)
        if _url(story.url):
            entry.link(href=_url(story.url))
        if story.author:
            entry.author(name=_text(story.author))
        body = _text(story.content_html) + attribution_html(story)
        entry.content(body, type="html")
        if story.summary_text:
            entry.summary(_text(story.summary_text))
        for term in story.categories:
            if _text(term):
                entry.category(term=_text(term))
    root = _with_namespaces(etree.fromstring(generator.atom_str(pretty=False)),
                            _media_namespaces(stories, itunes=False))
    _insert_feed_links(root, feed, _A + "entry")
    for element, story in zip(root.iterfind(_A + "entry"), stories, strict=True):
        _complete_entry(element, story)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def render_rss(feed: OutputFeed, stories: Sequence[StoryView]) -> bytes:
    """An RSS 2.0 document: the same stories and ids (as non-permalink guids)."""
    generator = FeedGenerator()
    generator.title(_text(feed.title) or feed.name)
    generator.description(_text(feed.description) or _text(feed.title) or feed.name)
    # feedgen makes the channel's <link> of the last link given: the page goes last
    generator.link(href=feed.self_url, rel="self")
    generator.link(href=feed.page_url or feed.site_url, rel="alternate")
    generator.generator("aggregator " + __version__, uri=GENERATOR_URI)
    generator.lastBuildDate(feed.updated)
    if feed.language:
        generator.language(feed.language)
    for story in stories:
        entry = generator.add_entry(order="append")
        entry.guid(_text(story.uid), permalink=False)
        entry.title(_text(story.title) or "Untitled")
        if _url(story.url):
            entry.link(href=_url(story.url))
        entry.description(_text(story.content_html) + attribution_html(story))
        entry.pubDate(story.published_at)
        for term in story.categories:
            if _text(term):
                entry.category(term=_text(term))
        rep = story.representative
        entry.source(url=_text(rep.feed_url), title=_text(rep.source_title) or rep.source_name)
    root = _with_namespaces(etree.fromstring(generator.rss_str(pretty=False)),
                            _media_namespaces(stories, itunes=True))
    channel = root.find("channel")
    assert channel is not None
    for element in channel.findall("docs"):
        channel.remove(element)
    _insert_feed_links(channel, feed, "item")
    for element, story in zip(channel.iterfind("item"), stories, strict=True):
        _complete_item(element, story)
        _story_link(element, story)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


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
