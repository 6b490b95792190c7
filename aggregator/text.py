"""Text helpers every stage shares, each in one place: XML-safe characters, URL checks
and canonical URLs, sanitized HTML and its plain text (nh3), the comparison fold, slugs,
and RE2 regular expressions for output rules.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import functools
import html
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:
    import nh3


# Characters XML 1.0 forbids (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/F):
# lxml refuses them, so one hostile item would otherwise break a whole output feed.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "yclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid",
    "_openstat", "_hsenc", "_hsmi", "mkt_tok",
})
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_ESCAPE = re.compile(r"%[0-9a-f]{2}", re.IGNORECASE)

# Tags we keep when republishing; everything else is unwrapped (text kept) or dropped.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "time", "tr", "u", "ul", "var", "audio", "video", "source", "picture",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "audio": {"src", "controls"},
    "video": {"src", "controls", "poster", "width", "height"},
    "source": {"src", "type"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "time": {"datetime"},
    "q": {"cite"},
    "blockquote": {"cite"},
}


@functools.cache
def _cleaners() -> tuple[nh3.Cleaner, nh3.Cleaner]:
    """nh3's cleaners (safe HTML; text only), built once: ``nh3.clean`` would convert the
    allow-lists for ammonia on every call. Imported at the first fragment, not with this
    module: feeds.yaml's checks use it, and a cycle of unchanged feeds sanitizes nothing."""
    import nh3

    return (nh3.Cleaner(tags=set(ALLOWED_TAGS),
                        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                        url_schemes={"http", "https", "mailto"},
                        link_rel="noopener noreferrer nofollow", strip_comments=True),
            nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"}))


_URL_ATTRIBUTES = re.compile(r'(\s(?:href|src|poster|cite)=")([^"]*)(")')
_BLOCK_END = re.compile(
    r"<(?:br|hr|/p|/div|/li|/h[1-6]|/tr|/blockquote|/pre|/dd|/dt)\b[^>]*>", re.IGNORECASE)
# A run of these becomes one space (a single space, already one, is not matched: less work)
_SPACES = re.compile(r"[\t\r\f\v\u00a0][ \t\r\f\v\u00a0]*|[ ][ \t\r\f\v\u00a0]+")

#: feeds.yaml names of sources and outputs: they become file names and URL paths
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_NAME = 64
_SLUG = re.compile(SLUG_PATTERN)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# Russian, Ukrainian, Belarusian and Kazakh letters, so "Известия" is named "izvestiya"
_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ў": "u", "ә": "a", "ғ": "g",
    "қ": "q", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h",
})


@functools.cache
def _re2() -> tuple[Any, Any]:
    """re2 and its options, loaded with the first rule compiled: not with feeds.yaml's
    models, which import this module (2.4 ms of `check`)."""
    import re2

    options = re2.Options()
    options.log_errors = False  # our error message says it; RE2 must not print to stderr
    return re2, options


# ---- characters and URLs -------------------------------------------------------------


# _XML_ILLEGAL's ASCII characters, as bytes
_ILLEGAL_ASCII: Final = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def strip_illegal_xml(text: str) -> str:
    """Remove characters that cannot appear in an XML 1.0 document."""
    if text.isascii():  # (a flag of the string: no scan) its bytes, at C speed
        data = text.encode("ascii")
        kept = data.translate(None, _ILLEGAL_ASCII)
        return text if len(kept) == len(data) else kept.decode("ascii")
    return _XML_ILLEGAL.sub("", text)


# An absolute http(s) URL that urllib parses and writes back unchanged: lower-case scheme,
# a host of letters, digits, dots and hyphens (a port maybe), printable ASCII without
# white space, no ";" in the path (urlparse would split parameters off), no empty "?" or
# "#" (urlunsplit would drop them)
_PLAIN_URL = re.compile(
    r'https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:/[!-"$-:<->@-~]*)?(?:\?[!-"$-~]+)?(?:#[!-~]+)?')


