"""A real HTTP server on 127.0.0.1 for the tests: serves feed files with validators,
and misbehaves on purpose when a test asks it to."""

from __future__ import annotations

import contextlib
import hashlib
import sys
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FEEDS = Path(__file__).parent / "data" / "feeds"
LAST_MODIFIED = "Tue, 24 Nov 2026 12:00:00 GMT"


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    validators: bool = True  # answer 304 to a matching conditional request
    delay: float = 0.0
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        self.posts: list[tuple[str, bytes]] = []
        self.spans: list[tuple[str, float, float]] = []  # (path, start, end) of each GET
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                server.posts.append((self.path, body))
                route = server.routes.get(self.path)
                status = route.status if route else 404
                self._send(status, b"", {})

            def do_GET(self) -> None:
                started = time.monotonic()
                try:
                    self._get()
                finally:
                    server.spans.append((self.path, started, time.monotonic()))

            def _get(self) -> None:
                server.requests.append(SeenRequest(self.path, dict(self.headers.items())))
                route = server.routes.get(self.path)
                if route is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.handler is not None:
                    route.handler(self)
                    return
                headers = dict(route.headers)
                if route.validators and route.status == 200:
                    etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                    headers.setdefault("ETag", etag)
                    headers.setdefault("Last-Modified", LAST_MODIFIED)
                    if self.headers.get("If-None-Match") == headers["ETag"]:
                        self._send(304, b"", {"ETag": headers["ETag"]})
                        return
                self._send(route.status, route.body, headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                # a client that hangs up early is normal here; never write to stderr,
                # which the CLI tests capture
                server.errors.append(repr(sys.exc_info()[1]))

        self.errors: list[str] = []
        self._httpd = QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        self.routes.clear()
        self.requests.clear()
        self.posts.clear()
        self.spans.clear()

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(self, path: str, body: bytes, content_type: str = "application/rss+xml",
              **options: object) -> str:
        route = Route(body=body, headers={"Content-Type": content_type}, **options)  # type: ignore[arg-type]
        self.routes[path] = route
        return self.url(path)

    def serve_file(self, path: str, filename: str,
                   content_type: str = "application/rss+xml") -> str:
        return self.serve(path, (FEEDS / filename).read_bytes(), content_type)

    def peak_in_flight(self, paths: Collection[str]) -> int:
        """The most GET requests for ``paths`` answered at once (requests of an earlier
        test still being answered do not count)."""
        events = sorted((t, step) for path, start, end in list(self.spans) if path in paths
                        for t, step in ((start, 1), (end, -1)))
        peak = current = 0
        for _, step in events:
            current += step
            peak = max(peak, current)
        return peak

    def hits(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]


# ---- handlers that misbehave on purpose ----


def endless_body(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Connection", "close")
    handler.end_headers()
    chunk = b"<item><title>x</title></item>" * 2000
    try:
        for _ in range(10_000):
            handler.wfile.write(chunk)
    except OSError:
        pass


def gzip_bomb(bomb: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Encoding", "gzip")
        request.send_header("Content-Length", str(len(bomb)))
        request.end_headers()
        with contextlib.suppress(OSError):
            request.wfile.write(bomb)
    return handler


def slow_drip(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.send_header("Content-Length", "100000")
    request.end_headers()
    try:
        for _ in range(60):
            request.wfile.write(b" ")
            request.wfile.flush()
            time.sleep(0.25)
    except OSError:
        pass
