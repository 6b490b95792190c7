"""OPML export and import: what real readers write, hostile documents, and round trips."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.config import parse_config
from aggregator.publish.opml import (
    AGGREGATOR_NS,
    OpmlError,
    OpmlSource,
    derive_name,
    export_opml,
    parse_opml,
    unique_name,
)
from aggregator.text import slugify, strip_illegal_xml

IZVESTIA = OpmlSource("izvestia", "Известия", "https://iz.ru/xml/rss/all.xml", "https://iz.ru/",
                      ("ru", "news"))
KAZINFORM = OpmlSource("kazinform", "Kazinform", "https://www.inform.kz/rss/rus.xml",
                       "https://www.inform.kz/", ("ru", "kz", "news"))
TURANTIMES = OpmlSource("turantimes", "Turantimes.kz", "https://turantimes.kz/feed/")
SOURCES = [IZVESTIA, KAZINFORM, TURANTIMES]


# ---- export ------------------------------------------------------------------------


def test_export_writes_one_rss_outline_per_source() -> None:
    data = export_opml("Aggregator news", SOURCES)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Aggregator news"
    outlines = root.findall("body/outline")
    assert [dict(o.attrib) for o in outlines] == [
        {"type": "rss", "text": "Известия", "title": "Известия",
         "xmlUrl": "https://iz.ru/xml/rss/all.xml", "htmlUrl": "https://iz.ru/",
         "category": "/ru,/news", f"{{{AGGREGATOR_NS}}}name": "izvestia"},
        {"type": "rss", "text": "Kazinform", "title": "Kazinform",
         "xmlUrl": "https://www.inform.kz/rss/rus.xml", "htmlUrl": "https://www.inform.kz/",
         "category": "/ru,/kz,/news", f"{{{AGGREGATOR_NS}}}name": "kazinform"},
        {"type": "rss", "text": "Turantimes.kz", "title": "Turantimes.kz",
         "xmlUrl": "https://turantimes.kz/feed/", f"{{{AGGREGATOR_NS}}}name": "turantimes"},
    ]
    assert export_opml("Aggregator news", SOURCES) == data  # deterministic


def test_export_escapes_and_cleans_what_xml_cannot_hold() -> None:
    source = OpmlSource("x", 'Tom & Jerry <b>"news"</b>\x00\x1b', "https://x.org/rss?a=1&b=2",
                        tags=("a/b", "c,d", " ", "ru"))
    root = etree.fromstring(export_opml("T\x01itle", [source]))
    outline = root.find("body/outline")
    assert outline.get("text") == 'Tom & Jerry <b>"news"</b>'
    assert outline.get("xmlUrl") == "https://x.org/rss?a=1&b=2"
    assert outline.get("category") == "/a-b,/c-d,/ru"
    assert root.findtext("head/title") == "Title"


def test_an_untitled_source_is_exported_under_its_name() -> None:
    outline = etree.fromstring(export_opml("", [OpmlSource("tass", "", "https://tass.ru/rss/v2.xml")]))
    assert outline.find("body/outline").get("text") == "tass"
    assert outline.findtext("head/title") == "Subscriptions"


# ---- import: what real readers write -----------------------------------------------

MINIFLUX = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
    <head>
        <title>Miniflux</title>
        <dateCreated>Tue, 24 Nov 2026 09:00:00 UTC</dateCreated>
    </head>
    <body>
        <outline text="\xd0\x9d\xd0\xbe\xd0\xb2\xd0\xbe\xd1\x81\xd1\x82\xd0\xb8">
            <outline title="Kazinform" text="Kazinform"
                xmlUrl="https://www.inform.kz/rss/rus.xml" htmlUrl="https://www.inform.kz/"
                description=""></outline>
            <outline title="TASS" text="TASS" xmlUrl="https://tass.ru/rss/v2.xml"
                htmlUrl="https://tass.ru"></outline>
        </outline>
        <outline text="Tech">
            <outline title="Python Insider" text="Python Insider"
                xmlUrl="https://blog.python.org/feeds/posts/default"
                htmlUrl="https://blog.python.org/"></outline>
        </outline>
    </body>
</opml>
"""