# A path from the root that urljoin keeps as it is: segments of _PLAIN_URL's path
# characters, none empty (urljoin drops "//"), "." or ".." (it resolves those), the last
# maybe empty; then a query and a fragment as in _PLAIN_URL
_PLAIN_ROOT_PATH = re.compile(
    r'(?=/)(?:/(?!\.\.?(?:[/?#]|\Z))[!-"$-.0-:<->@-~]+)*/?(?:\?[!-"$-~]+)?(?:#[!-~]+)?')
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]*)?")  # of a _PLAIN_URL


def join_url(base: str, url: str) -> str:
    """``urljoin(base, url)``, without parsing either when the base is a plain absolute
    URL (``_PLAIN_URL``) and the URL one too (urljoin would give it back as it is) or a
    plain path from the root (``_PLAIN_ROOT_PATH``: urljoin would put the base's scheme
    and host before it), as tests/test_text.py checks."""
    if base and _PLAIN_URL.fullmatch(url) and _PLAIN_URL.fullmatch(base):
        return url
    if url[:1] == "/" and _PLAIN_ROOT_PATH.fullmatch(url) and _PLAIN_URL.fullmatch(base):
        return cast(re.Match[str], _ORIGIN.match(base)).group() + url
    return urljoin(base, url)


# An http(s) URL with a host of ASCII letters, digits, dots and hyphens, maybe a port,
# then its path, query or fragment: urlsplit finds that host and port in it as they are
_PLAIN_HOST_URL = re.compile(r"https?://([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(?:[/?#].*)?",
                             re.DOTALL)


def url_problem(url: str) -> str | None:
    """Why ``url`` can never be fetched, or None when it might be.

    An http(s) URL with a host, a port in range, and a host name that DNS can carry
    (no empty label, none over 63 characters, punycode that decodes), or an IP literal.
    A URL with a plain host (``_PLAIN_HOST_URL``) whose port is in range and whose
    labels are 1-63 characters, none punycode, is one without parsing it (5 -> 1 us;
    10 ms of `check` of 1,000 sources, the idna codec's import included), as
    tests/test_text.py checks.
    """
    plain = _PLAIN_HOST_URL.fullmatch(url)
    if plain is not None:
        host, port = plain[1].lower(), plain[2]
        if (port is None or 0 < int(port) <= 65535) and "xn--" not in host \
                and all(0 < len(label) < 64 for label in host.rstrip(".").split(".")):
            return None
    return _parsed_url_problem(url)


