"""The ASGI app: serves the rendered site with ETag / Last-Modified / 304.

It serves what the publisher last rendered (held in a SiteCache), so a request for the
site never touches the database and a poll that finds nothing new costs a 304. With a
WebSub receiver (``settings.websub_callback``), ``/websub/<token>`` is the callback hubs
verify (GET) and push to (POST, body capped before it is handed on). Bodies are
gzipped once at publish time; the gzip variant has its own strong ETag. Every response
carries the security headers below, and :func:`server_config` is how ``aggregator run``
serves the app with uvicorn, with limits on slow and oversized request heads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from aggregator import metrics
from aggregator.clock import utc_now
from aggregator.exceptions import AggregatorError
from aggregator.publish.formats import NOT_FOUND_PATH
from aggregator.publish.pages import CONTENT_SECURITY_POLICY
from aggregator.types import SiteFile

if TYPE_CHECKING:
    from aggregator.store import Store


def page_csp(policy: str) -> str:
    """A page's own policy, plus what only a header can say: frame-ancestors (a <meta>
    policy ignores it)."""
    return f"{policy}; frame-ancestors 'none'"


# the policy of an HTML response that brings none of its own
PAGE_CSP = page_csp(CONTENT_SECURITY_POLICY)
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
log = logging.getLogger(__name__)


class PushReceiver(Protocol):
    """The WebSub callback's work (``websub.Subscriber``): blocking, run in a thread."""

    @property
    def max_body_size(self) -> int: ...

    def verify(self, token: str, params: Mapping[str, str]) -> tuple[int, str]: ...

    def deliver(self, token: str, body: bytes, headers: Mapping[str, str]) -> int: ...


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


#: the scheduler ticks every few seconds; an update in progress beats at each source it
#: finishes (a fetch is bounded by settings.timeout, at most 5 minutes): silence this long
#: means it is stuck
HEALTH_STALE = timedelta(minutes=10)


class Heartbeat:
    """When this process's scheduler started and last ticked, for /healthz and /metrics."""

    def __init__(self, started: datetime) -> None:
        self.started = started
        self.last: datetime | None = None

    def beat(self, now: datetime) -> None:
        self.last = now
        metrics.record_tick(now.timestamp())


@dataclass(frozen=True, slots=True)
class Health:
    """What /healthz answers: healthy or not, and one line per check."""

    ok: bool
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(("ok" if self.ok else "unhealthy", *self.lines)) + "\n"


def _ago(now: datetime, then: datetime) -> str:
    return f"{then:%Y-%m-%dT%H:%M:%SZ} ({max(0, int((now - then).total_seconds()))} s ago)"


def assess_health(database_problem: str | None, heartbeat: Heartbeat | None,
                  now: datetime, stale: timedelta = HEALTH_STALE) -> Health:
    """Healthy when the database answers and, in a process with a scheduler, it ticked
    within ``stale`` (or started less than that ago)."""
    lines = [f"database: failing: {database_problem}" if database_problem else "database: ok"]
    ok = database_problem is None
    if heartbeat is None:
        lines.append("scheduler: none in this process")
    elif heartbeat.last is None:
        late = now - heartbeat.started > stale
        ok = ok and not late
        lines.append(f"scheduler: {'failing: ' if late else ''}no tick since it started at "
                     f"{_ago(now, heartbeat.started)}")
    else:
        late = now - heartbeat.last > stale
        ok = ok and not late
        problem = f"failing: no tick for over {int(stale.total_seconds())} s, " if late else ""
        lines.append(f"scheduler: {problem}last tick at {_ago(now, heartbeat.last)}")
    return Health(ok, tuple(lines))


def health_check(store: Store, heartbeat: Heartbeat | None = None) -> Callable[[], Health]:
    """/healthz of a process with this store (and this scheduler, if it runs one)."""

    def check() -> Health:
        try:
            store.ping()
            problem = None
        except AggregatorError as error:
            problem = str(error)
        return assess_health(problem, heartbeat, utc_now())

    return check


