"""Several sources' item updates in one transaction (update.Group, store.Batch), on
SQLite and PostgreSQL: a bad source costs the others nothing, results wait for the
commit, and a process that dies mid-group loses nothing once its sources are fetched
again."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from aggregator.config import SourceConfig
from aggregator.ingest.schedule import PollPolicy
from aggregator.store import Store
from aggregator.types import ItemData, Outcome, SourceToFetch, SourceUpdate
from aggregator.update import Decided, Group

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = PollPolicy(interval=timedelta(minutes=30))


def _item(guid: str) -> ItemData:
    return ItemData(guid=guid, url=f"https://example.com/{guid}",
                    canonical_url=f"https://example.com/{guid}", title=f"Title {guid}",
                    author=None, content_html=f"<p>{guid}</p>", summary_text=guid,
                    published_at=NOW, updated_at=None, content_hash=guid)


def _update(*guids: str) -> SourceUpdate:
    return SourceUpdate(outcome=Outcome.OK, now=NOW, next_fetch_at=NOW + timedelta(hours=1),
                        new_items=tuple(_item(g) for g in guids),
                        story_keys={g: (f"https://example.com/{g}",) for g in guids})


def _claimed(store: Store, n: int) -> list[SourceToFetch]:
    store.sync_sources([SourceConfig(name=f"s{i}", url=f"https://example.com/{i}.xml")
                        for i in range(n)], timedelta(minutes=30), NOW)
    return sorted(store.claim_sources(NOW), key=lambda s: s.name)


def _rows(store: Store, query: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]


def _stored(store: Store) -> list[tuple[object, ...]]:
    return sorted(_rows(store, "SELECT source.name, item.guid FROM item "
                               "JOIN source ON source.id = item.source_id"))


def test_a_bad_source_in_a_group_records_its_failure_and_the_others_are_stored(
        store: Store) -> None:
    good, bad, other = _claimed(store, 3)
    group = Group(store)
    group.limit = 10  # one transaction on either database
    done = [group.write(good, Decided(_update("a", "b"), POLICY, None))]
    assert not done[0].done()  # results wait for the commit
    assert _stored(store) == []
    # the same guid twice: the database refuses the second row, the group's transaction
    # is rolled back, and its sources are written one by one
    done.append(group.write(bad, Decided(_update("x", "x"), POLICY, None)))
    assert done[0].done() and done[1].done()
    assert _stored(store) == [("s0", "a"), ("s0", "b")]
    done.append(group.write(other, Decided(_update("c"), POLICY, None)))
    assert not done[2].done()  # a new group
    group.commit()
    results = [d.result(timeout=0) for d in done]
    assert [(r.outcome, r.new) for r in results] == [
        (Outcome.OK, 2), (Outcome.ERROR, 0), (Outcome.OK, 1)]
    assert _stored(store) == [("s0", "a"), ("s0", "b"), ("s2", "c")]
    states = dict(_rows(store, "SELECT name, last_outcome FROM source"))
    assert states == {"s0": "ok", "s1": "error", "s2": "ok"}
    # every lease was released by the commit: all three can be claimed again at once
    assert len(store.claim_sources(NOW + timedelta(hours=2))) == 3


def test_a_later_source_of_a_group_joins_the_stories_of_an_earlier_one(
        store: Store) -> None:
    first, second = _claimed(store, 2)
    group = Group(store)
    group.limit = 10
    group.write(first, Decided(_update("a"), POLICY, None))
    group.write(second, Decided(_update("a"), POLICY, None))  # the same URL: one story
    group.commit()
    assert _rows(store, "SELECT count(*) FROM story") == [(1,)]


def test_other_writes_of_the_thread_with_an_open_group_join_its_transaction(
        store: Store) -> None:
    grouped, polled = _claimed(store, 2)
    group = Group(store)
    group.limit = 10
    group.write(grouped, Decided(_update("a"), POLICY, None))
    # on SQLite another connection would wait for the write lock the group holds
    store.apply_many([(polled.id, SourceUpdate(outcome=Outcome.NOT_MODIFIED, now=NOW,
                                               next_fetch_at=NOW + timedelta(hours=1)))])
    assert store.stored_hashes(grouped.id, ["a"]) == {"a": "a"}  # the group's own rows
    group.commit()
    states = dict(_rows(store, "SELECT name, last_outcome FROM source"))
    assert states == {"s0": "ok", "s1": "not_modified"}


TEXT = ("The city council approved the new budget on Tuesday after a long debate about "
        "school funding, road repairs and the cost of the river bridge. The mayor said the "
        "plan keeps taxes flat while hiring forty teachers, and the opposition promised to "
        "challenge the bridge contract in court before the end of the year, citing the "
        "delays of the last project and the rising price of steel across the region.")


def _copy(guid: str, text: str) -> SourceUpdate:
    """An item with its own URL (no exact key shared), fingerprinted from ``text``."""
    from aggregator.stories.similarity import fingerprint

    item = replace(_item(guid), content_html=f"<p>{text}</p>", title="Budget approved")
    return SourceUpdate(outcome=Outcome.OK, now=NOW, next_fetch_at=NOW + timedelta(hours=1),
                        new_items=(item,), story_keys={guid: (item.url or "",)},
                        fingerprints={guid: fingerprint(item.title, text)})


def test_a_near_duplicate_joins_an_item_written_earlier_in_the_same_group(
        store: Store) -> None:
    first, second = _claimed(store, 2)
    group = Group(store)
    group.limit = 10
    group.write(first, Decided(_copy("one", TEXT), POLICY, None))
    # the band rows of "one" are not in the index yet (written at the commit)
    group.write(second, Decided(_copy("two", TEXT + " Reuters"), POLICY, None))
    group.commit()
    assert _rows(store, "SELECT count(*) FROM story") == [(1,)]
    reasons = [r for (r,) in _rows(store, "SELECT join_reason FROM item ORDER BY id")]
    assert reasons[1].startswith("near-duplicate of item #")


CRASH = """
import os, sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_group import NOW, POLICY, _update
from aggregator.store import Store
from aggregator.update import Decided, Group
store = Store({url!r})
sources = sorted(store.claim_sources(NOW), key=lambda s: s.name)
group = Group(store)
group.limit = 10
group.write(sources[0], Decided(_update("a", "b"), POLICY, None))
group.write(sources[1], Decided(_update("a", "c"), POLICY, None))
os._exit(1)  # dies before the group's commit
"""


def test_a_process_dying_mid_group_loses_and_duplicates_nothing(
        store: Store, db_url: str) -> None:
    store.sync_sources([SourceConfig(name=f"s{i}", url=f"https://example.com/{i}.xml")
                        for i in range(2)], timedelta(minutes=30), NOW)  # the child claims
    tests = str(Path(__file__).parent)
    child = subprocess.run([sys.executable, "-c", CRASH.format(tests=tests, url=db_url)],
                           check=False, capture_output=True, text=True, timeout=120)
    assert child.returncode == 1, child.stderr
    assert _stored(store) == []
    # its leases expire (or are freed: its process is gone); the sources are fetched again
    again = sorted(store.claim_sources(NOW + timedelta(minutes=10)), key=lambda s: s.name)
    assert [s.name for s in again] == ["s0", "s1"]
    group = Group(store)
    for source, guids in zip(again, (("a", "b"), ("a", "c")), strict=True):
        group.write(source, Decided(_update(*guids), POLICY, None))
    group.commit()
    assert _stored(store) == [("s0", "a"), ("s0", "b"), ("s1", "a"), ("s1", "c")]
    assert _rows(store, "SELECT count(*) FROM story") == [(3,)]
    assert _rows(store, "SELECT (SELECT count(*) FROM story_key)"
                 " + (SELECT count(*) FROM story_key_recent)") == [(3,)]