def _parsed_url_problem(url: str) -> str | None:
    """url_problem, from the parts urlsplit finds."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"invalid URL: {error}"
    if parts.scheme.lower() not in ("http", "https"):
        return "invalid URL: not http:// or https://"
    host = parts.hostname
    if not host:
        return "invalid URL: no host"
    if port == 0:
        return "invalid URL: port 0"
    if parts.netloc.rsplit("@", 1)[-1].startswith("["):
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"invalid URL: {host!r} is not an IPv6 address"
        return None
    try:
        host.rstrip(".").encode("idna").decode("idna")
    except UnicodeError:
        return (f"invalid URL: host {host!r} is not a valid domain name "
                "(an empty label, a label over 63 characters, or bad punycode)")
    return None


def http_url(value: str | None) -> str | None:
    """``value`` if it is an absolute http(s) URL, else None: the one rule for every URL
    we republish (links, sources, feeds, home pages), wherever it came from, so a
    ``javascript:`` or ``data:`` link from a feed never becomes a link of ours."""
    if not value:
        return None
    value = strip_illegal_xml(value).strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def url_host(url: str) -> str:
    """The host name of ``url`` ('' when it has none or does not parse): what per-host
    politeness counts by, within a worker and across workers."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """A comparable form of ``url``: absolute, lowercase scheme and host, no default port,
    no fragment, no tracking parameters (utm_*, fbclid, gclid, yclid, ...).

    Returns None for anything that is not an http(s) URL.
    """
    if not url:
        return None
    url = strip_illegal_xml(url).strip()
    return canonical_joined(urljoin(base, url) if base else url)


# An http(s) URL that canonical_joined's parsing leaves alone but for the host's case and
# the tracking parameters: an ASCII host without a port, a path of what quote() keeps,
# a query of name=value pairs that parse_qsl and urlencode give back as they are
_SIMPLE_URL = re.compile(r"(https?)://([A-Za-z0-9.-]+)(/[A-Za-z0-9/:@!$&'()*+,;=~._-]*)?"
                         r"(?:\?([A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*"
                         r"(?:&[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*)*))?")


def canonical_joined(url: str) -> str | None:
    """:func:`canonical_url` of a URL already cleaned and joined to its base."""
    simple = _SIMPLE_URL.fullmatch(url)
    if simple is not None and (host := simple[2].lower().rstrip(".")):
        # what the general road below gives, without urllib
        scheme, _, path, query = simple.groups()
        if query:
            query = "&".join(pair for pair in query.split("&")
                             if not (name := pair.split("=", 1)[0].lower()).startswith("utm_")
                             and name not in TRACKING_PARAMS)
        return f"{scheme}://{host}{path or '/'}{'?' if query else ''}{query or ''}"
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            return None
        host = parts.hostname.rstrip(".")
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = host.lower()
        host = host.lower()
        port = parts.port
    except ValueError:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or str(port) == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    # encode what must be encoded (spaces, non-ASCII), keep existing escapes as they are
    path = _ESCAPE.sub(lambda m: m.group(0).upper(),
                       quote(parts.path, safe="/%:@!$&'()*+,;=~-._")) or "/"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
         if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS],
        doseq=True,
    )
    return urlunsplit((scheme, netloc, path, query, ""))


# ---- HTML ----------------------------------------------------------------------------


def _absolutize(fragment: str, base: str | None) -> str:
    """``_URL_ATTRIBUTES.sub`` with each URL joined to ``base``, the attributes found from
    each ``="`` in the fragment (a regular expression that starts with ``\\s`` tries every
    space of the text: 13.5 -> 8.2 us an item of the bench's corpus)."""
    if not base:
        return fragment
    pieces: list[str] = []
    last = 0  # where the last attribute replaced ends
    at = fragment.find('="')
    while at >= 0:
        name = 4 if fragment[at - 4:at] in ("href", "cite") else \
            3 if fragment[at - 3:at] == "src" else 6 if fragment[at - 6:at] == "poster" else 0
        start = at - name - 1  # (at the white space before the name)
        end = fragment.find('"', at + 2) if name and start >= last else -1
        if end >= 0 and fragment[start].isspace():
            raw = html.unescape(fragment[at + 2:end])
            pieces += (fragment[last:at + 2], html.escape(join_url(base, raw), quote=True))
            last = end
        at = fragment.find('="', at + 2)
    if not pieces:
        return fragment
    pieces.append(fragment[last:])
    return "".join(pieces)


def sanitize_html(fragment: str | None, base_url: str | None = None) -> str:
    """Safe HTML to store and republish: an allow-list of tags and attributes (nh3),
    http/https/mailto links only, relative URLs made absolute against ``base_url``."""
    if not fragment:
        return ""
    cleaned = _cleaners()[0].clean(strip_illegal_xml(fragment))
    return _absolutize(cleaned, base_url).strip()


# A tag the HTML parser only drops, as sanitize_html writes them (lower case, each attribute
# one space before it, its value in double quotes): a tag that makes the parser move or
# drop text (a table's, whose text is fostered out of it; <pre>, whose first line end
# goes) or read what follows as other than markup (<script>, <textarea>) is not one
_PLAIN_TAG: Final = re.compile(
    r'</?(?:a|abbr|b|blockquote|br|cite|code|dd|del|details|dfn|div|dl|dt|em|figcaption'
    r'|figure|h[1-6]|hr|i|img|ins|kbd|li|mark|ol|p|q|s|samp|small|span|strong|sub|summary'
    r'|sup|time|u|ul|var|audio|video|source|picture)(?: [a-z][a-z0-9:_.-]*="[^"]*")*>')
# The references sanitize_html writes in text: its text holds no other "&"
_PLAIN_REFERENCES: Final = ("&amp;", "&lt;", "&gt;", "&nbsp;", "&quot;")


