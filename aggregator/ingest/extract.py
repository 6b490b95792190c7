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

from readability import Document

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


def main_html(body: bytes, headers: Mapping[str, str], url: str) -> str:
    """The HTML of the page's main text (unsanitized), or "" when none can be found.

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
        return str(Document(page, url=url).summary(html_partial=True))
    except Exception:  # readability's Unparseable, or lxml refusing the document
        return ""
