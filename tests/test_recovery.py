"""Recovery: what an interrupted fetch, a dead worker, a failing database or a bad edit
of feeds.yaml leave behind, with real processes, a real SQLite file and a real server."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.config import SourceConfig, load_config
from aggregator.service import Service
from aggregator.store import Store
from aggregator.types import UpdateResult
from aggregator.update import update_sources
from tests.conftest import write_config
from tests.feedserver import FeedServer

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SLOW = 30.0  # seconds the slow feed takes: longer than any test waits for it


def _wait_for(check: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _slow_and_fast(tmp_path: Path, feed_server: FeedServer,
                   settings: dict[str, object] | None = None) -> Path:
    feed_server.serve_file("/fast.xml", "rss2.xml")
    feed_server.serve("/slow.xml", feed_server.routes["/fast.xml"].body, delay=SLOW)
    return write_config(tmp_path, {"fast": feed_server.url("/fast.xml"),
                                   "slow": feed_server.url("/slow.xml")}, settings=settings)


def _start_fetch(config: Path, db: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    """`aggregator fetch` in the background, its output in tmp_path/out and err: files,
    not pipes, which a leaked helper process would keep open."""
    with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "aggregator", "fetch", "--config", str(config), "--db", db],
            stdout=out, stderr=err, cwd=tmp_path)


def _fetch(config: Path, db: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aggregator", "fetch", "--config", str(config), "--db", db],
        check=False, capture_output=True, text=True, cwd=tmp_path, timeout=60)


def _leases(path: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT name, lease_owner FROM source ORDER BY name").fetchall()


# ---- processes ----


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(ppid, state, start time) of a process, or None if there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[1]), fields[0], fields[19]


def _descendants(root: int) -> dict[int, str]:
    """pid -> start time of every live process below ``root``."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat
    found: dict[int, str] = {}
    frontier = {root}
    while frontier:
        frontier = {pid for pid, (ppid, state, _) in parents.items()
                    if ppid in frontier and state != "Z" and pid not in found}
        found |= {pid: parents[pid][2] for pid in frontier}
    return found


