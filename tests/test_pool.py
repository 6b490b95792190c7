"""The parse pool (ingest/pool.py): jobs by name in plain worker processes, their
failures, crashes, shutdown and Ctrl-C."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.exceptions import ParseError
from aggregator.ingest.pool import ParsePool, PoolBroken, WorkerCrashed, _Worker, run_named

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    pool = ParsePool(1)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _wait_for(condition: object, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_job_runs_in_one_lasting_worker_process(pool: ParsePool) -> None:
    first = pool.submit(run_named, "os:getpid").result(timeout=30)
    assert first != os.getpid()
    assert pool.submit(run_named, "os:getpid").result(timeout=30) == first
    assert pool.submit(run_named, "builtins:sorted", [3, 1, 2]).result(timeout=30) == [1, 2, 3]


def test_the_worker_imports_only_what_its_jobs_need(pool: ParsePool) -> None:
    loaded = pool.submit(run_named, "builtins:eval",
                         "list(__import__('sys').modules)").result(timeout=30)
    assert not {"aggregator.ingest.pool", "multiprocessing", "concurrent.futures",
                "typer", "rich", "sqlalchemy", "httpx", "feedparser"} & set(loaded)


def test_preparing_a_feed_loads_neither_email_nor_hmac_in_the_worker(pool: ParsePool) -> None:
    """They stay out of the parse worker's memory (email.utils alone is 1.9 MB)."""
    body = (b"<rss version='2.0'><channel><title>t</title><item><title>A title</title>"
            b"<link>https://example.com/a</link><description>Some words here</description>"
            b"</item></channel></rss>")
    prepared = pool.submit(run_named, "aggregator.ingest.prepare:prepare_feed", body, {},
                           "https://example.com/feed.xml",
                           datetime(2026, 1, 1, tzinfo=UTC)).result(timeout=60)
    assert len(prepared.items) == 1
    loaded = pool.submit(run_named, "builtins:eval",
                         "list(__import__('sys').modules)").result(timeout=30)
    assert not {"email.utils", "email", "hmac"} & set(loaded)


def test_a_parse_error_in_the_worker_is_raised_as_such(pool: ParsePool) -> None:
    future = pool.submit(run_named, "aggregator.ingest.prepare:prepare_feed",
                         b"<rss><channel><item>", {}, "https://example.com/feed.xml",
                         datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ParseError) as raised:
        future.result(timeout=60)
    assert "prepare_feed" in str(raised.value.__cause__)  # the worker's traceback
    assert pool.submit(run_named, "builtins:len", "abc").result(timeout=30) == 3


def test_a_worker_that_dies_mid_job_fails_that_job_and_is_replaced(pool: ParsePool) -> None:
    first = pool.submit(run_named, "os:getpid").result(timeout=30)
    with pytest.raises(WorkerCrashed, match="exit status 3"):
        pool.submit(run_named, "os:_exit", 3).result(timeout=30)
    assert not _alive(first)
    again = pool.submit(run_named, "os:getpid").result(timeout=30)
    assert again not in (first, os.getpid())


def test_a_worker_killed_from_outside_fails_its_job(pool: ParsePool) -> None:
    pid = pool.submit(run_named, "os:getpid").result(timeout=30)
    sleeping = pool.submit(run_named, "time:sleep", 30)
    assert _wait_for(sleeping.running)
    time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerCrashed):
        sleeping.result(timeout=10)


def test_jobs_and_answers_bigger_than_a_pipe_do_not_block_each_other(pool: ParsePool) -> None:
    """The next job is sent while the worker writes its answer: both bigger than a pipe's
    buffer (64 KiB), neither side may wait for the other."""
    bodies = [bytes([n]) * 3_000_000 for n in range(4)]
    futures = [pool.submit(run_named, "builtins:bytes", body) for body in bodies]
    assert [f.result(timeout=60) for f in futures] == bodies


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux's")
def test_a_workers_pipes_hold_a_prepared_feed_whole(pool: ParsePool) -> None:
    """Both pipes are widened to PIPE_BYTES (a prepared feed is ~450 KB): the worker
    writes its answer at once, whether this process's reading thread holds the GIL."""
    import fcntl

    from aggregator.ingest.pool import PIPE_BYTES

    jobs = pool.submit(run_named, "fcntl:fcntl", 0, fcntl.F_GETPIPE_SZ).result(timeout=30)
    process = pool._workers[0].process
    assert process is not None and process.stdout is not None
    answers = fcntl.fcntl(process.stdout.fileno(), fcntl.F_GETPIPE_SZ)
    assert jobs >= PIPE_BYTES and answers >= PIPE_BYTES


def test_a_job_cancelled_after_it_was_sent_ahead_is_dropped(pool: ParsePool) -> None:
    """Its answer is read and dropped: the next job gets its own answer."""
    sleeping = pool.submit(run_named, "time:sleep", 1)
    ahead = pool.submit(run_named, "builtins:len", "abc")
    assert _wait_for(sleeping.running)
    assert ahead.cancel()
    assert sleeping.result(timeout=30) is None
    assert pool.submit(run_named, "builtins:len", "abcdef").result(timeout=30) == 6
    assert ahead.cancelled()


def test_the_job_sent_after_a_crash_runs_in_the_next_worker(pool: ParsePool) -> None:
    first = pool.submit(run_named, "os:getpid").result(timeout=30)
    crashing = pool.submit(run_named, "os:_exit", 3)
    after = pool.submit(run_named, "os:getpid")
    with pytest.raises(WorkerCrashed):
        crashing.result(timeout=30)
    assert after.result(timeout=30) not in (first, os.getpid())


