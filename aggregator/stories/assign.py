"""Story assignment of one source's batch of new items, as a pure function.

The store loads what the batch can match (stored exact keys, stored candidates sharing
a band), :func:`assign_batch` decides, the store writes the result. Items of the batch
can join each other, and an item matching several stories folds them into one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator.stories.dedupe import Candidate, StoryRef, assign_story
from aggregator.types import Fingerprint, ItemData

STORY_NAMESPACE = uuid.UUID("6f1e7a52-5d0b-4c1e-9a57-2b1f3c7d9e10")


def story_uid(first_key: str) -> str:
    """A story's id, derived from the first key it was created under.

    Deterministic, so two workers creating the same story at once agree on it.
    """
    return f"urn:uuid:{uuid.uuid5(STORY_NAMESPACE, first_key)}"


@dataclass(frozen=True, slots=True)
class ItemAssignment:
    item: ItemData
    story: StoryRef  # a stored story's id, or the uid of a new one (merges resolved)
    reason: str  # why it joined, for `aggregator explain`


@dataclass(frozen=True, slots=True)
class NewStory:
    published_at: datetime
    first_seen_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BatchAssignment:
    items: tuple[ItemAssignment, ...]  # in the order of the batch
    merges: Mapping[int, StoryRef]  # stored story id -> the story it turned out to be
    new_stories: Mapping[str, NewStory]  # by uid: only those some item ended in


def assign_batch(items: Sequence[ItemData], keys: Mapping[str, Sequence[str]],
                 prints: Mapping[str, Fingerprint | None], exact: Mapping[str, int],
                 candidates: Mapping[int, Sequence[Candidate]], *, source_id: int,
                 source_name: str, now: datetime) -> BatchAssignment:
    """Assign each item (``keys`` and ``prints`` by guid) to a story.

    ``exact`` maps stored exact keys to their story's id, ``candidates`` holds the stored
    near-duplicate candidates by band. Neither is changed.
    """
    known: dict[str, tuple[StoryRef, str]] = {
        key: (story_id, "a stored item") for key, story_id in exact.items()}
    by_band: defaultdict[int, list[Candidate]] = defaultdict(list)
    for band, found in candidates.items():
        by_band[band] = list(found)
    new_stories: dict[str, NewStory] = {}
    merged: dict[StoryRef, StoryRef] = {}  # a story that turned out to be another one

    def resolve(story: StoryRef) -> StoryRef:
        while story in merged:
            story = merged[story]
        return story

    assigned: list[tuple[ItemData, StoryRef, str]] = []
    for item in items:
        item_keys, fp = keys.get(item.guid, ()), prints.get(item.guid)
        seen_at = item.published_at or now
        near = {id(c): c for b in (fp.bands if fp else ()) for c in by_band.get(b, ())}
        decision = assign_story(item_keys, known, fp, near.values(), seen_at)
        story: StoryRef
        if decision.story is None:
            story = story_uid(item_keys[0] if item_keys else f"item:{source_id}:{item.guid}")
            published = item.published_at or now
            new_stories.setdefault(story, NewStory(published, now, item.updated_at or published))
        else:
            story = resolve(decision.story)
            for other in map(resolve, decision.merge):
                if other != story:
                    merged[other] = story
        assigned.append((item, story, decision.reason))
        label = f"item {item.guid} ({source_name}, same fetch)"
        for key in item_keys:
            known.setdefault(key, (story, label))
        if fp is not None:  # later items of this batch can join it
            candidate = Candidate(item.guid, story, label, fp, seen_at)
            for band in fp.bands:
                by_band[band].append(candidate)
    result = tuple(ItemAssignment(item, resolve(story), reason)
                   for item, story, reason in assigned)
    used = {a.story for a in result}
    return BatchAssignment(
        items=result,
        merges={old: resolve(old) for old in merged if isinstance(old, int)},
        new_stories={uid: new for uid, new in new_stories.items() if uid in used})
