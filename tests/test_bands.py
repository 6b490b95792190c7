"""The band index's two tables (store/bands.py): whatever was merged, the same rows are
found, each in one table, and pruning drops them from both."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlmodel import Session, SQLModel

from aggregator.store import bandfilter, bands
from aggregator.store.bands import ItemBands, PendingBands
from aggregator.store.models import (
    ItemBandFilterRow,
    ItemBandRecentRow,
    ItemBandRow,
    StoryKeyRecentRow,
    StoryKeyRow,
)

# few distinct keys, so items share bands; the extremes of a signed 64-bit key
KEYS = st.integers(-3, 3) | st.sampled_from([-2**63, 2**63 - 1])


@st.composite
def commits(draw: st.DrawFn) -> list[list[ItemBands]]:
    """Commits of new items: (item_id, seen, distinct bands), ids increasing."""
    sizes = draw(st.lists(st.integers(0, 4), min_size=1, max_size=6))
    found: list[list[ItemBands]] = []
    item_id = 0
    for size in sizes:
        items: list[ItemBands] = []
        for _ in range(size):
            item_id += 1
            keys = draw(st.lists(KEYS, min_size=1, max_size=4, unique=True))
            items.append((item_id, draw(st.integers(0, 20)), tuple(keys)))
        found.append(items)
    return found


@contextmanager
def _session() -> Iterator[Session]:
    engine = create_engine("sqlite://")  # no foreign keys enforced: no items needed
    # (the story keys' tables: a merge moves their recent rows too)
    SQLModel.metadata.create_all(engine, tables=[ItemBandRow.__table__,  # type: ignore[list-item]
                                                 ItemBandRecentRow.__table__,
                                                 ItemBandFilterRow.__table__,
                                                 StoryKeyRow.__table__,
                                                 StoryKeyRecentRow.__table__])
    with Session(engine) as session:
        yield session
    engine.dispose()


def _table(session: Session, table: str) -> list[tuple[int, int, int]]:
    return [tuple(row) for row in session.connection().exec_driver_sql(  # type: ignore[misc]
        f"SELECT band, item_id, seen FROM {table} ORDER BY band, item_id").all()]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(written=commits(), pending_items=st.lists(st.tuples(st.integers(0, 20),
                                                           st.lists(KEYS, min_size=1,
                                                                    max_size=3, unique=True)),
                                                 max_size=3),
       merge_at=st.integers(1, 12), wanted=st.sets(KEYS), low=st.integers(0, 20),
       span=st.integers(0, 20), cutoff=st.integers(0, 21))
def test_rows_are_found_in_either_table_and_pruned_from_both(
        written: list[list[ItemBands]], pending_items: list[tuple[int, list[int]]],
        merge_at: int, wanted: set[int], low: int, span: int, cutoff: int) -> None:
    rows = {(band, item_id, seen) for items in written for item_id, seen, keys in items
            for band in keys}
    with _session() as session:
        for items in written:
            pending = PendingBands()
            pending.add(items)
            pending.write(session, merge_at=merge_at)
        main, recent = _table(session, bands.MAIN), _table(session, bands.RECENT)
        assert set(main) | set(recent) == rows
        assert not set(main) & set(recent)
        assert len(recent) < merge_at  # merged once it held merge_at rows

        extra = PendingBands()  # an open transaction's rows, not written yet
        first = max((i for items in written for i, _, _ in items), default=0) + 1
        extra.add([(first + n, seen, tuple(keys)) for n, (seen, keys) in
                   enumerate(pending_items)])
        every = rows | {(band, item_id, seen) for item_id, seen, keys in extra.items
                        for band in keys}
        high = low + span
        assert bands.stored_hits(session, wanted, low, high, extra) == sorted(
            (band, item_id) for band, item_id, seen in every
            if band in wanted and low <= seen <= high)

        old = {(band, item_id, seen) for band, item_id, seen in rows if seen < cutoff}
        assert bands.prune(session, cutoff) == len({item_id for _, item_id, _ in old})
        assert set(_table(session, bands.MAIN)) | set(_table(session, bands.RECENT)) == (
            rows - old)


@settings(max_examples=200, deadline=None)
@given(added=commits(), wanted=st.sets(KEYS), low=st.integers(0, 20), span=st.integers(0, 20))
def test_pending_hits_are_every_pending_row_with_a_wanted_band_in_the_range(
        added: list[list[ItemBands]], wanted: set[int], low: int, span: int) -> None:
    """PendingBands finds its rows by band (an index kept as items are added, in several
    calls, items sharing bands): the same rows as a scan of every item."""
    pending = PendingBands()
    for items in added:
        pending.add(items)
    high = low + span
    assert sorted(pending.hits(wanted, low, high)) == sorted(
        (band, item_id) for items in added for item_id, seen, keys in items
        for band in keys if band in wanted and low <= seen <= high)
    assert sorted(pending.hits(list(wanted), low, high)) == sorted(
        pending.hits(wanted, low, high))
    assert pending.ids == {item_id for items in added for item_id, _, _ in items}
    with _session() as session:
        pending.write(session)
    assert not pending and pending.hits(wanted, 0, 20) == [] and not pending.ids


def test_a_lookup_of_more_keys_than_a_statement_takes_finds_every_row() -> None:
    stored = [(n, n % 7, (n * 7919 - 2**62, -2**63 + n, 2**63 - 1 - n)) for n in range(1, 401)]
    wanted = {band for _, _, keys in stored for band in keys[::2]} | set(range(600))
    with _session() as session:
        for part in (stored[:300], stored[300:]):  # the first merged, the rest recent
            pending = PendingBands()
            pending.add(part)
            pending.write(session, merge_at=900)
        assert _table(session, bands.MAIN) and _table(session, bands.RECENT)
        assert bands.stored_hits(session, wanted, 1, 5) == sorted(
            (band, item_id) for item_id, seen, keys in stored for band in keys
            if band in wanted and 1 <= seen <= 5)


@given(st.lists(st.tuples(st.integers(1, 2**31), st.integers(0, 2**40),
                          st.lists(KEYS, max_size=8).map(tuple)), max_size=40))
def test_rows_are_sorted_by_band_and_a_bands_rows_stay_in_item_order(
        items: list[ItemBands]) -> None:
    rows = bands._sorted_rows(items)
    assert [tuple(row) for row in rows.tolist()] == sorted(
        ((band, item_id, seen) for item_id, seen, keys in items for band in keys),
        key=lambda row: row[0])  # (sorted() is stable)


@given(st.lists(st.integers(), max_size=1300))
def test_padded_chunks_hold_the_values_in_order_then_none_up_to_a_few_lengths(
        values: list[int]) -> None:
    padded = list(bands.padded_chunks(values))
    assert [v for chunk in padded for v in chunk if v is not None] == values
    assert {len(chunk) for chunk in padded} <= set(bands._PADDED)
    for chunk, plain in zip(padded, bands.chunks(values), strict=True):
        assert chunk[:len(plain)] == tuple(plain) and set(chunk[len(plain):]) <= {None}


def test_lookups_of_every_length_find_their_rows_with_a_few_statements(
        tmp_path: Path) -> None:
    """A statement per padded length (NULL finds nothing), not one per length: sqlite3
    keeps what a connection prepared, and 500 lengths of lists held megabytes."""
    connection = sqlite3.connect(tmp_path / "bands.sqlite")
    for table in (bands.MAIN, bands.RECENT):
        connection.execute(f"CREATE TABLE {table} (band INTEGER, item_id INTEGER, seen INTEGER,"
                           " PRIMARY KEY (band, item_id)) WITHOUT ROWID")
    connection.executemany(f"INSERT INTO {bands.RECENT} VALUES (?, ?, 1)",
                           [(band, band % 5) for band in range(0, 1000, 3)])
    statements: list[str] = []
    connection.set_trace_callback(statements.append)
    for count in range(1, 501):
        wanted = list(range(count))
        assert bands.sqlite_hits(connection, wanted, 0, 2, "band") == [
            (band,) for band in wanted if band % 3 == 0]
    # the trace shows each statement with its values: count the rows of its list
    lengths = {s.split(" AS wanted")[0].count("(") - 1 for s in statements if "VALUES" in s}
    assert lengths == set(bands._PADDED)


def test_a_merge_moves_every_recent_row_into_the_main_table_in_key_order() -> None:
    with _session() as session:
        pending = PendingBands()
        pending.add([(1, 5, (9, -4)), (2, 6, (-4, 7))])
        pending.write(session)  # far from the default size: stays recent
        assert _table(session, bands.MAIN) == []
        assert bands.recent_rows(session) == 4
        bands.merge(session)
        assert _table(session, bands.MAIN) == [(-4, 1, 5), (-4, 2, 6), (7, 2, 6), (9, 1, 5)]
        assert bands.recent_rows(session) == 0


def test_many_rows_are_written_whole_statements_and_the_rest() -> None:
    # more rows than one multi-row INSERT takes on SQLite: several, then the rest alone
    items: list[ItemBands] = [(n, n % 7, tuple(range(n % 5, n % 5 + 3)))
                              for n in range(1, 2 * bands._ROWS // 3 * 2 + 6)]
    rows = sorted((band, item_id, seen) for item_id, seen, keys in items for band in keys)
    assert len(rows) > 2 * bands._ROWS and len(rows) % bands._ROWS
    with _session() as session:
        pending = PendingBands()
        pending.add(items)
        pending.write(session)
        assert _table(session, bands.RECENT) == rows
        assert not pending


def test_the_recent_rows_are_counted_once_then_only_this_process_writes_are_added() -> None:
    with _session() as session:
        known = bands.RecentRows()
        first = PendingBands(known)
        first.add([(1, 5, (9, -4))])
        first.write(session, merge_at=4)  # counted: 2 rows
        session.connection().exec_driver_sql(  # another process's row: not known here
            f"INSERT INTO {bands.RECENT} (band, item_id, seen) VALUES (3, 9, 9)")
        second = PendingBands(known)
        second.add([(2, 6, (7,))])
        second.write(session, merge_at=4)  # 3 as known: no merge yet
        assert bands.recent_rows(session) == 4
        known.forget()  # counted again at the next write: 5, a merge is due
        third = PendingBands(known)
        third.add([(4, 6, (8,))])
        third.write(session, merge_at=4)
        assert bands.recent_rows(session) == 0
        assert len(_table(session, bands.MAIN)) == 5


def test_a_merge_is_due_at_the_most_of_recent_rows_and_four_rows_a_page(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with _session() as session:
        pending = PendingBands()
        pending.add([(n, 1, tuple(range(n, n + 50))) for n in range(1, 200)])
        pending.write(session)
        pages = session.connection().exec_driver_sql("PRAGMA page_count").scalar()
        assert pages and pages > 2
        monkeypatch.setattr(bands, "RECENT_ROWS", 3)
        assert bands.RecentRows.merge_at(session) == bands.ROWS_PER_PAGE * pages
        monkeypatch.setattr(bands, "RECENT_ROWS", 10 * bands.ROWS_PER_PAGE * pages)
        assert bands.RecentRows.merge_at(session) == 10 * bands.ROWS_PER_PAGE * pages


def test_a_store_from_before_the_filter_gets_one_at_its_next_merge() -> None:
    """Rows in ``item_band`` and no filter (a store migrated to 0013): every key is
    probed; the next merge builds the filter of the old rows and the merged ones, and
    lookups find the same rows as before."""
    old = [(band, 1, 5) for band in range(-50, 50, 3)]
    with _session() as session:
        session.connection().exec_driver_sql(
            f"INSERT INTO {bands.MAIN} (band, item_id, seen) VALUES (?, ?, ?)", old)
        assert bands.stored_hits(session, {-50, 1, 49}, 0, 10) == [(-50, 1), (1, 1), (49, 1)]
        pending = PendingBands()
        pending.add([(2, 6, (1, 2, 2**63 - 1))])
        pending.write(session, merge_at=1)
        built = session.connection().exec_driver_sql(
            "SELECT keys FROM item_band_filter WHERE id = 1").scalar()
        assert built == len(old) + 3
        assert bands.stored_hits(session, {-50, 1, 2, 2**63 - 1, 8}, 0, 10) == [
            (-50, 1), (1, 1), (1, 2), (2, 2), (2**63 - 1, 2)]  # (8: in no row)


def _probes_of_recent(session: Session) -> list[str]:
    """The statements the session's sqlite3 connection runs from now on that read the
    recent table's rows by key (not the emptiness check, not the token)."""
    statements: list[str] = []
    bands._driver(session.connection()).set_trace_callback(statements.append)
    return statements