def _alive(processes: dict[int, str]) -> list[int]:
    """The ones still running: the same pid and start time, and not a zombie."""
    return [pid for pid, started in processes.items()
            if (stat := _stat(pid)) is not None and stat[2] == started and stat[1] != "Z"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_killed_fetch_leaves_no_parse_worker(
        tmp_path: Path, feed_server: FeedServer) -> None:
    config = _slow_and_fast(tmp_path, feed_server, settings={"parse_workers": 1})
    fetch = _start_fetch(config, f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    try:
        # the fast feed was parsed in the pool's worker; the slow one keeps the
        # fetch running
        assert _wait_for(lambda: len(_descendants(fetch.pid)) >= 1
                         and bool(feed_server.hits("/slow.xml"))), _descendants(fetch.pid)
        helpers = _descendants(fetch.pid)
    finally:
        fetch.kill()
        fetch.wait()
    assert _wait_for(lambda: not _alive(helpers), 5), \
        [Path(f"/proc/{pid}/cmdline").read_bytes()[:80] for pid in _alive(helpers)]


def test_the_leases_of_a_killed_fetch_are_taken_at_once(
        tmp_path: Path, feed_server: FeedServer) -> None:
    config = _slow_and_fast(tmp_path, feed_server)
    db = tmp_path / "a.db"
    fetch = _start_fetch(config, f"sqlite:///{db}", tmp_path)
    try:
        assert _wait_for(lambda: bool(feed_server.hits("/slow.xml")))
    finally:
        fetch.kill()
        fetch.wait()
    assert dict(_leases(db))["slow"] is not None  # SIGKILL: nothing could release it
    feed_server.routes["/slow.xml"].delay = 0
    again = _fetch(config, f"sqlite:///{db}", tmp_path)
    assert again.returncode == 0, again.stderr
    assert "skipped" not in again.stdout
    assert again.stdout.startswith("sources: 2 ok"), again.stdout


@pytest.mark.parametrize(("number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_fetch_releases_its_leases_and_exits_non_zero(
        tmp_path: Path, feed_server: FeedServer, number: int, code: int) -> None:
    config = _slow_and_fast(tmp_path, feed_server)
    db = tmp_path / "a.db"
    fetch = _start_fetch(config, f"sqlite:///{db}", tmp_path)
    try:
        assert _wait_for(lambda: bool(feed_server.hits("/slow.xml")))
        fetch.send_signal(number)
        fetch.wait(timeout=15)
    finally:
        if fetch.poll() is None:
            fetch.kill()
            fetch.wait()
    err = (tmp_path / "err").read_text()
    assert fetch.returncode == code, err
    assert (tmp_path / "out").read_text() == ""
    assert len(err.splitlines()) == 1 and "interrupted by" in err, err
    assert _leases(db) == [("fast", None), ("slow", None)]


def test_an_update_that_stops_early_frees_what_it_did_not_store(
        store: Store, feed_server: FeedServer, tmp_path: Path) -> None:
    config = load_config(_slow_and_fast(tmp_path, feed_server))
    store.sync_sources(config.sources, config.settings.poll_interval, NOW)

    def stop(_result: UpdateResult) -> None:
        raise RuntimeError("the caller gave up")

    with pytest.raises(RuntimeError):
        update_sources(store, config, on_result=stop, now=NOW)
    # the slow source was claimed, never stored: free again, here and for other workers
    assert sorted(s.name for s in store.claim_sources(NOW, due_only=False)) == ["fast", "slow"]


def test_a_lease_of_a_gone_process_of_this_host_is_free_at_once(store: Store) -> None:
    store.sync_sources([SourceConfig(name="a", url="https://example.com/a.xml"),
                        SourceConfig(name="b", url="https://example.com/b.xml")],
                       timedelta(minutes=30), NOW)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = Store(store.url, worker_id=f"{socket.gethostname()}:{gone.pid}")
    elsewhere = Store(store.url, worker_id=f"elsewhere.example:{gone.pid}")
    try:
        assert [s.name for s in dead.claim_sources(NOW, names=["a"])] == ["a"]
        assert [s.name for s in elsewhere.claim_sources(NOW, names=["b"])] == ["b"]
    finally:
        dead.close()
        elsewhere.close()
    # a's owner is gone from this host; b's is on another host, whose lease must expire
    assert [s.name for s in store.claim_sources(NOW + timedelta(minutes=1))] == ["a"]
    assert store.claim_sources(NOW + timedelta(minutes=1)) == []  # ours, and we are alive
    assert [s.name for s in store.claim_sources(NOW + timedelta(minutes=7))] == ["a", "b"]


# ---- a read-only SQLite file ----

# Opens the store while the file is read-only, then makes it writable and claims again.
# As root, chmod does not stop writes: the store is opened with the effective uid of
# nobody instead (the file is root's, mode 0444), which is what SQLite sees then.
READ_ONLY = """
import os, sqlite3, sys
from datetime import timedelta
from aggregator.clock import utc_now
from aggregator.config import SourceConfig
from aggregator.exceptions import StorageError
from aggregator.store import Store

path = os.path.join(sys.argv[1], "a.db")
url = "sqlite:///" + path
setup = Store(url)
setup.sync_sources([SourceConfig(name="a", url="https://example.com/a.xml")],
                   timedelta(minutes=30), utc_now())
setup.close()
keep = sqlite3.connect(path)  # keeps the -wal and -shm files as they are
keep.execute("SELECT 1 FROM source").fetchall()
os.chmod(path, 0o444)
root = os.geteuid() == 0
if root:
    os.seteuid(65534)
store = Store(url)
store.source_names()  # the pool now holds a read-only connection
if root:
    os.seteuid(0)
try:
    store.claim_sources(utc_now())
    print("written while read-only")
except StorageError as error:
    print(error)
os.chmod(path, 0o644)
try:
    print("claimed", [s.name for s in store.claim_sources(utc_now())])
except StorageError as error:
    print(error)
"""


def test_a_sqlite_file_that_was_read_only_works_once_it_is_writable() -> None:
    with tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o777)  # for nobody, when run as root
        done = subprocess.run([sys.executable, "-c", READ_ONLY, directory],
                              check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "database error: attempt to write a readonly database", "claimed ['a']"]


# ---- reloading feeds.yaml ----


def _service(tmp_path: Path, feed_server: FeedServer, db: Path) -> tuple[Service, Path]:
    path = write_config(tmp_path, {"news": feed_server.serve_file("/rss2.xml", "rss2.xml")})
    config = load_config(path)
    store = Store(f"sqlite:///{db}")
    service = Service(str(path), config, store)
    service.sync()
    return service, path


def test_a_reload_the_database_refused_is_applied_on_a_later_tick(
        tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "data"
    service, path = _service(tmp_path, feed_server, folder / "a.db")
    try:
        path.write_text(path.read_text().replace("sources:\n", "sources:\n  - name: wire\n"
                                                 "    url: https://example.com/wire.xml\n"))
        service.store.engine.dispose()
        folder.rename(tmp_path / "away")  # the database is unreachable
        with caplog.at_level(logging.ERROR, logger="aggregator.service"):
            assert service.reload_config() is False
            assert service.reload_config() is False
        assert len(caplog.records) == 1
        assert "could not apply the new feeds.yaml" in caplog.text
        (tmp_path / "away").rename(folder)  # back
        assert service.reload_config() is True
        assert sorted(service.store.source_names()) == ["news", "wire"]
        assert service.reload_config() is False  # applied: nothing more to do
    finally:
        service.store.close()


def test_an_emptied_or_deleted_feeds_yaml_keeps_the_last_good_config(
        tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture) -> None:
    service, path = _service(tmp_path, feed_server, tmp_path / "a.db")
    good = service.config
    text = path.read_text()
    try:
        with caplog.at_level(logging.WARNING, logger="aggregator.service"):
            path.write_text("")  # an editor that truncates before it writes
            assert service.reload_config() is False
            assert "no sources and no outputs" in caplog.text
            path.unlink()
            assert service.reload_config() is False
            assert service.reload_config() is False
        assert [r.getMessage() for r in caplog.records][1:] == [
            f"{path} is missing; keeping the last good config"]  # once
        assert service.config is good
        assert service.store.source_names() == ["news"]
        path.write_text(text.replace("poll_interval: 30m", "poll_interval: 20m"))
        assert service.reload_config() is True
        assert service.store.source_names() == ["news"]
    finally:
        service.store.close()


def test_with_a_parse_worker_the_updating_process_loads_no_parsing_library(
        tmp_path: Path, feed_server: FeedServer) -> None:
    """The worker parses, normalizes and fingerprints; the process that fetches and
    writes (and compares fingerprints to assign stories) never imports feedparser, lxml
    or chardet (about 30 MB resident: issue 10's memory target). (It loads numpy with
    the first band rows it writes: store/bands.py sorts them with it.)"""
    feed_server.serve_file("/a.xml", "rss2.xml")
    feed_server.serve_file("/b.xml", "atom.xml")
    config = write_config(tmp_path, {"a": feed_server.url("/a.xml"),
                                     "b": feed_server.url("/b.xml")},
                          settings={"parse_workers": 1})
    heavy = ["chardet", "feedparser", "lxml"]
    code = (
        "import sys\n"
        "from aggregator.config import load_config\n"
        "from aggregator.store import Store\n"
        "from aggregator.update import update_sources\n"
        f"config = load_config({str(config)!r})\n"
        f"store = Store({'sqlite:///' + str(tmp_path / 'a.db')!r})\n"
        "store.sync_sources(config.sources, config.settings.poll_interval, "
        "__import__('aggregator.clock').clock.utc_now())\n"
        "results = update_sources(store, config)\n"
        "print(sum(r.new for r in results), "
        f"sorted(m for m in {heavy!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    new, loaded = done.stdout.strip().split(" ", 1)
    assert int(new) > 0  # the worker did prepare the feeds
    assert loaded == "[]"
