"""Outputs as subscribers get them: three formats, paging, WebSub, a static site."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import feedparser
import jsonschema
from lxml import etree

from aggregator.clock import utc_now
from aggregator.config import load_config, parse_config
from aggregator.service import Service
from aggregator.site import render_output_feeds, render_site, select_stories
from aggregator.store import Store
from aggregator.update import update_sources
from tests.conftest import ATOM_RNG, write_config
from tests.feedserver import FeedServer, Route
from tests.test_render import STORY

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
JSON_SCHEMA = json.loads((Path(__file__).parent / "data/jsonfeed-1.1.schema.json").read_text())
CONFIG = parse_config("""\
settings:
  base_url: https://feeds.example.org/
  websub_hub: https://hub.example.org/
outputs:
  - name: all
    title: All stories
    description: Все новости
    limit: 2
""")
STORIES = [replace(STORY, uid=f"urn:uuid:0000000{i}-0000-0000-0000-000000000000",
                   title=f"Story {i}", published_at=STORY.published_at - timedelta(hours=i))
           for i in range(5)]


def _by_path(stories=STORIES):  # type: ignore[no-untyped-def]
    return {f.path: f for f in render_output_feeds(CONFIG, CONFIG.outputs[0], stories)}


def test_every_format_has_the_same_stories_and_ids() -> None:
    feeds = _by_path()
    atom = etree.fromstring(feeds["feeds/all.atom"].body)
    assert SCHEMA.validate(etree.ElementTree(atom)), SCHEMA.error_log
    atom_ids = [e.findtext(f"{ATOM}id") for e in atom.iter(f"{ATOM}entry")]
    rss = feedparser.parse(feeds["feeds/all.rss"].body)
    assert rss.bozo == 0 and rss.version == "rss20"
    document = json.loads(feeds["feeds/all.json"].body)
    jsonschema.validate(document, JSON_SCHEMA)
    assert atom_ids == [e.id for e in rss.entries] == [i["id"] for i in document["items"]]
    assert atom_ids == [STORIES[0].uid, STORIES[1].uid]
    assert rss.entries[0].source.title == "Известия"
    assert document["items"][0]["_aggregator"]["source"]["name"] == "Известия"
    assert [o["name"] for o in document["items"][0]["_aggregator"]["also_carried_by"]] == [
        "Kazinform", "Turantimes.kz"]
    assert "also carried by" in document["items"][0]["content_html"]
    assert feeds["feeds/all.json"].media_type == "application/feed+json; charset=utf-8"
    assert feeds["feeds/all.rss"].media_type == "application/rss+xml; charset=utf-8"


def test_an_output_longer_than_its_limit_is_paged_rfc5005() -> None:
    feeds = _by_path()
    assert sorted(feeds) == sorted(f"feeds/all{p}.{x}" for p in ("", ".page2", ".page3")
                                   for x in ("atom", "rss", "json"))
    pages = [etree.fromstring(feeds[p].body) for p in ("feeds/all.atom", "feeds/all.page2.atom",
                                                       "feeds/all.page3.atom")]
    base = "https://feeds.example.org/feeds/"

    def link(root, rel):  # type: ignore[no-untyped-def]
        found = root.find(f"{ATOM}link[@rel='{rel}']")
        return None if found is None else found.get("href")

    assert [link(p, "next") for p in pages] == [base + "all.page2.atom", base + "all.page3.atom",
                                                None]
    assert [link(p, "previous") for p in pages] == [None, base + "all.atom",
                                                    base + "all.page2.atom"]
    assert {link(p, "first") for p in pages} == {base + "all.atom"}
    assert link(pages[1], "self") == base + "all.page2.atom"
    assert len({p.findtext(f"{ATOM}id") for p in pages}) == 1  # one feed, several pages
    assert [len(p.findall(f"{ATOM}entry")) for p in pages] == [2, 2, 1]
    for page in pages:
        assert SCHEMA.validate(etree.ElementTree(page)), SCHEMA.error_log
    assert json.loads(feeds["feeds/all.json"].body)["next_url"] == base + "all.page2.json"
    rss = etree.fromstring(feeds["feeds/all.rss"].body)
    assert rss.find(f"channel/{ATOM}link[@rel='next']").get("href") == base + "all.page2.rss"


def test_a_short_output_has_no_paging_links() -> None:
    feeds = _by_path(STORIES[:2])
    assert sorted(feeds) == ["feeds/all.atom", "feeds/all.json", "feeds/all.rss"]
    root = etree.fromstring(feeds["feeds/all.atom"].body)
    assert root.find(f"{ATOM}link[@rel='next']") is None
    assert root.find(f"{ATOM}link[@rel='first']") is None


def test_websub_hub_and_self_links_in_every_format() -> None:
    feeds = _by_path()
    atom = etree.fromstring(feeds["feeds/all.atom"].body)
    assert atom.find(f"{ATOM}link[@rel='hub']").get("href") == "https://hub.example.org/"
    assert atom.find(f"{ATOM}link[@rel='self']").get("href") == \
        "https://feeds.example.org/feeds/all.atom"
    rss = etree.fromstring(feeds["feeds/all.rss"].body)
    assert rss.find(f"channel/{ATOM}link[@rel='hub']").get("href") == "https://hub.example.org/"
    assert rss.find(f"channel/{ATOM}link[@rel='self']").get("href") == \
        "https://feeds.example.org/feeds/all.rss"
    assert json.loads(feeds["feeds/all.json"].body)["hubs"] == [
        {"type": "WebSub", "url": "https://hub.example.org/"}]


def test_rendering_is_deterministic_in_every_format() -> None:
    first, second = _by_path(), _by_path()
    assert {p: f.etag for p, f in first.items()} == {p: f.etag for p, f in second.items()}


def _fetched_store(tmp_path: Path, store: Store, feed_server: FeedServer,
                   outputs: str) -> tuple:  # type: ignore[type-arg]
    config = load_config(write_config(tmp_path, {
        "news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "wire": feed_server.serve_file("/atom.xml", "atom.xml", "application/atom+xml")},
        outputs=outputs, settings={"websub_hub": feed_server.url("/hub")},
        tags={"news": ["en"], "wire": ["en", "wire"]}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config)
    return config, store


def test_select_stories_applies_the_rules_from_feeds_yaml(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config, _ = _fetched_store(tmp_path, store, feed_server, """outputs:
  - name: shared
    title: Carried by two
    min_outlets: 2
  - name: wire
    title: Wire only, no markets
    tags: [wire]
    exclude:
      - field: title
        keywords: markets""")
    now = utc_now()
    shared = select_stories(store, config, config.outputs[0], now)
    assert [s.story.title for s in shared.selected] == ["Rates unchanged again"]
    wire = select_stories(store, config, config.outputs[1], now)
    assert [s.story.title for s in wire.selected] == ["Rates unchanged again"]
    assert ("exclude title: keywords 'markets'", 1) in wire.dropped


def test_the_service_pings_the_hub_only_for_feeds_that_changed(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/hub"] = Route(status=204)
    config, _ = _fetched_store(tmp_path, store, feed_server,
                               "outputs:\n  - name: all\n    title: All")
    service = Service(str(tmp_path / "feeds.yaml"), config, store)
    service.start()
    try:
        feed_server.posts.clear()
        service.publish()  # nothing changed since start: no ping
        time.sleep(0.5)
        assert feed_server.posts == []
        feed_server.serve("/rss2.xml", (Path(__file__).parent / "data/feeds/rss2.xml")
                          .read_bytes().replace(b"Storm expected", b"Storm now expected"))
        update_sources(store, config)
        service.publish()
        deadline = time.monotonic() + 10
        while len(feed_server.posts) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        service.stop()
    topics = sorted(body.decode() for _, body in feed_server.posts)
    base = "http%3A%2F%2F127.0.0.1%3A8080%2Ffeeds%2Fall."
    assert topics == [f"hub.mode=publish&hub.url={base}{x}" for x in ("atom", "json", "rss")]


def test_the_site_has_every_file_a_reader_or_a_browser_needs(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config, _ = _fetched_store(tmp_path, store, feed_server,
                               "outputs:\n  - name: all\n    title: All")
    files = render_site(store, config, utc_now())
    stories = select_stories(store, config, config.outputs[0], utc_now()).stories
    pages = sorted(f"stories/{s.uid.removeprefix('urn:uuid:')}.html" for s in stories)
    assert len(pages) == len(stories) > 1
    assert sorted(files) == ["404.html", "feeds/all.atom", "feeds/all.html", "feeds/all.json",
                             "feeds/all.rss", "index.html", "sources.opml", *pages]
    index = files["index.html"].body.decode()
    assert 'href="http://127.0.0.1:8080/feeds/all.atom"' in index
    opml = etree.fromstring(files["sources.opml"].body)
    assert sorted(o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")) == [
        feed_server.url("/atom.xml"), feed_server.url("/rss2.xml")]
    page = files["feeds/all.html"].body.decode()
    assert "Rates unchanged again" in page and "also carried by" in page
    assert files["sources.opml"].media_type == "text/x-opml; charset=utf-8"


def test_an_unchanged_story_page_is_reused_and_a_changed_one_rendered_again() -> None:
    from aggregator.publish.pages import SiteInfo
    from aggregator.site import StoryPages

    site = SiteInfo("t", "https://feeds.example.org/")
    pages = StoryPages()
    first = {f.path: f for f in pages.render(site, STORIES + STORIES[:2])}  # once each
    assert len(first) == len(STORIES)
    path = "stories/00000000-0000-0000-0000-000000000000.html"
    again = {f.path: f for f in pages.render(site, [replace(s) for s in STORIES])}
    assert all(again[p] is first[p] for p in first)  # equal stories: the same files
    changed = [replace(STORIES[0], title="Story 0, corrected"), *STORIES[1:]]
    third = {f.path: f for f in pages.render(site, changed)}
    assert third[path] is not first[path] and b"Story 0, corrected" in third[path].body
    assert all(third[p] is first[p] for p in first if p != path)
    assert pages.render(site, []) == []  # what no output publishes any more is let go
    assert pages.render(site, STORIES[:1])[0] is not first[path]


def test_an_output_rendered_from_the_same_inputs_is_not_rendered_again() -> None:
    """A publish of an output whose stories and settings did not change (the minute's
    re-render of an output with max_age, a poll that changed nothing it shows) reuses
    the files of the last rendering; any change renders it again, and the bytes are
    those of a rendering from scratch."""
    from aggregator.site import OutputFiles

    output, first = CONFIG.outputs[0], STORY.published_at
    files = OutputFiles()
    rendered = files.render(CONFIG, output, STORIES, first_published=first)
    again = files.render(CONFIG, output, [replace(s) for s in STORIES], first_published=first)
    assert again is rendered
    changed = [replace(STORIES[0], title="Story 0, corrected"), *STORIES[1:]]
    moved = CONFIG.model_copy(update={"settings": CONFIG.settings.model_copy(
        update={"base_url": "https://elsewhere.example.org/"})})
    for config, stories, when in ((CONFIG, changed, first), (moved, STORIES, first),
                                  (CONFIG, STORIES, first + timedelta(days=1)),
                                  (CONFIG, STORIES[:3], first)):
        fresh = files.render(config, config.outputs[0], stories, first_published=when)
        assert fresh is not rendered
        expected = OutputFiles().render(config, config.outputs[0], stories,
                                        first_published=when)
        assert [f.body for f in fresh[0]] == [f.body for f in expected[0]]
        assert fresh[1:] == expected[1:]
        rendered = fresh


def test_a_private_subscription_list_is_neither_published_nor_linked(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config, _ = _fetched_store(tmp_path, store, feed_server,
                               "outputs:\n  - name: all\n    title: All")
    public = render_site(store, config, utc_now())
    private = render_site(store, config.model_copy(update={
        "settings": config.settings.model_copy(update={"publish_sources": False})}), utc_now())
    assert "sources.opml" in public and "sources.opml" not in private
    assert set(public) - set(private) == {"sources.opml"}
    for path in ("index.html", "feeds/all.html"):
        assert "sources.opml" in public[path].body.decode()
        page = private[path].body.decode()
        assert "sources.opml" not in page and "OPML" not in page
        assert "with aggregator" in page  # the footer is still there
    assert private["feeds/all.atom"].body == public["feeds/all.atom"].body