def _reads_recent(statements: list[str]) -> bool:
    return any(f"JOIN {bands.RECENT}" in s for s in statements)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commits_=st.lists(st.tuples(st.sampled_from(["mine", "other"]), st.booleans(),
                                   st.lists(st.lists(KEYS, min_size=1, max_size=4,
                                                     unique=True), min_size=1, max_size=3)),
                         min_size=1, max_size=8),
       merge_at=st.integers(2, 30), wanted=st.lists(st.sets(KEYS, min_size=1), min_size=1,
                                                    max_size=3))
def test_a_processs_filter_of_the_recent_table_never_hides_a_row(
        commits_: list[tuple[str, bool, list[list[int]]]], merge_at: int,
        wanted: list[set[int]]) -> None:
    """Commits by this process (its RecentRows and filter) and by another, some rolled
    back, some merging: a lookup through this process's filter finds exactly the rows
    committed, whichever of them its filter knows."""
    mine, other = bands.RecentRows(), bands.RecentRows()
    committed: set[tuple[int, int, int]] = set()
    item_id = 0
    with _session() as session:
        driver = bands._driver(session.connection())
        for n, (who, rolled_back, items) in enumerate(commits_):
            pending = PendingBands(mine if who == "mine" else other)
            rows: list[ItemBands] = []
            for keys in items:
                item_id += 1
                rows.append((item_id, n, tuple(keys)))
            pending.add(rows)
            session.connection().exec_driver_sql("SELECT 1")  # (a transaction is open)
            driver.execute("SAVEPOINT one")
            pending.write(session, merge_at=merge_at)
            driver.execute("ROLLBACK TO one" if rolled_back else "RELEASE one")
            if not rolled_back:
                committed |= {(band, i, seen) for i, seen, keys in rows for band in keys}
            for keys in wanted:  # (several lookups: a filter not current is built again)
                found = bands.stored_hits(session, keys, 0, 99, PendingBands(mine))
                assert found == sorted((band, i) for band, i, _ in committed if band in keys)