def test_a_job_sent_after_the_worker_died_on_one_is_not_read_as_its_answer() -> None:
    """The worker ends on a job before the next is written (it happened: a crashing
    job's future got the next job's answer, from the process started for it, once in
    ~20 runs of the test above): a worker with a job unanswered is not replaced until
    ``receive`` has said it ended; then the next job gets a new process."""
    def job(name: str, *args: object) -> bytes:
        return pickle.dumps((run_named, (name, *args)))

    worker = _Worker()
    worker.send(job("os:_exit", 3), idle=True)
    dead = worker.process
    assert dead is not None and _wait_for(lambda: dead.poll() is not None)
    worker.send(job("os:getpid"), idle=False)
    assert worker.process is dead  # not replaced: its job is unanswered
    assert isinstance(worker.receive(), WorkerCrashed)
    worker.send(job("os:getpid"), idle=True)
    ok, pid = pickle.loads(worker.receive())
    assert ok and worker.process is not None and pid == worker.process.pid != dead.pid
    worker.stop(kill=True)


def test_workers_that_keep_dying_break_the_pool(pool: ParsePool) -> None:
    for _ in range(ParsePool.MAX_CRASHES):
        with pytest.raises(WorkerCrashed):
            pool.submit(run_named, "os:_exit", 1).result(timeout=30)
    with pytest.raises(PoolBroken):
        pool.submit(run_named, "os:getpid").result(timeout=30)


def test_shutdown_ends_the_workers(pool: ParsePool) -> None:
    before = set(_children(os.getpid()))  # other tests' pools may live on
    pool.submit(run_named, "os:getpid").result(timeout=30)
    two = ParsePool(2)
    futures = [two.submit(run_named, "time:sleep", 0.5) for _ in range(4)]
    assert _wait_for(lambda: len(set(_children(os.getpid())) - before) == 3)
    workers = set(_children(os.getpid())) - before
    assert [f.result(timeout=30) for f in futures] == [None] * 4
    pool.shutdown()
    two.shutdown()
    assert not any(_alive(pid) for pid in workers)
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(run_named, "os:getpid")


def test_shutdown_without_waiting_kills_a_running_job() -> None:
    pool = ParsePool(1)
    worker = pool.submit(run_named, "os:getpid").result(timeout=30)
    sleeping = pool.submit(run_named, "time:sleep", 30)
    queued = pool.submit(run_named, "time:sleep", 30)
    assert _wait_for(sleeping.running)
    started = time.monotonic()
    pool.shutdown(wait=False, cancel_futures=True)
    with pytest.raises(WorkerCrashed):
        sleeping.result(timeout=10)
    assert queued.cancelled()
    assert time.monotonic() - started < 5
    assert not _alive(worker)


CTRL_C = textwrap.dedent("""
    import os, sys, time
    from aggregator.ingest.pool import parse_pool, run_named
    pool = parse_pool(1)
    print(pool.submit(run_named, "os:getpid").result(), flush=True)
    pool.submit(run_named, "time:sleep", 60).result()
""")


def test_ctrl_c_stops_the_parent_at_once_and_its_worker_with_it() -> None:
    # a new session: Ctrl-C in a terminal signals the whole foreground process group
    parent = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        time.sleep(0.5)  # the sleep job is running
        started = time.monotonic()
        os.killpg(parent.pid, signal.SIGINT)
        _, stderr = parent.communicate(timeout=20)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert time.monotonic() - started < 10
    assert parent.returncode == -signal.SIGINT
    assert "KeyboardInterrupt" in stderr
    assert stderr.count("Traceback") == 1  # the parent's: the worker ignores SIGINT
    assert _wait_for(lambda: not _alive(worker), 5)


def test_an_aggregator_folder_in_the_working_directory_is_not_imported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "aggregator").mkdir()
    (tmp_path / "aggregator" / "__init__.py").write_text("raise ImportError('shadowed')\n")
    monkeypatch.chdir(tmp_path)
    pool = ParsePool(1)
    try:
        assert pool.submit(run_named, "os:getcwd").result(timeout=30) == str(tmp_path)
    finally:
        pool.shutdown()


def test_prepared_feed_pickles_by_fields() -> None:
    """What a worker answers comes back equal, its objects rebuilt by their class."""
    import pickle
    from datetime import UTC, datetime, timedelta

    from aggregator.types import (
        CandidateRead,
        Credit,
        Enclosure,
        FeedMeta,
        Fingerprint,
        ItemData,
        PreparedFeed,
    )

    when = datetime(2026, 10, 1, tzinfo=UTC)
    item = ItemData("g", "https://a.example/1", None, "Title", None, "<p>x</p>", "x", when,
                    None, "hash", ("news",), (Enclosure("https://a.example/a.mp3", "audio/mpeg",
                                                        10, 60),), None)
    prints = Fingerprint(3, 2, b"\x00" * 8, (1, -2), ("89.5",), "0" * 16, b"\x01" * 4)
    feed = PreparedFeed(
        FeedMeta("Feed", None, None, when), (item,), {"g": ("k",)}, {"g": prints},
        {"g": Credit(None, ("Известия",), "line")}, 1.5, timedelta(minutes=5),
        {"x": b"packed"}, CandidateRead(7, 1, 2, frozenset({"g"}), ((1, 2, 3),),
                                        {2: prints}), frozenset({"h"}))
    assert pickle.loads(pickle.dumps(feed, pickle.HIGHEST_PROTOCOL)) == feed
    assert prints.__reduce__() == (Fingerprint, (3, 2, b"\x00" * 8, (1, -2), ("89.5",),
                                                 "0" * 16, b"\x01" * 4))
