"""text.fold: the one comparison form of keyword rules, fingerprints and outlet names."""

from __future__ import annotations

import html
import re
import unicodedata
from unittest.mock import patch
from urllib.parse import urljoin

from hypothesis import example, given, settings
from hypothesis import strategies as st

from aggregator import text
from aggregator.text import contains_any, fold, join_url, strip_illegal_xml


@example("ǰ")
@given(st.text())
def test_fold_is_idempotent_and_caseless(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    # caseless up to NFKC: casefold may decompose what NFKC composes back ("ǰ" is
    # "j" + U+030C casefolded, and U+01F0 again once normalized)
    assert fold(folded.casefold()) == folded
    assert "ё" not in folded


def test_fold_joins_what_readers_see_as_the_same_word() -> None:
    assert fold("ЁЛКИ") == fold("елки") == "елки"
    assert fold("Straße") == fold("STRASSE")
    assert fold("ᴬ") == "a"  # a modifier letter: NFKC first, then casefold
    assert fold("ﬁnance") == "finance"


def _parsed_text(fragment: str) -> str:
    """html_to_text's general path, through the HTML parser, whatever the input."""
    import html
    import unicodedata

    import nh3

    from aggregator.text import _BLOCK_END, strip_illegal_xml

    marked = _BLOCK_END.sub("\n", strip_illegal_xml(fragment))
    text = html.unescape(nh3.clean(marked, tags=set(), clean_content_tags={"script", "style"}))
    text = strip_illegal_xml(unicodedata.normalize("NFC", text))
    return re.sub(r"\s*\n\s*", "\n", re.sub(r"[ \t\r\f\v\u00a0]+", " ", text)).strip()


@given(st.text().filter(lambda t: "<" not in t and "&" not in t))
@example("\ufeffa byte-order mark first")
@example("lone\rcarriage\r\nreturns")
@example("\x13\ufeffa control character, then a byte-order mark")
@example("\u01af\x0be\u0301")  # a control character between letters that compose
def test_plain_text_skips_the_html_parser_with_the_same_result(text: str) -> None:
    from aggregator.text import html_to_text

    assert html_to_text(text) == _parsed_text(text)


_MARKUP_PIECES = st.sampled_from([
    "<p>", "</p>", "<b>", "</b>", "<a>", "</a>", "<li>", "<br>", "</br>", "<hr>", "<img>",
    '<a href="x">', '<a title="x>y">', '<a title="&amp;">', "<a  href=x>", "<B>", "<p/>",
    "<pre>", "</pre>", "<table>", "<td>", "<tr>", "</table>", "<caption>", "<script>",
    "</script>", "<textarea>", "<style>", "<!-- c -->", "<x>", "<h1>", "<div>", "<span>",
    "&amp;", "&lt;", "&gt;", "&nbsp;", "&quot;", "&copy", "&#13;", "&#0;", "&", "<", ">",
    "\r", "\r\n", "\n", "\ufeff", " ", "\u00a0", "\x00", "a", "é", "e\u0301", '"',
])


@settings(max_examples=1000)
@given(st.lists(_MARKUP_PIECES, max_size=12).map("".join))
@example("\ufeff<b>x</b>")
@example("a\r<b>\nc")
@example("<pre>\n\nx</pre>")
@example("x<table>y<td>z</td></table>")
def test_markup_the_parser_only_drops_skips_it_with_the_same_result(fragment: str) -> None:
    """Tags and references as sanitize_html writes them are dropped and decoded without
    the HTML parser: the same text as the parser gives, for any markup."""
    from aggregator.text import html_to_text, sanitize_html

    assert html_to_text(fragment) == _parsed_text(fragment)
    cleaned = sanitize_html(fragment, "http://example.com/")
    assert html_to_text(cleaned) == _parsed_text(cleaned)


def test_sanitized_markup_skips_the_html_parser() -> None:
    """What sanitize_html writes, tables and <pre> aside, is read without the parser."""
    from aggregator.text import _BLOCK_END, _without_plain_tags, sanitize_html

    cleaned = sanitize_html('<p class="x">Tom &amp; <a href="/a?b=1&c=2" title="1>0">Jerry'
                            "</a>&nbsp;&lt;3</p><ul><li>one<li>two</ul>\r\n<img src=x>",
                            "http://example.com/")
    assert _without_plain_tags(_BLOCK_END.sub("\n", cleaned)) == \
        "Tom &amp; Jerry&nbsp;&lt;3\none\ntwo\n\n"
    assert _without_plain_tags("<pre>\nx</pre>") is None
    assert _without_plain_tags("<table><td>x</td></table>") is None


@given(st.text(alphabet=" \t\r\f\v\u00a0\n\x1c\x85\u2028\u200b\u3000ab", max_size=40))
def test_white_space_folds_every_run(text: str) -> None:
    """Each run of spaces becomes one space, each run of white space with a line end one
    line end, though html_to_text matches only the runs that change, line by line."""
    from aggregator.text import _fold_white_space

    spaced = re.sub(r"[ \t\r\f\v\u00a0]+", " ", text)
    assert _fold_white_space(text) == re.sub(r"\s*\n\s*", "\n", spaced)


_URL_PARTS = st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "//", "/", "a", "b.c",
                              ":", ":80", "?", "#", ";", "@", "[", "]", "%20", " ", "\t", "..",
                              ".", "x=1", "&", "é", "\\", "-", "\x00", "javascript:"])


