"""The WebSub subscriber end to end: a hub written here, on 127.0.0.1, talks to the
service and its web app as a real hub would (W3C WebSub): it verifies intent, pushes
signed and forged bodies, lets a lease lapse, denies a subscription, and takes an
unsubscription. Both databases."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import uvicorn
from lxml import etree
from typer.testing import CliRunner

import aggregator.service as service_module
from aggregator.cli import app
from aggregator.clock import utc_now
from aggregator.config import load_config
from aggregator.ingest.hub import sign
from aggregator.service import Service
from aggregator.store import Store
from aggregator.types import (
    HubSource,
    Outcome,
    SourceUpdate,
    Subscription,
    SubscriptionState,
)
from aggregator.update import update_sources
from aggregator.web import create_app, server_config
from aggregator.websub import Subscriber
from tests.conftest import write_config
from tests.feedserver import FeedServer
from tests.test_web import free_port

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class HubSubscription:
    callback: str
    secret: str
    lease_seconds: int


@dataclass
class LocalHub:
    """A WebSub hub: answers 202 to (un)subscription requests, then verifies intent on
    the callback, as the spec says; ``mode`` says what it does with the next ones."""

    mode: str = "verify"  # "verify", "deny" or "refuse" (answers 503, does nothing)
    lease_seconds: int = 10 * 86400
    requests: list[dict[str, str]] = field(default_factory=list)
    verifications: list[tuple[str, int, bool]] = field(default_factory=list)  # mode, status, echoed
    subscribers: dict[str, HubSubscription] = field(default_factory=dict)  # by topic

    def start(self) -> LocalHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                hub.requests.append(form)
                status = 503 if hub.mode == "refuse" else 202
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.wfile.flush()
                if status == 202:
                    hub.verify(form)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/hub"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def verify(self, form: dict[str, str]) -> None:
        mode, topic, callback = form["hub.mode"], form["hub.topic"], form["hub.callback"]
        if self.mode == "deny" and mode == "subscribe":
            answer = httpx.get(callback, params={"hub.mode": "denied", "hub.topic": topic,
                                                 "hub.reason": "not today"})
            self.verifications.append(("denied", answer.status_code, False))
            return
        challenge = secrets.token_hex(8)
        answer = httpx.get(callback, params={
            "hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge,
            "hub.lease_seconds": str(self.lease_seconds)})
        echoed = answer.status_code == 200 and answer.text == challenge
        self.verifications.append((mode, answer.status_code, echoed))
        if echoed and mode == "subscribe":
            self.subscribers[topic] = HubSubscription(callback, form["hub.secret"],
                                                      self.lease_seconds)
        elif echoed:
            self.subscribers.pop(topic, None)

    def push(self, topic: str, body: bytes, *, secret: str | None = None,
             method: str = "sha256") -> httpx.Response:
        """Distribute ``body`` to the topic's subscriber, signed with its secret (or
        with ``secret``, to forge)."""
        sub = self.subscribers[topic]
        key = (secret if secret is not None else sub.secret).encode()
        signature = hmac.new(key, body, getattr(hashlib, method)).hexdigest()
        return httpx.post(sub.callback, content=body, headers={
            "Content-Type": "application/atom+xml", "X-Hub-Signature": f"{method}={signature}"})


def _feed(hub: str, self_url: str, *entries: tuple[str, str]) -> bytes:
    items = "".join(
        f"<entry><title>{title}</title><id>urn:test:{key}</id>"
        f"<link href='https://news.example.org/{key}'/>"
        f"<updated>2026-12-04T10:00:00Z</updated><summary>{title} in full.</summary></entry>"
        for key, title in entries)
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>News</title><id>urn:test:feed</id><updated>2026-12-04T10:00:00Z</updated>"
            f"<link rel='hub' href='{hub}'/><link rel='self' href='{self_url}'/>"
            f"{items}</feed>").encode()


def _wait_for(check: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@dataclass
class Pushed:
    service: Service
    store: Store
    hub: LocalHub
    base: str  # where the web app serves (and the callback base)
    topic: str
    config: Path

    def titles(self) -> list[str]:
        body = httpx.get(f"{self.base}feeds/all.atom").content
        return [e.findtext(f"{ATOM}title") or ""
                for e in etree.fromstring(body).iter(f"{ATOM}entry")]

    def state(self) -> SubscriptionState | None:
        subs = self.store.subscriptions()
        return subs[0].state if subs else None


@pytest.fixture
def hub() -> Iterator[LocalHub]:
    local = LocalHub().start()
    yield local
    local.stop()


@pytest.fixture
def pushed(tmp_path: Path, feed_server: FeedServer, db_url: str, hub: LocalHub,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Pushed]:
    with _running(tmp_path, feed_server, db_url, hub, monkeypatch) as running:
        yield running


@contextmanager
def _running(tmp_path: Path, feed_server: FeedServer, db_url: str, hub: LocalHub,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Pushed]:
    """`aggregator run`'s service and web app, in this process, with push on; its jobs
    run every 0.3 s instead of every 10 s and every minute."""
    monkeypatch.setattr(service_module, "WEBSUB_SECONDS", 0.3)
    monkeypatch.setattr(service_module, "TICK_SECONDS", 0.3)
    topic = feed_server.url("/news.atom")
    feed_server.serve("/news.atom", _feed(hub.url, topic, ("1", "First story")),
                      "application/atom+xml")
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    path = write_config(tmp_path, {"news": topic}, settings={
        "base_url": base, "websub_callback": base, "max_body_size": 2048,
        "adaptive_polling": False})
    store = Store(db_url)
    service = Service(str(path), load_config(path), store)
    server = uvicorn.Server(server_config(create_app(service.cache, receiver=service.subscriber),
                                          "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert _wait_for(lambda: server.started)
    service.start()
    try:
        yield Pushed(service, store, hub, base, topic, path)
    finally:
        service.stop()
        server.should_exit = True
        thread.join(10)
        store.close()


def test_a_push_is_verified_signed_stored_and_published_without_a_poll(
        pushed: Pushed, feed_server: FeedServer) -> None:
    hub = pushed.hub
    assert _wait_for(lambda: pushed.state() is SubscriptionState.ACTIVE)
    assert _wait_for(lambda: hub.verifications == [("subscribe", 200, True)])
    request = hub.requests[0]
    assert request["hub.topic"] == pushed.topic
    assert request["hub.callback"].startswith(f"{pushed.base}websub/")
    assert len(request["hub.secret"]) >= 32
    assert _wait_for(lambda: pushed.titles() == ["First story"])
    polls = len(feed_server.hits("/news.atom"))
    assert polls == 1

    # a signed push is stored through the same pipeline and published at once
    body = _feed(hub.url, pushed.topic, ("2", "Pushed story"), ("1", "First story"))
    assert hub.push(pushed.topic, body).status_code == 200
    assert _wait_for(lambda: sorted(pushed.titles()) == ["First story", "Pushed story"])
    # sha1 is still accepted, as the spec allows
    body = _feed(hub.url, pushed.topic, ("3", "Third story"))
    assert hub.push(pushed.topic, body, method="sha1").status_code == 200
    assert _wait_for(lambda: "Third story" in pushed.titles())
    assert len(feed_server.hits("/news.atom")) == polls  # no poll took it

    # while pushed, the source is polled at most once a day
    source = pushed.store.source_statuses()[0]
    assert source.pushed_until is not None
    fetched_at = source.last_fetched_at
    assert fetched_at is not None
    assert source.next_fetch_at >= fetched_at + timedelta(days=1)


def test_forged_oversized_and_unknown_pushes_store_nothing(
        pushed: Pushed, caplog: pytest.LogCaptureFixture) -> None:
    hub = pushed.hub
    assert _wait_for(lambda: pushed.topic in hub.subscribers)
    assert _wait_for(lambda: pushed.titles() == ["First story"])
    secret = hub.subscribers[pushed.topic].secret
    callback = hub.subscribers[pushed.topic].callback
    forged = _feed(hub.url, pushed.topic, ("x", "Forged story"))
    assert hub.push(pushed.topic, forged, secret="guessed").status_code == 403
    unsigned = httpx.post(callback, content=forged)
    assert unsigned.status_code == 403
    # a valid signature of another body
    good = hub.push(pushed.topic, _feed(hub.url, pushed.topic, ("1", "First story")))
    assert good.status_code == 200
    replayed = httpx.post(callback, content=forged, headers={
        "X-Hub-Signature": good.request.headers["X-Hub-Signature"]})
    assert replayed.status_code == 403
    # over max_body_size (2048 bytes here), correctly signed: refused before it is read
    big = _feed(hub.url, pushed.topic, *((str(i), f"Big story {i}") for i in range(20)))
    assert len(big) > 2048
    assert hub.push(pushed.topic, big).status_code == 413
    unknown = httpx.post(callback.rsplit("/", 1)[0] + "/not-a-token", content=forged,
                         headers={"X-Hub-Signature": "sha256=00"})
    assert unknown.status_code == 404
    time.sleep(0.5)
    assert pushed.titles() == ["First story"]
    statuses = pushed.store.source_statuses()
    assert [s.items for s in statuses] == [1]
    assert statuses[0].last_error is None
    text = caplog.text
    assert "bad or missing signature refused" in text
    assert "over 2048 bytes refused" in text
    assert "unknown callback refused" in text
    assert secret not in text


def test_a_lease_that_lapses_brings_polling_back(pushed: Pushed,
                                                feed_server: FeedServer) -> None:
    hub = pushed.hub
    assert _wait_for(lambda: pushed.topic in hub.subscribers)
    assert _wait_for(lambda: len(feed_server.hits("/news.atom")) == 1)
    # the hub verifies the subscription again with a lease of 2 s (a hub may, at any
    # time), then refuses every renewal: the lease runs out
    hub.mode = "refuse"
    hub.lease_seconds = 2
    hub.verify(hub.requests[0])
    assert hub.verifications[-1] == ("subscribe", 200, True)
    feed_server.serve("/news.atom", _feed(hub.url, pushed.topic, ("1", "First story"),
                                          ("4", "Found by polling")), "application/atom+xml")
    assert _wait_for(lambda: pushed.state() in (SubscriptionState.LAPSED,
                                                SubscriptionState.FAILED), 10)
    assert any(r["hub.mode"] == "subscribe" for r in hub.requests[1:])  # a renewal was tried
    # the source is due at once: polling takes over
    assert _wait_for(lambda: "Found by polling" in pushed.titles(), 10)
    status = pushed.store.source_statuses()[0]
    assert status.pushed_until is None


def test_a_denied_subscription_is_polled_on_schedule(
        tmp_path: Path, feed_server: FeedServer, db_url: str, hub: LocalHub,
        monkeypatch: pytest.MonkeyPatch) -> None:
    hub.mode = "deny"
    with _running(tmp_path, feed_server, db_url, hub, monkeypatch) as check:
        assert _wait_for(lambda: check.state() is SubscriptionState.DENIED)
        assert _wait_for(lambda: hub.verifications == [("denied", 200, False)])
        sub = check.store.subscriptions()[0]
        assert sub.error is not None and "not today" in sub.error
        status = check.store.source_statuses()[0]
        assert status.pushed_until is None and status.push_state == "denied"
        # its next poll is on its own schedule (30 minutes), not a day away
        assert status.last_fetched_at is not None
        assert status.next_fetch_at - status.last_fetched_at < timedelta(hours=1)
        # nothing pushed to a denied subscription is taken, even correctly signed
        body = _feed(hub.url, check.topic, ("9", "Nine"))
        answer = httpx.post(sub.callback, content=body,
                            headers={"X-Hub-Signature": sign(sub.secret, body)})
        assert answer.status_code == 410
        assert "Nine" not in check.titles()


def test_a_removed_source_is_unsubscribed(pushed: Pushed) -> None:
    hub = pushed.hub
    assert _wait_for(lambda: pushed.state() is SubscriptionState.ACTIVE)
    text = pushed.config.read_text()
    start = text.index("  - name: news")
    end = text.index("outputs:")
    pushed.config.write_text(text[:start] + text[end:])
    assert pushed.service.reload_config()
    assert _wait_for(lambda: pushed.store.subscriptions() == [])
    assert _wait_for(lambda: ("unsubscribe", 200, True) in hub.verifications)
    assert pushed.topic not in hub.subscribers
    last = hub.requests[-1]
    assert last["hub.mode"] == "unsubscribe" and "hub.secret" not in last


def test_sources_shows_whether_a_source_is_pushed_and_until_when(
        pushed: Pushed, db_url: str) -> None:
    assert _wait_for(lambda: pushed.state() is SubscriptionState.ACTIVE)
    runner = CliRunner()
    listed = runner.invoke(app, ["sources", "--json", "--config", str(pushed.config),
                                 "--db", db_url])
    assert listed.exit_code == 0, listed.output
    [news] = json.loads(listed.stdout)
    assert news["hub"] == pushed.hub.url
    assert news["push"] == "active" and news["pushed"] is True
    assert news["pushed_until"] is not None
    table = runner.invoke(app, ["sources", "--config", str(pushed.config), "--db", db_url])
    assert f"pushed by {pushed.hub.url} until " in table.stdout


def test_a_hub_on_a_private_address_is_refused_like_a_feed(
        tmp_path: Path, feed_server: FeedServer, db_url: str, hub: LocalHub) -> None:
    """The hub a feed announces passes the fetcher's private-address guard: with
    allow_private_networks off, a hub on 127.0.0.1 is never asked."""
    topic = feed_server.url("/news.atom")
    feed_server.serve("/news.atom", _feed(hub.url, topic, ("1", "First")),
                      "application/atom+xml")
    path = write_config(tmp_path, {"news": topic},
                        settings={"websub_callback": "https://agg.example.com/"})
    config = load_config(path)
    store = Store(db_url)
    try:
        store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
        update_sources(store, config)  # the feed itself is local: allowed for the test
        guarded = config.model_copy(update={"settings": config.settings.model_copy(
            update={"allow_private_networks": False})})
        assert Subscriber(store, lambda: guarded).maintain() == 1
        [sub] = store.subscriptions()
        assert sub.state is SubscriptionState.FAILED
        assert sub.error is not None and "non-public address" in sub.error
        assert hub.requests == []
    finally:
        store.close()


# ---- the store's side -------------------------------------------------------------------

def _subscription(source_id: int, token: str, when: datetime) -> Subscription:
    return Subscription(source_id=source_id, source="news", hub="https://hub.example.net/",
                        topic="https://example.org/feed", token=token, secret="s" * 43,
                        callback=f"https://agg.example.com/websub/{token}",
                        state=SubscriptionState.REQUESTED, requested_at=when)


def test_of_two_workers_one_asks_the_hub(db_url: str, tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, {"news": "https://example.org/feed"}))
    first, second = Store(db_url), Store(db_url)
    try:
        now = utc_now()
        first.sync_sources(config.sources, config.settings.poll_interval, now)
        [claimed] = first.claim_sources(now, due_only=False)
        source_id = claimed.id
        won = [first.begin_subscription(_subscription(source_id, "a", now), None),
               second.begin_subscription(_subscription(source_id, "b", now), None)]
        assert won == [True, False]
        [current] = first.subscriptions()
        assert current.token == "a" and current.secret == "s" * 43
        assert first.subscription("b") is None
        later = now + timedelta(hours=2)
        # a renewal or a retry: only one of the two that read the same row gets it
        won = [second.begin_subscription(_subscription(source_id, "a", later), current),
               first.begin_subscription(_subscription(source_id, "a", later), current)]
        assert won == [True, False]
        # verified: active until the lease ends, pushed until then
        first.subscription_verified("a", later, later + timedelta(days=10))
        assert first.source_to_fetch(source_id, later).pushed_until == later + timedelta(days=10)
        token = first.lease_token()
        claimed_again = first.claim_sources(later + timedelta(days=2), due_only=False,
                                            token=token)
        assert [s.pushed_until for s in claimed_again] == [later + timedelta(days=10)]
        # its poll put the next one a day away; denied: no longer pushed, and due at once
        first.apply(source_id, SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=later,
                                            next_fetch_at=later + timedelta(days=1)))
        assert first.source_statuses()[0].next_fetch_at > later
        first.end_subscription("a", SubscriptionState.DENIED, later, "no")
        assert first.source_to_fetch(source_id, later).pushed_until is None
        assert first.source_statuses()[0].next_fetch_at <= later
        first.forget_subscription("a")
        assert first.subscriptions() == []
    finally:
        first.close()
        second.close()


def test_a_fetched_feed_records_its_hub_and_a_new_url_forgets_it(
        tmp_path: Path, feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve("/news.atom", _feed("/hub", "", ("1", "One")),
                            "application/atom+xml")
    config = load_config(write_config(tmp_path, {"news": url}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config)
    assert store.hub_sources() == [HubSource(1, "news", feed_server.url("/hub"), url)]
    moved = load_config(write_config(tmp_path, {"news": url + "?v=2"}))
    store.sync_sources(moved.sources, moved.settings.poll_interval, utc_now())
    assert store.hub_sources() == []


def test_a_failing_database_is_answered_503_not_a_traceback() -> None:
    from aggregator.config import Config
    from aggregator.exceptions import StorageError

    class FailingStore:
        def subscription(self, token: str) -> None:
            raise StorageError("database error: the server closed the connection")

    subscriber = Subscriber(FailingStore(), Config)  # type: ignore[arg-type]
    assert subscriber.deliver("t", b"<feed/>", {"X-Hub-Signature": "sha256=00"}) == 503
    assert subscriber.verify("t", {"hub.mode": "subscribe"}) == (503, "try again later\n")
