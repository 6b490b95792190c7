"""Feed autodiscovery and the is-this-a-feed check, as tables of real-world pages and bodies."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.ingest.discover import ATOM, JSON, JSON_FEED, RSS, discover_feeds, looks_like_feed

FEEDS = Path(__file__).parent / "data" / "feeds"


def _urls(page: bytes | str, base: str = "https://iz.ru/news/") -> list[tuple[str, str]]:
    return [(f.type, f.url) for f in discover_feeds(page, base)]


WORDPRESS = """<!DOCTYPE html>
<html lang="ru-RU"><head>
<meta charset="UTF-8">
<title>Turantimes.kz — новости Казахстана</title>
<link rel="alternate" type="application/rss+xml" title="Turantimes.kz &raquo; Лента"
  href="https://turantimes.kz/feed/" />
<link rel="alternate" type="application/rss+xml" title="Turantimes.kz &raquo; Лента комментариев"
  href="https://turantimes.kz/comments/feed/" />
<link rel="https://api.w.org/" href="https://turantimes.kz/wp-json/" />
<link rel="alternate" title="JSON" type="application/json"
  href="https://turantimes.kz/wp-json/wp/v2/pages/12" />
<link rel="alternate" type="application/json+oembed"
  href="https://turantimes.kz/wp-json/oembed/1.0/embed?url=https%3A%2F%2Fturantimes.kz%2F" />
