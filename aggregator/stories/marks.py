"""What story assignment needs of each new item besides its keys: its near-duplicate
fingerprint (similarity.py) and its syndication credit (attribution.py), made together
from its plain text.

A parse worker makes them (ingest/prepare.py), unless it is the one behind: it then
leaves them to the writer (``PreparedFeed.deferred``, ``finish``), which has the same
functions and gets the same values. Neither needs a parsing library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from aggregator.stories import similarity
from aggregator.stories.attribution import CACHED, find_credits
from aggregator.types import Credit, Fingerprint, ItemData, PreparedFeed

# Items fingerprinted together: their texts and titles stay in attribution's cache
# (attribution.CACHED texts, two an item) until find_credits reads them. 16, not the
# 60 the cache allows: the same CPU (120 bench feeds: 5.32-5.44 s either way) and 6 MB
# less of the worker's peak (the batch's numpy arrays).
_BATCH = min(16, CACHED // 2 - 4)


def of_items(items: Sequence[ItemData], texts: Mapping[str, str]) -> tuple[
        dict[str, Fingerprint | None], dict[str, Credit | None]]:
    """The fingerprint and the credit of each of ``items``, by guid, made from its plain
    text (``texts``, by guid)."""
    fingerprints: dict[str, Fingerprint | None] = {}
    credits: dict[str, Credit | None] = {}
    for start in range(0, len(items), _BATCH):  # the credits right after the
        batch = items[start:start + _BATCH]  # fingerprints: attribution reuses what
        made = similarity.fingerprints(  # it found when stripping
            [(item.title, texts[item.guid]) for item in batch])
        for item, fp in zip(batch, made, strict=True):
            fingerprints[item.guid] = fp
            credits[item.guid] = find_credits(texts[item.guid])
    return fingerprints, credits


def finish(prepared: PreparedFeed) -> PreparedFeed:
    """``prepared`` with the fingerprints and credits a parse worker left to the writer
    (``prepare_feed(defer=True)``): those the worker would have made."""
    if not prepared.deferred:
        return prepared
    items = [item for item in prepared.items if item.guid in prepared.deferred]
    fingerprints, credits = of_items(items, prepared.deferred)
    return replace(prepared, fingerprints={**prepared.fingerprints, **fingerprints},
                   credits={**prepared.credits, **credits}, deferred={})