FRESHRSS = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0" xmlns:frss="https://freshrss.org/opml">
\t<head>
\t\t<title>FreshRSS</title>
\t\t<dateCreated>Tue, 24 Nov 2026 09:00:00 +0000</dateCreated>
\t</head>
\t<body>
\t\t<outline text="Новости Казахстана">
\t\t\t<outline text="Turantimes.kz" type="rss" xmlUrl="https://turantimes.kz/feed/"
    htmlUrl="https://turantimes.kz/" description="Новости" frss:priority="10"/>
\t\t\t<outline text="Kazinform scraped" type="HTML+XPath" xmlUrl="https://www.inform.kz/ru/"
    frss:xPathItem="//div[@class=&quot;news&quot;]"/>
\t\t</outline>
\t</body>
</opml>
""".encode()

FEEDLY = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
    <head>
        <title>Ivan subscriptions in feedly Cloud</title>
    </head>
    <body>
        <outline text="Россия" title="Россия">
            <outline type="rss" text="Известия" title="Известия"
                xmlUrl="https://iz.ru/xml/rss/all.xml" htmlUrl="https://iz.ru"/>
        </outline>
        <outline text="Главное" title="Главное">
            <outline type="rss" text="Известия" title="Известия"
                xmlUrl="https://IZ.ru/xml/rss/all.xml" htmlUrl="https://iz.ru"/>
            <outline type="rss" text="BBC News Русская служба" title="BBC News Русская служба"
                xmlUrl="https://feeds.bbci.co.uk/russian/rss.xml"
                htmlUrl="https://www.bbc.com/russian"/>
        </outline>
    </body>
</opml>
""".encode()

NETNEWSWIRE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- OPML generated by NetNewsWire -->
<opml version="1.1">
\t<head>
\t\t<title>Subscriptions-OnMyMac.opml</title>
\t</head>
<body>
<outline text="BBC News - World" title="BBC News - World" description="" type="rss"
    version="RSS" htmlUrl="https://www.bbc.co.uk/news/world"
    xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
<outline text="Apple" title="Apple">
\t<outline text="" title="Daring Fireball" description="" type="rss" version="RSS"
    htmlUrl="https://daringfireball.net/" xmlUrl="https://daringfireball.net/feeds/main"/>
</outline>
</body>
</opml>
"""

SLOPPY = b"""\xef\xbb\xbf
<?xml version="1.0" encoding="windows-1251"?>
<OPML version="1.0"><BODY>
<outline TEXT="\xc8\xe7\xe2\xe5\xf1\xf2\xe8\xff&nbsp;RSS"
    XMLURL="feed://iz.ru/xml/rss/all.xml?a=1&b=2"/>
