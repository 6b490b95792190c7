"""The ASGI app: serves the rendered outputs with ETag / Last-Modified / 304.

It serves what the publisher last rendered (held in a FeedCache), so a request
never touches the database and a poll that finds nothing new costs a 304. Bodies
are gzipped once at publish time; the gzip variant has its own strong ETag.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from aggregator.publish import RenderedFeed


class FeedCache:
    """The latest rendering of every output, by path; replaced whole, read without locks."""

    def __init__(self, max_age: int = 300) -> None:
        self._feeds: Mapping[str, RenderedFeed] = {}
        self._titles: Mapping[str, str] = {}
        self._pages: Mapping[str, bytes] = {}
        self.cache_control = f"public, max-age={max_age}"
        self._lock = threading.Lock()

    def replace(self, feeds: Mapping[str, RenderedFeed], titles: Mapping[str, str],
                pages: Mapping[str, bytes] | None = None) -> list[str]:
        """Swap in a new rendering; return the paths whose content changed."""
        with self._lock:
            old = self._feeds
            changed = [path for path, feed in feeds.items()
                       if path not in old or old[path].etag != feed.etag]
            self._feeds = dict(feeds)
            self._titles = dict(titles)
            if pages is not None:
                self._pages = dict(pages)
            return changed

    def get(self, path: str) -> RenderedFeed | None:
        return self._feeds.get(path)

    def page(self, path: str) -> bytes | None:
        return self._pages.get(path)

    def listing(self) -> list[tuple[str, str]]:
        return sorted(self._titles.items())


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    return since.tzinfo is not None and last_modified <= since


def gzip_etag(etag: str) -> str:
    return etag[:-1] + '-gz"'


def is_not_modified(request_headers: Mapping[str, str], feed: RenderedFeed) -> bool:
    """A conditional request our representation still satisfies.

    If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
    Either content coding's ETag counts: the content behind both is the same.
    """
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        return (_etag_matches(if_none_match, feed.etag)
                or _etag_matches(if_none_match, gzip_etag(feed.etag)))
    if_modified_since = request_headers.get("if-modified-since")
    return if_modified_since is not None and _not_modified_since(if_modified_since,
                                                                 feed.last_modified)


def create_app(cache: FeedCache) -> Starlette:
    async def serve_feed(request: Request) -> Response:
        feed = cache.get(request.path_params["path"])
        if feed is None:
            return PlainTextResponse("no such feed\n", status_code=404)
        gzipped = "gzip" in request.headers.get("accept-encoding", "").lower()
        headers = {"ETag": gzip_etag(feed.etag) if gzipped else feed.etag,
                   "Cache-Control": cache.cache_control, "Vary": "Accept-Encoding",
                   "Last-Modified": format_datetime(feed.last_modified, usegmt=True)}
        if is_not_modified(request.headers, feed):
            return Response(status_code=304, headers=headers)
        if gzipped:
            headers["Content-Encoding"] = "gzip"
            return Response(feed.gzip_body, media_type=feed.media_type, headers=headers)
        return Response(feed.body, media_type=feed.media_type, headers=headers)

    async def index(_request: Request) -> Response:
        alternates = "".join(
            f'<link rel="alternate" type="application/atom+xml" title="{html.escape(title)}" '
            f'href="/feeds/{html.escape(name)}.atom">\n' for name, title in cache.listing())
        items = "".join(
            f'<li><a href="/feeds/{html.escape(name)}.atom">{html.escape(title)}</a></li>\n'
            for name, title in cache.listing())
        page = (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Feeds</title>\n"
                f"{alternates}</head><body><h1>Feeds</h1>\n<ul>\n{items}</ul></body></html>\n")
        return HTMLResponse(page)

    async def health(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    return Starlette(routes=[
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/feeds/{path:path}", serve_feed, methods=["GET", "HEAD"]),
        Route("/healthz", health, methods=["GET", "HEAD"]),
    ])
