"""WebSub publisher: tell the hub which topics (feed URLs) changed (W3C WebSub 4.)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aggregator.ingest.fetch import post_forms

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
