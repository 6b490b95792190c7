"""The ASGI app: serves the rendered site with ETag / Last-Modified / 304.

It serves what the publisher last rendered (held in a SiteCache), so a request never
touches the database and a poll that finds nothing new costs a 304. Bodies are
gzipped once at publish time; the gzip variant has its own strong ETag. Every response
carries the security headers below, and :func:`server_config` is how ``aggregator run``
serves the app with uvicorn, with limits on slow and oversized request heads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from aggregator.publish.pages import CONTENT_SECURITY_POLICY
from aggregator.types import SiteFile

# The pages' own policy, plus what only a header can say: frame-ancestors (a <meta>
# policy ignores it).
PAGE_CSP = f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # what the pages' <meta name="referrer"> says too: an outlet a reader follows a link to
    # sees the site's origin (where its readers come from), never a path, and nothing at
    # all over plain HTTP from an HTTPS page
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
HEAD_TIMEOUT = 10.0  # seconds a connection has to send a request's line and headers
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle connection is kept open after a response
MAX_HEAD_BYTES = 16 * 1024  # a longer request line or header block is answered 400


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
    """An invalid or out-of-range date is ignored, as if absent (RFC 9110 13.1.3)."""
    try:
        since = parsedate_to_datetime(header)
        return since.tzinfo is not None and last_modified <= since
    except (TypeError, ValueError, IndexError, OverflowError):
        return False


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding value takes gzip (RFC 9110 12.5.3): ``gzip`` (or
    ``x-gzip``, else ``*``) with a q-value above 0 and not below that of ``identity``."""
    quality: dict[str, float] = {}
    for element in header.lower().split(","):
        coding, *params = (part.strip() for part in element.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[coding] = q
    gzip = quality.get("gzip", quality.get("x-gzip", quality.get("*", 0.0)))
    return gzip > 0 and gzip >= quality.get("identity", 0.0)


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
        gzipped = accepts_gzip(request.headers.get("accept-encoding", ""))
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
    ], middleware=[Middleware(SecurityHeaders)])


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response, and PAGE_CSP to every HTML one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = PAGE_CSP
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadDeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that has not sent a whole request
    head (line and headers) within ``head_timeout`` of opening or of its last response.
    uvicorn has no such limit: any byte received stops its keep-alive timer, so a client
    sending its headers a byte at a time would hold a connection for ever."""

    head_timeout = HEAD_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline(None)

    def on_response_complete(self) -> None:
        finished = self.cycle
        super().on_response_complete()
        self._head_deadline(finished)

    def _head_deadline(self, cycle: object) -> None:
        def expire() -> None:  # no new request began since: close
            if self.cycle is cycle and not self.transport.is_closing():
                self.timeout_keep_alive_handler()

        self.loop.call_later(self.head_timeout, expire)


def server_config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    """How ``aggregator run`` serves ``app``: h11 with a deadline for each request head,
    idle connections closed after KEEP_ALIVE_TIMEOUT, heads over MAX_HEAD_BYTES refused."""
    return uvicorn.Config(app, host=host, port=port, http=HeadDeadlineH11Protocol,
                          timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
                          h11_max_incomplete_event_size=MAX_HEAD_BYTES,
                          log_level="warning", access_log=False)
