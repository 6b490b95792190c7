"""feedparser's rules that the lxml fast path (ingest/xmlfeed.py) follows, without
importing feedparser (10-14 MB resident in every parse worker) for the common cases.

Each function gives exactly what the feedparser function it names gives. It decides the
plain, common inputs itself and hands anything else to feedparser, imported then:

- :func:`parse_date`: ``feedparser.datetimes._parse_date``. Decided here: W3C-DTF
  (``2026-10-01T09:14:00Z``, ``...T09:14+03:00``, a fraction of a second) and RFC 822
  (``Thu, 01 Oct 2026 09:14:00 GMT``, ``+0300``, a zone name) as strict forms;
  feedparser's first two handlers read those (W3C-DTF first, then RFC 822).
- :func:`to_utf8`: ``feedparser.encodings.convert_to_utf8``, decided here when the
  document has no byte order mark and decodes in the charset RFC 3023 gives it (from
  the headers and the XML declaration, as feedparser applies the RFC) or, failing that,
  in the one its XML declaration names (feedparser's next try).
- :func:`fix_uri`: ``feedparser.urls._urljoin("", uri)``.
- :data:`CP1252`: ``feedparser.html._cp1252``, the C1 controls read as windows-1252.
- :func:`looks_like_html`: ``_FeedParserMixin.looks_like_html``; its first test (a
  closing tag or an entity) here, the rest in feedparser when that test passes.
- :func:`xml_escape`: ``xml.sax.saxutils.escape``, which feedparser writes xhtml with.

tests/test_feedrules.py checks each against feedparser (fixtures, a corpus, hypothesis).
"""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

# --- dates ---------------------------------------------------------------------------

_W3CDTF = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})t([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?"
    r"(z|[+-][0-9]{2}:[0-9]{2})", re.ASCII)
_RFC822 = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun), )?([0-9]{1,2}) "
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))? ([+-][0-9]{4}|[a-z]{1,5})", re.ASCII)
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    start=1)}
#: the zone names feedparser's RFC 822 handler knows, with their hours from UTC: any other
#: name (MSK, CET, UTC...) it reads as UTC; "gmt" followed by more goes to feedparser
_ZONES = {"ut": 0, "gmt": 0, "z": 0, "adt": -3, "ast": -4, "at": -4, "edt": -4, "est": -5,
          "et": -5, "cdt": -5, "cst": -6, "ct": -6, "mdt": -6, "mst": -7, "mt": -7, "pdt": -7,
          "pst": -8, "pt": -8, "a": -1, "n": 1, "m": -12, "y": 12, "met": 1, "mest": 2}


def _utc_tuple(fields: tuple[int, int, int, int, int, int],
               hours: int, minutes: int) -> time.struct_time | None:
    """The UTC time tuple of a local time ``hours:minutes`` ahead of UTC; None when the
    fields make no date (feedparser's other handlers then have their say)."""
    try:
        return (datetime(*fields) - timedelta(hours=hours, minutes=minutes)).utctimetuple()
    except (ValueError, OverflowError):
        return None


def _own_date(text: str) -> time.struct_time | None:
    """A strict W3C-DTF or RFC 822 date's UTC time tuple, or None (not one of those)."""
    lowered = text.lower()
    match = _W3CDTF.fullmatch(lowered)
    if match is not None:
        year, month, day, hour, minute, second, zone = match.groups()
        hours = minutes = 0
        if zone != "z":
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = sign * int(zone[1:3]), sign * int(zone[4:])
        return _utc_tuple((int(year), int(month), int(day), int(hour), int(minute),
                           int(second or 0)), hours, minutes)
    match = _RFC822.fullmatch(lowered)
    if match is not None:
        day, month, year, hour, minute, second, zone = match.groups()
        if zone[0] in "+-":
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = sign * int(zone[1:3]), sign * int(zone[3:])
        elif zone.startswith("gmt") and zone != "gmt":
            return None
        else:
            hours, minutes = _ZONES.get(zone, 0), 0
        return _utc_tuple((int(year), _MONTHS[month], int(day), int(hour), int(minute),
                           int(second or 0)), hours, minutes)
    return None


def parse_date(text: str) -> Any:
    """feedparser's ``_parse_date(text)``: a UTC ``time.struct_time`` or None."""
    if not text:
        return None
    found = _own_date(text)
    if found is not None:
        return found
    from feedparser.datetimes import _parse_date  # the other forms (loaded then only)

    return _parse_date(text)


# --- the document's charset ------------------------------------------------------------

#: what feedparser's convert_to_utf8 reads as a byte order mark or an encoding's first
#: bytes (UTF-32/16/8 marks, EBCDIC, UTF-16 and UTF-32 without a mark): it decides those
_MARKS = (codecs.BOM_UTF32_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE,
          codecs.BOM_UTF8, b"\x4c\x6f\xa7\x94", b"\x00\x3c\x00\x3f", b"\x3c\x00\x3f\x00",
          b"\x00\x00\x00\x3c", b"\x3c\x00\x00\x00")
