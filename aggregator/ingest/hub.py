"""The WebSub subscriber's decisions, pure (W3C WebSub, sections 4 to 8).

- **Discovery**: a feed announces its hub and topic with ``<link rel="hub">`` and
  ``<link rel="self">`` (Atom, or atom:link inside RSS) or an HTTP ``Link`` header; the
  header wins, as the spec says. A hub without a self link takes the feed's own URL as
  the topic.
- **Subscriptions**: :func:`plan_subscriptions` compares the sources that announce a hub
  with the stored subscriptions and says what to ask the hubs: subscribe a new one,
  renew a lease before it ends, retry one that failed or was denied (later), mark one
  lapsed, unsubscribe (or forget) one whose source left feeds.yaml.
- **Verification of intent**: :func:`verify` answers a hub's GET on the callback: the
  challenge is echoed only for a subscription we asked for, with its topic and mode.
- **Authenticity**: :func:`signature_ok` checks ``X-Hub-Signature``, the HMAC of the
  body keyed by the subscription's secret, in constant time.

The shell (``aggregator/websub.py``) draws the random tokens and secrets, talks to the
hubs and the store; nothing here does I/O, and the clock comes in as an argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urljoin

from aggregator.text import http_url
from aggregator.types import HubSource, Subscription, SubscriptionState

#: the lease assumed when a hub's verification does not say (it should: hub.lease_seconds)
DEFAULT_LEASE = timedelta(days=1)
MAX_LEASE = timedelta(days=365)
#: renew this share of the lease before it ends, but no earlier than a day before
RENEW_SHARE = 0.2
RENEW_MARGIN = timedelta(days=1)
#: how long to wait before asking a hub again, by the state the last request left
RETRY_AFTER = {
    SubscriptionState.REQUESTED: timedelta(hours=1),  # the hub never verified
    SubscriptionState.FAILED: timedelta(hours=1),
    SubscriptionState.DENIED: timedelta(days=1),
    SubscriptionState.LAPSED: timedelta(0),
}
#: an unsubscription the hub never verifies is forgotten after this long
UNSUBSCRIBE_WAIT = timedelta(days=1)
#: the signature methods the spec allows (sha1 only for older hubs), by hashlib's names
#: (hmac and hashlib are imported where a signature is made: the parse worker imports
#: this module for ``discover`` and so loads no OpenSSL, 3.5 MB)
SIGNATURES = frozenset({"sha1", "sha256", "sha384", "sha512"})
CALLBACK_PATH = "websub/"
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_REL = re.compile(r"""\brel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)


def link_header_targets(header: str | None, rel: str) -> list[str]:
    """The targets of an HTTP ``Link`` header (RFC 8288) with relation ``rel``."""
    found = []
    for match in _LINK.finditer(header or ""):
        for value in _REL.finditer(match.group(2)):
            rels = (value.group(1) if value.group(1) is not None else value.group(2)).split()
            if rel in (r.lower() for r in rels):
                found.append(match.group(1).strip())
    return found


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def discover(feed_hub: str | None, feed_self: str | None, headers: Mapping[str, str],
             url: str) -> tuple[str | None, str | None]:
    """(hub, topic) a feed fetched from ``url`` announces, both absolute http(s) URLs;
    (None, None) when it announces no usable hub."""
    link = _header(headers, "link")
    hubs = link_header_targets(link, "hub") or ([feed_hub] if feed_hub else [])
    selves = link_header_targets(link, "self") or ([feed_self] if feed_self else [])
    hub = next((h for h in (_absolute(h, url) for h in hubs) if h), None)
    if hub is None:
        return None, None
    topic = next((t for t in (_absolute(s, url) for s in selves) if t), None)
    return hub, topic or http_url(url)


def _absolute(link: str, base: str) -> str | None:
    try:
        return http_url(urljoin(base, link.strip()))
    except ValueError:
        return None


def callback_url(base: str, token: str) -> str:
    """The callback a hub is given: ``<websub_callback>websub/<token>``."""
    return base.rstrip("/") + "/" + CALLBACK_PATH + token


def sign(secret: str, body: bytes, method: str = "sha256") -> str:
    """The ``X-Hub-Signature`` value a hub sends with ``body``."""
    import hmac

    if method not in SIGNATURES:
        raise KeyError(method)
    digest = hmac.new(secret.encode(), body, method).hexdigest()
    return f"{method}={digest}"


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (``method=hexdigest``) is the HMAC of ``body`` under ``secret``,
    compared in constant time. A missing or malformed header, or an unknown method,
    is not."""
    method, _, digest = (header or "").strip().partition("=")
    method = method.strip().lower()
    if method not in SIGNATURES or not digest.strip():
        return False
    import hmac

    expected = sign(secret, body, method).partition("=")[2]
    return hmac.compare_digest(expected.encode(), digest.strip().lower().encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Verification:
    """The answer to a hub's GET on a callback, and what it changes."""

    status: int
    body: str
    state: SubscriptionState | None = None  # the subscription's new state; None: as is
    lease_until: datetime | None = None
    remove: bool = False  # the unsubscription is verified: forget the subscription
    note: str = ""  # what happened, for the log (never the secret)


