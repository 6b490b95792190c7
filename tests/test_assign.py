"""assign_batch on its own: a batch of new items against stored keys and candidates,
no database, no HTTP."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.stories.assign import (
    STORY_NAMESPACE,
    Assignment,
    BatchAssignment,
    Candidate,
    NewStory,
    Representative,
    StoryMember,
    assign_batch,
    assign_story,
    choose_representative,
    story_uid,
)
from aggregator.stories.attribution import outlet_key
from aggregator.stories.similarity import fingerprint
from aggregator.types import Fingerprint, ItemData

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SEED = (Path(__file__).parent / "data" / "seed-article.ru.txt").read_text(encoding="utf-8")
TITLE, _, BODY = SEED.partition("\n\n")
PARAGRAPHS = [p for p in BODY.split("\n\n") if p.strip()]
ORIGINAL = [PARAGRAPHS[0].replace(", передает Turantimes.kz со ссылкой на газету «Известия»",
                                  ""), *PARAGRAPHS[1:]]
OTHER = ("Казахстан и Россия обсудили транспортные коридоры",
         "Министры транспорта Казахстана и России провели переговоры о развитии "
         "транспортных коридоров Север — Юг и модернизации пограничных переходов. Стороны "
         "договорились увеличить пропускную способность железнодорожных станций, ускорить "
         "цифровизацию таможенных процедур и создать совместную рабочую группу по "
         "логистике. Следующее заседание группы пройдет в Астане осенью.")


def _fp(title: str, text: str) -> Fingerprint:
    result = fingerprint(title, text)
    assert result is not None
    return result


RELAY = _fp(TITLE, "\n\n".join(PARAGRAPHS))  # the seed as Turantimes relayed it
COPY = _fp("Касым-Жомарт Токаев: Казахстан и Россия — союзники", "\n\n".join(ORIGINAL))
UNRELATED = _fp(*OTHER)


def _item(guid: str, published: datetime | None = None,
          updated: datetime | None = None) -> ItemData:
    return ItemData(guid=guid, url=None, canonical_url=None, title=guid, author=None,
                    content_html="", summary_text="", published_at=published,
                    updated_at=updated, content_hash=guid)


def _stored(item_id: int, story: int, fp: Fingerprint,
            bands: tuple[str, ...] | None = None) -> dict[str, list[Candidate]]:
    """A stored candidate, filed under its bands (or under ``bands``)."""
    candidate = Candidate(item_id, story, f"item #{item_id} (izvestia)", fp, NOW)
    return {band: [candidate] for band in (fp.bands if bands is None else bands)}


def _both(*groups: dict[str, list[Candidate]]) -> dict[str, list[Candidate]]:
    result: dict[str, list[Candidate]] = {}
    for group in groups:
        for band, found in group.items():
            result.setdefault(band, []).extend(found)
    return result


@dataclass
class Batch:
    guids: list[str]
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    prints: dict[str, Fingerprint | None] = field(default_factory=dict)
    exact: dict[str, int] = field(default_factory=dict)
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    published: dict[str, datetime] = field(default_factory=dict)

    def assign(self) -> BatchAssignment:
        return assign_batch([_item(g, self.published.get(g)) for g in self.guids], self.keys,
                            self.prints, self.exact, self.candidates, source_id=4,
                            source_name="tt", now=NOW)


URL = "url:https://e.com/a"
URL_UID, A_UID = story_uid(URL, NOW), story_uid("item:4:a", NOW)
CASES = {
    "joins a stored story by exact key": (
        Batch(["a"], keys={"a": (URL,)}, exact={URL: 9}),
        [9], "exact match: same canonical URL https://e.com/a as a stored item"),
    "joins by its second key": (
        Batch(["a"], keys={"a": (URL, "guid:tag:e,1")}, exact={"guid:tag:e,1": 9}),
        [9], "exact match: same guid tag:e,1 as a stored item"),
    "new story: uid from its first key": (
        Batch(["a"], keys={"a": (URL, "guid:tag:e,1")}),
        [URL_UID], "new story: too little text to compare with others"),
    "new story without keys: uid from source and guid": (
        Batch(["a"]), [A_UID], "new story: too little text to compare with others"),
    "joins a stored near-duplicate": (
        Batch(["a"], prints={"a": COPY}, candidates=_stored(31, 9, RELAY)),
        [9], "near-duplicate of item #31 (izvestia): Jaccard"),
    "a stored candidate of other text": (
        Batch(["a"], prints={"a": UNRELATED},
              candidates=_stored(31, 9, RELAY, bands=UNRELATED.bands)),
        [A_UID], "new story: closest candidate item #31 (izvestia) is not the same story"),
    "a stored near-duplicate outside the time window": (
        Batch(["a"], prints={"a": COPY}, candidates=_stored(31, 9, RELAY),
              published={"a": NOW - timedelta(days=8)}),
        [A_UID], "new story: no earlier item shares its text"),
    "items of one batch join by key": (
        Batch(["a", "b"], keys={"a": (URL,), "b": (URL,)}),
        [URL_UID, URL_UID], "exact match: same canonical URL https://e.com/a as item a "
                            "(tt, same fetch)"),
    "items of one batch join as near-duplicates": (
        Batch(["a", "b"], prints={"a": RELAY, "b": COPY}),
        [A_UID, A_UID], "near-duplicate of item a (tt, same fetch): Jaccard"),
}


@pytest.mark.parametrize(("batch", "stories", "reason"), CASES.values(), ids=CASES.keys())
def test_assignments(batch: Batch, stories: list[int | str], reason: str) -> None:
    result = batch.assign()
    assert [a.story for a in result.items] == stories
    assert [a.item.guid for a in result.items] == batch.guids
    assert result.items[-1].reason.startswith(reason)
    assert result.merges == {}
    assert set(result.new_stories) == {s for s in stories if isinstance(s, str)}


@pytest.mark.parametrize(("published", "updated", "expected"), [
    (None, None, NewStory(NOW, NOW, NOW)),
    (NOW - timedelta(hours=2), None, NewStory(NOW - timedelta(hours=2), NOW,
                                              NOW - timedelta(hours=2))),
    (NOW - timedelta(hours=2), NOW - timedelta(hours=1),
     NewStory(NOW - timedelta(hours=2), NOW, NOW - timedelta(hours=1))),
])
def test_a_new_story_dates(published: datetime | None, updated: datetime | None,
                           expected: NewStory) -> None:
    result = assign_batch([_item("a", published, updated)], {}, {}, {}, {}, source_id=4,
                          source_name="tt", now=NOW)
    assert result.new_stories == {A_UID: expected}


def test_an_item_matching_two_stored_stories_folds_them_into_the_oldest() -> None:
    # "a" joins stored story 7 by its key; "b" is a near-duplicate of items of stories 3
    # and 7: they are one story, 3 survives, and "a" ends in it too.
    batch = Batch(["a", "b"], keys={"a": (URL,)}, prints={"b": COPY}, exact={URL: 7},
                  candidates=_both(_stored(70, 7, RELAY), _stored(30, 3, RELAY)))
    result = batch.assign()
    assert [a.story for a in result.items] == [3, 3]
    assert result.merges == {7: 3}
    assert result.new_stories == {}


def test_a_new_story_that_turns_out_to_be_a_stored_one_is_not_created() -> None:
    # "a" is too old for stored item 30: a new story. "b" matches both: all story 3.
    batch = Batch(["a", "b"], prints={"a": RELAY, "b": COPY}, candidates=_stored(30, 3, RELAY),
                  published={"a": NOW - timedelta(days=8), "b": NOW - timedelta(days=4)})
    result = batch.assign()
    assert [a.story for a in result.items] == [3, 3]
    assert result.items[0].reason == "new story: no earlier item shares its text"
    assert result.merges == {}  # nothing stored to fold
    assert result.new_stories == {}


def test_the_inputs_are_not_changed() -> None:
    batch = Batch(["a", "b", "c"], keys={"a": (URL,), "c": (URL,)},
                  prints={"a": RELAY, "b": COPY}, exact={"url:https://e.com/x": 5},
                  candidates=_both(_stored(70, 7, RELAY), _stored(30, 3, RELAY)))
    before = copy.deepcopy(batch)
    first = batch.assign()
    assert batch == before
    assert batch.assign() == first  # and the same inputs give the same answer


def _every_band(items: list[ItemData], keys: dict[str, tuple[str, ...]],
                prints: dict[str, Fingerprint | None], exact: dict[str, int],
                candidates: dict[int, list[Candidate]]) -> list[Assignment]:
    """Each item's decision as assign_batch made it before it looked bands up selectively:
    every band of every item, every item filed under all its bands (no merges resolved:
    the decisions alone)."""
    known: dict[str, tuple[int | str, str]] = {k: (s, "a stored item") for k, s in exact.items()}
    by_band: defaultdict[int, list[Candidate]] = defaultdict(list)
    for band, found in candidates.items():
        by_band[band] = list(found)
    decisions = []
    for item in items:
        item_keys, fp = keys.get(item.guid, ()), prints.get(item.guid)
        seen_at = item.published_at or NOW
        near = {id(c): c for b in (fp.bands if fp else ()) for c in by_band.get(b, ())}
        decision = assign_story(item_keys, known, fp, near.values(), seen_at)
        decisions.append(decision)
        story = decision.story if decision.story is not None else item.guid
        label = f"item {item.guid} (tt, same fetch)"
        for key in item_keys:
            known.setdefault(key, (story, label))
        if fp is not None:
            candidate = Candidate(item.guid, story, label, fp, seen_at)
            for band in fp.bands:
                by_band[band].append(candidate)
    return decisions


_BANDS = st.lists(st.integers(0, 12), max_size=6).map(tuple)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([RELAY, COPY, UNRELATED, None]), _BANDS,
                          st.sampled_from([(), (URL,), ("guid:g",)])), min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(1, 4), st.sampled_from([RELAY, COPY, UNRELATED]),
                          _BANDS), max_size=5))
def test_only_bands_that_can_match_are_looked_up(
        batch: list[tuple[Fingerprint | None, tuple[int, ...], tuple[str, ...]]],
        stored: list[tuple[int, Fingerprint, tuple[int, ...]]]) -> None:
    """Selective lookups decide as looking every band up does, with shared, repeated
    and unshared bands, stored candidates and items of the same batch."""
    items = [_item(f"i{n}") for n in range(len(batch))]
    prints = {i.guid: replace(fp, bands=bands) if fp else None
              for i, (fp, bands, _) in zip(items, batch, strict=True)}
    keys = {i.guid: k for i, (_, _, k) in zip(items, batch, strict=True)}
    candidates: dict[int, list[Candidate]] = {}
    for n, (story, fp, bands) in enumerate(stored):
        candidate = Candidate(100 + n, story, f"item #{100 + n} (iz)", fp, NOW)
        for band in bands:
            candidates.setdefault(band, []).append(candidate)
    result = assign_batch(items, keys, prints, {}, candidates, source_id=4,
                          source_name="tt", now=NOW)
    expected = _every_band(items, keys, prints, {}, candidates)
    assert [a.reason for a in result.items] == [d.reason for d in expected]


@given(st.text(), st.text(), st.datetimes(timezones=st.just(UTC)))
def test_a_story_uid_is_a_uuid7_of_its_creation_time_and_first_key(
        key: str, other: str, now: datetime) -> None:
    """Ordered by time (the unique index takes new stories at its end), told apart by
    the key within a millisecond, the same for the same key and time."""
    try:
        made = story_uid(key, now)
    except UnicodeEncodeError:  # a lone surrogate: refused
        with pytest.raises(UnicodeEncodeError):
            key.encode()
        return
    assert made.startswith("urn:uuid:") and made == made.lower()
    value = uuid.UUID(made.removeprefix("urn:uuid:"))
    assert str(value) == made.removeprefix("urn:uuid:")
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert value.int >> 80 == (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        milliseconds=1) % (1 << 48)
    digest = int.from_bytes(hashlib.sha1(STORY_NAMESPACE.bytes + key.encode()).digest()[:16])
    random_bits = (1 << 80) - 1 ^ (0xF << 76) ^ (0x3 << 62)  # all but version, variant
    assert value.int & random_bits == digest & random_bits
    assert story_uid(key, now) == made
    if 1970 <= now.year < 9999:
        assert story_uid(other, now + timedelta(milliseconds=1)) > made
    if other != key:
        with contextlib.suppress(UnicodeEncodeError):
            assert story_uid(other, now) != made


# ---- the representative and the story's date ------------------------------------------

IZ, TT, KZ = (frozenset(map(outlet_key, names)) for names in (
    ("Известия", "iz.ru"), ("Turantimes.kz",), ("Kazinform", "inform.kz")))
H = timedelta(hours=1)


@pytest.mark.parametrize(("members", "expected"), [
    # one item: it, dated as it
    ([StoryMember(1, IZ, NOW)], Representative(1, False, None, NOW)),
    # no credits: the earliest item, and its date
    ([StoryMember(1, IZ, NOW), StoryMember(2, TT, NOW - H)],
     Representative(2, False, None, NOW - H)),
    # the original arrives after a relay that credits it and is dated earlier: the
    # original shows, with its own (later) date, not the relay's
    ([StoryMember(1, TT, NOW - 2 * H, cites=("Известия",)), StoryMember(2, IZ, NOW)],
     Representative(2, True, None, NOW)),
    # the original is dated earlier than its relay: its date too
    ([StoryMember(1, TT, NOW, cites=("Известия",)), StoryMember(2, IZ, NOW - H)],
     Representative(2, True, None, NOW - H)),
    # credited but not ours: the earliest item and its date, the origin named
    ([StoryMember(1, TT, NOW, cites=("Reuters",)), StoryMember(2, KZ, NOW - H)],
     Representative(2, False, "Reuters", NOW - H)),
    # two items of the original's outlet: the earlier one
    ([StoryMember(3, IZ, NOW + H), StoryMember(1, TT, NOW - H, cites=("iz.ru",)),
      StoryMember(2, IZ, NOW)], Representative(2, True, None, NOW)),
    # one item: itself, credited as the original when it credits its own outlet
    ([StoryMember(7, TT, NOW)], Representative(7, False, None, NOW)),
    ([StoryMember(7, IZ, NOW, cites=("Известия",))], Representative(7, True, None, NOW)),
    ([StoryMember(7, TT, NOW, cites=("Reuters",))], Representative(7, False, "Reuters", NOW)),
    # equal dates: the lower item id
    ([StoryMember(5, TT, NOW), StoryMember(4, KZ, NOW)], Representative(4, False, None, NOW)),
])
def test_the_representative_and_the_story_date(members: list[StoryMember],
                                               expected: Representative) -> None:
    assert choose_representative(members) == expected
    assert choose_representative(members[::-1]) == expected  # whatever the order read


def test_a_story_has_an_item() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        choose_representative([])
