"""The one-off `aggregator fetch` process: what it loads, and what it leaves out of the
garbage collector's sight (its start-up and exit are part of every cron job's cost)."""

from __future__ import annotations

import gc
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.config import SourceConfig
from aggregator.store import Store, cache
from aggregator.store.cache import checkpoint_pages, size_kib
from tests.conftest import write_config
from tests.feedserver import FeedServer

#: main() as the console script runs it, then what it reports (by default: whether it
#: froze the collector's objects, and whether the collector is on)
AS_CONSOLE_SCRIPT = """
import gc, sys
from aggregator.cli import main
sys.argv = ["aggregator", *sys.argv[1:]]
try:
    main()
except SystemExit as stop:
    code = stop.code
else:
    code = 0
print(REPORT, file=sys.stderr)
sys.exit(code)
"""
GC_STATE = ('"frozen" if gc.get_freeze_count() else "not frozen", '
            '"collecting" if gc.isenabled() else "not collecting"')


def _main(report: str = GC_STATE) -> str:
    return AS_CONSOLE_SCRIPT.replace("REPORT", report)


def _process(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL, timeout=120)


def test_fetching_leaves_out_httpx_command_line_and_what_it_loads() -> None:
    """httpx imports its CLI (click, rich, pygments) when they are installed: not here
    (aggregator/ingest/__init__.py keeps it out)."""
    code = ("import sys, aggregator.update, httpx; assert callable(httpx.main); "
            "print(sorted(m for m in ('click', 'pygments', 'rich', 'httpx._main') "
            "if sys.modules.get(m) is not None))")
    done = _process(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_fetch_process_freezes_its_modules_and_says_the_same(
        tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(tmp_path, {"news": feed_server.serve_file("/rss2.xml", "rss2.xml")})
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    first = _process(_main(), "fetch", "--config", str(config), "--db", db)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "sources: 1 ok, 0 unchanged, 0 failed; items: 3 new, 0 updated\n"
    assert first.stderr == "frozen collecting\n"
    again = _process(_main(), "fetch", "--config", str(config), "--db", db)
    assert (again.returncode, again.stdout) == (
        0, "sources: 0 ok, 1 unchanged, 0 failed; items: 0 new, 0 updated\n")


def test_fetch_in_another_program_freezes_none_of_its_objects(
        tmp_path: Path, feed_server: FeedServer) -> None:
    """Run in-process (a test, a program calling ``app``), the caller's objects stay
    collectable: only main(), the command's own process, freezes."""
    config = write_config(tmp_path, {"news": feed_server.serve_file("/rss2.xml", "rss2.xml")})
    before = gc.get_freeze_count()
    result = CliRunner().invoke(app, ["fetch", "--config", str(config),
                                      "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    assert result.exit_code == 0, result.stderr
    assert gc.get_freeze_count() == before
    assert gc.isenabled()


def test_every_command_that_reads_feeds_yaml_collects_again(tmp_path: Path) -> None:
    """main() turns the collector off while the command imports; reading feeds.yaml
    (or finding it) turns it on again, so a long-running command collects as before."""
    config = write_config(tmp_path, {"news": "https://example.com/feed.xml"})
    checked = _process(_main(), "check", "--config", str(config))
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == "frozen collecting\n"
    removed = _process(_main(), "sources", "remove", "news", "--config",
                       str(config))
    assert removed.returncode == 0, removed.stderr
    assert removed.stderr == "frozen collecting\n"
    broken = tmp_path / "broken.yaml"
    broken.write_text("sources: [\n")
    failed = _process(_main(), "check", "--config", str(broken))
    assert failed.returncode == 2
    assert failed.stderr.endswith("collecting\n")  # its error line, then the state


def test_version_and_help_load_neither_rich_nor_the_stages() -> None:
    code = _main('sorted(m for m in ("rich", "pydantic", "aggregator.types") '
                 'if m in sys.modules)')
    version = _process(code, "--version")
    assert (version.returncode, version.stdout, version.stderr) == (
        0, "aggregator 0.1.0\n", "[]\n")
    helped = _process(code, "--help")
    assert helped.returncode == 0 and "fetch" in helped.stdout
    assert helped.stderr == "[]\n"


def test_sync_sources_writes_only_what_feeds_yaml_changed(store: Store) -> None:
    """A start syncs every source; an unchanged one is left clean, a changed field is
    still stored (title, tags, language, interval) and the rest kept."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = [SourceConfig(name="a", url="https://a.example/feed", title="A", tags=("x",)),
             SourceConfig(name="b", url="https://b.example/feed")]
    store.sync_sources(first, timedelta(minutes=30), now)
    store.sync_sources(first, timedelta(minutes=30), now + timedelta(minutes=1))
    changed = [first[0], SourceConfig(name="b", url="https://b.example/feed", title="B",
                                      tags=("y", "z"), language="ru",
                                      poll_interval=timedelta(minutes=10))]
    store.sync_sources(changed, timedelta(minutes=30), now + timedelta(minutes=2))
    with store.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT name, title, tags, language, poll_interval_seconds, fixed_interval "
            "FROM source ORDER BY name")).all()
    assert [(*r[:5], bool(r[5])) for r in rows] == [("a", "A", "x", None, 1800, False),
                                                    ("b", "B", "y,z", "ru", 600, True)]
    assert {s.name: s.next_fetch_at for s in store.source_statuses()} == {"a": now, "b": now}


def test_sqlite_page_cache_and_checkpoints_follow_the_file_size_at_open(
        tmp_path: Path) -> None:
    """A 64th of the file, 2-8 MiB: a new store's update keeps 2 MiB of pages, a
    million-item store (3.3 GB) the 8 MiB it always had. A commit checkpoints the WAL
    once it holds a sixth of the file's pages, 10,000-40,000."""
    assert [size_kib(n) for n in (0, 180 << 20, 330 << 20, 3300 << 20)] == [
        2048, 2880, 5280, 8192]
    assert [checkpoint_pages(n) for n in (0, 60_000, 120_000, 267_000, 10**7)] == [
        10_000, 10_000, 20_000, 40_000, 40_000]
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -2048
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 8192
            # a commit checkpoints the WAL once it holds 80 MiB, and the WAL file is cut
            # back to that once it restarts (cache.CHECKPOINT_PAGES: a new file's)
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
            assert connection.exec_driver_sql("PRAGMA journal_size_limit").scalar() == (
                10_000 * 8192)
    finally:
        store.close()


def test_tune_follows_the_file_as_it_is_now(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection is sized again (after a merge) by what the file holds then, not what
    it held when it was opened: a long-running process keeps up with its store."""
    import sqlite3

    monkeypatch.setattr(cache, "CACHE_KIB", (1, 1 << 20))  # the rules without their floors
    monkeypatch.setattr(cache, "CHECKPOINT_PAGES", (1, 1 << 20))
    connection = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    connection.execute("PRAGMA page_size=8192")
    connection.execute("CREATE TABLE t (b BLOB)")

    def settings() -> tuple[int, int, int]:
        return tuple(connection.execute(f"PRAGMA {name}").fetchone()[0] for name in (
            "cache_size", "wal_autocheckpoint", "journal_size_limit"))  # type: ignore[return-value]

    cache.tune(connection)
    small = settings()
    connection.execute("INSERT INTO t VALUES (zeroblob(?))", (16 << 20,))
    assert settings() == small  # until tuned again
    cache.tune(connection)
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    assert pages > 2000
    assert settings() == (-size_kib(pages * 8192), pages // 6, pages // 6 * 8192) != small
    connection.close()
