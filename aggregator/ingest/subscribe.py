"""Finding the feed behind a URL a user gives: the feed itself, or a web page that
announces it with ``<link rel="alternate">`` (autodiscovery). Checked by parsing it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aggregator.clock import utc_now
from aggregator.config import Settings
from aggregator.exceptions import FetchError, ParseError
from aggregator.ingest.discover import discover_feeds, looks_like_feed
from aggregator.ingest.fetch import FetchLimits, fetch, make_client
from aggregator.ingest.parse import parse_feed
from aggregator.types import Fetched, NotModified, SourceToFetch


@dataclass(frozen=True, slots=True)
class FoundFeed:
    url: str  # the feed's own URL (after autodiscovery)
    title: str | None
    entries: int


async def _get(url: str, settings: Settings) -> Fetched:
    limits = FetchLimits.of(settings)
    async with make_client(limits, settings.user_agent, 1) as client:
        response = await fetch(client, SourceToFetch(id=0, name="new", url=url), limits,
                               utc_now())
    if isinstance(response, FetchError):
        raise response
    if isinstance(response, NotModified):  # we sent no validators: cannot happen
        raise FetchError("the server answered 304 to a plain request", kind="http")
    return response


def find_feed(url: str, settings: Settings) -> FoundFeed:
    """The feed at ``url``, or the first one the page at ``url`` announces.

    Raises FetchError or ParseError with a message for the user.
    """
    return asyncio.run(_find(url, settings))


async def _find(url: str, settings: Settings) -> FoundFeed:
    response = await _get(url, settings)
    if not looks_like_feed(response.body, response.headers.get("content-type")):
        charset = None
        content_type = response.headers.get("content-type", "")
        if "charset=" in content_type:
            charset = content_type.split("charset=", 1)[1].split(";")[0].strip(" \"'")
        found = discover_feeds(response.body, response.url, encoding=charset)
        if not found:
            raise ParseError(f"{url} is not a feed, and the page announces no feed "
                             "(no <link rel=\"alternate\"> of an RSS, Atom or JSON Feed type)")
        response = await _get(found[0].url, settings)
    parsed = parse_feed(response.body, response.headers)
    return FoundFeed(url=response.url, title=parsed.title, entries=len(parsed.entries))