def verify(subscription: Subscription | None, params: Mapping[str, str],
           now: datetime) -> Verification:
    """A hub verifying intent (``hub.mode`` subscribe / unsubscribe) or telling us it
    denied a subscription (``hub.mode=denied``). Echo ``hub.challenge`` only for a
    subscription we asked for, with the same topic, in the mode we asked for."""
    mode = params.get("hub.mode", "")
    if subscription is None:
        return Verification(404, "unknown subscription\n", note="unknown callback")
    if params.get("hub.topic") != subscription.topic:
        return Verification(404, "not our topic\n",
                            note=f"{mode or 'a request'} for another topic refused")
    state = subscription.state
    if mode == "denied":
        if state not in (SubscriptionState.REQUESTED, SubscriptionState.ACTIVE):
            return Verification(404, "no pending subscription\n", note="stray denial ignored")
        reason = params.get("hub.reason", "")[:200]
        return Verification(200, "ok\n", state=SubscriptionState.DENIED,
                            note=f"denied{': ' + reason if reason else ''}")
    challenge = params.get("hub.challenge", "")
    if not challenge:
        return Verification(400, "no hub.challenge\n", note="verification without challenge")
    if mode == "subscribe":
        if state not in (SubscriptionState.REQUESTED, SubscriptionState.ACTIVE):
            return Verification(404, "not subscribing\n",
                                note=f"subscribe verification refused ({state})")
        lease = _lease(params.get("hub.lease_seconds"))
        return Verification(200, challenge, state=SubscriptionState.ACTIVE,
                            lease_until=now + lease,
                            note=f"verified, lease {int(lease.total_seconds())}s")
    if mode == "unsubscribe":
        if state is not SubscriptionState.UNSUBSCRIBING:
            return Verification(404, "not unsubscribing\n",
                                note="unsubscribe verification refused")
        return Verification(200, challenge, remove=True, note="unsubscribed")
    return Verification(400, "unknown hub.mode\n", note=f"unknown hub.mode {mode[:20]!r}")


def _lease(value: str | None) -> timedelta:
    if value is None or not value.strip().isdigit() or int(value) <= 0:
        return DEFAULT_LEASE
    return min(timedelta(seconds=min(int(value), 10**9)), MAX_LEASE)


# ---- what to ask the hubs -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Ask ``source.hub`` to push ``source.topic``, replacing ``current`` (the stored
    subscription, None if there is none): ``fresh`` with a new token and secret (a new
    source, hub or topic), else a renewal or a retry with ``current``'s."""

    source: HubSource
    current: Subscription | None
    fresh: bool = False


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """Ask the hub to stop pushing: the source left feeds.yaml (or push was turned off)."""

    subscription: Subscription


@dataclass(frozen=True, slots=True)
class Forget:
    """Drop a subscription the hub does not honour (denied, failed, lapsed) or one whose
    unsubscription it never verified."""

    subscription: Subscription


@dataclass(frozen=True, slots=True)
class Lapse:
    """The lease ended without a renewal: the source is polled on its schedule again."""

    subscription: Subscription


Action = Subscribe | Unsubscribe | Forget | Lapse


def renew_at(subscription: Subscription) -> datetime | None:
    """When an active subscription is renewed: a fifth of its lease before it ends, at
    most a day before."""
    lease_until, verified_at = subscription.lease_until, subscription.verified_at
    if lease_until is None:
        return None
    lease = lease_until - verified_at if verified_at is not None else RENEW_MARGIN
    return lease_until - min(RENEW_MARGIN, lease * RENEW_SHARE)


def plan_subscriptions(sources: Sequence[HubSource], subscriptions: Sequence[Subscription],
                       callback_base: str | None, now: datetime) -> list[Action]:
    """What to ask the hubs now, given the active sources that announce one and the
    stored subscriptions. With no ``callback_base`` (push is off), every subscription is
    ended."""
    wanted = {s.source_id: s for s in sources} if callback_base else {}
    actions: list[Action] = []
    for sub in subscriptions:
        source = wanted.pop(sub.source_id, None)
        if sub.state is SubscriptionState.UNSUBSCRIBING:
            if source is not None:
                actions.append(Subscribe(source, sub, fresh=True))
            elif sub.requested_at is None or sub.requested_at + UNSUBSCRIBE_WAIT <= now:
                actions.append(Forget(sub))
            continue
        if source is None:
            live = sub.state in (SubscriptionState.ACTIVE, SubscriptionState.REQUESTED)
            actions.append(Unsubscribe(sub) if live else Forget(sub))
            continue
        assert callback_base is not None
        if (sub.hub, sub.topic) != (source.hub, source.topic):
            actions.append(Subscribe(source, sub, fresh=True))
            continue
        if sub.callback != callback_url(callback_base, sub.token):
            actions.append(Subscribe(source, sub))  # the same token at the new address
            continue
        if sub.state is SubscriptionState.ACTIVE:
            due = renew_at(sub)
            if sub.lease_until is None or sub.lease_until <= now:
                actions.append(Lapse(sub))
            elif due is not None and due <= now and (
                    sub.requested_at is None or sub.requested_at < due
                    or sub.requested_at + RETRY_AFTER[SubscriptionState.REQUESTED] <= now):
                actions.append(Subscribe(source, sub))  # not asked since it became due
            continue
        if sub.requested_at is None or sub.requested_at + RETRY_AFTER[sub.state] <= now:
            actions.append(Subscribe(source, sub))
    actions.extend(Subscribe(source, None, fresh=True) for source in wanted.values())
    return actions


def pushed_until(subscription: Subscription | None, now: datetime) -> datetime | None:
    """Until when a source is pushed: the lease of a live subscription, else None."""
    if subscription is None or subscription.state is not SubscriptionState.ACTIVE:
        return None
    lease = subscription.lease_until
    return lease if lease is not None and lease > now else None
