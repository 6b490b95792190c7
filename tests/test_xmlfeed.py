"""The lxml fast path (aggregator/ingest/xmlfeed.py) against feedparser's path.

For every document the fast path accepts, parse_feed must give the ParsedFeed that
feedparser's path gives, field by field; what it does not map, it leaves to feedparser.
Differential: every feed under tests/data, a small bench corpus, hand-made corner
cases, and generated RSS/Atom documents with hostile content.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from unittest import mock
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aggregator.exceptions import ParseError
from aggregator.ingest import parse
from aggregator.ingest.xmlfeed import read_feed
from aggregator.types import ParsedFeed

DATA = Path(__file__).parent / "data"


@contextmanager
def _feedparser_only() -> Iterator[None]:
    with mock.patch.object(parse, "read_feed", lambda body, headers: None):
        yield


def _parse(body: bytes, headers: Mapping[str, str]) -> ParsedFeed | str:
    try:
        return parse.parse_feed(body, headers)
    except ParseError as error:
        return f"ParseError: {error}"


def _fast_path_takes(body: bytes, headers: Mapping[str, str]) -> bool:
    taken: list[bool] = []

    def spy(body: bytes, headers: Mapping[str, str]) -> object:
        document = read_feed(body, headers)
        taken.append(document is not None)
        return document

    with mock.patch.object(parse, "read_feed", spy):
        _parse(body, headers)
    return bool(taken and taken[0])


def assert_same(body: bytes, headers: Mapping[str, str]) -> bool:
    """Both paths agree; returns whether the fast path took the document."""
    fast = _parse(body, headers)
    with _feedparser_only():
        slow = _parse(body, headers)
    if isinstance(fast, ParsedFeed) and isinstance(slow, ParsedFeed):
        for name in ParsedFeed.__slots__:
            if name != "entries":
                assert getattr(fast, name) == getattr(slow, name), name
        assert len(fast.entries) == len(slow.entries)
        for mine, theirs in zip(fast.entries, slow.entries, strict=True):
            for name in type(mine).__slots__:
                assert getattr(mine, name) == getattr(theirs, name), name
    assert fast == slow
    return _fast_path_takes(body, headers)


FIXTURES = sorted(p for p in DATA.rglob("*") if p.suffix in (".xml", ".rdf", ".atom", ".rss"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(DATA)))
@pytest.mark.parametrize("content_type", [None, "application/rss+xml", "text/xml",
                                          "application/atom+xml; charset=utf-8"])
def test_every_fixture_reads_the_same_on_both_paths(path: Path, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert_same(path.read_bytes(), headers)


def test_the_fixtures_the_fast_path_takes() -> None:
    taken = {p.name for p in FIXTURES
             if _fast_path_takes(p.read_bytes(), {"content-type": "application/xml"})}
    assert {"rss2.xml", "atom.xml", "ru-cp1251.xml", "ru-koi8r.xml", "no-guids.xml",
            "repeated-guids.xml", "fr-cp1252-declared.xml", "media-rss.xml", "podcast.xml",
            "media-hostile.xml", "agreed.rss", "agreed.atom"} <= taken
    # not well-formed, RSS 1.0, entity declarations, a dc:title beside the title
    assert not taken & {"control-chars.xml", "rss1.rdf", "billion-laughs.xml", "xxe.xml",
                        "nested-title.xml"}


def test_a_bench_corpus_reads_the_same_and_never_falls_back(tmp_path: Path) -> None:
    from bench.ingest.corpus import generate

    corpus = generate(tmp_path, feeds=24, items=6, seed=3)
    for feed in corpus.files:
        assert assert_same(corpus.body(feed), {"content-type": feed.content_type}), feed.file


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
     xmlns:media="http://search.yahoo.com/mrss/">
<channel>{channel}<item>{item}</item></channel></rss>"""
ATOM_DOC = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"{root}>{feed}<entry>{entry}</entry></feed>"""


def _rss(item: str, channel: str = "<title>T</title>") -> bytes:
    return RSS.format(channel=channel, item=item).encode()


def _atom(entry: str, feed: str = "<title>T</title>", root: str = "") -> bytes:
    return ATOM_DOC.format(root=root, feed=feed, entry=entry).encode()