_PI_ENCODING = re.compile(rb"^<\?.*encoding=['\"](.*?)['\"].*\?>")
_DECLARATION = re.compile(r"^<\?xml[^>]*?>")
_UTF8_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>"
_XML_TYPES = ("application/xml", "application/xml-dtd",
              "application/xml-external-parsed-entity")
_TEXT_XML_TYPES = ("text/xml", "text/xml-external-parsed-entity")
#: charsets decided here: decoding in them cannot fail in a way feedparser would see
#: differently (other names, unknown ones included, go to feedparser)
_DECIDED = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1", "cp1252", "cp1251",
                      "koi8-r", "iso8859-2", "iso8859-5", "iso8859-15", "cp1250"})


def _declared_charset(content_type: str) -> tuple[str, str]:
    """The media type and the charset parameter of a Content-Type header."""
    chunks = content_type.split(";")
    charset = ""
    for chunk in chunks[1:]:
        key, _, value = chunk.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    return chunks[0].strip(), charset


def _rfc3023_charset(headers: Mapping[str, str], xml_encoding: str) -> tuple[str, bool]:
    """The charset RFC 3023 gives the document, and whether its type is an XML one."""
    media_type, charset = _declared_charset(headers.get("content-type") or "")
    if media_type in _XML_TYPES or (media_type.startswith("application/")
                                    and media_type.endswith("+xml")):
        return charset or xml_encoding or "utf-8", True
    if media_type in _TEXT_XML_TYPES or (media_type.startswith("text/")
                                         and media_type.endswith("+xml")):
        return charset or "us-ascii", True
    if media_type.startswith("text/"):
        return charset or "us-ascii", False
    if headers and "content-type" not in headers:
        return xml_encoding or "iso-8859-1", False
    return xml_encoding or "utf-8", False


def _decided_here(name: str) -> bool:
    try:
        return codecs.lookup(name).name in _DECIDED
    except LookupError:
        return False


def to_utf8(headers: Mapping[str, str], body: bytes) -> tuple[bytes, str]:
    """feedparser's ``convert_to_utf8(headers, body, result)``: the document in UTF-8
    with an XML declaration that says so, and ``result["encoding"]`` ('' when no
    charset read it). ``headers`` have lower-case names."""
    if not body.startswith(_MARKS):
        found = _PI_ENCODING.match(body)
        xml_encoding = found.group(1).decode("utf-8").lower() if found else ""
        if xml_encoding == "gb2312":
            xml_encoding = "gb18030"
        charset, _ = _rfc3023_charset(headers, xml_encoding)
        if charset.lower() == "gb2312":
            charset = "gb18030"
        # feedparser's first two tries: RFC 3023's charset, then the XML declaration's
        for name in dict.fromkeys(filter(None, (charset, xml_encoding))):
            if not _decided_here(name):
                break
            try:
                text = body.decode(name)
            except UnicodeDecodeError:
                continue
            if _DECLARATION.search(text):
                text = _DECLARATION.sub(_UTF8_DECLARATION, text)
            else:
                text = _UTF8_DECLARATION + "\n" + text
            return text.encode("utf-8"), name
    from feedparser.encodings import convert_to_utf8  # (loaded then only)

    result: dict[str, Any] = {}
    data = convert_to_utf8(dict(headers), body, result)
    return data, result.get("encoding") or ""


# --- URIs, windows-1252, HTML ------------------------------------------------------------

_URI_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")


def fix_uri(uri: str) -> str:
    """feedparser's ``_urljoin("", uri)``: the slashes after ``scheme://`` made two
    (joining against no base changes nothing else)."""
    return _URI_SLASHES.sub(r"\1\3", uri)


#: C1 control characters -> what windows-1252 has at those bytes (the five it leaves
#: undefined stay as they are)
CP1252: dict[int, str] = {code: bytes([code]).decode("cp1252") for code in range(0x80, 0xA0)
                          if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}

def xml_escape(text: str, quote: bool = False) -> str:
    """``xml.sax.saxutils.escape(text)`` (with ``{'"': "&quot;"}`` when ``quote``),
    as feedparser writes xhtml out; that module would load urllib.request, http.client,
    email and ssl (5 MB resident) into a parse worker."""
    text = text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    return text.replace('"', "&quot;") if quote else text


_CLOSING_TAG = re.compile(r"</(\w+)>")
_ENTITY = re.compile(r"&#?\w+;")


def looks_like_html(text: str) -> bool:
    """feedparser's ``_FeedParserMixin.looks_like_html(text)``."""
    if not (_CLOSING_TAG.search(text) or _ENTITY.search(text)):
        return False  # feedparser's first test, the one that rules out plain text
    from feedparser.mixin import _FeedParserMixin  # (loaded then only)

    return bool(_FeedParserMixin.looks_like_html(text))