def _without_plain_tags(marked: str) -> str | None:
    """What the HTML parser makes of ``marked`` before unescaping (nh3's text-only cleaner:
    the text, escaped), when all it has to do is drop tags: each tag one of
    ``_PLAIN_TAG`` (a closed tag the parser ignores or a parent it closes early moves no
    text) and each "&" one of ``_PLAIN_REFERENCES``, as in what sanitize_html gives
    (20 -> 4 us an item of the bench's corpus); else None. Line ends are normalized and a
    leading byte-order mark dropped, first, as the parser reads its input."""
    if "\r" in marked:
        marked = marked.replace("\r\n", "\n").replace("\r", "\n")
    text = _PLAIN_TAG.sub("", marked.removeprefix("\ufeff"))
    if "<" in text or ">" in text:
        return None
    if "&" in text and text.count("&") != sum(map(text.count, _PLAIN_REFERENCES)):
        return None
    return text


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, white space folded."""
    if not fragment:
        return ""
    if "<" in fragment or "&" in fragment:
        marked = _BLOCK_END.sub("\n", strip_illegal_xml(fragment))
        plain = _without_plain_tags(marked)
        text = html.unescape(_cleaners()[1].clean(marked) if plain is None else plain)
        text = strip_illegal_xml(unicodedata.normalize("NFC", text))
    else:  # no markup, no entity: what the HTML parser would give, without parsing
        text = strip_illegal_xml(fragment).removeprefix("\ufeff")
        # (NFC makes no character XML forbids: stripped once is enough)
        text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _fold_white_space(text).strip()


def _fold_white_space(text: str) -> str:
    """Each run of spaces and tabs (``_SPACES``) as one space, then each run of white space
    with a line end in it as one line end (``re.sub(r"\\s*\\n\\s*", "\\n", text)``, line
    by line: a regular expression tries every position)."""
    if "  " in text or any(space in text for space in "\t\r\f\v\u00a0"):
        text = _SPACES.sub(" ", text)
    if "\n" not in text:
        return text
    lines = text.split("\n")
    inner = [kept for line in lines[1:-1] if (kept := line.strip())]
    return "\n".join([lines[0].rstrip(), *inner, lines[-1].lstrip()])


# ---- comparing, naming, matching -----------------------------------------------------


def fold(text: str) -> str:
    """The case- and ё-insensitive form text is compared in (Unicode's NFKC_Casefold:
    NFKC, casefold, NFKC again), ё -> е. Keyword rules, fingerprints and outlet names
    all compare through it; ``fold(fold(x)) == fold(x)``."""
    once = unicodedata.normalize("NFKC", text).casefold()
    return unicodedata.normalize("NFKC", once).replace("ё", "е")


def is_slug(name: str) -> bool:
    """Whether ``name`` can be a feeds.yaml name as it is."""
    return _SLUG.match(name) is not None


def slugify(text: str) -> str:
    """``"BBC News Русская служба"`` -> ``"bbc-news-russkaya-sluzhba"``; may be empty.

    Lowercase ``[a-z0-9-]``, Cyrillic transliterated, accents dropped, at most 64
    characters (cut at a word boundary when that keeps at least half).
    """
    text = unicodedata.normalize("NFKD", text.lower().translate(_TRANSLIT))
    ascii_text = text.encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if len(slug) > MAX_NAME:
        cut = slug[:MAX_NAME]
        boundary = cut.rfind("-")
        if slug[MAX_NAME] != "-" and boundary >= MAX_NAME // 2:
            cut = cut[:boundary]
        slug = cut.strip("-")
    return slug


def contains_any(words: Iterable[str]) -> Callable[[str], bool]:
    """A test of whether a text holds any of ``words`` as a substring (exactly as
    written: case counts): ``any(w in text for w in words)`` in one linear RE2 scan
    rather than one scan per word. It reads the text's UTF-8 (a word's bytes lie in the
    text's bytes where the word lies in the text: UTF-8 is prefix-free, and the lone
    surrogates ``surrogatepass`` writes are no word's): RE2's search of a ``str`` costs
    more than encoding it."""
    re2, options = _re2()
    regex = re2.compile("|".join(map(re.escape, words)).encode(), options)

    def test(text: str) -> bool:
        return regex.search(text.encode("utf-8", "surrogatepass")) is not None

    return test


@functools.lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> Any:
    """Compile ``pattern`` with RE2; ValueError with RE2's reason when it is not valid."""
    re2, options = _re2()
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) \
            else str(error)
        raise ValueError(f"invalid regular expression (RE2 syntax): {reason}") from None
