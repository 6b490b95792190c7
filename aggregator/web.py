"""The ASGI app: serves the rendered site with ETag / Last-Modified / 304.

It serves what the publisher last rendered (held in a SiteCache), so a request never
touches the database and a poll that finds nothing new costs a 304. Bodies are
gzipped once at publish time; the gzip variant has its own strong ETag.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from aggregator.site import SiteFile


class SiteCache:
    """The latest rendering of the site, by path; replaced whole, read without locks."""

    def __init__(self, max_age: int = 300) -> None:
        self._files: Mapping[str, SiteFile] = {}
        self.cache_control = f"public, max-age={max_age}"
        self._lock = threading.Lock()

    def replace(self, files: Mapping[str, SiteFile]) -> list[str]:
        """Swap in a new rendering; return the paths whose content changed."""
        with self._lock:
            old = self._files
            changed = [path for path, file in files.items()
                       if path not in old or old[path].etag != file.etag]
            self._files = dict(files)
            return changed

    def get(self, path: str) -> SiteFile | None:
        return self._files.get(path)


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


def is_not_modified(request_headers: Mapping[str, str], file: SiteFile) -> bool:
    """A conditional request our representation still satisfies.

    If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
    Either content coding's ETag counts: the content behind both is the same.
    """
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        return (_etag_matches(if_none_match, file.etag)
                or _etag_matches(if_none_match, gzip_etag(file.etag)))
    if_modified_since = request_headers.get("if-modified-since")
    return if_modified_since is not None and _not_modified_since(if_modified_since,
                                                                 file.last_modified)


def create_app(cache: SiteCache) -> Starlette:
    def serve(path: str, request: Request) -> Response:
        file = cache.get(path)
        if file is None:
            return PlainTextResponse("not found\n", status_code=404)
        gzipped = "gzip" in request.headers.get("accept-encoding", "").lower()
        headers = {"ETag": gzip_etag(file.etag) if gzipped else file.etag,
                   "Cache-Control": cache.cache_control, "Vary": "Accept-Encoding",
                   "Last-Modified": format_datetime(file.last_modified, usegmt=True)}
        if is_not_modified(request.headers, file):
            return Response(status_code=304, headers=headers)
        if gzipped:
            headers["Content-Encoding"] = "gzip"
            return Response(file.gzip_body, media_type=file.media_type, headers=headers)
        return Response(file.body, media_type=file.media_type, headers=headers)

    async def site_file(request: Request) -> Response:
        return serve(request.path_params["path"] or "index.html", request)

    async def health(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    return Starlette(routes=[
        Route("/healthz", health, methods=["GET", "HEAD"]),
        Route("/{path:path}", site_file, methods=["GET", "HEAD"]),
    ])
