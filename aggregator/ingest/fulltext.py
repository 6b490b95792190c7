"""Pure: the full text of a ``full_text`` source's new and changed items.

The shell (``aggregator.update``) runs it around the article fetches, after ``plan`` has said which
items are new or changed::

    to_fetch(items, limit)             which items get their page fetched (newest first,
                                       at most ``settings.full_text_per_update``), and
                                       why the others keep their teaser
    | fetch_page                       HTTP, the feeds' rules (ingest/fetch.py)
    read_article(item, page)           main text (ingest/extract.py), sanitized; too short
                                       or none -> the teaser stays; else the fingerprint
                                       and the credit line made of the full text
      or failed(item, why)             an HTTP or network failure -> the teaser stays
    with_full_text(update, results)    the SourceUpdate with the extracted texts in place
                                       of the teasers, and a status for every item

The feed's summary stays the item's summary, and the item's content hash stays the
feed's: an item whose feed entry does not change is never fetched again. Failures are
recorded on the item, never on the source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

from aggregator.ingest.extract import main_html
from aggregator.stories.attribution import find_credits
from aggregator.stories.similarity import fingerprint
from aggregator.text import html_to_text, http_url, sanitize_html
from aggregator.types import FullText, ItemData, SourceUpdate

#: an extracted text shorter than this (or than the teaser) is not the article
MIN_WORDS: Final = 50
EXTRACTED: Final = "extracted from "
_OLDEST: Final = datetime.min.replace(tzinfo=UTC)


def extracted(status: str | None) -> bool:
    """Whether an item's full-text status says its text came from its page."""
    return bool(status) and str(status).startswith(EXTRACTED)


def to_fetch(items: Sequence[ItemData], limit: int) -> tuple[tuple[ItemData, ...],
                                                             dict[str, str]]:
    """The items whose article page is fetched (those with an http(s) link, newest
    first, at most ``limit``), and the status of each of the others."""
    linked = sorted((i for i in items if http_url(i.url)),
                    key=lambda i: i.published_at or _OLDEST, reverse=True)
    chosen = tuple(linked[:limit])
    skipped = {i.guid: f"not fetched: more than {limit} pages for this source in one "
                       "update (settings.full_text_per_update)" for i in linked[limit:]}
    skipped |= {i.guid: "not fetched: the item has no http(s) link" for i in items
                if not http_url(i.url)}
    return chosen, skipped


def failed(item: ItemData, why: str) -> FullText:
    """The page could not be fetched: the teaser stays."""
    return FullText(item.guid, f"teaser kept: {why}")


def read_article(item: ItemData, body: bytes, headers: Mapping[str, str],
                 url: str) -> FullText:
    """The main text of ``item``'s article page (``url``: where it was finally read),
    sanitized like any content, with its fingerprint and credit line; or why the teaser
    stays (no article text, or fewer words than ``MIN_WORDS`` or than the teaser)."""
    content = sanitize_html(main_html(body, headers, url, item.title), url)
    text = html_to_text(content)
    words = len(text.split())
    if not words:
        return failed(item, "no article text found on the page")
    teaser = len(html_to_text(item.content_html).split())
    if words < MIN_WORDS or words <= teaser:
        return failed(item, f"the text found is too short ({words} words; the teaser has "
                            f"{teaser}, at least {MIN_WORDS} are needed)")
    return FullText(item.guid, f"{EXTRACTED}{url}", content, fingerprint(item.title, text),
                    find_credits(text))


def with_full_text(update: SourceUpdate, results: Iterable[FullText],
                   skipped: Mapping[str, str]) -> SourceUpdate:
    """``update`` with each extracted text in place of its item's teaser: content, the
    new items' fingerprints, the credit lines (the teaser's when the text has none); and
    every item's status."""
    found = {r.guid: r for r in results if r.content_html is not None}
    statuses = {**skipped, **{r.guid: r.status for r in results}}
    if not found:
        return replace(update, full_text=statuses)

    def content(items: tuple[ItemData, ...]) -> tuple[ItemData, ...]:
        return tuple(replace(i, content_html=found[i.guid].content_html or i.content_html)
                     if i.guid in found else i for i in items)

    new = {i.guid for i in update.new_items}
    return replace(
        update, new_items=content(update.new_items), changed_items=content(update.changed_items),
        fingerprints={**update.fingerprints,
                      **{g: r.fingerprint for g, r in found.items() if g in new}},
        credits={**update.credits,
                 **{g: r.credit for g, r in found.items() if r.credit is not None}},
        full_text=statuses)
