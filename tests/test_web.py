"""The web app, served by a real uvicorn on 127.0.0.1 and asked with a real HTTP client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn

from aggregator.types import SiteFile
from aggregator.web import SiteCache, create_app

FEED = SiteFile.of("feeds/all.atom", b"<feed/>" * 100, datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
                   "application/atom+xml; charset=utf-8")
INDEX = SiteFile.of("index.html", b'<link rel="alternate" href="feeds/all.atom">',
                    datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "text/html; charset=utf-8")
ETAG = FEED.etag
GZ_ETAG = ETAG[:-1] + '-gz"'



def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    cache = SiteCache()
    cache.replace({"feeds/all.atom": FEED, "index.html": INDEX})
    with _served(cache) as http:
        yield http


@contextmanager
def _served(cache: SiteCache) -> Iterator[httpx.Client]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(cache), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        yield http
    server.should_exit = True
    thread.join(5)


def test_a_feed_is_served_with_validators(client: httpx.Client) -> None:
    response = client.get("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.content == b"<feed/>" * 100
    assert "content-encoding" not in response.headers
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["etag"] == ETAG
    assert response.headers["last-modified"] == "Tue, 24 Nov 2026 09:00:00 GMT"
    assert response.headers["cache-control"] == "public, max-age=300"


@pytest.mark.parametrize(("headers", "status"), [
    ({"If-None-Match": ETAG}, 304),
    ({"If-None-Match": "W/" + ETAG}, 304),
    ({"If-None-Match": '"other", ' + ETAG}, 304),
    ({"If-None-Match": GZ_ETAG}, 304),
    ({"If-None-Match": "*"}, 304),
    ({"If-None-Match": '"other"'}, 200),
    ({"If-Modified-Since": "Tue, 24 Nov 2026 09:00:00 GMT"}, 304),
    ({"If-Modified-Since": "Wed, 25 Nov 2026 09:00:00 GMT"}, 304),
    ({"If-Modified-Since": "Mon, 23 Nov 2026 09:00:00 GMT"}, 200),
    ({"If-Modified-Since": "garbage"}, 200),
    # If-None-Match wins when both are sent
    ({"If-None-Match": '"other"', "If-Modified-Since": "Wed, 25 Nov 2026 09:00:00 GMT"}, 200),
])
def test_conditional_requests(client: httpx.Client, headers: dict[str, str], status: int) -> None:
    response = client.get("/feeds/all.atom", headers={**headers, "Accept-Encoding": "identity"})
    assert response.status_code == status
    assert response.headers["etag"] == ETAG
    if status == 304:
        assert response.content == b""


def test_gzip_is_served_when_asked_for_with_its_own_etag(client: httpx.Client) -> None:
    response = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["etag"] == GZ_ETAG
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.content == b"<feed/>" * 100  # httpx decodes it
    again = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip",
                                                   "If-None-Match": GZ_ETAG})
    assert again.status_code == 304


def test_unknown_feed_is_404(client: httpx.Client) -> None:
    assert client.get("/feeds/nope.atom").status_code == 404


def test_the_index_page_is_served_at_the_root(client: httpx.Client) -> None:
    for path in ("/", "/index.html"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text == INDEX.body.decode()
    assert client.get("/healthz").text == "ok\n"
    assert client.get("/nothing/here").status_code == 404


def test_the_cache_reports_what_changed() -> None:
    cache = SiteCache()
    assert cache.replace({"feeds/all.atom": FEED}) == ["feeds/all.atom"]
    assert cache.replace({"feeds/all.atom": FEED, "index.html": INDEX}) == ["index.html"]
    assert cache.replace({"feeds/all.atom": FEED, "index.html": INDEX}) == []


def test_an_unknown_path_gets_the_sites_not_found_page() -> None:
    """An unknown story (or any path the site lacks) is the site's 404 page, not a
    traceback and not a 200; a site without one answers plain text."""
    not_found = SiteFile.of("404.html", b"<!doctype html><h1>Not found</h1>",
                            datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "text/html; charset=utf-8")
    cache = SiteCache()
    cache.replace({"index.html": INDEX, "404.html": not_found})
    with _served(cache) as http:
        for path in ("/stories/00000000-0000-0000-0000-000000000000.html",
                     "/stories/urn:uuid:x.html", "/stories/../../etc/passwd", "/stories/"):
            response = http.get(path)
            assert response.status_code == 404, path
            assert response.text == "<!doctype html><h1>Not found</h1>"
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            assert response.headers["cache-control"] == "no-cache"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert "etag" not in response.headers
        assert http.head("/stories/nope.html").status_code == 404
