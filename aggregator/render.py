"""The feedgen adapter: an output and its stories -> Atom 1.0 bytes (RFC 4287).

Pure and deterministic: every date is set explicitly, so the same data renders the
same bytes (and so the same ETag). feedgen 1.0.0 drops every attribute but ``href``
from entry links and writes only title and link into ``atom:source``, so after
feedgen has written the document, lxml adds each entry's ``link rel="related"``
(one per other outlet) and a complete ``atom:source`` (id, title, links, updated).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from feedgen.feed import FeedGenerator
from lxml import etree

from aggregator import __version__
from aggregator.normalize import strip_illegal_xml
from aggregator.types import Outlet, OutputFeed, StoryView

ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR_URI = "https://github.com/aggregator/aggregator"
_A = f"{{{ATOM_NS}}}"


def _text(value: str | None) -> str:
    return strip_illegal_xml(value or "").strip()


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _outlet_link(outlet: Outlet) -> str:
    name = html.escape(_text(outlet.source_title) or outlet.source_name)
    href = _text(outlet.item_url or outlet.site_url)
    return f'<a href="{html.escape(href)}">{name}</a>' if href else name


def attribution_html(story: StoryView) -> str:
    """The human line readers see even when their reader ignores links."""
    line = f"Published by {_outlet_link(story.representative)}"
    if story.others:
        line += " · also carried by " + ", ".join(_outlet_link(o) for o in story.others)
    return f'<p class="attribution">{line}</p>'


def _add_element(parent: etree._Element, tag: str, text: str | None = None,
                 **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, _A + tag, {k: v for k, v in attributes.items() if v})
    if text is not None:
        element.text = text
    return element


def _complete_entry(entry: etree._Element, story: StoryView) -> None:
    for outlet in story.others:
        if outlet.item_url:
            _add_element(entry, "link", rel="related", href=_text(outlet.item_url),
                         title=_text(outlet.source_title), type="text/html")
    rep = story.representative
    source = _add_element(entry, "source")
    _add_element(source, "id", _text(rep.feed_id))
    _add_element(source, "title", _text(rep.source_title))
    _add_element(source, "link", rel="self", href=_text(rep.feed_url))
    if rep.site_url:
        _add_element(source, "link", rel="alternate", href=_text(rep.site_url), type="text/html")
    _add_element(source, "updated", _iso(rep.feed_updated))


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
        if story.url:
            entry.link(href=_text(story.url))
        if story.author:
            entry.author(name=_text(story.author))
        body = _text(story.content_html) + attribution_html(story)
        entry.content(body, type="html")
        if story.summary_text:
            entry.summary(_text(story.summary_text))
        for term in story.categories:
            if _text(term):
                entry.category(term=_text(term))
    root = etree.fromstring(generator.atom_str(pretty=False))
    for element, story in zip(root.iterfind(_A + "entry"), stories, strict=True):
        _complete_entry(element, story)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"