async def _capped_body(request: Request, cap: int) -> bytes | None:
    """The request's body, or None as soon as it is longer than ``cap`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            return None
    return bytes(body)


def websub_routes(receiver: PushReceiver) -> list[Route]:
    """``/websub/<token>``: a hub's verification of intent (GET) and its pushes (POST)."""
    async def verify(request: Request) -> Response:
        status, body = await run_in_threadpool(
            receiver.verify, request.path_params["token"], dict(request.query_params))
        return PlainTextResponse(body, status_code=status)

    async def push(request: Request) -> Response:
        cap = receiver.max_body_size
        body = await _capped_body(request, cap)
        if body is None:
            log.warning("WebSub push over %d bytes refused", cap)
            return PlainTextResponse("too large\n", status_code=413)
        status = await run_in_threadpool(receiver.deliver, request.path_params["token"],
                                         body, dict(request.headers))
        return PlainTextResponse("ok\n" if status < 300 else "refused\n",
                                 status_code=status)

    return [Route("/websub/{token}", verify, methods=["GET"]),
            Route("/websub/{token}", push, methods=["POST"])]


def create_app(cache: SiteCache, health: Callable[[], Health] | None = None,
               receiver: PushReceiver | None = None) -> Starlette:
    """The site from ``cache``, ``/healthz`` (``health``; without it, "ok" while serving),
    ``/metrics``, and the WebSub callback when a ``receiver`` takes pushes."""
    def serve(path: str, request: Request) -> Response:
        file = cache.get(path)
        if file is None:  # the site's own page when it has one (an unknown story, say)
            page = cache.get(NOT_FOUND_PATH)
            if page is None:
                return PlainTextResponse("not found\n", status_code=404)
            # not kept: the story may be published a minute later
            return Response(page.body, status_code=404, media_type=page.media_type,
                            headers={"Cache-Control": "no-cache"})
        gzipped = accepts_gzip(request.headers.get("accept-encoding", ""))
        headers = {"ETag": gzip_etag(file.etag) if gzipped else file.etag,
                   "Cache-Control": cache.cache_control, "Vary": "Accept-Encoding",
                   "Last-Modified": format_datetime(file.last_modified, usegmt=True)}
        if file.content_security_policy:  # the same as the page's <meta> (both apply)
            headers["Content-Security-Policy"] = page_csp(file.content_security_policy)
        if is_not_modified(request.headers, file):
            return Response(status_code=304, headers=headers)
        if gzipped:
            headers["Content-Encoding"] = "gzip"
            return Response(file.gzip_body, media_type=file.media_type, headers=headers)
        return Response(file.body, media_type=file.media_type, headers=headers)

    async def site_file(request: Request) -> Response:
        return serve(request.path_params["path"] or "index.html", request)

    def healthz(_request: Request) -> Response:  # sync: starlette runs it in a thread
        if health is None:
            return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})
        report = health()
        return PlainTextResponse(report.text, status_code=200 if report.ok else 503,
                                 headers={"Cache-Control": "no-store"})

    def metrics_page(_request: Request) -> Response:
        body, media_type = metrics.exposition()
        return Response(body, headers={"Content-Type": media_type,
                                       "Cache-Control": "no-store"})

    return Starlette(routes=[
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_page, methods=["GET", "HEAD"]),
        *(websub_routes(receiver) if receiver is not None else ()),
        Route("/{path:path}", site_file, methods=["GET", "HEAD"]),
    ], middleware=[Middleware(SecurityHeaders)])


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response, and PAGE_CSP to every HTML one that has
    no policy of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if headers.get("content-type", "").startswith("text/html") and \
                        "content-security-policy" not in headers:
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
                          # its records go to the root logger's handler (logs.configure)
                          log_config=None, log_level="warning", access_log=False)