@settings(max_examples=1000)
@given(st.lists(_URL_PARTS, max_size=8).map("".join),
       st.lists(_URL_PARTS, max_size=8).map("".join))
@example("http://a/", "http://b/x?")
@example("http://a/", "http://b/x#")
@example("http://a/", "http://b/x?#y")
@example("http://a/", "http://b/p;q/r;")
@example("http://a/", "https://b:/x")
@example("http://[a/", "http://b/x")
@example("http://a/b", "HTTP://b/x")
def test_join_url_is_urljoin(base: str, url: str) -> None:
    try:
        expected: str | type[ValueError] = urljoin(base, url)
    except ValueError:
        expected = ValueError
    try:
        joined: str | type[ValueError] = join_url(base, url)
    except ValueError:
        joined = ValueError
    assert joined == expected


@settings(max_examples=1000)
@given(st.from_regex(text._PLAIN_URL, fullmatch=True),
       st.from_regex(text._PLAIN_URL, fullmatch=True))
def test_plain_urls_join_as_themselves(base: str, url: str) -> None:
    assert urljoin(base, url) == url == join_url(base, url)


_HOST_PARTS = st.sampled_from(["http://", "https://", "HTTP://", "a", "B", "0", "-", ".", "..",
                               "xn--", "XN--", "xn--p1ai", "a" * 63, "b" * 64, ":", ":0", ":00",
                               ":80", ":65535", ":65536", ":99999", ":123456", "/", "?", "#",
                               "@", "[::1]", "[", "]", "é", " ", "\t", "\n", "%", "_"])


@settings(max_examples=2000)
@given(st.lists(_HOST_PARTS, max_size=8).map("".join))
@example("http://" + "a" * 63 + "." + "b" * 63 + ":8080/x")
@example("http://a.." + "b" * 64 + "/")
@example("http://.../")
@example("http://a.xn--p1ai/")
@example("http://a:0/")
@example("http://a:65536/")
def test_url_problem_of_a_plain_host_is_what_urlsplit_finds(url: str) -> None:
    assert text.url_problem(url) == text._parsed_url_problem(url)


@settings(max_examples=500)
@given(st.from_regex(text._PLAIN_HOST_URL, fullmatch=True))
def test_url_problem_of_plain_host_urls_is_what_urlsplit_finds(url: str) -> None:
    assert text.url_problem(url) == text._parsed_url_problem(url)


_SEGMENTS = st.sampled_from(["", "a", ".", "..", ".a", "a.", "...", "b.c", "%20", ";p", "x=1",
                             ":", "@", "&", "é", " ", "\\", "~"])


@settings(max_examples=1000)
@given(st.from_regex(text._PLAIN_URL, fullmatch=True),
       st.lists(_SEGMENTS, max_size=5).map("/".join),
       st.sampled_from(["", "?", "?q", "?a=1&b=/../", "?#", "#", "#f", "?q#f/..", "#/./"]))
@example("http://a", "", "")
@example("http://a/b/c", "/..", "")
@example("http://a:/", "/b/.", "?q")
def test_paths_from_the_root_join_as_urljoin_would(base: str, path: str, tail: str) -> None:
    url = "/" + path + tail
    assert join_url(base, url) == urljoin(base, url)