<outline text="Podcast" type="rss" url="https://podcast.example.org/feed.xml"/>
<outline text="Homepage" type="link" url="https://example.org/"/>
<outline text="Elsewhere" type="include" url="https://example.org/more.opml"/>
<outline text="Local" xmlUrl="file:///etc/passwd"/>
<outline text="Script" xmlUrl="javascript:alert(1)"/>
<outline text="Untitled" xmlUrl="feed:https://untitled.example.org/rss"/>
<outline xmlUrl="https://www.untitled.example.org/atom" category="/Tech/Python,/en"/>
</BODY></OPML>
"""


def _plain(sources: list[OpmlSource]) -> list[tuple[str, str, str, str | None, tuple[str, ...]]]:
    return [(s.name, s.title, s.xml_url, s.html_url, s.tags) for s in sources]


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param(MINIFLUX, [
        ("kazinform", "Kazinform", "https://www.inform.kz/rss/rus.xml", "https://www.inform.kz/",
         ("Новости",)),
        ("tass", "TASS", "https://tass.ru/rss/v2.xml", "https://tass.ru", ("Новости",)),
        ("python-insider", "Python Insider", "https://blog.python.org/feeds/posts/default",
         "https://blog.python.org/", ("Tech",)),
    ], id="miniflux: categories are folders"),
    pytest.param(FRESHRSS, [
        ("turantimes-kz", "Turantimes.kz", "https://turantimes.kz/feed/",
         "https://turantimes.kz/", ("Новости Казахстана",)),
    ], id="freshrss: its own namespace; scraped pages are not feeds"),
    pytest.param(FEEDLY, [
        ("izvestiya", "Известия", "https://iz.ru/xml/rss/all.xml", "https://iz.ru",
         ("Россия", "Главное")),
        ("bbc-news-russkaya-sluzhba", "BBC News Русская служба",
         "https://feeds.bbci.co.uk/russian/rss.xml", "https://www.bbc.com/russian", ("Главное",)),
    ], id="feedly: one feed in two folders is one source with both tags"),
    pytest.param(NETNEWSWIRE, [
        ("bbc-news-world", "BBC News - World", "https://feeds.bbci.co.uk/news/world/rss.xml",
         "https://www.bbc.co.uk/news/world", ()),
        ("daring-fireball", "Daring Fireball", "https://daringfireball.net/feeds/main",
         "https://daringfireball.net/", ("Apple",)),
    ], id="netnewswire: a comment first, empty text"),
    pytest.param(SLOPPY, [
        ("izvestiya-rss", "Известия RSS", "http://iz.ru/xml/rss/all.xml?a=1&b=2", None, ()),
        ("podcast", "Podcast", "https://podcast.example.org/feed.xml", None, ()),
        ("untitled", "Untitled", "https://untitled.example.org/rss", None, ()),
        ("untitled-example-org", "www.untitled.example.org",
         "https://www.untitled.example.org/atom", None, ("Tech", "Python", "en")),
    ], id="sloppy: BOM, windows-1251, upper case, bare &, &nbsp;, feed:, odd schemes"),
])
def test_import(data: bytes, expected: list[tuple[str, str, str, str | None, tuple[str, ...]]],
                ) -> None:
    assert _plain(parse_opml(data)) == expected


def test_imported_names_are_valid_feeds_yaml_names() -> None:
    sources = [s for data in (MINIFLUX, FRESHRSS, FEEDLY, NETNEWSWIRE, SLOPPY)
               for s in parse_opml(data)]
    for source in sources:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", source.name), source.name


# ---- import: what is refused -------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    pytest.param(b"", "the file is empty", id="empty"),
    pytest.param(b"  \n\t", "the file is empty", id="blank"),
    pytest.param(b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
                 "the root element is <rss>, not <opml>", id="an rss feed"),
    pytest.param(b"<!DOCTYPE html><html><head><title>x</title></head><body></body></html>",
                 "the root element is <html>", id="html"),
    pytest.param(b'{"version": "https://jsonfeed.org/version/1.1"}', "not well-formed XML",
                 id="json"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not well-formed XML", id="binary"),
    pytest.param(b'<opml version="2.0"><head/><body><outline text="x"', "not well-formed XML",
                 id="cut short"),
    pytest.param(b'<opml version="2.0"><head/></opml>', "it has no <body>", id="no body"),
])
def test_not_opml_is_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=re.escape(message)) as caught:
        parse_opml(data)
    assert str(caught.value).startswith("not an OPML document: ")
    assert isinstance(caught.value, ValueError)


def test_no_entity_is_expanded_or_fetched() -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                        for i in range(8))
              + ']><opml version="2.0"><body><outline text="&i;" xmlUrl="https://x.org/"/>'
                '</body></opml>').encode()
    xxe_attribute = (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM '
                     b'"file:///etc/passwd">]><opml version="2.0"><body>'
                     b'<outline text="&x;" xmlUrl="https://x.org/"/></body></opml>')
    xxe_text = (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">'
                b']><opml version="2.0"><body><outline text="a" xmlUrl="https://x.org/">&x;'
                b'</outline></body></opml>')
    started = time.monotonic()
    with pytest.raises(OpmlError):
        parse_opml(laughs)
    with pytest.raises(OpmlError):
        parse_opml(xxe_attribute)
    parsed = parse_opml(xxe_text)  # the entity stays an unexpanded reference
    assert "root:" not in repr(parsed)
    assert time.monotonic() - started < 2


# ---- names -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "slug"), [
    ("Известия", "izvestiya"),
    ("BBC News Русская служба", "bbc-news-russkaya-sluzhba"),
    ("Қазақстан жаңалықтары", "qazaqstan-zhanalyqtary"),
    ("Українська правда", "ukrayinska-pravda"),
    ("Le Monde — À la une", "le-monde-a-la-une"),
    ("Turantimes.kz", "turantimes-kz"),
    ("  --Hello__World!!  ", "hello-world"),
    ("新闻联播", ""),
    ("", ""),
    ("a" * 80, "a" * 64),
    ("word " * 20, "word-" * 12 + "word"),
])
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


@pytest.mark.parametrize(("title", "url", "name"), [
    ("Kazinform", "https://www.inform.kz/rss/rus.xml", "kazinform"),
    ("新闻", "https://www.news.cn/rss.xml", "news-cn"),
    (None, "https://feeds.bbci.co.uk/news/world/rss.xml", "feeds-bbci-co-uk"),
    ("", "not a url", "feed"),
])
def test_derive_name(title: str | None, url: str, name: str) -> None:
    assert derive_name(title, url) == name


def test_unique_names_get_a_number_and_stay_within_64_characters() -> None:
    assert unique_name("tass", set()) == "tass"
    assert unique_name("tass", {"tass"}) == "tass-2"
    assert unique_name("tass", {"tass", "tass-2"}) == "tass-3"
    long = "a" * 64
    assert unique_name(long, {long}) == "a" * 62 + "-2"
    taken = {long} | {"a" * 62 + f"-{n}" for n in range(2, 10)}
    assert unique_name(long, taken) == "a" * 61 + "-10"


def test_repeated_titles_get_numbered_names_and_given_names_win() -> None:
    data = export_opml("x", [
        OpmlSource("tass-2", "TASS", "https://tass.ru/rss/v2.xml"),
    ]).replace(b"</body>", b'<outline text="TASS" xmlUrl="https://tass.com/rss"/>'
                          b'<outline text="TASS" xmlUrl="https://tass.ru/rss/other.xml"/>'
                          b"</body>")
    assert [s.name for s in parse_opml(data)] == ["tass-2", "tass", "tass-3"]


# ---- round trips -------------------------------------------------------------------

_names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,63}", fullmatch=True)
_titles = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
_tags = st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",),
                                                exclude_characters=",/"), min_size=1,
                         max_size=12).map(lambda t: " ".join(strip_illegal_xml(t).split()))
                 .filter(bool), max_size=4, unique=True)
_paths = st.text(alphabet=st.characters(categories=("L", "N")), max_size=20)


@st.composite
def _sources(draw: st.DrawFn) -> list[OpmlSource]:
    names = draw(st.lists(_names, max_size=5, unique=True))
    hosts = draw(st.lists(st.from_regex(r"[a-z]{1,10}\.(ru|kz|com)", fullmatch=True),
                          min_size=len(names), max_size=len(names), unique=True))
    return [OpmlSource(name, draw(_titles), f"https://{host}/{draw(_paths)}",
                       draw(st.none() | st.just(f"https://{host}/")), tuple(draw(_tags)))
            for name, host in zip(names, hosts, strict=True)]


def _one_line(title: str) -> str:
    return " ".join(strip_illegal_xml(title).split())


@settings(max_examples=150, deadline=None)
@given(_sources(), _titles)
def test_export_then_import_gives_the_sources_back(sources: list[OpmlSource],
                                                   title: str) -> None:
    back = parse_opml(export_opml(title, sources))
    assert [s.name for s in back] == [s.name for s in sources]
    assert [s.xml_url for s in back] == [s.xml_url for s in sources]
    assert [s.html_url for s in back] == [s.html_url for s in sources]
    assert [s.tags for s in back] == [s.tags for s in sources]
    assert [s.title for s in back] == [_one_line(s.title) or s.name for s in sources]


@settings(max_examples=30, deadline=None)
@given(_sources())
def test_imported_sources_make_a_valid_feeds_yaml(sources: list[OpmlSource]) -> None:
    from aggregator.config.edit import NEW_FILE, NewSource, add_sources_text

    back = parse_opml(export_opml("x", sources))
    text, added = add_sources_text(NEW_FILE, [
        NewSource(s.name, s.xml_url, s.title, s.tags) for s in back])
    config = parse_config(text)
    assert [(s.name, s.url, s.title, s.tags) for s in config.sources] == [
        (s.name, s.xml_url, s.title, s.tags) for s in back]
    assert added == [s.name for s in back]
