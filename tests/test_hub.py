"""The WebSub subscriber's pure decisions as tables: discovery, signatures, verification
of intent, what to ask the hubs, and the poll schedule of a pushed source."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.ingest.hub import (
    DEFAULT_LEASE,
    Forget,
    Lapse,
    Subscribe,
    Unsubscribe,
    callback_url,
    discover,
    link_header_targets,
    plan_subscriptions,
    pushed_until,
    renew_at,
    sign,
    signature_ok,
    verify,
)
from aggregator.ingest.prepare import prepare_feed
from aggregator.ingest.schedule import PUSHED_INTERVAL, PollPolicy, next_fetch_at
from aggregator.types import HubSource, Outcome, Subscription, SubscriptionState

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
FEED = "https://example.org/feed.xml"
HUB = "https://hub.example.net/"
BASE = "https://agg.example.com/"
SOURCE = HubSource(1, "news", HUB, FEED)


def _sub(state: SubscriptionState = SubscriptionState.ACTIVE, **changes: object) -> Subscription:
    sub = Subscription(source_id=1, source="news", hub=HUB, topic=FEED,
                       callback=callback_url(BASE, "tok"), token="tok", secret="s3cret",
                       state=state, requested_at=NOW - 2 * D, verified_at=NOW - 2 * D,
                       lease_until=NOW + 8 * D)
    return replace(sub, **changes)  # type: ignore[arg-type]


# ---- discovery --------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "rel", "expected"), [
    ('<https://hub.example.net/>; rel="hub"', "hub", ["https://hub.example.net/"]),
    ('<https://h/>; rel="hub", <https://e/feed>; rel="self"', "self", ["https://e/feed"]),
    ("<https://h/>; rel=hub", "hub", ["https://h/"]),
    ('<https://h/>; rel="self hub"', "hub", ["https://h/"]),  # a list of relations
    ('<https://h/a,b>; rel="hub"', "hub", ["https://h/a,b"]),  # a comma inside <...>
    ('<https://h/>; title="x"; REL="Hub"', "hub", ["https://h/"]),
    ('<https://h/>; rel="alternate"', "hub", []),
    ("", "hub", []),
    (None, "hub", []),
    ("garbage; rel=hub", "hub", []),
])
def test_link_header_targets(header: str | None, rel: str, expected: list[str]) -> None:
    assert link_header_targets(header, rel) == expected


@pytest.mark.parametrize(("feed_hub", "feed_self", "headers", "expected"), [
    (HUB, FEED, {}, (HUB, FEED)),
    ("/hub", None, {}, ("https://example.org/hub", FEED)),  # relative; no self: the feed
    (None, None, {}, (None, None)),
    (None, FEED, {}, (None, None)),  # a self link alone is no hub
    ("javascript:alert(1)", None, {}, (None, None)),
    # the Link header wins over the document (WebSub 4)
    (HUB, FEED, {"Link": '<https://h2/>; rel="hub", <https://e/self>; rel="self"'},
     ("https://h2/", "https://e/self")),
    (None, None, {"link": '<https://h2/>; rel="hub"'}, ("https://h2/", FEED)),
    ("ftp://h/", "mailto:x@y", {}, (None, None)),
])
def test_discover(feed_hub: str | None, feed_self: str | None, headers: dict[str, str],
                  expected: tuple[str | None, str | None]) -> None:
    assert discover(feed_hub, feed_self, headers, FEED) == expected


@pytest.mark.parametrize("document", [
    # Atom
    b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id>'
    b'<link rel="hub" href="https://hub.example.net/"/>'
    b'<link rel="self" href="https://example.org/self.xml"/>'
    b"<entry><title>a</title><id>urn:1</id><link href='https://example.org/a'/></entry></feed>",
    # atom:link inside RSS
    b'<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>'
    b'<link>https://example.org/</link><atom:link rel="hub" href="https://hub.example.net/"/>'
    b'<atom:link rel="self" href="https://example.org/self.xml" type="application/rss+xml"/>'
    b"<item><title>a</title><link>https://example.org/a</link></item></channel></rss>",
    # the atom10 prefix FeedBurner writes
    b'<rss version="2.0"><channel><title>t</title><link>https://example.org/</link>'
    b'<atom10:link xmlns:atom10="http://www.w3.org/2005/Atom" rel="hub" '
    b'href="https://hub.example.net/"/><atom10:link xmlns:atom10="http://www.w3.org/2005/Atom"'
    b' rel="self" href="https://example.org/self.xml"/>'
    b"<item><title>a</title><link>https://example.org/a</link></item></channel></rss>",
])
def test_a_prepared_feed_carries_its_hub_and_topic(document: bytes) -> None:
    prepared = prepare_feed(document, {"Content-Type": "application/xml"}, FEED, NOW)
    assert (prepared.feed.hub, prepared.feed.topic) == (HUB, "https://example.org/self.xml")


def test_a_feed_without_a_hub_has_none() -> None:
    body = (b"<rss version='2.0'><channel><title>t</title><item><title>a</title>"
            b"<link>https://example.org/a</link></item></channel></rss>")
    prepared = prepare_feed(body, {}, FEED, NOW)
    assert (prepared.feed.hub, prepared.feed.topic) == (None, None)
    headed = prepare_feed(body, {"Link": f'<{HUB}>; rel="hub"'}, FEED, NOW)
    assert (headed.feed.hub, headed.feed.topic) == (HUB, FEED)


# ---- signatures -------------------------------------------------------------------------

BODY = b"<feed>pushed</feed>"


@pytest.mark.parametrize(("header", "ok"), [
    ("sha256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest(), True),
    ("sha1=" + hmac.new(b"s3cret", BODY, hashlib.sha1).hexdigest(), True),
    ("sha512=" + hmac.new(b"s3cret", BODY, hashlib.sha512).hexdigest(), True),
    ("SHA256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest().upper(), True),
    ("sha256=" + hmac.new(b"other", BODY, hashlib.sha256).hexdigest(), False),
    ("sha256=" + hmac.new(b"s3cret", BODY + b" ", hashlib.sha256).hexdigest(), False),
    ("md5=" + hmac.new(b"s3cret", BODY, hashlib.md5).hexdigest(), False),
    ("sha256=", False),
    ("sha256", False),
    ("", False),
    (None, False),
    ("sha256=zzz\u00e9", False),  # not hex, not ASCII: refused, no exception
])
def test_signature_ok(header: str | None, ok: bool) -> None:
    assert signature_ok("s3cret", BODY, header) is ok


@given(secret=st.text(min_size=1, max_size=60), body=st.binary(max_size=500),
       method=st.sampled_from(["sha1", "sha256", "sha384", "sha512"]),
       flip=st.integers(min_value=0))
def test_a_signature_holds_for_its_body_only(secret: str, body: bytes, method: str,
                                             flip: int) -> None:
    assert signature_ok(secret, body, sign(secret, body, method))
    if body:
        index = flip % len(body)
        forged = body[:index] + bytes([body[index] ^ 1]) + body[index + 1:]
        assert not signature_ok(secret, forged, sign(secret, body, method))
    assert not signature_ok(secret + "x", body, sign(secret, body, method))


# ---- verification of intent -------------------------------------------------------------

def _params(mode: str, topic: str = FEED, **more: str) -> dict[str, str]:
    return {"hub.mode": mode, "hub.topic": topic, "hub.challenge": "c-123", **more}


REQUESTED = _sub(SubscriptionState.REQUESTED, verified_at=None, lease_until=None)


@pytest.mark.parametrize(("sub", "params", "status", "body", "state", "lease"), [
    # the one we asked for: echoed, active for the lease the hub grants
    (REQUESTED, _params("subscribe", **{"hub.lease_seconds": "86400"}), 200, "c-123",
     SubscriptionState.ACTIVE, D),
    (_sub(), _params("subscribe", **{"hub.lease_seconds": "3600"}), 200, "c-123",
     SubscriptionState.ACTIVE, H),  # a renewal
    (REQUESTED, _params("subscribe"), 200, "c-123", SubscriptionState.ACTIVE,
     DEFAULT_LEASE),  # no lease given
    (REQUESTED, _params("subscribe", **{"hub.lease_seconds": "-5"}), 200, "c-123",
     SubscriptionState.ACTIVE, DEFAULT_LEASE),
    (REQUESTED, _params("subscribe", **{"hub.lease_seconds": "9" * 30}), 200, "c-123",
     SubscriptionState.ACTIVE, timedelta(days=365)),  # capped
    # not echoed: unknown token, other topic, no challenge, wrong mode for the state
    (None, _params("subscribe"), 404, None, None, None),
    (REQUESTED, _params("subscribe", topic="https://evil.example/"), 404, None, None, None),
    (REQUESTED, {"hub.mode": "subscribe", "hub.topic": FEED}, 400, None, None, None),
    (REQUESTED, _params("unsubscribe"), 404, None, None, None),
    (_sub(SubscriptionState.DENIED), _params("subscribe"), 404, None, None, None),
    (_sub(SubscriptionState.UNSUBSCRIBING), _params("subscribe"), 404, None, None, None),
    (REQUESTED, _params("publish"), 400, None, None, None),
    # unsubscribing: echoed, and forgotten
    (_sub(SubscriptionState.UNSUBSCRIBING), _params("unsubscribe"), 200, "c-123", None, None),
    # denial
    (REQUESTED, _params("denied", **{"hub.reason": "no"}), 200, "ok\n",
     SubscriptionState.DENIED, None),
    (_sub(SubscriptionState.LAPSED), _params("denied"), 404, None, None, None),
])
def test_verify(sub: Subscription | None, params: dict[str, str], status: int,
                body: str | None, state: SubscriptionState | None,
                lease: timedelta | None) -> None:
    answer = verify(sub, params, NOW)
    assert answer.status == status
    if body is not None:
        assert answer.body == body
    else:
        assert "c-123" not in answer.body
    assert answer.state is state
    assert answer.lease_until == (NOW + lease if lease else None)
    assert answer.remove is (params["hub.mode"] == "unsubscribe" and status == 200)


# ---- what to ask the hubs ---------------------------------------------------------------

def _kinds(actions: list[object]) -> list[tuple[str, bool | None]]:
    return [(type(a).__name__, a.fresh if isinstance(a, Subscribe) else None)
            for a in actions]


@pytest.mark.parametrize(("sources", "subs", "base", "expected"), [
    # a new hub: subscribe with a new token and secret
    ([SOURCE], [], BASE, [("Subscribe", True)]),
    ([SOURCE], [], None, []),  # push is off
    # a live lease well before its renewal: nothing
    ([SOURCE], [_sub()], BASE, []),
    # a fifth of the lease (at most a day) before it ends: renew, same token and secret
    ([SOURCE], [_sub(lease_until=NOW + 10 * H)], BASE, [("Subscribe", False)]),
    ([SOURCE], [_sub(verified_at=NOW - 4 * H, lease_until=NOW + H)], BASE,
     [("Subscribe", False)]),
    ([SOURCE], [_sub(verified_at=NOW - 4 * H, lease_until=NOW + 2 * H)], BASE, []),
    # asked for the renewal already, less than an hour ago: wait
    ([SOURCE], [_sub(lease_until=NOW + 10 * H, requested_at=NOW - 10 * timedelta(minutes=1))],
     BASE, []),
    # the lease ended: lapse (polling resumes), then a new request next round
    ([SOURCE], [_sub(lease_until=NOW)], BASE, [("Lapse", None)]),
    ([SOURCE], [_sub(SubscriptionState.LAPSED, lease_until=None)], BASE,
     [("Subscribe", False)]),
    # retries: an unverified request after an hour, a failure after an hour, a denial a day
    ([SOURCE], [_sub(SubscriptionState.REQUESTED, requested_at=NOW - 30 * timedelta(
        minutes=1))], BASE, []),
    ([SOURCE], [_sub(SubscriptionState.REQUESTED, requested_at=NOW - H)], BASE,
     [("Subscribe", False)]),
    ([SOURCE], [_sub(SubscriptionState.FAILED, requested_at=NOW - H)], BASE,
     [("Subscribe", False)]),
    ([SOURCE], [_sub(SubscriptionState.DENIED, requested_at=NOW - 2 * H)], BASE, []),
    ([SOURCE], [_sub(SubscriptionState.DENIED, requested_at=NOW - D)], BASE,
     [("Subscribe", False)]),
    # the feed moved to another hub or topic, or the callback changed: subscribe anew
    ([replace(SOURCE, hub="https://other-hub/")], [_sub()], BASE, [("Subscribe", True)]),
    ([replace(SOURCE, topic="https://example.org/new")], [_sub()], BASE,
     [("Subscribe", True)]),
    ([SOURCE], [_sub()], "https://moved.example.com/", [("Subscribe", False)]),
    # the source left feeds.yaml (or lost its hub), or push was turned off: unsubscribe a
    # live one, forget one the hub does not honour
    ([], [_sub()], BASE, [("Unsubscribe", None)]),
    ([SOURCE], [_sub()], None, [("Unsubscribe", None)]),
    ([], [_sub(SubscriptionState.REQUESTED)], BASE, [("Unsubscribe", None)]),
    ([], [_sub(SubscriptionState.DENIED)], BASE, [("Forget", None)]),
    ([], [_sub(SubscriptionState.UNSUBSCRIBING, requested_at=NOW - H)], BASE, []),
    ([], [_sub(SubscriptionState.UNSUBSCRIBING, requested_at=NOW - D)], BASE,
     [("Forget", None)]),
    # it came back while being unsubscribed: a new subscription
    ([SOURCE], [_sub(SubscriptionState.UNSUBSCRIBING, requested_at=NOW - H)], BASE,
     [("Subscribe", True)]),
])
def test_plan_subscriptions(sources: list[HubSource], subs: list[Subscription],
                            base: str | None, expected: list[tuple[str, bool | None]]) -> None:
    actions = plan_subscriptions(sources, subs, base, NOW)
    assert _kinds(list(actions)) == expected
    for action in actions:
        if isinstance(action, Lapse | Forget | Unsubscribe):
            assert action.subscription in subs


def test_renewal_time_and_pushed_until() -> None:
    assert renew_at(_sub(verified_at=NOW, lease_until=NOW + 10 * D)) == NOW + 9 * D
    assert renew_at(_sub(verified_at=NOW, lease_until=NOW + 10 * H)) == NOW + 8 * H
    assert renew_at(_sub(lease_until=None)) is None
    assert pushed_until(_sub(), NOW) == NOW + 8 * D
    assert pushed_until(_sub(lease_until=NOW - H), NOW) is None
    assert pushed_until(_sub(SubscriptionState.REQUESTED), NOW) is None
    assert pushed_until(None, NOW) is None
    assert callback_url("https://a.example/x", "t") == "https://a.example/x/websub/t"
    assert callback_url("https://a.example/", "t") == "https://a.example/websub/t"
    assert "s3cret" not in repr(_sub())


# ---- the poll schedule of a pushed source -----------------------------------------------

POLICY = PollPolicy(interval=timedelta(minutes=30), adaptive=False)


@pytest.mark.parametrize(("outcome", "errors", "pushed", "expected"), [
    (Outcome.OK, 0, None, timedelta(minutes=30)),  # not pushed: its schedule
    (Outcome.OK, 0, NOW + 10 * D, PUSHED_INTERVAL),  # pushed: a day
    (Outcome.NOT_MODIFIED, 0, NOW + 10 * D, PUSHED_INTERVAL),
    (Outcome.OK, 0, NOW + 3 * H, 3 * H),  # but due when the lease ends
    (Outcome.OK, 0, NOW - H, timedelta(minutes=30)),  # lapsed: its schedule again
    (Outcome.OK, 0, NOW + timedelta(minutes=10), timedelta(minutes=30)),  # ends sooner
    (Outcome.ERROR, 1, NOW + 10 * D, PUSHED_INTERVAL),
    (Outcome.ERROR, 50, NOW + 10 * D, D),  # a backoff longer than a day stays
])
def test_a_pushed_source_is_polled_at_most_daily(outcome: Outcome, errors: int,
                                                 pushed: datetime | None,
                                                 expected: timedelta) -> None:
    due = next_fetch_at(NOW, POLICY, outcome, errors, 0.0, pushed_until=pushed)
    assert due == NOW + expected
    assert next_fetch_at(NOW, POLICY, Outcome.GONE, 1, 0.0, pushed_until=pushed) is None
