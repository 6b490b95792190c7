"""The garbage collector's thresholds while updates run (update/collection.py)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from aggregator.clock import utc_now
from aggregator.config import load_config
from aggregator.store import Store
from aggregator.update import update_sources
from aggregator.update.collection import YOUNG, fewer_collections
from tests.conftest import write_config
from tests.feedserver import FeedServer


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    """Each test starts from CPython's defaults and leaves what it found."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_the_young_generation_is_collected_less_often_until_the_update_ends() -> None:
    with fewer_collections():
        assert gc.get_threshold() == (YOUNG, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_the_thresholds_come_back_when_the_update_raises() -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a failing update")
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_updates_restore_the_thresholds_once_the_last_one_ends() -> None:
    first, second = ExitStack(), ExitStack()
    first.enter_context(fewer_collections())
    second.enter_context(fewer_collections())
    first.close()  # the first to start ends first: the second still runs
    assert gc.get_threshold()[0] == YOUNG
    second.close()
    assert gc.get_threshold() == (700, 10, 10)


def test_updates_in_threads_leave_the_thresholds_as_they_found_them() -> None:
    inside: list[int] = []
    start = threading.Barrier(8)

    def update() -> None:
        start.wait()
        for _ in range(200):
            with fewer_collections():
                inside.append(gc.get_threshold()[0])

    threads = [threading.Thread(target=update) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(inside) == {YOUNG}
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("young", [0, 50_000])
def test_a_collector_switched_off_or_already_rarer_is_left_alone(young: int) -> None:
    gc.set_threshold(young, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (young, 10, 10)
    assert gc.get_threshold() == (young, 10, 10)


def test_update_sources_runs_with_the_rarer_collections(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config = load_config(write_config(tmp_path, {
        "rss2": feed_server.serve_file("/rss2.xml", "rss2.xml")}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    during: list[tuple[int, int, int]] = []
    results = update_sources(store, config, on_result=lambda _: during.append(
        gc.get_threshold()))
    assert [r.new for r in results] == [3]
    assert during == [(YOUNG, 10, 10)]
    assert gc.get_threshold() == (700, 10, 10)
