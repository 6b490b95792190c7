"""The web app against odd requests: security headers on every response, dates out of
range, Accept-Encoding q-values; and the uvicorn limits `aggregator run` serves with."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import uvicorn
from lxml import html
from starlette.exceptions import StarletteDeprecationWarning
from uvicorn.protocols.http.h11_impl import H11Protocol

from aggregator.publish.pages import SiteInfo, render_index
from aggregator.types import SiteFile
from aggregator.web import HeadDeadlineH11Protocol, SiteCache, create_app, server_config

with warnings.catch_warnings():  # starlette now prefers httpx2, which is not a dependency
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
FEED = SiteFile.of("feeds/all.atom", b"<feed/>" * 100, T0, "application/atom+xml; charset=utf-8")
PAGE = render_index(SiteInfo(title="news", base_url="http://127.0.0.1:8080/"), [])
INDEX = SiteFile.of("index.html", PAGE.encode(), T0, "text/html; charset=utf-8")
SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
            "referrer-policy": "strict-origin-when-cross-origin"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    cache = SiteCache()
    cache.replace({"feeds/all.atom": FEED, "index.html": INDEX})
    with TestClient(create_app(cache), raise_server_exceptions=False) as test_client:
        yield test_client


def _directives(policy: str) -> set[str]:
    return {d.strip() for d in policy.split(";") if d.strip()}


def test_html_pages_send_their_policy_as_a_header(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    meta = html.fromstring(PAGE).xpath(
        "//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    # the page's own <meta> policy, plus frame-ancestors, which only a header can carry
    assert _directives(response.headers["content-security-policy"]) == \
        _directives(meta) | {"frame-ancestors 'none'"}
    assert {k: response.headers[k] for k in SECURITY} == SECURITY


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/feeds/all.atom", {}, 200),
    ("/feeds/all.atom", {"If-None-Match": FEED.etag}, 304),
    ("/feeds/nope.atom", {}, 404),
    ("/healthz", {}, 200),
])
def test_every_response_has_the_security_headers(client: TestClient, path: str,
                                                 headers: dict[str, str], status: int) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == status
    assert {k: response.headers.get(k) for k in SECURITY} == SECURITY
    assert "content-security-policy" not in response.headers  # not HTML
    assert client.post(path).headers.get("x-frame-options") == "DENY"  # 405 too


def test_an_unreadable_if_modified_since_is_ignored(client: TestClient) -> None:
    for date in ("Mon, 01 Jan 99999999999 00:00:00 GMT",  # past datetime's years: overflows
                 "Mon, 01 Jan 2026 00:00:00 +99999999999",  # an offset beyond a day
                 "Mon, 01 Jan 2026 25:00:00 GMT", "soon"):
        response = client.get("/feeds/all.atom", headers={"If-Modified-Since": date,
                                                          "Accept-Encoding": "identity"})
        assert response.status_code == 200, date
        assert response.content == FEED.body


@pytest.mark.parametrize("accept", [
    "gzip;q=0", "gzip; q=0.0", "GZIP;Q=0", "deflate, gzip;q=0, *;q=1",
    "gzip;q=0.2, identity;q=0.9", "gzip;q=nonsense", "x-gzip;q=0",
])
def test_gzip_refused_by_its_q_value_is_not_sent(client: TestClient, accept: str) -> None:
    response = client.get("/feeds/all.atom", headers={"Accept-Encoding": accept})
    assert "content-encoding" not in response.headers
    assert response.headers["etag"] == FEED.etag
    assert response.content == FEED.body


def test_gzip_is_sent_when_any_acceptable_form_asks_for_it(client: TestClient) -> None:
    for accept in ("*", "*;q=0.5", "deflate, *;q=0.1", "x-gzip", "gzip;q=0.5, identity;q=0.5",
                   "identity;q=0, gzip"):
        response = client.get("/feeds/all.atom", headers={"Accept-Encoding": accept})
        assert response.headers.get("content-encoding") == "gzip", accept
    for accept in ("identity", "deflate, br", "", "*;q=0"):
        response = client.get("/feeds/all.atom", headers={"Accept-Encoding": accept})
        assert "content-encoding" not in response.headers, accept


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A real uvicorn with the settings of `aggregator run`, a head deadline of 0.5 s."""
    monkeypatch.setattr(HeadDeadlineH11Protocol, "head_timeout", 0.5)
    cache = SiteCache()
    cache.replace({"feeds/all.atom": FEED})
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = int(sock.getsockname()[1])
        running = uvicorn.Server(server_config(create_app(cache), "127.0.0.1", port))
        thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not running.started and time.monotonic() < deadline:
            time.sleep(0.02)
        yield port
        running.should_exit = True
        thread.join(5)


def _closed_within(connection: socket.socket, seconds: float) -> bool:
    connection.settimeout(seconds)
    try:
        return connection.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_a_connection_that_never_finishes_its_headers_is_closed(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as silent:
        assert _closed_within(silent, 3)
    with socket.create_connection(("127.0.0.1", server)) as slow:
        slow.sendall(b"GET /feeds/all.atom HTTP/1.1\r\n")
        start = time.monotonic()
        try:
            while time.monotonic() - start < 3:  # a header line every 0.1 s, never the end
                slow.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert time.monotonic() - start < 2
        assert _closed_within(slow, 1)


def test_a_kept_alive_connection_serves_requests_then_closes_when_idle(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as connection:
        for _ in range(3):  # each response restarts the head deadline
            connection.sendall(b"HEAD /feeds/all.atom HTTP/1.1\r\nHost: x\r\n\r\n")
            connection.settimeout(2)
            assert connection.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")
            time.sleep(0.3)
        assert _closed_within(connection, 3)


def test_a_1_mb_request_line_gets_400_whichever_http_parser_is_installed(server: int) -> None:
    # h11 answers a head over its limit with 400 (uvicorn does not send h11's hint, 431);
    # uvicorn's "auto" would switch to httptools when it is installed, and uvicorn sets no
    # limit on the size of a head there
    config = server_config(create_app(SiteCache()), "127.0.0.1", server)
    assert isinstance(config.http, type) and issubclass(config.http, H11Protocol)
    assert config.h11_max_incomplete_event_size == 16 * 1024
    with socket.create_connection(("127.0.0.1", server)) as connection:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # answered already
            connection.sendall(b"GET /" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        connection.settimeout(5)
        assert re.match(rb"HTTP/1.1 400 ", connection.recv(4096))
