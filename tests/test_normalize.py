from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import urls
from lxml import etree

from aggregator.ingest.normalize import (
    _cut_line,
    clamp_to_now,
    normalize_entry,
    summarize,
    to_utc,
)
from aggregator.text import canonical_url, html_to_text, sanitize_html, strip_illegal_xml
from aggregator.types import ParsedEntry

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTP://Example.COM:80/a?utm_source=x&id=1&fbclid=2#frag", "http://example.com/a?id=1"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/x", "https://example.com:8443/x"),
    ("https://example.com/p?gclid=1&yclid=2&utm_campaign=c", "https://example.com/p"),
    ("https://example.com/p?b=2&a=1", "https://example.com/p?b=2&a=1"),
    ("https://ПРИМЕР.рф/новости", "https://xn--e1afmkfd.xn--p1ai/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8"),
    ("https://example.com/a%20b", "https://example.com/a%20b"),
    ("/relative/path", None),
    ("javascript:alert(1)", None),
    ("mailto:a@example.com", None),
    ("", None),
    ("http://[::1", None),
])
def test_canonical_url(url: str, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_resolves_against_a_base() -> None:
    assert canonical_url("/b?utm_medium=x", "https://Example.com/a/") == "https://example.com/b"


@given(urls())
def test_canonical_url_is_idempotent_and_drops_fragments_and_trackers(url: str) -> None:
    once = canonical_url(url)
    if once is None:
        return
    assert canonical_url(once) == once
    parts = urlsplit(once)
    assert parts.fragment == ""
    assert parts.netloc == parts.netloc.lower()
    assert not any(k.startswith("utm_") for k, _ in parse_qsl(parts.query))


@given(st.text())
def test_strip_illegal_xml_always_yields_text_lxml_accepts(text: str) -> None:
    element = etree.Element("t")
    element.text = strip_illegal_xml(text)
    assert etree.fromstring(etree.tostring(element)).text in (element.text, None)


@given(st.text())
def test_html_to_text_never_contains_markup_or_illegal_characters(text: str) -> None:
    plain = html_to_text(text)
    assert strip_illegal_xml(plain) == plain
    assert "<script" not in plain.lower() or "<script" in text.lower()


@given(st.datetimes(timezones=st.timezones() | st.none()))
def test_to_utc_is_aware_utc_and_the_same_instant(value: datetime) -> None:
    result = to_utc(value)
    assert result is not None and result.utcoffset() == timedelta(0)
    if value.tzinfo is not None and value.utcoffset() is not None:
        assert result.timestamp() == value.timestamp()  # PEP 495: == is False in a fold


def test_to_utc_converts_offsets() -> None:
    moscow = datetime(2026, 11, 24, 9, 30, tzinfo=timezone(timedelta(hours=3)))
    assert to_utc(moscow) == datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
    assert to_utc(None) is None


def test_future_dates_are_clamped_to_now() -> None:
    assert clamp_to_now(NOW + timedelta(days=3), NOW) == NOW
    assert clamp_to_now(NOW + timedelta(minutes=5), NOW) == NOW + timedelta(minutes=5)
    assert clamp_to_now(None, NOW) is None


@pytest.mark.parametrize(("dirty", "forbidden"), [
    ('<p onclick="x()">a</p>', "onclick"),
    ("<script>alert(1)</script><p>a</p>", "alert"),
    ('<a href="javascript:alert(1)">a</a>', "javascript:"),
    ('<img src="x" onerror="alert(1)">', "onerror"),
    ('<iframe src="https://evil.example/"></iframe>', "iframe"),
    ("<style>body{display:none}</style>", "display"),
    ('<a href="data:text/html,x">a</a>', "data:"),
    ("<!-- secret -->", "secret"),
])
def test_sanitize_html_removes_what_could_harm_a_reader(dirty: str, forbidden: str) -> None:
    assert forbidden not in sanitize_html(dirty)


def test_sanitize_html_keeps_content_and_absolutizes_links() -> None:
    clean = sanitize_html('<p>Hi <a href="/x?a=1&amp;b=2">x</a> <img src="i.png" alt="i"></p>',
                          "https://example.com/news/")
    assert 'href="https://example.com/x?a=1&amp;b=2"' in clean
    assert 'src="https://example.com/news/i.png"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean
    assert clean.startswith("<p>Hi ")


def test_html_to_text_folds_blocks_and_decodes_entities() -> None:
    text = html_to_text("<p>Hello&nbsp;<b>world</b></p><p>Tom &amp; Jerry &lt;3</p>"
                        "<script>x()</script>")
    assert text == "Hello world\nTom & Jerry <3"


def test_summarize_cuts_at_a_word_boundary() -> None:
    text = "word " * 100
    summary = summarize(text, 50)
    assert len(summary) <= 51 and summary.endswith("…") and "wor…" not in summary
    assert summarize("short text") == "short text"


def _summarize_whole(text: str, limit: int) -> str:
    """summarize's definition: the whole text folded, then cut."""
    return _cut_line(" ".join(text.split()), limit)


@given(st.text(alphabet="ab ,.;:-\n\t\u00a0\u2028\x1c", max_size=400),
       st.integers(min_value=1, max_value=120))
def test_summarize_reads_a_head_of_the_text_as_the_whole_fold_would(
        text: str, limit: int) -> None:
    assert summarize(text, limit) == _summarize_whole(text, limit)


def _entry(**fields: object) -> ParsedEntry:
    base: dict[str, object] = {
        "id": None, "link": None, "title": None, "summary_html": None, "content_html": None,
        "author": None, "published": None, "updated": None,
    }
    base.update(fields)
    return ParsedEntry(**base)  # type: ignore[arg-type]


def test_guid_falls_back_from_id_to_link_to_content_hash() -> None:
    feed = "https://example.com/feed"
    with_id = normalize_entry(_entry(id="abc", link="https://e.com/1", title="t"), feed, NOW)
    with_link = normalize_entry(_entry(link="https://e.com/1?utm_source=x", title="t"), feed, NOW)
    bare = normalize_entry(_entry(title="t", summary_html="body"), feed, NOW)
    assert with_id is not None and with_id.guid == "abc"
    assert with_link is not None and with_link.guid == "https://e.com/1"
    assert bare is not None and bare.guid.startswith("sha256:")
    again = normalize_entry(_entry(title="t", summary_html="body"), feed, NOW)
    assert again is not None and again.guid == bare.guid


def test_an_entry_with_nothing_in_it_is_dropped() -> None:
    assert normalize_entry(_entry(), "https://example.com/feed", NOW) is None


def test_an_entry_without_a_title_gets_one_from_its_text() -> None:
    item = normalize_entry(_entry(id="1", summary_html="<p>First words of the post</p>"),
                           "https://example.com/", NOW)
    assert item is not None and item.title == "First words of the post"
