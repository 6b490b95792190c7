"""Pure: the full text of a ``full_text`` source's new and changed items.

The shell (``aggregator.update``) runs it around the article fetches, after ``plan`` has said which
items are new or changed::

    to_fetch(items, limit, waiting)    which items get their page fetched (newest first,
                                       at most ``settings.full_text_per_update``), and
                                       why the others keep their teaser; room left
                                       goes to ``waiting``: stored items skipped by an
                                       earlier update's limit (``over_limit``), still
                                       in the feed as they were
    | fetch_page                       HTTP, the feeds' rules (ingest/fetch.py)
    read_article(item, page)           main text (ingest/extract.py), sanitized; too short
                                       or none -> the teaser stays; else the fingerprint
                                       and the credit line made of the full text
      or failed(item, why)             an HTTP or network failure -> the teaser stays
    with_full_text(update, results)    the SourceUpdate with the extracted texts in place
                                       of the teasers, and a status for every item

The feed's summary stays the item's summary, and the item's content hash stays the
feed's: an item whose feed entry does not change is never fetched again, unless an
update's limit left it out: it is fetched by a later update of a new body of the feed,
when that update's new and changed items leave room. Failures are recorded on the item,
never on the source, and not tried again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

from aggregator.ingest.extract import main_html
from aggregator.stories.attribution import find_credits
from aggregator.stories.similarity import fingerprint
from aggregator.text import html_to_text, http_url, sanitize_html
from aggregator.types import FullText, ItemData, SourceUpdate

#: an extracted text shorter than this (or than the teaser) is not the article
MIN_WORDS: Final = 50
EXTRACTED: Final = "extracted from "
#: how the status of an item left out by an update's limit starts: fetched later
OVER_LIMIT: Final = "not fetched: more than "
_OLDEST: Final = datetime.min.replace(tzinfo=UTC)
#: how long after its item was first seen a page left out by the limit is still awaited:
#: until then its feed is fetched without validators (``plan.without_validators``), so
#: that an unchanged feed reads it too; an item that left the feed unread would
#: otherwise cost a whole fetch at every poll for good
CATCH_UP: Final = timedelta(days=2)


def extracted(status: str | None) -> bool:
    """Whether an item's full-text status says its text came from its page."""
    return bool(status) and str(status).startswith(EXTRACTED)


def over_limit(status: str | None) -> bool:
    """Whether an item's full-text status says an update's limit left it out."""
    return bool(status) and str(status).startswith(OVER_LIMIT)


def to_fetch(items: Sequence[ItemData], limit: int, waiting: Sequence[ItemData] = ()
             ) -> tuple[tuple[ItemData, ...], dict[str, str]]:
    """The items whose article page is fetched (those of ``items`` with an http(s) link,
    newest first, at most ``limit``; then, in the room left, those of ``waiting``, newest
    first), and the status of each of the others of ``items`` (a waiting item left out
    keeps the status it has)."""
    linked = _newest_first(i for i in items if http_url(i.url))
    chosen = linked[:limit]
    skipped = {i.guid: f"{OVER_LIMIT}{limit} pages for this source in one update "
                       "(settings.full_text_per_update)" for i in linked[limit:]}
    skipped |= {i.guid: "not fetched: the item has no http(s) link" for i in items
                if not http_url(i.url)}
    chosen += _newest_first(i for i in waiting if http_url(i.url))[:limit - len(chosen)]
    return tuple(chosen), skipped


def _newest_first(items: Iterable[ItemData]) -> list[ItemData]:
    return sorted(items, key=lambda i: i.published_at or _OLDEST, reverse=True)


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
                   skipped: Mapping[str, str], waiting: Sequence[ItemData] = ()
                   ) -> SourceUpdate:
    """``update`` with each extracted text in place of its item's teaser: content, the
    items' fingerprints, the credit lines (the teaser's when the text has none); and
    every item's status. The ``waiting`` items whose page was read (``to_fetch``) join
    the changed items: with their text, or, if it could not be read, with their new
    status and their content as it is."""
    results = list(results)
    read = {r.guid for r in results}
    update = replace(update, changed_items=update.changed_items + tuple(
        i for i in waiting if i.guid in read))
    found = {r.guid: r for r in results if r.content_html is not None}
    statuses = {**skipped, **{r.guid: r.status for r in results}}
    if not found:
        return replace(update, full_text=statuses)

    def content(items: tuple[ItemData, ...]) -> tuple[ItemData, ...]:
        return tuple(replace(i, content_html=found[i.guid].content_html or i.content_html)
                     if i.guid in found else i for i in items)

    return replace(
        update, new_items=content(update.new_items), changed_items=content(update.changed_items),
        fingerprints={**update.fingerprints, **{g: r.fingerprint for g, r in found.items()}},
        credits={**update.credits,
                 **{g: r.credit for g, r in found.items() if r.credit is not None}},
        full_text=statuses)