def test_a_process_probes_the_recent_table_only_for_keys_its_filter_may_hold() -> None:
    mine, other = bands.RecentRows(), bands.RecentRows()
    with _session() as session:
        pending = PendingBands(mine)
        pending.add([(1, 5, (10, 20)), (2, 5, (30,))])
        pending.write(session, merge_at=1000)
        ours = PendingBands(mine)  # a lookup in this process's next transaction
        seen = _probes_of_recent(session)
        assert bands.stored_hits(session, {-7, 11, 2**62}, 0, 9, ours) == []
        assert not _reads_recent(seen)  # current: what it rules out is not probed
        assert bands.stored_hits(session, {20, 11}, 0, 9, ours) == [(20, 1)]
        assert _reads_recent(seen)

        theirs = PendingBands(other)  # another process writes: the filter is not current
        theirs.add([(3, 6, (11,))])
        theirs.write(session, merge_at=1000)
        seen.clear()
        assert bands.stored_hits(session, {-7, 11}, 0, 9, ours) == [(11, 3)]
        assert _reads_recent(seen)  # every key probed until it is built again
        # 4 rows: built again once a quarter as many keys were probed (here, at once)
        seen.clear()
        assert bands.stored_hits(session, {-7, 2**62}, 0, 9, ours) == []
        assert not _reads_recent(seen)


