"""The readability-lxml adapter: an article page's bytes -> the HTML of its main text.

The one module that imports readability (ruff TID251). Pure (no I/O); the caller
sanitizes what comes back (text.sanitize_html) like any other content. Why
readability-lxml and not trafilatura: bench/README.md, "Full text".
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Mapping
from email.message import Message

from lxml import etree
from lxml import html as lxml_html
from readability import Document

from aggregator.text import fold

# readability logs every candidate it scores at INFO; a page is not worth a log line
logging.getLogger("readability.readability").setLevel(logging.WARNING)


def _declared_charset(headers: Mapping[str, str]) -> str | None:
    """The charset of the Content-Type header, when Python knows the codec."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    if not isinstance(charset, str):
        return None
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None


def _words(text: str) -> list[str]:
    return fold(text).split()


def without_title(fragment: str, title: str) -> str:
    """``fragment`` without its first heading when that heading only repeats ``title``:
    news pages head the article with its title inside ``<article>``, and the feed
    publishes the title already (readability keeps that heading)."""
    wanted = _words(title)
    if not wanted or not fragment.strip():
        return fragment
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return fragment
    heading = next(root.iter("h1", "h2", "h3", "h4", "h5", "h6"), None)
    if heading is None or _words(heading.text_content()) != wanted:
        return fragment
    heading.drop_tree()  # its tail text stays
    return str(lxml_html.tostring(root, encoding="unicode"))


def main_html(body: bytes, headers: Mapping[str, str], url: str, title: str = "") -> str:
    """The HTML of the page's main text (unsanitized), or "" when none can be found;
    without a first heading that only repeats ``title`` (the item's).

    The header's charset decodes the page when it is given and decodes it; otherwise
    readability reads the page's own ``<meta charset>`` (or guesses)."""
    charset = _declared_charset(headers)
    page: str | bytes = body
    if charset is not None:
        try:
            page = body.decode(charset)
        except UnicodeDecodeError:
            page = body
    try:
        return without_title(str(Document(page, url=url).summary(html_partial=True)), title)
    except Exception:  # readability's Unparseable, or lxml refusing the document
        return ""
