"""A polite, unkillable fetcher against a local server that misbehaves on purpose.

For each misbehaviour: what the source's state becomes, when it is fetched next, and
that a well-behaved source fetched in the same run was stored all the same.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import threading
import time
import tracemalloc
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from aggregator.clock import utc_now
from aggregator.config import Config, load_config
from aggregator.exceptions import ConfigError, FetchError
from aggregator.ingest.fetch import (
    FetchLimits,
    _LazyTrustContext,
    _tls_context,
    blocked_reason,
    fetch,
    make_client,
)
from aggregator.store import SourceStatus, Store
from aggregator.types import Outcome, SourceToFetch, UpdateResult
from aggregator.update import update_sources
from tests.conftest import write_config
from tests.feedserver import FEEDS, FeedServer, Route, endless_body, gzip_bomb, slow_drip

RSS = (FEEDS / "rss2.xml").read_bytes()
MINUTE = timedelta(minutes=1)


def _run(tmp_path: Path, store: Store, sources: dict[str, str],
         **settings: object) -> tuple[dict[str, UpdateResult], dict[str, SourceStatus],
                                      datetime, Config]:
    config = load_config(write_config(tmp_path, sources, settings=settings))
    now = utc_now()
    store.sync_sources(config.sources, config.settings.poll_interval, now)
    results = {r.source: r for r in update_sources(store, config)}
    states = {s.name: s for s in store.source_statuses()}
    return results, states, now, config


def _good(feed_server: FeedServer) -> str:
    return feed_server.serve("/good.xml", RSS)


def _assert_good_fetched(results: dict[str, UpdateResult], states: dict[str, SourceStatus]
                         ) -> None:
    assert results["good"].outcome is Outcome.OK and results["good"].new == 3
    assert states["good"].items == 3


def _redirect(feed_server: FeedServer, path: str, status: int, target: str) -> None:
    feed_server.routes[path] = Route(status=status, headers={"Location": target},
                                     validators=False)


@pytest.mark.parametrize(("status", "retry_after", "earliest", "latest"), [
    (404, None, 30 * MINUTE, 34 * MINUTE),
    (500, None, 30 * MINUTE, 34 * MINUTE),
    (503, "7200", 120 * MINUTE, 121 * MINUTE),
    (429, "3600", 60 * MINUTE, 61 * MINUTE),
    (429, "Wed, 01 Jan 2031 00:00:00 GMT", 7 * 24 * 60 * MINUTE, 7 * 24 * 60 * MINUTE + MINUTE),
    (503, None, 30 * MINUTE, 34 * MINUTE),
])
def test_http_errors_are_recorded_and_rescheduled(
        tmp_path: Path, store: Store, feed_server: FeedServer, status: int,
        retry_after: str | None, earliest: timedelta, latest: timedelta) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    feed_server.routes["/bad"] = Route(status=status, body=b"no", headers=headers)
    results, states, now, _ = _run(tmp_path, store, {
        "bad": feed_server.url("/bad"), "good": _good(feed_server)})
    _assert_good_fetched(results, states)
    bad = states["bad"]
    assert results["bad"].outcome is Outcome.ERROR
    assert (bad.error_count, bad.last_http_status, bad.stopped) == (1, status, False)
    assert bad.last_error is not None and bad.last_error.startswith(f"HTTP {status}")
    assert now + earliest <= bad.next_fetch_at <= now + latest + MINUTE


def test_a_retry_after_applies_to_its_url_not_to_the_whole_host(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/limited"] = Route(status=429, headers={"Retry-After": "86400"})
    _, states, now, _ = _run(tmp_path, store, {
        "limited": feed_server.url("/limited"), "good": _good(feed_server)},
        adaptive_polling=False)
    assert states["limited"].next_fetch_at >= now + timedelta(hours=24)
    assert states["good"].next_fetch_at <= now + timedelta(minutes=34)  # same host, unaffected


def test_errors_back_off_and_a_source_recovers_by_itself(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/flaky"] = Route(status=500)
    sources = {"flaky": feed_server.url("/flaky")}
    gaps = []
    for _ in range(3):
        _, states, now, _config = _run(tmp_path, store, sources)
        gaps.append(states["flaky"].next_fetch_at - now)
    assert states["flaky"].error_count == 3
    assert gaps[0] < gaps[1] < gaps[2] <= timedelta(hours=2, minutes=13)
    feed_server.serve("/flaky", RSS)
    results, states, _, _ = _run(tmp_path, store, sources)
    assert results["flaky"].outcome is Outcome.OK
    assert (states["flaky"].error_count, states["flaky"].last_error) == (0, None)


def test_410_gone_stops_polling_and_says_so(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/gone"] = Route(status=410)
    results, states, now, _config = _run(tmp_path, store, {
        "gone": feed_server.url("/gone"), "good": _good(feed_server)})
    _assert_good_fetched(results, states)
    assert results["gone"].outcome is Outcome.GONE
    assert states["gone"].stopped and "polling stopped" in (states["gone"].last_error or "")
    far = now + timedelta(days=365)
    assert [s.name for s in store.claim_sources(far, due_only=True)] == ["good"]


def test_permanent_redirects_move_the_source_and_temporary_ones_do_not(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    feed_server.serve("/new.xml", RSS)
    feed_server.serve("/other.xml", RSS.replace(b"example-100", b"other-100"))
    _redirect(feed_server, "/old", 301, "/middle")
    _redirect(feed_server, "/middle", 308, "/new.xml")
    _redirect(feed_server, "/temp", 302, "/other.xml")
    _redirect(feed_server, "/mixed", 301, "/temp")
    results, states, _, _config = _run(tmp_path, store, {
        "moved": feed_server.url("/old"), "temp": feed_server.url("/temp"),
        "mixed": feed_server.url("/mixed")})
    assert {r.outcome for r in results.values()} == {Outcome.OK}
    assert states["moved"].moved_to == feed_server.url("/new.xml")
    assert states["moved"].url == feed_server.url("/old")  # feeds.yaml's URL stays the key
    assert states["temp"].moved_to is None and states["mixed"].moved_to is None
    # the next fetch goes straight to the new URL
    feed_server.requests.clear()
    claimed = store.claim_sources(utc_now(), names=["moved"], due_only=False)
    assert claimed[0].url == feed_server.url("/new.xml")


@pytest.mark.parametrize("loop", [True, False])
def test_redirect_loops_and_overlong_chains_are_errors(
        tmp_path: Path, store: Store, feed_server: FeedServer, loop: bool) -> None:
    if loop:
        _redirect(feed_server, "/a", 301, "/b")
        _redirect(feed_server, "/b", 302, "/a")
    else:
        for hop in range(10):
            _redirect(feed_server, "/a" if hop == 0 else f"/hop{hop}", 302, f"/hop{hop + 1}")
        feed_server.serve("/hop10", RSS)
    results, states, _, _ = _run(tmp_path, store, {
        "bad": feed_server.url("/a"), "good": _good(feed_server)})
    _assert_good_fetched(results, states)
    assert str(results["bad"].error) == "too many redirects (more than 5, or a loop)"
    assert states["bad"].error_count == 1


def test_a_never_ending_body_stops_at_the_size_cap(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/endless"] = Route(handler=endless_body)
    results, states, _, _ = _run(tmp_path, store, {
        "endless": feed_server.url("/endless"), "good": _good(feed_server)},
        max_body_size=1_000_000)
    _assert_good_fetched(results, states)
    assert str(results["endless"].error) == "body too large: more than 1000000 bytes"


def test_a_gzip_bomb_never_expands_in_memory(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    bomb = gzip.compress(b"<rss>" + b"\0" * 200_000_000, compresslevel=9)
    assert len(bomb) < 300_000
    feed_server.routes["/bomb"] = Route(handler=gzip_bomb(bomb))
    tracemalloc.start()
    try:
        results, states, _, _ = _run(tmp_path, store, {
            "bomb": feed_server.url("/bomb"), "good": _good(feed_server)},
            max_body_size=2_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _assert_good_fetched(results, states)
    assert str(results["bomb"].error) == "body too large: more than 2000000 bytes"
    assert peak < 40_000_000  # 200 MB of zeros were never held


def test_gzip_and_deflate_bodies_are_read(tmp_path: Path, store: Store,
                                          feed_server: FeedServer) -> None:
    import zlib

    feed_server.serve("/gz", gzip.compress(RSS))
    feed_server.routes["/gz"].headers["Content-Encoding"] = "gzip"
    feed_server.serve("/raw-deflate", zlib.compress(RSS)[2:-4])  # no zlib header
    feed_server.routes["/raw-deflate"].headers["Content-Encoding"] = "deflate"
    results, _, _, _ = _run(tmp_path, store, {"gz": feed_server.url("/gz"),
                                              "deflate": feed_server.url("/raw-deflate")})
    assert results["gz"].new == 3 and results["deflate"].new == 3


def test_a_slow_drip_cannot_hold_a_worker_past_the_total_timeout(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/drip"] = Route(handler=slow_drip)
    started = time.monotonic()
    results, states, _, _ = _run(tmp_path, store, {
        "drip": feed_server.url("/drip"), "good": _good(feed_server)}, timeout="2s")
    assert time.monotonic() - started < 10  # the drip would take 15 s
    _assert_good_fetched(results, states)
    assert str(results["drip"].error) == "timed out after 2s"


@pytest.mark.parametrize(("body", "content_type", "error"), [
    (b"", "application/rss+xml", "empty body: the server sent no feed"),
    (b"   \n", "application/rss+xml", "empty body: the server sent no feed"),
    (b"<!DOCTYPE html><html><head><title>Home</title></head><body>x</body></html>",
     "text/html", "not a feed: the server sent an HTML page"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "image/png", "not a feed"),
])
def test_bodies_that_are_not_feeds(tmp_path: Path, store: Store, feed_server: FeedServer,
                                   body: bytes, content_type: str, error: str) -> None:
    feed_server.serve("/notfeed", body, content_type)
    results, states, now, _ = _run(tmp_path, store, {
        "notfeed": feed_server.url("/notfeed"), "good": _good(feed_server)})
    _assert_good_fetched(results, states)
    assert results["notfeed"].error is not None and str(results["notfeed"].error).startswith(error)
    assert states["notfeed"].error_count == 1
    assert states["notfeed"].next_fetch_at >= now + 30 * MINUTE


@pytest.mark.parametrize(("declared", "strip_prolog"), [
    ("text/xml", True),                              # no charset anywhere
    ("application/rss+xml; charset=utf-8", True),    # a wrong charset header
    ("text/xml; charset=iso-8859-1", True),          # a wrong Latin charset header
    ("text/xml", False),                             # only the XML prolog says it
])
def test_a_russian_feed_reads_as_russian_whatever_the_headers_say(
        tmp_path: Path, store: Store, feed_server: FeedServer, declared: str,
        strip_prolog: bool) -> None:
    body = (FEEDS / "ru-cp1251.xml").read_bytes()
    if strip_prolog:
        body = body.replace(b' encoding="windows-1251"', b"")
    feed_server.serve("/ru", body, declared)
    results, _, _, _ = _run(tmp_path, store, {"ru": feed_server.url("/ru")})
    assert results["ru"].new == 2
    titles = {s.title for s in store.stories_for(None, 10)}
    assert titles == {"Статью Токаева опубликовала российская газета", "Ёлки на площади"}


def test_private_addresses_are_refused_unless_allowed(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    url = _good(feed_server)
    results, _states, _, _ = _run(tmp_path, store, {"local": url},
                                 allow_private_networks=False)
    assert str(results["local"].error) == (
        "refused: 127.0.0.1 resolves to a non-public address (127.0.0.1 is a loopback "
        "address); set settings.allow_private_networks: true to fetch from it")
    assert feed_server.hits("/good.xml") == []  # never connected
    results, _, _, _ = _run(tmp_path, store, {"local": url}, allow_private_networks=True)
    assert results["local"].outcome is Outcome.OK


@pytest.mark.parametrize(("address", "blocked"), [
    ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.1", True), ("192.168.1.1", True),
    ("169.254.169.254", True), ("::1", True), ("fe80::1", True), ("fc00::1", True),
    ("::ffff:127.0.0.1", True), ("0.0.0.0", True), ("224.0.0.1", True),
    ("93.184.216.34", False), ("2606:2800:220:1:248:1893:25c8:1946", False),
])
def test_blocked_reason(address: str, blocked: bool) -> None:
    assert (blocked_reason(address) is not None) is blocked


def test_at_most_n_requests_at_once_to_one_host(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    lock = threading.Lock()
    active = [0]
    peak = [0]

    def slow(request: BaseHTTPRequestHandler) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        body = RSS.replace(b"example-100", request.path.encode())
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    sources = {}
    for index in range(6):
        feed_server.routes[f"/s{index}"] = Route(handler=slow)
        sources[f"s{index}"] = feed_server.url(f"/s{index}")
    results, _, _, _ = _run(tmp_path, store, sources, per_host_concurrency=2, concurrency=16)
    assert {r.outcome for r in results.values()} == {Outcome.OK}
    assert peak[0] == 2


def test_our_requests_say_who_we_are_and_ask_for_feeds(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    _run(tmp_path, store, {"good": _good(feed_server)})
    headers = feed_server.hits("/good.xml")[0].headers
    assert headers["User-Agent"].startswith("aggregator/")
    assert "application/atom+xml" in headers["Accept"]
    assert headers["Accept-Encoding"] == "gzip, deflate"


UNFETCHABLE = [
    "http://127.0.0.1:99999/feed.xml",      # port out of range
    "http://xn--zz/feed.xml",               # IDNA label that does not decode
    "http://[::1/feed.xml",                 # unclosed IPv6 literal
]


@pytest.mark.parametrize("target", UNFETCHABLE)
def test_a_redirect_to_a_url_that_can_never_be_fetched_is_that_sources_error(
        tmp_path: Path, store: Store, feed_server: FeedServer, target: str) -> None:
    _redirect(feed_server, "/moved", 301, target)
    results, states, now, _ = _run(tmp_path, store, {
        "moved": feed_server.url("/moved"), "good": _good(feed_server)})
    _assert_good_fetched(results, states)
    assert results["moved"].outcome is Outcome.ERROR
    moved = states["moved"]
    assert moved.error_count == 1 and moved.last_error
    assert "Traceback" not in moved.last_error
    assert moved.next_fetch_at > now  # backed off, and its lease released
    later = moved.next_fetch_at + MINUTE
    assert "moved" in [s.name for s in store.claim_sources(later, due_only=True)]


BAD_HOSTS = [
    "http://" + "a" * 64 + ".example/feed.xml",  # a label over 63 characters
    "http://a..example/feed.xml",                # an empty label
]


@pytest.mark.parametrize("url", UNFETCHABLE + BAD_HOSTS)
@pytest.mark.parametrize("guarded", [True, False])
def test_fetch_returns_an_error_for_a_url_that_can_never_be_fetched(
        url: str, guarded: bool) -> None:
    limits = FetchLimits(timeout=5, allow_private_networks=not guarded)

    async def go() -> object:
        async with make_client(limits) as client:
            return await fetch(client, SourceToFetch(id=1, name="bad", url=url), limits,
                               utc_now())

    error = asyncio.run(go())
    assert isinstance(error, FetchError) and error.kind == "url"
    assert str(error).startswith("invalid URL")


@pytest.mark.parametrize("url", UNFETCHABLE + BAD_HOSTS)
def test_check_rejects_a_source_url_that_can_never_be_fetched(tmp_path: Path, url: str
                                                              ) -> None:
    path = write_config(tmp_path, {"good": "http://example.org/feed", "bad": url})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line == 10 and "sources[1].url" in str(caught.value)
    assert "invalid URL" in str(caught.value)


def test_a_bug_raised_while_fetching_one_source_is_that_sources_error(
        tmp_path: Path, store: Store, feed_server: FeedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from aggregator import update as core

    real_fetch = core.fetch

    async def buggy(client, source, limits, now):  # type: ignore[no-untyped-def]
        if source.name == "buggy":
            raise RuntimeError("a bug")
        return await real_fetch(client, source, limits, now)

    monkeypatch.setattr(core, "fetch", buggy)
    results, states, now, _ = _run(tmp_path, store, {
        "buggy": feed_server.url("/x"), "good": _good(feed_server)})
    _assert_good_fetched(results, states)
    assert results["buggy"].outcome is Outcome.ERROR
    assert "internal error" in (states["buggy"].last_error or "")
    assert states["buggy"].next_fetch_at > now


@pytest.mark.parametrize("target", UNFETCHABLE[:1] + BAD_HOSTS)  # the rest httpx refuses
def test_a_redirect_target_is_checked_before_it_is_connected_to(
        tmp_path: Path, store: Store, feed_server: FeedServer, target: str) -> None:
    _redirect(feed_server, "/moved", 302, target)
    _results, states, _now, _ = _run(tmp_path, store, {"moved": feed_server.url("/moved")})
    assert "redirected to a URL that cannot be fetched" in (states["moved"].last_error or "")


def test_the_ca_certificates_are_loaded_at_the_first_tls_connection_only() -> None:
    context = _LazyTrustContext(ssl.PROTOCOL_TLS_CLIENT)
    assert context.cert_store_stats()["x509_ca"] == 0  # a run of http:// feeds reads none
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.com")
    assert context.cert_store_stats()["x509_ca"] > 0
    assert isinstance(_tls_context(), _LazyTrustContext)


@pytest.mark.parametrize("count", [3, 4, 5, 9])
def test_a_one_off_update_fetches_every_source_once_in_windows_of_claims(
        tmp_path: Path, store: Store, feed_server: FeedServer, count: int) -> None:
    # concurrency 2: the first claim takes 4 sources, the rest is claimed right after
    sources = {f"s{n}": feed_server.serve(f"/s{n}.xml", RSS) for n in range(count)}
    results, states, _now, _ = _run(tmp_path, store, sources, concurrency=2,
                                    per_host_concurrency=2)
    assert sorted(results) == sorted(sources)
    assert all(r.outcome is Outcome.OK for r in results.values())
    assert all(len(feed_server.hits(f"/s{n}.xml")) == 1 for n in range(count))
    assert all(states[name].items == 3 for name in sources)
    assert len(store.claim_sources(utc_now(), due_only=False)) == count  # leases released
