"""Pure normalization: canonical URLs, UTC dates, stable guids, sanitized HTML, plain text.

Nothing here does I/O; the clock is passed in.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from aggregator.types import ItemData, ParsedEntry

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
_URL_ATTRIBUTES = re.compile(r'(\s(?:href|src|poster|cite)=")([^"]*)(")')
_BLOCK_END = re.compile(
    r"<(?:br|hr|/p|/div|/li|/h[1-6]|/tr|/blockquote|/pre|/dd|/dt)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_LINES = re.compile(r"\s*\n\s*")
SUMMARY_CHARS = 300
# A published date further in the future than this is treated as "now": a feed that
# claims 2099 must not pin its item to the top of every output forever.
FUTURE_TOLERANCE = timedelta(hours=1)


def strip_illegal_xml(text: str) -> str:
    """Remove characters that cannot appear in an XML 1.0 document."""
    return _XML_ILLEGAL.sub("", text)


def url_problem(url: str) -> str | None:
    """Why ``url`` can never be fetched, or None when it might be.

    An http(s) URL with a host, a port in range, and a host name that DNS can carry
    (no empty label, none over 63 characters, punycode that decodes), or an IP literal.
    """
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


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """A comparable form of ``url``: absolute, lowercase scheme and host, no default port,
    no fragment, no tracking parameters (utm_*, fbclid, gclid, yclid, ...).

    Returns None for anything that is not an http(s) URL.
    """
    if not url:
        return None
    url = strip_illegal_xml(url).strip()
    if base:
        url = urljoin(base, url)
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


def to_utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def clamp_to_now(value: datetime | None, now: datetime) -> datetime | None:
    """Dates in the future (beyond a small tolerance) become ``now``."""
    if value is not None and value > now + FUTURE_TOLERANCE:
        return now
    return value


def _absolutize(fragment: str, base: str | None) -> str:
    if not base:
        return fragment

    def fix(match: re.Match[str]) -> str:
        raw = html.unescape(match.group(2))
        return f"{match.group(1)}{html.escape(urljoin(base, raw), quote=True)}{match.group(3)}"

    return _URL_ATTRIBUTES.sub(fix, fragment)


def sanitize_html(fragment: str | None, base_url: str | None = None) -> str:
    """Safe HTML to store and republish: an allow-list of tags and attributes (nh3),
    http/https/mailto links only, relative URLs made absolute against ``base_url``."""
    if not fragment:
        return ""
    cleaned = nh3.clean(
        strip_illegal_xml(fragment),
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return _absolutize(cleaned, base_url).strip()


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, white space folded."""
    if not fragment:
        return ""
    marked = _BLOCK_END.sub("\n", strip_illegal_xml(fragment))
    text = nh3.clean(marked, tags=set(), clean_content_tags={"script", "style"})
    text = html.unescape(text)
    text = strip_illegal_xml(unicodedata.normalize("NFC", text))
    return _LINES.sub("\n", _SPACES.sub(" ", text)).strip()


def summarize(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first ``limit`` characters of ``text`` on one line, cut at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def content_hash(*parts: str | None) -> str:
    """A stable hash of the parts that make an item what it is."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def item_guid(entry: ParsedEntry, canonical: str | None, text_hash: str) -> str:
    """The item's identity within its source.

    id -> link -> content hash, in that order: an entry id is the publisher's own key;
    without one the link usually is stable; without either, the content is all we have
    (such an item will be new again if its text is edited - nothing better exists).
    """
    if entry.id and entry.id.strip():
        return strip_illegal_xml(entry.id.strip())[:1000]
    if canonical:
        return canonical
    return f"sha256:{text_hash}"


def normalize_entry(entry: ParsedEntry, feed_url: str, now: datetime) -> ItemData | None:
    """One parsed entry -> ItemData, or None when it carries nothing worth keeping."""
    url = canonical_url(entry.link, feed_url) if entry.link else None
    link = urljoin(feed_url, strip_illegal_xml(entry.link).strip()) if entry.link else None
    content = sanitize_html(entry.content_html or entry.summary_html, link or feed_url)
    text = html_to_text(content)
    title = html_to_text(entry.title) if entry.title else ""
    if not title and not text and not url:
        return None
    summary_source = html_to_text(entry.summary_html) if entry.summary_html else text
    digest = content_hash(title, content, url)
    if not title:
        title = summarize(text, 80) or (url or "Untitled")
    published = clamp_to_now(to_utc(entry.published or entry.updated), now)
    updated = clamp_to_now(to_utc(entry.updated), now)
    return ItemData(
        guid=item_guid(entry, url, digest),
        url=link if url else None,
        canonical_url=url,
        title=title,
        author=html_to_text(entry.author) or None if entry.author else None,
        content_html=content,
        summary_text=summarize(summary_source or text),
        published_at=published,
        updated_at=updated,
        content_hash=digest,
        categories=tuple(dict.fromkeys(filter(None, map(html_to_text, entry.categories)))),
    )


def utc_now() -> datetime:
    """The one place the shell reads the clock from; pure code takes ``now`` as an argument."""
    return datetime.now(UTC)
