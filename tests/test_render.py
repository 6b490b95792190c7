"""Atom output tested on the XML it writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import feedparser
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.publish.render import render_atom, render_rss
from aggregator.types import Enclosure, Outlet, OutputFeed, StoryView
from tests.conftest import ATOM_RNG

ATOM = "{http://www.w3.org/2005/Atom}"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SCHEMA = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
RENDERED = Path(__file__).parent / "data" / "render"

FEED = OutputFeed(name="all", title="All stories", description="Everything",
                  feed_id="urn:uuid:00000000-0000-0000-0000-000000000001",
                  self_url="http://127.0.0.1:8080/feeds/all.atom",
                  site_url="http://127.0.0.1:8080/", updated=T0, author="aggregator")
IZ = Outlet("izvestia", "Известия", "https://iz.ru/xml/rss/all.xml", "https://iz.ru/",
            "https://iz.ru/", T0, "https://iz.ru/1/tokaev")
TT = Outlet("turantimes", "Turantimes.kz", "https://turantimes.kz/rss", None,
            "https://turantimes.kz/rss", T0, "https://turantimes.kz/news/1")
KZ = Outlet("kazinform", "Kazinform", "https://inform.kz/rss", "https://inform.kz/",
            "tag:inform.kz,2026:feed", T0, "https://inform.kz/ru/1")
STORY = StoryView(uid="urn:uuid:11111111-2222-3333-4444-555555555555",
                  title="Статью Токаева опубликовала российская газета",
                  url="https://iz.ru/1/tokaev", content_html="<p>Текст статьи</p>",
                  summary_text="Текст статьи", author="Иван Петров", published_at=T0,
                  updated_at=T0, representative=IZ, others=(KZ, TT), categories=("Политика",))


def _parse(body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    assert SCHEMA.validate(etree.ElementTree(root)), SCHEMA.error_log
    return root


def test_the_output_is_valid_atom_with_complete_attribution() -> None:
    root = _parse(render_atom(FEED, [STORY]))
    assert root.findtext(f"{ATOM}id") == FEED.feed_id
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == FEED.self_url
    assert root.findtext(f"{ATOM}updated") == "2026-11-24T09:00:00+00:00" or \
        root.findtext(f"{ATOM}updated").startswith("2026-11-24T09:00:00")
    entry = root.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}id") == STORY.uid
    alternate = entry.findall(f"{ATOM}link[@href='https://iz.ru/1/tokaev']")
    assert len(alternate) == 1 and alternate[0].get("rel") in (None, "alternate")
    related = [(link.get("href"), link.get("title"), link.get("rel"))
               for link in entry.findall(f"{ATOM}link[@rel='related']")]
    assert related == [("https://inform.kz/ru/1", "Kazinform", "related"),
                       ("https://turantimes.kz/news/1", "Turantimes.kz", "related")]
    source = entry.find(f"{ATOM}source")
    assert source.findtext(f"{ATOM}id") == "https://iz.ru/"
    assert source.findtext(f"{ATOM}title") == "Известия"
    assert source.findtext(f"{ATOM}updated") == "2026-11-24T09:00:00Z"
    assert source.find(f"{ATOM}link[@rel='self']").get("href") == IZ.feed_url
    content = entry.find(f"{ATOM}content")
    assert content.get("type") == "html"
    assert "Published by <a href=\"https://iz.ru/1/tokaev\">Известия</a>" in content.text
    assert "also carried by" in content.text and "Turantimes.kz" in content.text


def test_the_same_data_renders_the_same_bytes() -> None:
    assert render_atom(FEED, [STORY]) == render_atom(FEED, [STORY])


def test_entries_keep_the_order_given() -> None:
    second = replace(STORY, uid="urn:uuid:second", title="Second")
    root = _parse(render_atom(FEED, [STORY, second]))
    assert [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")] == [
        STORY.uid, "urn:uuid:second"]


def test_an_empty_output_is_still_valid_atom() -> None:
    root = _parse(render_atom(FEED, []))
    assert root.find(f"{ATOM}entry") is None


def test_feedparser_reads_our_output_back() -> None:
    parsed = feedparser.parse(render_atom(FEED, [STORY]))
    assert parsed.bozo == 0
    assert parsed.entries[0].title == STORY.title
    assert parsed.entries[0].source.title == "Известия"


@settings(max_examples=60, deadline=None)
@given(st.text(), st.text(), st.text())
def test_any_text_in_a_story_renders_well_formed_valid_atom(title: str, body: str,
                                                            source_title: str) -> None:
    story = replace(STORY, title=title, content_html=body, summary_text=body,
                    representative=replace(IZ, source_title=source_title or "x"))
    _parse(render_atom(FEED, [story]))


# ---- the link to the story's page --------------------------------------------------

PAGE = "http://127.0.0.1:8080/stories/11111111-2222-3333-4444-555555555555.html"


def test_every_format_links_the_story_page_and_keeps_the_article_as_the_link() -> None:
    import json

    from aggregator.publish.render import render_json

    story = replace(STORY, page_url=PAGE)
    entry = _parse(render_atom(FEED, [story])).find(f"{ATOM}entry")
    links = [(link.get("rel"), link.get("href"), link.get("type"))
             for link in entry.findall(f"{ATOM}link")]
    assert links[0] == (None, "https://iz.ru/1/tokaev", None)  # alternate: the article
    assert links.count(("describedby", PAGE, "text/html")) == 1
    assert [rel for rel, *_ in links].count("related") == 2  # the other outlets, only
    content = entry.findtext(f"{ATOM}content")
    assert f' · <a href="{PAGE}">compare the 3 copies</a></p>' in content
    parsed = feedparser.parse(render_atom(FEED, [story])).entries[0]
    assert parsed.link == "https://iz.ru/1/tokaev"  # what a reader opens
    item = etree.fromstring(render_rss(FEED, [story])).find("channel/item")
    assert item.findtext("link") == "https://iz.ru/1/tokaev"
    assert [(a.get("rel"), a.get("href")) for a in item.findall(f"{ATOM}link")] == [
        ("describedby", PAGE)]
    assert PAGE in item.findtext("description")
    document = json.loads(render_json(FEED, [story]))["items"][0]
    assert document["url"] == "https://iz.ru/1/tokaev"
    assert document["_aggregator"]["story_page"] == PAGE


def test_no_story_link_without_a_page_or_with_a_page_that_is_not_http() -> None:
    for page in (None, "javascript:alert(1)", "/stories/x.html"):
        story = replace(STORY, page_url=page)
        body = render_atom(FEED, [story]).decode()
        assert "describedby" not in body and "compare the" not in body


def test_a_story_alone_is_linked_but_not_offered_for_comparison() -> None:
    story = replace(STORY, page_url=PAGE, others=())
    entry = _parse(render_atom(FEED, [story])).find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}link[@rel='describedby']").get("href") == PAGE
    assert "compare the" not in entry.findtext(f"{ATOM}content")


# ---- the bytes, pinned -------------------------------------------------------------

EDGE_FEED = replace(FEED, title="  ", description="", author="", hub_url="https://hub.example/",
                    first_url="http://127.0.0.1:8080/feeds/all.atom",
                    next_url="http://127.0.0.1:8080/feeds/all.page3.atom",
                    previous_url="http://127.0.0.1:8080/feeds/all.atom", language="ru",
                    page_url="http://127.0.0.1:8080/feeds/all.html",
                    updated=T0.replace(microsecond=250000))
EDGE_STORIES = [
    replace(STORY, page_url=PAGE, summary_text=" \x01 ", author=" ", categories=("", "a&b"),
            image_url="https://cdn.example/p.jpg", credited_origin="ТАСС <tass>",
            enclosures=(Enclosure("https://cdn.example/e.mp3", "audio/mpeg", 1000, 61),
                        Enclosure("https://cdn.example/p.jpg", None, None, None)),
            published_at=datetime(2026, 11, 24, 12, 0, 1, tzinfo=timezone(timedelta(hours=3)))),
    replace(STORY, uid="urn:uuid:second", title="", url="javascript:x", content_html="a\rb",
            summary_text="", author=None, others=(), representative_is_original=True,
            representative=replace(TT, source_title="", feed_url="")),
]


def test_the_documents_are_the_bytes_feedgen_and_lxml_wrote() -> None:
    """tests/data/render/edge.*: written by feedgen 1.0 then completed by lxml, as before
    render.py built the documents itself (an empty summary written empty, the alternate
    link without rel, Atom dates in isoformat, RSS dates in English RFC 822)."""
    assert render_atom(EDGE_FEED, EDGE_STORIES) == (RENDERED / "edge.atom").read_bytes()
    assert render_rss(EDGE_FEED, EDGE_STORIES) == (RENDERED / "edge.rss").read_bytes()
