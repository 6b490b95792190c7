"""The band index's Bloom filter (store/bandfilter.py): it never rules out a key the
main table holds, rules out almost every other, follows every merge, and a lookup
probes the main table only for the keys it lets through."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from aggregator.store import bandfilter, bands
from aggregator.store.models import ItemBandFilterRow, ItemBandRecentRow, ItemBandRow
from aggregator.stories.minhash import band_keys

INT64 = st.integers(-2**63, 2**63 - 1)


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    """The three tables as the models declare them, on a bare sqlite3 connection."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    for model in (ItemBandRow, ItemBandRecentRow, ItemBandFilterRow):
        connection.execute(str(CreateTable(model.__table__).compile(  # type: ignore[attr-defined]
            dialect=sqlite.dialect())))
    yield connection
    connection.close()


def _store(db: sqlite3.Connection, table: str, keys: list[int], item_id: int = 1) -> None:
    db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?, ?, 5)",
                   [(key, item_id) for key in keys])


def _merge(db: sqlite3.Connection, keys: list[int], item_id: int = 1) -> None:
    """What store/bands.merge does, on a bare connection."""
    _store(db, bands.RECENT, keys, item_id)
    db.execute(f"INSERT OR IGNORE INTO {bands.MAIN} SELECT * FROM {bands.RECENT}")
    bandfilter.add(db, bands.RECENT, bands.MAIN)
    db.execute(f"DELETE FROM {bands.RECENT}")


def _random_keys(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.getrandbits(64) - 2**63 for _ in range(count)]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(merges=st.lists(st.lists(INT64, max_size=40), min_size=1, max_size=5),
       others=st.lists(INT64, max_size=40))
def test_every_key_in_the_main_table_may_be_there(
        db: sqlite3.Connection, merges: list[list[int]], others: list[int]) -> None:
    db.execute(f"DELETE FROM {bands.MAIN}")
    db.execute(f"DELETE FROM {bandfilter.TABLE}")
    for n, keys in enumerate(merges):
        _merge(db, keys, item_id=n)
    held = sorted({key for keys in merges for key in keys})
    known = bandfilter.current(db)
    assert known is not None
    assert known.maybe(held) == held
    # the keys asked for come back in their order, those held among them every time
    asked = sorted(set(others) | set(held[::2]))
    assert set(held[::2]) <= set(known.maybe(asked)) <= set(asked)
    assert known.maybe(asked) == sorted(known.maybe(asked))


def test_almost_every_absent_key_is_ruled_out(db: sqlite3.Connection) -> None:
    """Random keys, and keys as MinHash makes them (a digest above the band's number)."""
    held = _random_keys(20_000, seed=1)
    signatures = np.random.default_rng(2).integers(0, 2**32, size=(400, 64), dtype=np.uint64)
    minhash = [key for row in signatures for key in band_keys(row, 16, 4, lead=False)]
    _merge(db, held + minhash[:3200])
    known = bandfilter.current(db)
    assert known is not None
    assert known.maybe(minhash[:3200]) == minhash[:3200]  # in the order asked
    for absent in (_random_keys(20_000, seed=3), minhash[3200:]):
        assert len(known.maybe(sorted(absent))) < 0.03 * len(absent)


def test_a_filter_too_full_is_built_again_from_the_main_table(db: sqlite3.Connection) -> None:
    first = _random_keys(2_000, seed=4)
    _merge(db, first)
    built = db.execute(f"SELECT keys, size FROM {bandfilter.TABLE}").fetchone()
    assert built == (2_000, bandfilter._SMALLEST)  # small: the smallest filter
    more = _random_keys(20_000, seed=5)  # past REBUILD_BELOW bits a key: built again
    _merge(db, more)
    keys, size = db.execute(f"SELECT keys, size FROM {bandfilter.TABLE}").fetchone()
    assert keys == 22_000
    assert size >= 22_000 * bandfilter.BITS_PER_KEY
    known = bandfilter.current(db)
    assert known is not None
    assert known.maybe(sorted(first + more)) == sorted(first + more)


def test_each_change_has_a_new_token_and_an_unchanged_filter_is_read_once(
        db: sqlite3.Connection) -> None:
    assert bandfilter.current(db) is None  # none yet: every key is probed
    _merge(db, [1, 2, 3])
    first = bandfilter.current(db)
    assert first is not None
    assert bandfilter.current(db) is first
    _merge(db, [4], item_id=2)
    second = bandfilter.current(db)
    assert second is not None
    assert second.token != first.token
    assert second.maybe([1, 2, 3, 4]) == [1, 2, 3, 4]


def test_a_lookup_probes_the_main_table_only_for_keys_the_filter_lets_through(
        db: sqlite3.Connection) -> None:
    held = _random_keys(5_000, seed=6)
    _merge(db, held)
    _store(db, bands.RECENT, [7, 8], item_id=9)  # after the merge: recent, not filtered
    absent = sorted(set(_random_keys(500, seed=7)) - set(held))
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    wanted = sorted([*absent, held[0], 8])
    found = bands.sqlite_hits(db, wanted, 0, 10, "band, item_id")
    db.set_trace_callback(None)
    assert sorted(found) == sorted([(held[0], 1), (8, 9)])
    probes = [s for s in statements if "CROSS JOIN" in s]

    def keys_probed(table: str) -> int:  # "FROM (VALUES (k), (k) ...": one "(" a key,
        # but for the NULLs that pad the list (bands.padded_chunks)
        return sum(s.count("(") - 1 - s.count("(NULL)") for s in probes
                   if f"JOIN {table} " in s)

    assert keys_probed(bands.RECENT) == len(wanted)  # every key, in the recent table
    # in the main table the one it holds, and the few absent ones the filter lets through
    assert any(f"({held[0]})" in s for s in probes if f"JOIN {bands.MAIN} " in s)
    assert 1 <= keys_probed(bands.MAIN) < 1 + 0.05 * len(absent)


def test_a_filter_of_the_wrong_shape_is_no_filter_and_the_next_merge_builds_one(
        db: sqlite3.Connection) -> None:
    _merge(db, [1, 2, 3])
    for wrong in ("bits = zeroblob(10)", "size = 0", "size = -64", "size = size + 1"):
        db.execute("SAVEPOINT wrong")
        db.execute(f"UPDATE {bandfilter.TABLE} SET {wrong}, token = token + 1")
        assert bandfilter.current(db) is None, wrong  # every key is probed
        db.execute("ROLLBACK TO wrong")
        db.execute("RELEASE wrong")
    db.execute(f"UPDATE {bandfilter.TABLE} SET bits = zeroblob(10), token = token + 1")
    assert bandfilter.current(db) is None
    assert sorted(bands.sqlite_hits(db, [1, 2, 3], 0, 10, "band")) == [(1,), (2,), (3,)]
    _merge(db, [4], item_id=2)
    rebuilt = bandfilter.current(db)
    assert rebuilt is not None
    assert rebuilt.maybe([1, 2, 3, 4]) == [1, 2, 3, 4]


def test_after_a_merge_rolled_back_the_filter_is_the_stored_one(db: sqlite3.Connection) -> None:
    held = _random_keys(3_000, seed=8)
    _merge(db, held)
    before = bandfilter.current(db)
    assert before is not None
    db.execute("BEGIN")
    _merge(db, _random_keys(1_000, seed=9), item_id=2)  # this process's copy changed
    db.execute("ROLLBACK")
    after = bandfilter.current(db)
    assert after is not None
    assert after.token == before.token  # read again: the token stored
    assert after.maybe(sorted(held)) == sorted(held)