@settings(max_examples=500)
@given(st.from_regex(text._PLAIN_URL, fullmatch=True),
       st.from_regex(text._PLAIN_ROOT_PATH, fullmatch=True))
def test_plain_paths_from_the_root_join_as_urljoin_would(base: str, url: str) -> None:
    assert join_url(base, url) == urljoin(base, url)


@given(st.lists(st.text(alphabet="ab\u00e9\u0436\ud7ff\U0001f600.", min_size=1, max_size=3),
                min_size=1, max_size=4),
       st.text(alphabet="ab\u00e9\u0436\ud7ff\U0001f600.\ud800\udfff\x00", max_size=20))
def test_contains_any_is_any_word_in_the_text(words: list[str], text: str) -> None:
    assert contains_any(words)(text) == any(word in text for word in words)


def _canonical_by_urllib(url: str) -> str | None:
    """canonical_joined's general road (urllib's parsing), whatever the URL."""
    with patch.object(text, "_SIMPLE_URL", re.compile("(?!)")):
        return text.canonical_joined(url)

_URL_PIECES = st.sampled_from(["http://", "https://", "a", "B", "-", ".", "/", "?", "=", "&",
                               "utm_source", "UTM_x", "fbclid", "id", "1", "~", "_", ";", ":",
                               "%2f", "+", " ", "é", "#", "@", "'", "x" * 64])


@settings(max_examples=2000)
@given(st.sampled_from(["http://", "https://"]), st.lists(_URL_PIECES, max_size=12).map("".join))
@example("http://", "A.B./p/q?utm_source=1&id=2&fbclid=3")
@example("https://", "a..b?x=&y=1")
@example("http://", "...?a=1")
def test_simple_urls_are_made_canonical_as_urllib_would(scheme: str, rest: str) -> None:
    url = scheme + rest
    assert text.canonical_joined(url) == _canonical_by_urllib(url)


_XML_CHARACTERS = ("a\u0436\n\t\r \x00\x08\x0b\x0c\x1f\x7f\x80\ud800\udfff\ufffd\ufffe\uffff"
                   "\U0001f600")
_FORBIDDEN_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


@given(st.text(alphabet=_XML_CHARACTERS, max_size=40) | st.text(max_size=40)
       | st.text(alphabet="ab\t\n\r\x00\x1f\x7f \x0b"))
def test_strip_illegal_xml_removes_what_xml_forbids(value: str) -> None:
    assert strip_illegal_xml(value) == _FORBIDDEN_IN_XML.sub("", value)


def test_every_character_xml_forbids_is_removed() -> None:
    assert [chr(c) for c in range(0x110000)
            if strip_illegal_xml(f"a{chr(c)}b") != _FORBIDDEN_IN_XML.sub("", f"a{chr(c)}b")] == []


def _absolutized_by_substitution(fragment: str, base: str) -> str:
    """text._absolutize as a substitution of its regular expression."""
    def fix(match: re.Match[str]) -> str:
        raw = html.unescape(match.group(2))
        return f"{match.group(1)}{html.escape(join_url(base, raw), quote=True)}{match.group(3)}"

    return text._URL_ATTRIBUTES.sub(fix, fragment)


_MARKUP = st.lists(st.sampled_from([
    '<a href="', '<img src="', ' src="', ' poster="', ' cite="', '\ncite="', 'href="', ' alt="',
    '="', '"', "=", " ", "\u00a0", "\t", "/x?a=1&amp;b=2", "https://other.example/p", "src",
    "href", "poster", "a>", "ё", "&lt;", "javascript:x",
]), max_size=14).map("".join)


@settings(max_examples=1000)
@given(_MARKUP)
@example('<a href="/a">x</a> <img src="b.png" alt="src=">')
@example(' href="a=" src="b"')
def test_urls_are_absolutized_where_the_regular_expression_finds_them(fragment: str) -> None:
    for base in ("https://example.com/feed/", "http://h.example"):
        assert text._absolutize(fragment, base) == _absolutized_by_substitution(fragment, base)


def test_nfc_makes_no_character_xml_forbids() -> None:
    """What lets html_to_text strip a text without markup once, before NFC."""
    made = [c for c in map(chr, range(0x110000)) if strip_illegal_xml(c) == c
            and strip_illegal_xml(nfc := unicodedata.normalize("NFC", c)) != nfc]
    assert made == []
