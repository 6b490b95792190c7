"""feedrules.py against feedparser: each rule gives what the feedparser function it
stands for gives (fixtures, hand-made corner cases, hypothesis), and the fast path
reads RSS 2.0 and Atom without importing feedparser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from feedparser import encodings
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.ingest import feedrules
from aggregator.ingest.feedrules import (
    CP1252,
    fix_uri,
    looks_like_html,
    parse_date,
    to_utf8,
    xml_escape,
)

DATA = Path(__file__).parent / "data"
FEEDS = sorted(p for p in DATA.rglob("*") if p.suffix in (".xml", ".rdf"))

# --- dates ---------------------------------------------------------------------------

COMMON_DATES = [
    "Thu, 01 Oct 2026 09:14:00 GMT", "Thu, 01 Oct 2026 09:14:00 +0300",
    "1 Oct 2026 09:14 -0500", "Sat, 29 Feb 2025 00:00:00 GMT",
    "Mon, 31 Dec 9999 23:59:59 -0100",
    "Mon, 01 Jan 0001 00:00:00 +0100", "Tue, 10 Jun 2003 04:00:00 EST", "10 jun 2003 04:00:00 utc",
    "Wed, 02 Oct 2002 13:00:00 Z", "Wed, 02 Oct 2002 13:00:00 BST", "Wed, 02 Oct 2002 25:00:00 GMT",
    "2026-10-01T09:14:00Z", "2026-10-01T09:14:00.123456+03:00", "2026-10-01T09:14-05:30",
    "2026-10-01t09:14:00z", "2026-02-30T09:14:00Z", "2026-10-01T24:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "2026-10-01", "2026-10-01 09:14:00", "", " ", "yesterday",
]


def _feedparser_date(text: str) -> object:
    return _parse_date(text)


@pytest.mark.parametrize("text", COMMON_DATES)
def test_dates_as_feedparser_reads_them(text: str) -> None:
    assert parse_date(text) == _feedparser_date(text)


def test_common_dates_are_read_without_feedparser() -> None:
    for text in ("Thu, 01 Oct 2026 09:14:00 GMT", "2026-10-01T09:14:00.5+03:00",
                 "Wed, 30 Sep 2026 17:53:00 MSK",
                 "1 Oct 2026 09:14 -0500"):
        assert feedrules._own_date(text) is not None


_DAY_NAMES = st.sampled_from(["", "Mon, ", "Tue, ", "Wed, ", "thu, ", "FRI, ", "Sat, ", "Sun, ",
                              "Xyz, ", "Mon ", "Monday, "])
_MONTH_NAMES = st.sampled_from(["Jan", "feb", "MAR", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                "Oct", "Nov", "Dec", "Foo", "June"])
_ZONE_NAMES = st.sampled_from(["GMT", "UT", "UTC", "Z", "EST", "EDT", "CST", "CDT", "MST", "MDT",
                               "PST", "PDT", "A", "M", "N", "Y", "BST", "MSK", "gmt", "CET",
                               "GMT+3", "Etc/GMT", "MSK", "MEST", "met", "GMTA", "gmtx", "AT",
                               "ET", "PT", "CEST", "ABCDEF"])


def _number(low: int, high: int, width: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: str(n).zfill(width))


_OFFSETS = st.builds(lambda sign, h, m: f"{sign}{h}{m}", st.sampled_from("+-"),
                     _number(0, 99, 2), _number(0, 99, 2))
_RFC822_DATES = st.builds(
    lambda name, day, month, year, hour, minute, second, zone:
        f"{name}{day} {month} {year} {hour}:{minute}{second} {zone}",
    _DAY_NAMES, st.one_of(_number(0, 40, 1), _number(0, 40, 2)), _MONTH_NAMES,
    st.one_of(_number(0, 9999, 4), _number(0, 99, 2)), _number(0, 26, 2), _number(0, 61, 2),
    st.one_of(st.just(""), _number(0, 61, 2).map(lambda s: ":" + s)),
    st.one_of(_ZONE_NAMES, _OFFSETS))
_W3C_DATES = st.builds(
    lambda year, month, day, t, hour, minute, second, fraction, zone:
        f"{year}-{month}-{day}{t}{hour}:{minute}{second}{fraction}{zone}",
    _number(0, 9999, 4), _number(0, 14, 2), _number(0, 32, 2), st.sampled_from("Tt "),
    _number(0, 25, 2), _number(0, 61, 2),
    st.one_of(st.just(""), _number(0, 61, 2).map(lambda s: ":" + s)),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=10).map(lambda s: "." + s)),
    st.one_of(st.sampled_from(["Z", "z", "", "GMT"]),
              st.builds(lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"),
                        _number(0, 99, 2), _number(0, 99, 2))))


@settings(max_examples=600, deadline=None)
@given(st.one_of(_RFC822_DATES, _W3C_DATES, st.text(max_size=40),
                 st.text("0123456789-+:TZtz ., ADEFGJMNOSTUabcdefghjlmnoprstuvy", max_size=40)))
def test_generated_dates_as_feedparser_reads_them(text: str) -> None:
    assert parse_date(text) == _feedparser_date(text)


# --- the document's charset ------------------------------------------------------------


def _convert(headers: dict[str, str], body: bytes) -> tuple[bytes, str]:
    result: dict[str, object] = {}
    data = encodings.convert_to_utf8(dict(headers), body, result)
    return data, str(result.get("encoding") or "")


def test_marks_are_feedparsers() -> None:
    for mark in (encodings.EBCDIC_MARKER, encodings.UTF16BE_MARKER, encodings.UTF16LE_MARKER,
                 encodings.UTF32BE_MARKER, encodings.UTF32LE_MARKER):
        assert mark in feedrules._MARKS


_CONTENT_TYPES = ["application/rss+xml; charset=utf-8", "application/atom+xml", "text/xml",
                  "text/xml; charset=windows-1251", "application/xml; charset=\"KOI8-R\"",
                  "text/html; charset=utf-8", "text/plain", "application/octet-stream",
                  "text/xml; charset=bogus", "application/rss+xml; charset=gb2312",
                  "text/atom+xml", "application/xml;charset=iso-8859-1", ""]


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: str(p.relative_to(DATA)))
@pytest.mark.parametrize("content_type", [None, *_CONTENT_TYPES[:6]])
def test_fixtures_decode_as_feedparser_decodes(path: Path, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    body = path.read_bytes()
    assert to_utf8(headers, body) == _convert(headers, body)


_PROLOGS = st.sampled_from([
    b"", b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="utf-8"?>',
    b"<?xml version='1.0' encoding='windows-1251'?>", b'<?xml version="1.0" encoding="KOI8-R"?>',
    b'<?xml version="1.0" encoding="iso-8859-1" standalone="yes"?>',
    b'<?xml version="1.0" encoding="gb2312"?>', b'<?xml version="1.0" encoding="nonsense"?>',
    b"\xef\xbb\xbf<?xml version='1.0'?>", b"\xff\xfe<\x00", b"  <?xml version='1.0'?>",
])
_ENCODINGS = st.sampled_from(["utf-8", "cp1251", "koi8-r", "latin-1", "cp1252", "ascii"])


@settings(max_examples=400, deadline=None)
@given(_PROLOGS, st.text(max_size=60), _ENCODINGS, st.binary(max_size=8),
       st.one_of(st.none(), st.sampled_from(_CONTENT_TYPES)), st.booleans())
def test_generated_bodies_decode_as_feedparser_decodes(
        prolog: bytes, text: str, encoding: str, noise: bytes, content_type: str | None,
        other_headers: bool) -> None:
    body = prolog + b"\n<rss>" + text.encode(encoding, "replace") + noise + b"</rss>"
    headers = {"etag": "x"} if other_headers else {}
    if content_type is not None:
        headers["content-type"] = content_type
    assert to_utf8(headers, body) == _convert(headers, body)


def test_the_bench_corpus_decodes_as_feedparser_decodes() -> None:
    corpus = Path("/tmp/aggregator-bench/corpus-1000x50-s1-y0.15-v1")
    if not (corpus / "manifest.json").exists():
        pytest.skip("no bench corpus here (python -m bench makes it)")
    for entry in json.loads((corpus / "manifest.json").read_text())["files"][:200]:
        body = (corpus / entry["file"]).read_bytes()
        headers = {"content-type": entry["content_type"]}
        assert to_utf8(headers, body) == _convert(headers, body)


# --- URIs, windows-1252, HTML ------------------------------------------------------------


def test_cp1252_is_feedparsers() -> None:
    assert _cp1252 == CP1252


@given(st.text(":/.+-aAzZ09 %?#@", max_size=20) | st.text(max_size=20))
def test_uris_fixed_as_feedparser_fixes_them(uri: str) -> None:
    assert fix_uri(uri) == _urljoin("", uri)


@pytest.mark.parametrize("uri", ["http:///a", "HTTP:////x/y", "svn+ssh:///r", "a://", "",
                                 "//x", "http://x///y", "1http:///z"])
def test_uri_cases(uri: str) -> None:
    assert fix_uri(uri) == _urljoin("", uri)


@given(st.text("<>/&;#abpiscrt1 ", max_size=30) | st.text(max_size=30))
def test_html_recognised_as_feedparser_recognises_it(text: str) -> None:
    assert looks_like_html(text) == bool(_FeedParserMixin.looks_like_html(text))


@given(st.text("<>&\"'a ", max_size=20) | st.text(max_size=20))
def test_xml_escaped_as_saxutils_escapes(text: str) -> None:
    assert xml_escape(text) == escape(text)
    assert xml_escape(text, quote=True) == escape(text, {'"': "&quot;"})


# --- what a worker imports -------------------------------------------------------------

_IMPORTS = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from aggregator.ingest.prepare import prepare_feed
now = datetime(2026, 10, 2, tzinfo=UTC)
for name, content_type in {names!r}:
    prepare_feed(Path(name).read_bytes(), {{"Content-Type": content_type}},
                 "https://example.com/feed", now)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("feedparser", "charset_normalizer")))
"""


def _modules_after(*feeds: tuple[str, str]) -> str:
    code = _IMPORTS.format(names=[(str(DATA / "feeds" / n), t) for n, t in feeds])
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_rss_and_atom_are_read_without_feedparser() -> None:
    assert _modules_after(("rss2.xml", "application/rss+xml"),
                          ("atom.xml", "application/atom+xml; charset=utf-8"),
                          ("ru-cp1251.xml", "text/xml")) == "[]"


def test_other_documents_load_feedparser() -> None:
    assert "'feedparser'" in _modules_after(("rss1.rdf", "application/rdf+xml"))