WORDPRESS = b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
  xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
  <title>A Blog</title>
  <atom:link href="https://blog.example/feed/" rel="self" type="application/rss+xml" />
  <link>https://blog.example</link>
  <description>Just another site</description>
  <lastBuildDate>Tue, 24 Nov 2026 09:30:00 +0000</lastBuildDate>
  <language>en-US</language>
  <sy:updatePeriod>hourly</sy:updatePeriod>
  <sy:updateFrequency>1</sy:updateFrequency>
  <generator>https://wordpress.org/?v=6.7</generator>
  <image><url>https://blog.example/icon.png</url><title>A Blog</title>
    <link>https://blog.example</link><width>32</width><height>32</height></image>
  <item>
    <title>Hello &#8211; world</title>
    <link>https://blog.example/2026/11/hello/</link>
    <comments>https://blog.example/2026/11/hello/#respond</comments>
    <dc:creator><![CDATA[admin]]></dc:creator>
    <pubDate>Tue, 24 Nov 2026 09:30:00 +0000</pubDate>
    <category><![CDATA[News]]></category>
    <category><![CDATA[Caf\xc3\xa9 &amp; bar]]></category>
    <guid isPermaLink="false">https://blog.example/?p=1</guid>
    <description><![CDATA[Welcome. This is your first post [&#8230;]]]></description>
    <content:encoded><![CDATA[<p>Welcome &amp; <a href="/x">more</a></p>]]></content:encoded>
    <wfw:commentRss>https://blog.example/2026/11/hello/feed/</wfw:commentRss>
    <slash:comments>1</slash:comments>
  </item>
</channel>
</rss>
"""

TAKEN = [
    # a permalink guid is the link until a <link> says otherwise; a false one is not
    _rss("<guid>https://a.example/1</guid><title>x</title>"),
    _rss("<guid isPermaLink='false'>https://a.example/1</guid>"),
    _rss("<guid isPermaLink='TRUE'>g</guid><link>https://a.example/?a=1&amp;amp;b=2</link>"),
    _rss("<link>https://a.example/x?a=1&amp;b;=2</link><guid>https:////a.example/y</guid>"),
    _rss("<link></link><guid>z</guid>"),
    # titles: text, or HTML when it looks like HTML; entities; C1 controls; mojibake
    _rss("<title>A &lt;b&gt;bold&lt;/b&gt; move &amp; more</title>"),
    _rss("<title>Tom &amp; Jerry &lt; 3</title>"),
    _rss("<title><![CDATA[<i>x</i> &amp; y]]></title>"),
    _rss("<title>\u0080\u0093quoted\u0094 caf\u00c3\u00a9</title>"),
    _rss("<title>&#195;&#169;t&#233; &#x80; &#128;</title>"),
    _rss("<title>  spaced\n\t</title><description>  </description>"),
    # summary and content, in either order, or one alone
    _rss("<content:encoded><![CDATA[<p>c</p>]]></content:encoded><description>d</description>"),
    _rss("<description>d &lt;b&gt;</description><content:encoded>&lt;p&gt;c</content:encoded>"),
    _rss("<content:encoded>only content</content:encoded>"),
    # authors (the last wins), categories (deduplicated), enclosures, dates
    _rss("<author>a@b.example (A B)</author><dc:creator>C D</dc:creator>"),
    _rss("<category>x</category><category>x</category><category domain='d'>y</category>"
         "<category domain='d'></category><category>z</category><category> </category>"),
    _rss("<enclosure url='https://a.example/a.mp3' type='Audio/MPEG' length='12'/>"
         "<enclosure url='' type='x'/><enclosure href='/rel.ogg'/>"),
    _rss("<pubDate>Tue, 24 Nov 2026 09:30:00 MSK</pubDate><dc:date>2026-11-24T09:30:00+03:00"
         "</dc:date>"),
    _rss("<pubDate>24 Nov 26 09:30 EST</pubDate>"),
    _rss("<pubDate>not a date</pubDate><comments>https://a.example/c</comments>"),
    _rss("<source url='https://wire.example/'>Wire</source><title>w</title>"),
    # Media RSS, iTunes, atom:link in an item (an enclosure among RSS enclosures)
    _rss("<media:content url='https://a.example/v.mp4' fileSize='9' TYPE='Video/MP4' "
         "medium='video' duration='94' width='1280'><media:credit role='x'>C</media:credit>"
         "</media:content><media:thumbnail url='/t.jpg' width='64'/>"
         "<media:thumbnail> https://a.example/t2.jpg </media:thumbnail>"
         "<media:thumbnail url='u'>text</media:thumbnail><media:thumbnail/>"
         "<media:group><media:content url='g1'/><media:content url=''/></media:group>"),
    _rss("<enclosure url='https://a.example/1.mp3'/><atom:link rel='enclosure' "
         "href='https://a.example/2.mp3' length='3'/><enclosure url='https://a.example/3.mp3'/>"
         "<atom:link rel='alternate' href='https://a.example/page'/><link>x</link>"),
    _rss("<itunes:duration> 50:47 </itunes:duration><itunes:image href='https://a.example/i'/>"
         "<itunes:image url='https://a.example/u'/><itunes:author>A</itunes:author>"
         "<itunes:title>t</itunes:title><itunes:episode>3</itunes:episode>",
         "<title>P</title><itunes:author>Me</itunes:author><itunes:summary>s</itunes:summary>"
         "<itunes:owner><itunes:name>N</itunes:name><itunes:email>e</itunes:email>"
         "</itunes:owner><itunes:category text='A &amp; B'><itunes:category text='C'/>"
         "</itunes:category><itunes:image href='https://a.example/show.jpg'/>"
         "<description>d</description><itunes:explicit>no</itunes:explicit>"),
    # the channel: link, language, dates, ttl, sy:, atom:link self and hub, image
    _rss("<title>i</title>", "<title>T &amp; U</title><link>https://a.example/?a&amp;b=1</link>"
         "<language>en_GB</language><lastBuildDate>Mon, 23 Nov 2026 10:00:00 +0000"
         "</lastBuildDate><ttl> 60 </ttl><sy:updatePeriod>hourly</sy:updatePeriod>"
         "<sy:updateFrequency>2</sy:updateFrequency>"
         "<atom:link rel='self' href='https://a.example/rss'/>"
         "<atom:link rel='hub' href='https://hub.example/'/>"
         "<image><url>https://a.example/i.png</url><title>img</title><link>x</link></image>"),
    _rss("<title>i</title>", "<atom:link rel='alternate' href='https://alt.example/'/>"
         "<link>https://a.example/</link><dc:date>2026-11-24</dc:date>"),
    # Atom: text constructs of each type, xhtml with and without one wrapping div
    _atom("<title type='html'>A &lt;b&gt;b&lt;/b&gt;</title><summary>s &lt;tag&gt;</summary>"
          "<content type='text'>x &amp; y</content><id>urn:x</id>"),
    _atom("<content type='xhtml'> <div xmlns='http://www.w3.org/1999/xhtml'><p class='A'"
          " rel='NoFollow'>x &amp; <b>y</b><br/></p><!-- c --> t</div> </content>"),
    _atom("<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>a</div>"
          "<div xmlns='http://www.w3.org/1999/xhtml'>b</div></content>"),
    _atom("<summary type='xhtml'><p xmlns='http://www.w3.org/1999/xhtml'>p</p></summary>"
          "<title type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>t<i>i</i></div></title>"),
    # Atom: the id is the link until an alternate link; person constructs; categories
    _atom("<id>https://a.example/1</id><link rel='alternate' type='text/html' href='/2'/>"),
    _atom("<link href='https://a.example/2'/><id>https://a.example/1</id>"),
    _atom("<id>urn:1</id><link rel='related' href='/r'/><link rel='enclosure' "
          "href='https://a.example/a.mp3' type='audio/mpeg' length='9'/>"),
    _atom("<author><name> N </name><email>e@x.example</email><uri>u</uri></author>"),
    _atom("<author><email>e@x.example</email></author><category term='t' label='L'/>"
          "<category label='only label'/><category scheme='s'>text</category>"),
    _atom("<author></author><published>2026-11-24T09:30:00Z</published>"
          "<updated>2026-11-24T10:30:00.123+05:00</updated>"),
    _atom("<content>only content &lt;b&gt;</content>"),
    _atom("<title>own</title><source><id>https://s.example/</id><title>S</title>"
          "<link rel='alternate' href='https://s.example/'/><author><name>SA</name></author>"
          "<updated>2026-11-24T09:30:00Z</updated></source><id>urn:e</id>"),
    _atom("<source><title>S first</title></source><title>own</title>"
          "<media:thumbnail xmlns:media='http://search.yahoo.com/mrss/' url='https://t/'/>"),
    _atom("<title>e</title>", "<title type='text'>F</title><id>tag:a,2026:f</id>"
          "<link rel='self' href='https://a.example/atom'/><link rel='hub' href=' h '/>"
          "<updated>2026-11-24T09:30:00Z</updated><subtitle>s</subtitle>"
          "<generator uri='https://g.example/' version='1'>G</generator>",
          " xml:lang='ru_RU'"),
    _atom("<title>e</title>", "<id>https://a.example/</id><author><name>F</name></author>"),
    b"\xef\xbb\xbf<rss version='2.0'><channel><item><title>bom</title></item></channel></rss>",
    WORDPRESS,
    WORDPRESS.replace(b"?>", b"?>\n<?xml-stylesheet type='text/xsl' href='/s.xsl'?><!-- c -->", 1),
]


@pytest.mark.parametrize("body", TAKEN, ids=range(len(TAKEN)))
@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/xml"},
                                     {"content-type": "text/xml",
                                      "Content-Language": "de_AT"}])
def test_corner_cases_the_fast_path_maps(body: bytes, headers: dict[str, str]) -> None:
    assert assert_same(body, headers)


LEFT = [
    _rss("<title>a</title><title>b</title>"),  # feedparser keeps one by depth
    _rss("<description>a</description><description>b</description>"),
    _rss("<title>a</title><dc:title>b</dc:title>"),
    _rss("<title>a<b>bold</b></title>"),  # markup inside a text element
    _rss("<title>a<!-- c -->b</title>"),
    _rss("<media:content url='https://a.example/v.mp4'><media:title>t</media:title>"
         "</media:content>"),
    _rss("<media:description>d</media:description>"),
    _rss("<itunes:summary>s</itunes:summary>"),  # a summary, or content after one
    _rss("<itunes:keywords>a, b</itunes:keywords>"),  # tags
    _rss("<guid xml:base='https://a.example/'>x</guid>"),
    _rss("<link base='https://a.example/'>x</link>"),
    _rss("<title type='html'>x</title>"),
    _rss("<x:y xmlns:x='urn:x'>z</x:y>"),
    RSS.replace('version="2.0"', 'version="0.91"').format(channel="", item="").encode(),
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]><rss version="2.0"><channel>'
    b"<item><title>&e;</title></item></channel></rss>",
    b"<rss version='2.0'><channel><item><title>&nbsp;</title></item></channel></rss>",
    b"<rss version='2.0'><channel><item><title>x</item></channel></rss>",
    b"<rss version='2.0'><channel/><item><title>x</title></item></rss>",
    _atom("<content type='xhtml'><svg xmlns='http://www.w3.org/2000/svg'/></content>"),
    _atom("<content type='image/png'>AAAA</content>"),
    _atom("<content src='https://a.example/x'/>"),
    _atom("<link rel='alternate'>text</link>"),
    _atom("<author><name>a</name></author><author><name>b</name></author>"),
    _atom("<source><entry/></source>"),
    b"<feed xmlns='http://www.w3.org/2005/Atom' xmlns:r='http://purl.org/rss/1.0/'/>",
    b"<html><body>no feed</body></html>",
]


@pytest.mark.parametrize("body", LEFT, ids=range(len(LEFT)))
def test_what_the_fast_path_leaves_to_feedparser(body: bytes) -> None:
    assert not assert_same(body, {"content-type": "application/rss+xml"})


def test_a_declared_single_byte_charset_is_read_as_feedparser_reads_it() -> None:
    text = RSS.format(channel="<title>Новости</title>", item="<title>Цена — 2 €</title>")
    body = text.replace('encoding="utf-8"', 'encoding="windows-1251"').encode("cp1251")
    for headers in ({"content-type": "text/xml; charset=windows-1251"},
                    {"content-type": "application/rss+xml"}, {"content-type": "text/xml"}):
        assert assert_same(body, headers)
    assert parse.parse_feed(body, {}).entries[0].title == "Цена — 2 €"


# ---- generated documents -------------------------------------------------------------

_LEGAL = st.characters(blacklist_categories=("Cs", "Cc"), max_codepoint=0x2FFFF) | \
    st.sampled_from("\t\n\r\x80\x85\x93\x9f\u00a0\u2028\ufeff")
_PLAIN = st.text(_LEGAL, max_size=12).map(escape)
_MAPPED = [
    "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#233;", "&#x80;", "&#195;&#169;",
    "&lt;b&gt;bold&lt;/b&gt;", "&lt;p&gt;para", "&amp;nbsp;", "&amp;copy;", "&lt;/x&gt;",
    "<![CDATA[<p>a & b</p>]]>", "<![CDATA[]]>", "<![CDATA[&amp;]]>", "Ã©", " ", "\n  ",
    "https://a.example/p?q=1&amp;r=2", "&amp;x;", "javascript:alert(1)", "/relative/path",
    "http:////a.example", "&lt;script&gt;x&lt;/script&gt;", "&lt;img src=x&gt;", "&#10;",
]
#: markup inside a text element: the fast path leaves the document to feedparser
_LEFT = ["<!-- comment -->", "<b>nested</b>", "<?pi x?>"]
_PIECES = st.sampled_from(_MAPPED * 8 + _LEFT)
TEXT = st.lists(_PLAIN | _PIECES, max_size=5).map("".join)
DATES = st.sampled_from([
    "Tue, 24 Nov 2026 09:30:00 GMT", "Tue, 24 Nov 2026 09:30:00 +0300",
    "24 Nov 2026 09:30 MSK", "Tue, 24 Nov 26 09:30:00 EST", "Tue, 24 Nov 2026 09:30:00 Z",
    "2026-11-24T09:30:00Z", "2026-11-24T09:30:00.123456+05:30", "2026-11-24", "2026-11",
    "Tuesday, November 24, 2026", "24.11.2026 09:30", "garbage", "", " ", "0",
    "Mon, 31 Feb 2026 25:61:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 +1400",
]) | TEXT
ATTRS = st.sampled_from([""] * 40 + [" isPermaLink='false'", " isPermaLink='true'",
                                     " ispermalink='false'", " type='html'", " domain='d'",
                                     " xml:lang='fr'"])


def _element(name: str, body: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[str]:
    return st.tuples(ATTRS, body).map(lambda p: f"<{name}{p[0]}>{p[1]}</{name}>")


def _empty(name: str, attrs: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.tuples(st.sampled_from(attrs), TEXT), max_size=3, unique_by=lambda a: a[0]
                    ).map(lambda a: f"<{name}" + "".join(
                        f" {k}={quoteattr(v.replace('<', '&lt;'))}" for k, v in a) + "/>")


_LINKS = st.tuples(
    st.sampled_from(["", " rel='alternate'", " rel='enclosure'", " rel='self'", " rel='hub'",
                     " rel='Alternate'", " rel=''", " rel='related'"]),
    st.sampled_from(["", " type='text/html'", " type='audio/mpeg'", " length='12'",
                     " type='application/xhtml+xml'", " type='TEXT/HTML'"]),
    TEXT,
).map(lambda t: f"link{t[0]}{t[1]} href={quoteattr(t[2].replace('<', '&lt;'))}/>")
RSS_ITEM_PARTS = st.one_of(
    _element("title"), _element("link"), _element("description"),
    _element("content:encoded"), _element("guid"), _element("pubDate", DATES),
    _element("dc:date", DATES), _element("author"), _element("dc:creator"),
    _element("category"), _element("comments"),
    _empty("enclosure", ["url", "type", "length", "href", "Type"]),
    _LINKS.map(lambda link: f"<atom:{link}"), _element("itunes:duration"),
    _empty("itunes:image", ["href", "url"]),
    _empty("media:content", ["url", "type", "fileSize", "medium", "duration", "width"]),
    _empty("media:thumbnail", ["url", "width"]), _element("media:thumbnail"),
) | st.sampled_from(["<dc:title>t</dc:title>", "<media:title>t</media:title>", ""] +
                    [""] * 30)
RSS_CHANNEL_PARTS = st.one_of(
    _element("title"), _element("link"), _element("description"), _element("language"),
    _element("lastBuildDate", DATES), _element("ttl"), _element("sy:updatePeriod"),
    _element("sy:updateFrequency"), _empty("atom:link", ["rel", "href", "type"]),
    st.just("<atom:link rel='self' href='https://a.example/feed'/>"),
    st.just("<atom:link rel='hub' href='https://hub.example/'/>"),
)
_XHTML_NODES = st.recursive(
    st.sampled_from(["x", " ", "&amp;", "\n", "é", "<!-- c -->", "&lt;b&gt;", "\x85", ""]),
    lambda inner: st.tuples(
        st.sampled_from(["p", "b", "br", "div", "a href='/x?a=1&amp;b=2' REL='Next'",
                         "span Class='A' title='&quot;q&quot; &lt;'", "IMG src='i.png'"]),
        st.lists(inner, max_size=3),
    ).map(lambda t: f"<{t[0]}>{''.join(t[1])}</{t[0].split()[0]}>"),
    max_leaves=8)
_XHTML_BODY = st.tuples(
    st.sampled_from(["", " ", "\n  ", "lead"]), st.lists(_XHTML_NODES, max_size=3),
    st.sampled_from(["", " ", "tail", "<p xmlns='http://www.w3.org/1999/xhtml'>2</p>"]),
).map(lambda t: f"{t[0]}<div xmlns='http://www.w3.org/1999/xhtml'>{''.join(t[1])}</div>{t[2]}")
ATOM_KINDS = st.sampled_from(["", " type='text'", " type='html'", " type='xhtml'",
                              " type='TEXT'", " type='text/html'"])


def _construct(name: str) -> st.SearchStrategy[str]:
    return st.tuples(ATOM_KINDS, TEXT | _XHTML_BODY).map(
        lambda p: f"<{name}{p[0]}>{p[1]}</{name}>")


ATOM_ENTRY_PARTS = st.one_of(
    _construct("title"), _construct("summary"), _construct("content"),
    _element("id"), _element("published", DATES), _element("updated", DATES),
    _LINKS.map(lambda link: f"<{link}"), _empty("link", ["rel", "href", "type", "length"]),
    _empty("category", ["term", "scheme", "label"]),
    st.tuples(TEXT, TEXT).map(lambda p: f"<author><name>{p[0]}</name><email>{p[1]}</email>"
                                        "</author>"),
)


def _parts(draw: st.DrawFn, parts: st.SearchStrategy[str], size: int) -> str:
    """Elements mostly once each (feedparser keeps one value of most), now and then
    one of them again."""
    drawn = draw(st.lists(parts, max_size=size, unique_by=lambda p: p.split(">")[0]))
    if drawn and draw(st.sampled_from([False] * 6 + [True])):
        drawn.append(draw(parts))
    return "".join(drawn)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        channel = _parts(draw, RSS_CHANNEL_PARTS, 6)
        items = "".join("<item>" + _parts(draw, RSS_ITEM_PARTS, 8) + "</item>"
                        for _ in range(draw(st.integers(0, 3))))
        text = RSS.partition("<channel>")[0] + f"<channel>{channel}{items}</channel></rss>"
    else:
        entries = "".join("<entry>" + _parts(draw, ATOM_ENTRY_PARTS, 8) + "</entry>"
                          for _ in range(draw(st.integers(0, 3))))
        feed = draw(st.sampled_from(["", "<title>F</title><id>urn:f</id>"]))
        root = draw(st.sampled_from(["", " xml:lang='en'"]))
        text = ATOM_DOC.partition("<entry>")[0].format(root=root, feed=feed) + entries + "</feed>"
    encoding = draw(st.sampled_from(["utf-8", "windows-1251", "iso-8859-1"]))
    text = text.replace('encoding="utf-8"', f'encoding="{encoding}"')
    return text.encode(encoding, errors="xmlcharrefreplace")


#: XMLFEED_EXAMPLES=5000 for a longer hunt
@settings(max_examples=int(os.environ.get("XMLFEED_EXAMPLES", "400")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from([{}, {"content-type": "application/rss+xml"},
                                     {"content-type": "text/xml; charset=utf-8"},
                                     {"content-type": "application/atom+xml; charset=koi8-r"}]))
def test_generated_documents_read_the_same_or_fall_back(body: bytes,
                                                        headers: dict[str, str]) -> None:
    event("fast path" if assert_same(body, headers) else "feedparser")
