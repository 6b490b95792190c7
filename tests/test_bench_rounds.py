"""The bench's interleaved rounds (bench/ingest/suite.py): one record from several runs,
and ratios taken round by round; and the environment its jobs run in."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.ingest.suite import REPO, job_env, merge_rounds, paired_ratio


def _run(rate: float, peak: float, cpu: float) -> dict[str, Any]:
    return {"items_per_s": rate, "peak_mb": peak, "peak_all_mb": peak + 50, "cpu_seconds": cpu}


def test_merge_rounds_keeps_the_median_round_and_the_highest_peak() -> None:
    merged = merge_rounds([_run(900, 120, 30), _run(1100, 118, 28), _run(1000, 125, 29)])
    assert merged["items_per_s"] == 1000
    assert merged["cpu_seconds"] == 29  # the median round's own figures, not a mix
    assert merged["peak_mb"] == 125 and merged["peak_all_mb"] == 175
    assert merged["round_items_per_s"] == [900, 1100, 1000]
    assert merged["rounds"] == 3


def test_merge_rounds_skips_failed_rounds_and_fails_only_when_all_did() -> None:
    merged = merge_rounds([{"failed": "exit 1"}, _run(800, 100, 20)])
    assert merged["items_per_s"] == 800
    assert merged["round_items_per_s"] == [None, 800]
    assert merge_rounds([{"failed": "exit 1"}, {"failed": "exit 2"}])["failed"] == "exit 1"


def test_paired_ratio_cancels_a_drift_the_ratio_of_medians_keeps() -> None:
    # the machine slows down between rounds: each pair ran at the same speed
    ours = {"round_items_per_s": [1200, 900, 600]}
    reader = {"round_items_per_s": [600, 450, 300]}
    assert paired_ratio(ours, reader) == pytest.approx(2.0)
    # rounds not in common: no paired ratio (the caller takes the plain one)
    assert paired_ratio(ours, {"round_items_per_s": [600]}) is None
    assert paired_ratio(ours, None) is None
    assert paired_ratio({"round_items_per_s": [None, 900]}, {"round_items_per_s": [600, 300]}) \
        == pytest.approx(3.0)


def test_cycles_merge_and_pair_by_their_seconds() -> None:
    ours = merge_rounds([{"seconds": 1.4}, {"seconds": 1.1}, {"seconds": 1.2}], key="seconds")
    httpx = merge_rounds([{"seconds": 1.0}, {"seconds": 1.6}, {"seconds": 1.0}], key="seconds")
    assert (ours["seconds"], httpx["seconds"]) == (1.2, 1.0)
    assert ours["round_seconds"] == [1.4, 1.1, 1.2] and "round_items_per_s" not in ours
    # round by round 1.4, 0.6875, 1.2: their median
    assert paired_ratio(ours, httpx, "seconds") == pytest.approx(1.2)
    assert paired_ratio(ours, httpx) is None  # no items/s rounds


@given(st.lists(st.floats(min_value=1, max_value=1e5), min_size=1, max_size=7),
       st.floats(min_value=0.1, max_value=10))
def test_paired_ratio_of_scaled_rounds_is_the_scale(rates: list[float], scale: float) -> None:
    theirs = {"round_items_per_s": rates}
    ours = {"round_items_per_s": [rate * scale for rate in rates]}
    assert paired_ratio(ours, theirs) == pytest.approx(scale)


def test_jobs_run_this_tree_in_their_parse_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job's workers start with ``python -P`` (no working directory on sys.path): the
    suite's tree comes first on PYTHONPATH, ahead of what was there."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/elsewhere", ""]))
    assert job_env()["PYTHONPATH"].split(os.pathsep) == [str(REPO), "/elsewhere"]
    monkeypatch.delenv("PYTHONPATH")
    assert job_env()["PYTHONPATH"] == str(REPO)