<link rel="stylesheet" href="/style.css">
</head><body><p>Главная</p></body></html>"""


@pytest.mark.parametrize(("page", "base", "expected"), [
    pytest.param(WORDPRESS, "https://turantimes.kz/", [
        (RSS, "https://turantimes.kz/feed/"), (RSS, "https://turantimes.kz/comments/feed/")],
        id="wordpress: feeds kept, the REST API and oEmbed are not feeds"),
    pytest.param("""<html><head>
        <link rel="alternate" type="application/feed+json" href="/feed.json">
        <link rel="alternate" type="application/rss+xml" href="/rss">
        <link rel="alternate" type="application/atom+xml" href="/atom">
        <link rel="alternate" type="application/json" href="/feed2.json">
        <link rel="alternate" type="application/atom+xml" href="/atom2">
        </head></html>""", "https://iz.ru/news/", [
        (ATOM, "https://iz.ru/atom"), (ATOM, "https://iz.ru/atom2"), (RSS, "https://iz.ru/rss"),
        (JSON_FEED, "https://iz.ru/feed.json"), (JSON, "https://iz.ru/feed2.json")],
        id="atom, then rss, then json; each as the page lists them"),
    pytest.param("""<html><head><base href="https://cdn.example.org/site/">
        <link rel="alternate" type="application/rss+xml" href="rss.xml">
        <link rel="alternate" type="application/atom+xml" href="//feeds.example.org/a.atom">
        </head></html>""", "https://example.org/page", [
        (ATOM, "https://feeds.example.org/a.atom"),
        (RSS, "https://cdn.example.org/site/rss.xml")],
        id="relative and scheme-relative hrefs against <base href>"),
    pytest.param("""<html><head>
        <link rel="Alternate" type="Application/RSS+XML; charset=UTF-8" href=" rss.xml ">
        <link rel="alternate feed" type="application/atom+xml" href="atom.xml">
        </head></html>""", "https://iz.ru/news/", [
        (ATOM, "https://iz.ru/news/atom.xml"), (RSS, "https://iz.ru/news/rss.xml")],
        id="rel and type in any case, type parameters, spaces around href"),
    pytest.param("""<html><head>
        <link rel="alternate" type="application/rss+xml" href="/rss">
        <link rel="alternate" type="application/rss+xml" href="https://IZ.ru:443/rss#top">
        <link rel="alternate" type="application/rss+xml" href="/rss?utm_source=site">
        </head></html>""", "https://iz.ru/", [(RSS, "https://iz.ru/rss")],
        id="the same feed three times is one"),
    pytest.param("""<html><head>
        <link rel="alternate stylesheet" type="application/rss+xml" href="/a">
        <link rel="alternate" type="text/html" hreflang="kk" href="/kz/">
        <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
        <link rel="alternate" type="application/rss+xml" href="">
        <link rel="alternate" type="application/rss+xml">
        <link rel="alternate" href="/no-type">
        <link rel="feed" type="application/rss+xml" href="/not-alternate">
        </head></html>""", "https://iz.ru/", [],
        id="stylesheets, translations, javascript:, empty or missing href, no type"),
    pytest.param("""<html><body>
        <p><link rel="alternate" type="application/rss+xml" href="/in-body.xml"></p>
        </body></html>""", "https://www.inform.kz/", [
        (RSS, "https://www.inform.kz/in-body.xml")],
        id="a link in the body still counts"),
    pytest.param("", "https://iz.ru/", [], id="empty"),
    pytest.param("   \n", "https://iz.ru/", [], id="blank"),
    pytest.param("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'/>",
                 "https://iz.ru/", [], id="a feed is not a page announcing feeds"),
])
def test_discovery(page: str, base: str, expected: list[tuple[str, str]]) -> None:
    assert _urls(page, base) == expected
    assert _urls(page.encode("utf-8"), base) == expected


def test_titles_are_kept_on_one_line() -> None:
    found = discover_feeds(WORDPRESS, "https://turantimes.kz/")
    assert [f.title for f in found] == ["Turantimes.kz » Лента",
                                        "Turantimes.kz » Лента комментариев"]
    page = '<link rel="alternate" type="application/rss+xml" href="/r" title="  ">'
    assert discover_feeds(page, "https://iz.ru/")[0].title is None


@pytest.mark.parametrize(("body", "encoding"), [
    pytest.param("<html><head><meta charset='windows-1251'><link rel='alternate' "
                 "type='application/rss+xml' title='Известия: главное' href='/rss'>"
                 "</head></html>".encode("cp1251"), None, id="windows-1251 by <meta>"),
    pytest.param("<html><head><link rel='alternate' type='application/rss+xml' "
                 "title='Известия: главное' href='/rss'></head></html>".encode(),
                 None, id="utf-8 without any declaration"),
    pytest.param("<html><head><link rel='alternate' type='application/rss+xml' "
                 "title='Известия: главное' href='/rss'></head></html>".encode("koi8-r"),
                 "koi8-r", id="koi8-r from the HTTP header"),
])
def test_the_page_encoding_is_respected(body: bytes, encoding: str | None) -> None:
    found = discover_feeds(body, "https://iz.ru/", encoding=encoding)
    assert [(f.title, f.url) for f in found] == [("Известия: главное", "https://iz.ru/rss")]


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda s: s.encode("utf-8")))
def test_discovery_never_raises_on_garbage(body: bytes) -> None:
    for feed in discover_feeds(body, "https://iz.ru/"):
        assert feed.url.startswith(("http://", "https://"))
    assert isinstance(looks_like_feed(body, None), bool)


# ---- looks_like_feed ---------------------------------------------------------------

RDF = ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
       'xmlns="http://purl.org/rss/1.0/"><channel/></rdf:RDF>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
          + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                    for i in range(8))
          + ']><rss version="2.0"><channel><title>&i;</title></channel></rss>')


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    pytest.param(b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel/></rss>',
                 "application/rss+xml", True, id="rss 2.0"),
    pytest.param(b'<rss version="0.91"><channel><title>x</title>', "text/xml", True,
                 id="rss cut short: the root is enough"),
    pytest.param(b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD '
                 b'RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
                 b'<rss version="0.91"/>', None, True, id="rss 0.91 with a DOCTYPE"),
    pytest.param(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>',
                 "application/atom+xml", True, id="atom 1.0"),
    pytest.param(b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"/>', None, True,
                 id="atom 0.3"),
    pytest.param(RDF.encode(), "application/rdf+xml", True, id="rss 1.0"),
    pytest.param(b'\xef\xbb\xbf \n <?xml version="1.0"?><rss/>', "text/html", True,
                 id="BOM and whitespace first; text/html is a lie"),
    pytest.param('<?xml version="1.0" encoding="utf-16"?><rss/>'.encode("utf-16"), None, True,
                 id="utf-16"),
    pytest.param('<?xml version="1.0" encoding="windows-1251"?><rss><channel><title>Известия'
                 '</title></channel></rss>'.encode("cp1251"), None, True, id="windows-1251"),
    pytest.param(json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t",
                             "items": []}).encode(), "application/feed+json", True,
                 id="json feed 1.1"),
    pytest.param(b' {"version": "https://jsonfeed.org/version/1", "items": []}',
                 "application/json", True, id="json feed 1"),
    pytest.param(b'{"version": "1.0", "items": []}', "application/json", False,
                 id="json, not a json feed"),
    pytest.param(b'[{"version": "https://jsonfeed.org/version/1"}]', None, False,
                 id="a json array"),
    pytest.param(b'{"version": ', None, False, id="broken json"),
    pytest.param(b"<!DOCTYPE html><html><head><title>x</title></head><body></body></html>",
                 "text/html", False, id="html"),
    pytest.param(b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>',
                 None, False, id="xhtml"),
    pytest.param(b'<?xml version="1.0"?><opml version="2.0"><body/></opml>', None, False,
                 id="opml"),
    pytest.param(b'<feed xmlns="http://example.org/not-atom"/>', None, False,
                 id="a feed element in another namespace"),
    pytest.param(b'<?xml version="1.0"?><rss/>', "image/png", False, id="an image type"),
    pytest.param(b"", None, False, id="empty"),
    pytest.param(b"Not Found", "text/plain", False, id="text"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", None, False, id="binary"),
])
def test_looks_like_feed(body: bytes, content_type: str | None, expected: bool) -> None:
    assert looks_like_feed(body, content_type) is expected


@pytest.mark.parametrize("path", sorted(FEEDS.iterdir()), ids=lambda p: p.name)
def test_every_sample_feed_looks_like_a_feed(path: Path) -> None:
    assert looks_like_feed(path.read_bytes(), None)


def test_entities_are_neither_expanded_nor_fetched() -> None:
    started = time.monotonic()
    assert looks_like_feed(LAUGHS.encode(), None)  # the root is read before any expansion
    xxe = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'
           b"<rss><channel><title>&x;</title></channel></rss>")
    assert looks_like_feed(xxe, None)
    assert time.monotonic() - started < 2