def test_a_rolled_back_write_leaves_the_filter_not_current() -> None:
    mine = bands.RecentRows()
    with _session() as session:
        driver = bands._driver(session.connection())
        first = PendingBands(mine)
        first.add([(1, 5, (10,))])
        first.write(session, merge_at=1000)
        bands.stored_hits(session, {10}, 0, 9, PendingBands(mine))  # built: current
        assert mine.keys()._held is not None
        driver.execute("SAVEPOINT one")
        second = PendingBands(mine)
        second.add([(2, 5, (20,))])
        second.write(session, merge_at=1000)
        held = mine.keys()._held  # counted in: current, with the token just drawn
        assert held is not None and bandfilter._recent_token(driver) == held.token
        driver.execute("ROLLBACK TO one")
        assert bandfilter._recent_token(driver) != held.token
        seen = _probes_of_recent(session)
        assert bands.stored_hits(session, {10, 20}, 0, 9, PendingBands(mine)) == [(10, 1)]
        assert _reads_recent(seen)


def test_a_merge_sizes_the_cache_and_checkpoints_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The store grew by a merge: the writer's connection gets the page cache and the
    checkpoints of its new size (cache.tune), and only then."""
    tuned: list[object] = []
    monkeypatch.setattr(bands, "tune", tuned.append)
    with _session() as session:
        pending = PendingBands()
        pending.add([(1, 5, (9, -4))])
        pending.write(session, merge_at=4)  # 2 rows: no merge
        assert tuned == []
        pending.add([(2, 6, (7, 8))])
        pending.write(session, merge_at=4)  # 4 rows: merged
        assert tuned == [bands._driver(session.connection())]
