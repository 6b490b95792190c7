"""Enclosures and pictures: read from the feed, checked, stored, published in Atom, RSS,
JSON Feed and the HTML pages, and read back from our published feeds by a podcast
client's parser (podcastparser, gPodder's) and by newsboat."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import jsonschema
import podcastparser
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from aggregator.config import load_config
from aggregator.ingest.normalize import (
    MAX_ENCLOSURES,
    MAX_LENGTH,
    MAX_MEDIA_DURATION,
    content_hash,
    duration_seconds,
    media_count,
    media_type,
    media_url,
    normalize_entry,
    normalize_media,
)
from aggregator.ingest.parse import parse_feed
from aggregator.publish.pages import (
    CONTENT_SECURITY_POLICY,
    OutputSummary,
    SiteInfo,
    content_security_policy,
    render_output_page,
)
from aggregator.publish.render import render_atom, render_json, render_rss
from aggregator.site import SiteFile, render_site
from aggregator.store import Store
from aggregator.types import Enclosure, ItemData, ParsedEnclosure, ParsedEntry, StoryView
from aggregator.update import update_sources
from aggregator.web import SiteCache, create_app
from tests.conftest import ATOM_RNG, write_config
from tests.feedserver import FEEDS, FeedServer
from tests.test_render import FEED, STORY

with warnings.catch_warnings():  # starlette now prefers httpx2, which is not a dependency
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
SCHEMA = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
JSON_SCHEMA = json.loads((Path(__file__).parent / "data/jsonfeed-1.1.schema.json").read_text())
EPISODE_URL = "https://traffic.example.net/nightshift/ep042-bakers.mp3?source=rss"
EPISODE_ART = "https://cdn.nightshift.example/artwork/ep042.jpg"


def _items(name: str, feed_url: str | None = None) -> dict[str, ItemData]:
    parsed = parse_feed((FEEDS / name).read_bytes(), {"Content-Type": "application/rss+xml"})
    items = [normalize_entry(e, feed_url or f"https://feeds.example/{name}", NOW)
             for e in parsed.entries]
    return {i.title: i for i in items if i is not None}


# ---- reading and checking (pure) -----------------------------------------------------


def test_a_podcast_episode_keeps_its_audio_type_length_duration_and_art() -> None:
    items = _items("podcast.xml", "https://feeds.nightshift.example/podcast.xml")
    episode = items["Episode 42: The Bakers of Rue Oberkampf"]
    assert episode.enclosures == (Enclosure(EPISODE_URL, "audio/mpeg", 48761234, 50 * 60 + 47),)
    assert episode.image_url == EPISODE_ART  # the episode's own itunes:image, not the show's
    # a relative URL, an empty type and length: absolute against the item's link, the
    # type from the extension, the length unknown; a bare number of seconds
    nurses = items["Episode 41: Night Nurses"]
    assert nurses.enclosures == (Enclosure("https://nightshift.example/media/ep041-nurses.m4a",
                                           "audio/mp4", None, 3723),)
    assert nurses.image_url is None
    assert items["Trailer: Season 3"].enclosures[0].duration == 3723  # "1:02:03"


def test_media_rss_content_and_thumbnail() -> None:
    items = _items("media-rss.xml")
    storm = items["Storm closes the northern ferry routes"]
    # two media:content pictures without a type or medium: image/jpeg from the
    # extension; the picture is the widest of them
    assert [e.media_type for e in storm.enclosures] == ["image/jpeg", "image/jpeg"]
    assert storm.image_url == ("https://i.gazette.example/img/2026/11/24/ferries-460.jpg"
                               "?width=460&quality=85")
    video = items["Watch: the storm reaches the harbour wall"]
    assert video.enclosures == (Enclosure(
        "https://video.gazette.example/2026/11/24/harbour-wall-720p.mp4", "video/mp4",
        18350080, 94),)
    assert video.image_url == "https://i.gazette.example/img/2026/11/24/harbour-wall-thumb.jpg"


def test_an_image_enclosure_is_the_items_picture() -> None:
    (photo,) = _items("image-enclosure.xml").values()
    url = "https://photos.hilltown.example/files/2026/11/frost-1600.jpg"
    assert photo.enclosures == (Enclosure(url, "image/jpeg", 412388, None),)
    assert photo.image_url == url


def test_hostile_enclosures_are_dropped_or_made_sane() -> None:
    items = _items("media-hostile.xml", "https://hostile.example/feed.xml")
    scripts = items["Script and data enclosures"]
    # javascript:, data:, file:, vbscript: gone; a 32-digit length is unknown, not a number
    assert scripts.enclosures == (Enclosure("https://cdn.example.net/ok.mp3", "audio/mpeg"),)
    assert scripts.image_url is None  # javascript: thumbnail, data: itunes:image
    odd = items["Odd numbers and types"]
    assert odd.enclosures == (
        Enclosure("https://cdn.example.net/negative.mp3", "audio/mpeg"),  # -5; no type
        Enclosure("https://cdn.example.net/words"),  # "12 MB"; type "mp3", no extension
        Enclosure("https://cdn.example.net/params.ogg", "audio/ogg"),  # 0; parameters
    )  # the repeated URL kept once, as first given; "99:99:99:99" is no duration
    many = items["Too many enclosures"]
    assert len(many.enclosures) == MAX_ENCLOSURES
    assert many.enclosures[0].url.endswith("part-00.mp3")
    assert all(e.duration is None for e in many.enclosures)  # itunes:duration "-3"


@pytest.mark.parametrize(("value", "expected"), [
    ("48761234", 48761234), (" 7 ", 7), ("0", None), ("-5", None), ("12 MB", None),
    ("1.5", None), ("", None), (None, None), ("²", None), (str(MAX_LENGTH), MAX_LENGTH),
    (str(MAX_LENGTH + 1), None), ("9" * 40, None),
])
def test_lengths(value: str | None, expected: int | None) -> None:
    assert media_count(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("3723", 3723), ("50:47", 3047), ("1:02:03", 3723), ("01:02:03.500", 3723),
    ("94.5", 94), ("0", None), ("0:00", None), ("-3", None), ("1:2:3:4", None),
    ("50 min", None), ("", None), (None, None), (str(MAX_MEDIA_DURATION + 1), None),
    ("9" * 12, None),
])
def test_durations(value: str | None, expected: int | None) -> None:
    assert duration_seconds(value) == expected


@pytest.mark.parametrize(("value", "url", "expected"), [
    ("audio/mpeg", "https://x/a", "audio/mpeg"),
    ("Audio/MPEG; charset=binary", "https://x/a", "audio/mpeg"),
    ("mp3", "https://x/a.MP3", "audio/mpeg"),
    (None, "https://x/a.m4a?x=1", "audio/mp4"),
    ("", "https://x/a", None),
    ('audio/mpeg" onload="x', "https://x/a", None),
])
def test_media_types(value: str | None, url: str, expected: str | None) -> None:
    assert media_type(value, url) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("javascript:alert(1)", None), ("data:audio/mpeg;base64,AAAA", None),
    ("ftp://x.example/a.mp3", None), ("//cdn.example/a.mp3", "https://cdn.example/a.mp3"),
    ("../a b.mp3", "https://feeds.example/a%20b.mp3"), ("http://[::1", None),
    ("https://x.example/" + "a" * 5000, None), ("", None),
])
def test_media_urls(value: str, expected: str | None) -> None:
    assert media_url(value, "https://feeds.example/podcast/feed.xml") == expected


def test_the_picture_is_the_thumbnail_then_a_content_image_then_itunes_then_an_enclosure(
        ) -> None:
    base = "https://x.example/"
    enclosure = ParsedEnclosure("https://x.example/e.jpg", "image/jpeg")
    content = ParsedEnclosure("https://x.example/c.jpg", medium="image")
    entry = ParsedEntry(None, None, "t", None, None, None, None, None,
                        enclosures=(enclosure,), media_content=(content,),
                        thumbnails=("https://x.example/t.jpg",),
                        itunes_image="https://x.example/i.jpg")
    assert normalize_media(entry, base)[1] == "https://x.example/t.jpg"
    entry = replace(entry, thumbnails=())
    assert normalize_media(entry, base)[1] == "https://x.example/c.jpg"
    entry = replace(entry, media_content=())
    assert normalize_media(entry, base)[1] == "https://x.example/i.jpg"
    entry = replace(entry, itunes_image="javascript:alert(1)")
    assert normalize_media(entry, base)[1] == "https://x.example/e.jpg"


def test_an_item_without_media_hashes_as_before_and_media_never_move_a_guid() -> None:
    plain = ParsedEntry(None, None, "A title", "<p>Body</p>", None, None, None, None)
    item = normalize_entry(plain, "https://x.example/feed.xml", NOW)
    assert item is not None
    assert item.content_hash == content_hash("A title", "<p>Body</p>", None)
    with_audio = normalize_entry(
        replace(plain, enclosures=(ParsedEnclosure("https://x.example/a.mp3"),)),
        "https://x.example/feed.xml", NOW)
    assert with_audio is not None
    assert with_audio.guid == item.guid  # an item without id and link keeps its identity
    assert with_audio.content_hash != item.content_hash  # and a new enclosure is a change


_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
_URLS = st.one_of(_TEXT, st.sampled_from([
    "https://a.example/x.mp3", "javascript:alert(1)", "data:,x", "/rel.mp3", " HTTPS://B/c",
    "vbscript:x", "http://[::1", "mailto:a@b"]))


@given(_TEXT)
def test_any_length_or_duration_is_unknown_or_in_range(value: str) -> None:
    length, duration = media_count(value), duration_seconds(value)
    assert length is None or 0 < length <= MAX_LENGTH
    assert duration is None or 0 < duration <= MAX_MEDIA_DURATION


@given(st.lists(st.tuples(_URLS, st.none() | _TEXT, st.none() | _TEXT), max_size=40),
       st.lists(_URLS, max_size=3), st.none() | _URLS, st.none() | _TEXT)
def test_any_media_come_out_as_absolute_http_urls_within_bounds(
        raw: list[tuple[str, str | None, str | None]], thumbnails: list[str],
        itunes: str | None, duration: str | None) -> None:
    entry = ParsedEntry(None, None, "t", None, None, None, None, None,
                        enclosures=tuple(ParsedEnclosure(u, t, n) for u, t, n in raw),
                        media_content=tuple(ParsedEnclosure(u, t, duration=n)
                                            for u, t, n in raw),
                        thumbnails=tuple(thumbnails), itunes_image=itunes, duration=duration)
    enclosures, image = normalize_media(entry, "https://feed.example/a/feed.xml")
    assert len(enclosures) <= MAX_ENCLOSURES
    assert len({e.url for e in enclosures}) == len(enclosures)
    for url in [e.url for e in enclosures] + ([image] if image else []):
        assert url.lower().startswith(("http://", "https://")), url
        assert media_url(url, "https://other.example/") == url  # already absolute and sane


# ---- publishing (pure) ---------------------------------------------------------------

AUDIO = Enclosure("https://cdn.example/ep.mp3", "audio/mpeg", 48761234, 3047)
PHOTO = Enclosure("https://cdn.example/photo.jpg", "image/jpeg", 412388)
UNKNOWN = Enclosure("https://cdn.example/file")
EPISODE = replace(STORY, enclosures=(PHOTO, AUDIO, UNKNOWN),
                  image_url="https://cdn.example/art.jpg")


def test_atom_enclosure_links_carry_type_and_length() -> None:
    body = render_atom(FEED, [EPISODE, STORY])
    root = etree.fromstring(body)
    assert SCHEMA.validate(etree.ElementTree(root)), SCHEMA.error_log
    first, second = root.iterfind(f"{ATOM}entry")
    links = [(link.get("href"), link.get("type"), link.get("length"))
             for link in first.iterfind(f"{ATOM}link[@rel='enclosure']")]
    assert links == [(PHOTO.url, "image/jpeg", "412388"), (AUDIO.url, "audio/mpeg", "48761234"),
                     (UNKNOWN.url, None, None)]
    assert first.find(f"{MEDIA}thumbnail").get("url") == "https://cdn.example/art.jpg"
    assert second.find(f"{ATOM}link[@rel='enclosure']") is None
    assert second.find(f"{MEDIA}thumbnail") is None
    assert root.nsmap["media"] == MEDIA.strip("{}")  # declared once, on the root
    parsed = feedparser.parse(body)
    assert [(e.href, e.get("type"), e.get("length")) for e in parsed.entries[0].enclosures][:2] \
        == [(PHOTO.url, "image/jpeg", "412388"), (AUDIO.url, "audio/mpeg", "48761234")]


def test_rss_has_one_enclosure_the_first_audio_or_video_and_the_episode_art() -> None:
    root = etree.fromstring(render_rss(FEED, [EPISODE]))
    item = root.find("channel/item")
    (enclosure,) = item.findall("enclosure")
    assert dict(enclosure.attrib) == {"url": AUDIO.url, "length": "48761234",
                                      "type": "audio/mpeg"}
    assert item.findtext(f"{ITUNES}duration") == "3047"
    assert item.find(f"{ITUNES}image").get("href") == "https://cdn.example/art.jpg"
    assert item.find(f"{MEDIA}thumbnail").get("url") == "https://cdn.example/art.jpg"


def test_rss_requires_length_and_type_so_unknown_ones_are_0_and_octet_stream() -> None:
    root = etree.fromstring(render_rss(FEED, [replace(STORY, enclosures=(UNKNOWN, PHOTO))]))
    item = root.find("channel/item")
    (enclosure,) = item.findall("enclosure")  # no audio or video: the first
    assert dict(enclosure.attrib) == {"url": UNKNOWN.url, "length": "0",
                                      "type": "application/octet-stream"}
    assert item.find(f"{ITUNES}duration") is None
    assert "itunes" not in root.nsmap and "media" not in root.nsmap  # nothing uses them


def test_json_feed_attachments_and_image() -> None:
    document = json.loads(render_json(FEED, [EPISODE, STORY]))
    jsonschema.validate(document, JSON_SCHEMA)
    first, second = document["items"]
    assert first["image"] == "https://cdn.example/art.jpg"
    assert first["attachments"] == [
        {"url": PHOTO.url, "mime_type": "image/jpeg", "size_in_bytes": 412388},
        {"url": AUDIO.url, "mime_type": "audio/mpeg", "size_in_bytes": 48761234,
         "duration_in_seconds": 3047},
        {"url": UNKNOWN.url, "mime_type": "application/octet-stream"}]
    assert "attachments" not in second and "image" not in second


def test_a_url_that_is_not_http_is_never_published_whatever_the_store_holds() -> None:
    bad = replace(STORY, enclosures=(Enclosure("javascript:alert(1)", "audio/mpeg"),
                                     Enclosure("data:audio/mpeg;base64,AA")),
                  image_url="javascript:alert(2)")
    for body in (render_atom(FEED, [bad]), render_rss(FEED, [bad]), render_json(FEED, [bad])):
        assert b"javascript:" not in body and b"data:audio" not in body
        assert b"enclosure" not in body and b"attachments" not in body


# ---- the HTML pages ------------------------------------------------------------------

SUMMARY = OutputSummary("all", "All stories", None, 1, NOW)


def _page(story: StoryView, remote_images: bool) -> lxml_html.HtmlElement:
    site = SiteInfo("Site", "https://feeds.example.org/", remote_images=remote_images)
    return lxml_html.fromstring(render_output_page(site, SUMMARY, [story]))


def _policy(page: lxml_html.HtmlElement) -> str:
    (meta,) = page.xpath("//meta[@http-equiv='Content-Security-Policy']")
    return str(meta.get("content"))


def test_by_default_the_page_links_the_picture_and_loads_nothing_remote() -> None:
    page = _page(EPISODE, remote_images=False)
    assert page.xpath("//img") == []
    assert page.xpath("//a[@href='https://cdn.example/art.jpg']/text()") == ["art.jpg"]
    assert _policy(page) == CONTENT_SECURITY_POLICY
    assert "img-src data:;" in CONTENT_SECURITY_POLICY and "https:" not in CONTENT_SECURITY_POLICY
    listed = [" ".join(li.text_content().split()) for li in page.xpath("//ul[@class='media']/li")]
    assert listed == ["Picture: art.jpg", "Image: photo.jpg (image/jpeg · 412.4 kB)",
                      "Audio: ep.mp3 (audio/mpeg · 48.8 MB · 50:47)", "File: file"]


def test_with_remote_images_the_page_shows_the_picture_without_a_referrer() -> None:
    page = _page(EPISODE, remote_images=True)
    (img,) = page.xpath("//img")
    assert img.get("src") == "https://cdn.example/art.jpg"
    assert img.get("referrerpolicy") == "no-referrer" and img.get("loading") == "lazy"
    assert _policy(page) == content_security_policy(remote_images=True)
    assert "img-src data: https:;" in _policy(page) and "script" not in _policy(page)
    assert not page.xpath("//li[starts-with(normalize-space(), 'Picture:')]")
    # a picture on plain http would be blocked by the policy: it stays a link
    page = _page(replace(EPISODE, image_url="http://cdn.example/art.jpg"), remote_images=True)
    assert page.xpath("//img") == []
    assert page.xpath("//a[@href='http://cdn.example/art.jpg']")


def test_an_image_enclosure_that_is_the_picture_is_listed_once() -> None:
    photo = replace(STORY, enclosures=(PHOTO,), image_url=PHOTO.url)
    page = _page(photo, remote_images=False)
    assert len(page.xpath(f"//a[@href='{PHOTO.url}']")) == 1


# ---- stored, published, and read by real clients ---------------------------------------


def _publish(tmp_path: Path, store: Store, server: FeedServer,
             **settings: object) -> dict[str, SiteFile]:
    sources = {"podcast": server.serve_file("/podcast.xml", "podcast.xml"),
               "gazette": server.serve_file("/media.xml", "media-rss.xml"),
               "photos": server.serve_file("/photo.xml", "image-enclosure.xml"),
               "hostile": server.serve_file("/hostile.xml", "media-hostile.xml")}
    config = load_config(write_config(tmp_path, sources, settings=settings))
    store.sync_sources(config.sources, config.settings.poll_interval, NOW)
    update_sources(store, config, now=NOW)
    return render_site(store, config, NOW)


def _episode(stories: list[StoryView]) -> StoryView:
    return next(s for s in stories if s.title.startswith("Episode 42"))


def test_the_store_keeps_enclosures_and_rewrites_them_when_the_item_changes(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    _publish(tmp_path, store, feed_server)
    stories = store.stories_for(None, 50)
    assert _episode(stories).enclosures == (
        Enclosure(EPISODE_URL, "audio/mpeg", 48761234, 3047),)
    assert _episode(stories).image_url == EPISODE_ART
    by_title = {s.title: s for s in stories}
    assert len(by_title["Too many enclosures"].enclosures) == MAX_ENCLOSURES
    assert by_title["Frost on the market square"].image_url.endswith("frost-1600.jpg")
    # the publisher replaces the audio file: the item changed, its enclosure is replaced
    body = (FEEDS / "podcast.xml").read_bytes().replace(
        b"ep042-bakers.mp3?source=rss\" length=\"48761234\"",
        b"ep042-bakers-v2.mp3\" length=\"50000000\"")
    feed_server.serve("/podcast.xml", body)
    config = load_config(tmp_path / "feeds.yaml")
    (result,) = update_sources(store, config, names=["podcast"], now=NOW)
    assert result.updated == 1
    episode = _episode(store.stories_for(["podcast"], 50))
    assert episode.enclosures == (Enclosure(
        "https://traffic.example.net/nightshift/ep042-bakers-v2.mp3", "audio/mpeg", 50000000,
        3047),)


def test_items_stored_before_media_were_kept_get_them_when_their_feed_next_changes(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    from sqlalchemy import text

    _publish(tmp_path, store, feed_server)
    # the episode as a store before migration 0004 holds it: no enclosures, no picture,
    # and the content hash of its text alone
    episode = normalize_entry(next(e for e in parse_feed(
        (FEEDS / "podcast.xml").read_bytes(), {}).entries if e.title.startswith("Episode 42")),
        "https://feeds.nightshift.example/podcast.xml", NOW)
    assert episode is not None
    old_hash = content_hash(episode.title, episode.content_html, episode.canonical_url)
    with store.engine.begin() as connection:
        (item_id,) = connection.execute(text("SELECT id FROM item WHERE guid = :g"),
                                        {"g": episode.guid}).one()
        connection.execute(text("DELETE FROM item_enclosure WHERE item_id = :i"),
                           {"i": item_id})
        connection.execute(text("UPDATE item SET image_url = NULL, content_hash = :h "
                                "WHERE id = :i"), {"h": old_hash, "i": item_id})
    assert _episode(store.stories_for(["podcast"], 50)).enclosures == ()
    # a new episode arrives: the feed's body changed, so every item is compared again
    body = (FEEDS / "podcast.xml").read_bytes().replace(b"<item>", b"""<item>
      <title>Episode 43: Bus Drivers</title><guid>nightshift-ep-043</guid>
      <enclosure url="https://traffic.example.net/nightshift/ep043.mp3" length="1"
                 type="audio/mpeg"/>
    </item><item>""", 1)
    feed_server.serve("/podcast.xml", body)
    (result,) = update_sources(store, load_config(tmp_path / "feeds.yaml"), names=["podcast"],
                               now=NOW)
    assert (result.new, result.updated) == (1, 1)
    restored = _episode(store.stories_for(["podcast"], 50))
    assert restored.enclosures == (Enclosure(EPISODE_URL, "audio/mpeg", 48761234, 3047),)
    assert restored.image_url == EPISODE_ART


def test_podcastparser_reads_the_episode_from_our_rss_and_atom(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    site = _publish(tmp_path, store, feed_server)
    for path in ("feeds/all.rss", "feeds/all.atom"):
        feed = podcastparser.parse(f"https://feeds.example.org/{path}",
                                   io.BytesIO(site[path].body))
        episode = next(e for e in feed["episodes"] if e["title"].startswith("Episode 42"))
        assert episode["enclosures"] == [
            {"url": EPISODE_URL, "file_size": 48761234, "mime_type": "audio/mpeg"}], path
        assert episode["episode_art_url"] == EPISODE_ART, path
        if path.endswith(".rss"):
            assert episode["total_time"] == 3047
        video = next(e for e in feed["episodes"] if e["title"].startswith("Watch:"))
        assert video["enclosures"][0]["mime_type"] == "video/mp4"
    assert b"javascript:" not in site["feeds/all.rss"].body + site["feeds/all.atom"].body


NEWSBOAT = shutil.which("newsboat")


def test_the_served_pages_show_pictures_only_when_the_setting_allows_and_say_so_alike(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    for remote in (False, True):
        cache = SiteCache()
        cache.replace(_publish(tmp_path, store, feed_server, remote_images=remote))
        with TestClient(create_app(cache)) as client:
            response = client.get("/feeds/all.html")
        page = lxml_html.fromstring(response.text)
        # both policies apply: the header must say what the page's <meta> says
        assert response.headers["content-security-policy"] == \
            f"{_policy(page)}; frame-ancestors 'none'"
        assert _policy(page) == content_security_policy(remote)
        shown = set(page.xpath("//img/@src"))
        assert shown == ({EPISODE_ART, "https://i.gazette.example/img/2026/11/24/"
                          "ferries-460.jpg?width=460&quality=85",
                          "https://i.gazette.example/img/2026/11/24/harbour-wall-thumb.jpg",
                          "https://photos.hilltown.example/files/2026/11/frost-1600.jpg"}
                         if remote else set()), remote
        assert page.xpath(f"//a[@href='{EPISODE_URL}']")  # the audio, listed either way


def _newsboat(home: Path, url: str) -> list[tuple[str, str, str]]:
    """newsboat's reload of one feed, non-interactively: (title, enclosure URL, type) of
    each item as its cache stores them (one cache per feed: it knows items by guid, and
    our formats share the story ids)."""
    home.mkdir()
    (home / "urls").write_text(url + "\n", encoding="utf-8")
    (home / "config").write_text("", encoding="utf-8")
    cache = home / "cache.db"
    environment = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "TERM": "dumb",
                   "LANG": "C.UTF-8", "no_proxy": "*"}
    done = subprocess.run(
        [str(NEWSBOAT), "-u", str(home / "urls"), "-c", str(cache), "-C", str(home / "config"),
         "-x", "reload"], env=environment, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    with sqlite3.connect(cache) as connection:
        return connection.execute(
            "SELECT title, enclosure_url, enclosure_type FROM rss_item ORDER BY title").fetchall()


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed (Debian package "
                    "`newsboat`; .ci/run installs it)")
def test_newsboat_stores_the_episodes_enclosure_from_our_feeds(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    site = _publish(tmp_path, store, feed_server)
    for path, kind in (("feeds/all.rss", "application/rss+xml"),
                       ("feeds/all.atom", "application/atom+xml")):
        url = feed_server.serve(f"/published/{path}", site[path].body, kind)
        items = {title: (enclosure, media) for title, enclosure, media in
                 _newsboat(tmp_path / path.replace("/", "-"), url)}
        assert len(items) == 9, path  # every story of the output
        assert items["Episode 42: The Bakers of Rue Oberkampf"] == (EPISODE_URL, "audio/mpeg")
        assert items["Episode 41: Night Nurses"] == (
            "https://nightshift.example/media/ep041-nurses.m4a", "audio/mp4")
        assert items["Watch: the storm reaches the harbour wall"][1] == "video/mp4"
        assert items["Script and data enclosures"] == (
            "https://cdn.example.net/ok.mp3", "audio/mpeg")
