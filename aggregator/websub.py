"""WebSub, both ways (W3C WebSub).

- Publisher: :func:`ping_hub` tells ``settings.websub_hub`` which of our feeds changed.
- Subscriber: :class:`Subscriber` subscribes to the hubs our sources announce (when
  ``settings.websub_callback`` is set), renews their leases, answers the hubs'
  verification of intent on ``<websub_callback>websub/<token>``, and stores what they
  push through the same path as a poll (``update.process``). The decisions are the
  pure ``ingest/hub.py``; the HTTP requests to hubs go through the fetcher's client
  (``ingest/fetch.post_guarded``: the same private-address guard as any fetch).

A subscription's secret is never logged; a push is stored only when its
``X-Hub-Signature`` is the HMAC of its body under that secret.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator.clock import utc_now
from aggregator.config import Config
from aggregator.exceptions import AggregatorError
from aggregator.ingest.fetch import FetchLimits, post_forms, post_guarded
from aggregator.ingest.hub import (
    Forget,
    Lapse,
    Subscribe,
    Unsubscribe,
    callback_url,
    plan_subscriptions,
    signature_ok,
    verify,
)
from aggregator.store import Store
from aggregator.types import Fetched, Outcome, Subscription, SubscriptionState
from aggregator.update import process

log = logging.getLogger(__name__)


def ping_hub(hub_url: str, topics: Sequence[str], timeout: float = 10.0) -> list[str]:
    """POST ``hub.mode=publish`` for each topic. Returns the topics the hub refused;
    never raises: a hub that is down must not stop publishing."""
    answers = post_forms(hub_url, [{"hub.mode": "publish", "hub.url": t} for t in topics],
                         timeout)
    failed = []
    for topic, answer in zip(topics, answers, strict=True):
        if isinstance(answer, str):
            log.warning("WebSub hub %s unreachable for %s: %s", hub_url, topic, answer)
        elif answer >= 300:
            log.warning("WebSub hub %s answered %s for %s", hub_url, answer, topic)
        else:
            continue
        failed.append(topic)
    return failed


@dataclass(frozen=True, slots=True)
class _Request:
    mode: str  # "subscribe" or "unsubscribe"
    subscription: Subscription

    def form(self) -> dict[str, str]:
        form = {"hub.mode": self.mode, "hub.topic": self.subscription.topic,
                "hub.callback": self.subscription.callback}
        if self.mode == "subscribe":
            form["hub.secret"] = self.subscription.secret
        return form


class Subscriber:
    """Subscribes to the hubs of our sources and takes their pushes.

    ``config`` returns the config in force (the service swaps it on reload);
    ``on_stored`` is called after a push stored new or changed items (to republish).
    """

    def __init__(self, store: Store, config: Callable[[], Config],
                 on_stored: Callable[[], None] | None = None) -> None:
        self.store = store
        self.config = config
        self.on_stored = on_stored

    @property
    def max_body_size(self) -> int:
        """The largest push taken: the same cap as a fetched body."""
        return self.config().settings.max_body_size

    # ---- asking the hubs -------------------------------------------------------------

    def maintain(self, now: datetime | None = None) -> int:
        """Subscribe, renew, retry, lapse and unsubscribe as ``plan_subscriptions``
        says; returns the requests sent to hubs. Never raises for what a hub does."""
        now = now or utc_now()
        settings = self.config().settings
        base = settings.websub_callback
        requests: list[_Request] = []
        for action in plan_subscriptions(self.store.hub_sources(), self.store.subscriptions(),
                                         base, now):
            if isinstance(action, Lapse):
                sub = action.subscription
                log.warning("%s: the WebSub lease at %s lapsed; polling resumes",
                            sub.source, sub.hub)
                self.store.end_subscription(sub.token, SubscriptionState.LAPSED, now)
            elif isinstance(action, Forget):
                self.store.forget_subscription(action.subscription.token)
            elif isinstance(action, Unsubscribe):
                sub = action.subscription
                self.store.end_subscription(sub.token, SubscriptionState.UNSUBSCRIBING, now)
                requests.append(_Request("unsubscribe", sub))
            elif isinstance(action, Subscribe):
                assert base is not None
                wanted = self._wanted(action, base, now)
                if self.store.begin_subscription(wanted, action.current):
                    requests.append(_Request("subscribe", wanted))
        limits = FetchLimits.of(settings)
        answers = post_guarded([(r.subscription.hub, r.form()) for r in requests], limits,
                               settings.user_agent)
        for request, answer in zip(requests, answers, strict=True):
            sub = request.subscription
            if isinstance(answer, int) and 200 <= answer < 300:
                log.info("%s: asked %s to %s (HTTP %d)", sub.source, sub.hub, request.mode,
                         answer)
                continue
            error = f"HTTP {answer}" if isinstance(answer, int) else answer
            log.warning("%s: could not %s at the WebSub hub %s: %s", sub.source,
                        request.mode, sub.hub, error)
            if request.mode == "subscribe":
                self.store.subscription_failed(sub.token, sub.requested_at,
                                               f"{sub.hub}: {error}")
        return len(requests)

    @staticmethod
    def _wanted(action: Subscribe, base: str, now: datetime) -> Subscription:
        source, current = action.source, action.current
        if current is None or action.fresh:
            token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
            state = SubscriptionState.REQUESTED
        else:
            token, secret = current.token, current.secret
            state = SubscriptionState.ACTIVE if current.state is SubscriptionState.ACTIVE \
                else SubscriptionState.REQUESTED
        return Subscription(source_id=source.source_id, source=source.name, hub=source.hub,
                            topic=source.topic, callback=callback_url(base, token),
                            token=token, secret=secret, state=state, requested_at=now)

    # ---- the callback ----------------------------------------------------------------

    def verify(self, token: str, params: Mapping[str, str]) -> tuple[int, str]:
        """A hub's GET on a callback: (status, body); 503 when the database fails (the
        hub tries again)."""
        try:
            return self._verify(token, params)
        except AggregatorError as error:
            log.error("WebSub verification not answered: %s", error)
            return 503, "try again later\n"

    def _verify(self, token: str, params: Mapping[str, str]) -> tuple[int, str]:
        now = utc_now()
        sub = self.store.subscription(token)
        answer = verify(sub, params, now)
        if sub is None:
            log.warning("WebSub verification for an unknown callback refused")
            return answer.status, answer.body
        if answer.state is SubscriptionState.ACTIVE and answer.lease_until is not None:
            self.store.subscription_verified(token, now, answer.lease_until)
        elif answer.state is SubscriptionState.DENIED:
            self.store.end_subscription(token, SubscriptionState.DENIED, now,
                                        f"{sub.hub}: {answer.note}")
        if answer.remove:
            self.store.forget_subscription(token)
        level = logging.INFO if answer.status < 400 else logging.WARNING
        log.log(level, "%s: WebSub hub %s: %s", sub.source, sub.hub, answer.note)
        return answer.status, answer.body

    def deliver(self, token: str, body: bytes, headers: Mapping[str, str]) -> int:
        """A hub's POST of new content: the HTTP status to answer. Stored only for a
        live subscription and a valid signature; refused and logged otherwise; 503 when
        the database fails (the hub tries again)."""
        try:
            return self._deliver(token, body, headers)
        except AggregatorError as error:
            log.error("WebSub push not taken: %s", error)
            return 503

    def _deliver(self, token: str, body: bytes, headers: Mapping[str, str]) -> int:
        sub = self.store.subscription(token)
        if sub is None:
            log.warning("WebSub push to an unknown callback refused (%d bytes)", len(body))
            return 404
        if sub.state is not SubscriptionState.ACTIVE:
            log.warning("%s: WebSub push refused: the subscription is %s", sub.source,
                        sub.state.value)
            return 410
        if not signature_ok(sub.secret, body, _get(headers, "x-hub-signature")):
            log.warning("%s: WebSub push with a bad or missing signature refused "
                        "(%d bytes)", sub.source, len(body))
            return 403
        now = utc_now()
        source = self.store.source_to_fetch(sub.source_id, now)
        if source is None:
            log.warning("%s: WebSub push for a source no longer in feeds.yaml refused",
                        sub.source)
            return 410
        kept = {k: v for k, v in headers.items() if k.lower() in ("content-type", "link")}
        response = Fetched(url=source.url, status=200, headers=kept, body=body,
                           etag=source.etag, last_modified=source.last_modified,
                           digest=hashlib.sha256(body).hexdigest())
        result = process(self.store, self.config(), source, response)
        if result.error is not None:
            log.warning("%s: pushed by %s: %s", sub.source, sub.hub, result.error)
        else:
            log.info("%s: pushed by %s: %d new, %d updated", sub.source, sub.hub,
                     result.new, result.updated)
        if result.outcome is Outcome.OK and (result.new or result.updated) and self.on_stored:
            self.on_stored()
        return 200


def _get(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)
