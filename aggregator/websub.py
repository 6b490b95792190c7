"""WebSub publisher: tell the hub which topics (feed URLs) changed (W3C WebSub 4.)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from aggregator.ingest.fetch import USER_AGENT

log = logging.getLogger(__name__)


def ping_hub(hub_url: str, topics: Sequence[str], timeout: float = 10.0) -> list[str]:
    """POST ``hub.mode=publish`` for each topic. Returns the topics the hub refused;
    never raises: a hub that is down must not stop publishing."""
    failed = []
    with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT},
                      follow_redirects=True) as client:
        for topic in topics:
            try:
                response = client.post(hub_url, data={"hub.mode": "publish", "hub.url": topic})
                if response.status_code >= 300:
                    failed.append(topic)
                    log.warning("WebSub hub %s answered %s for %s", hub_url,
                                response.status_code, topic)
            except httpx.HTTPError as error:
                failed.append(topic)
                log.warning("WebSub hub %s unreachable for %s: %s", hub_url, topic, error)
    return failed
