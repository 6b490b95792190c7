"""Kill `aggregator fetch` at random moments and check that nothing is lost or corrupt.

    python scripts/crash_test.py [--kills 48] [--feeds 200] [--items 20] [--seed 1]
                                 [--db sqlite:///PATH | postgresql://...] [--keep DIR]

A corpus of feeds (bench/ingest/corpus.py) is served by the bench's feed server on
loopback. Each round starts `aggregator fetch` on the same database and SIGKILLs it
after a random delay (mid-fetch, mid-parse or mid-write); a few rounds use SIGTERM.
Sources are made due again between rounds, so every round writes. After the last
kill, one `fetch` runs to the end. Then, on the database:

- SQLite `PRAGMA integrity_check` is "ok" (skipped on PostgreSQL);
- no orphan rows: every item has its story and source, every story has an item,
  every band key has its item, every story key its story, and no story key is in
  both of its tables;
- it converged: the final run exits 0, every source is ok or unchanged, and the store
  holds exactly one item per (source, guid) the corpus has;
- no lease is left held, and no child process of a killed `fetch` is left running.

Prints one line per round and a summary; exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from aggregator.store.store import normalize_database_url  # noqa: E402
from bench.ingest.corpus import generate  # noqa: E402
from bench.ingest.server import feed_url  # noqa: E402

AGGREGATOR = [sys.executable, "-m", "aggregator"]
ORPHANS = {
    "items without their story": "SELECT count(*) FROM item WHERE story_id NOT IN "
                                 "(SELECT id FROM story)",
    "items without their source": "SELECT count(*) FROM item WHERE source_id NOT IN "
                                  "(SELECT id FROM source)",
    "stories without an item": "SELECT count(*) FROM story WHERE id NOT IN "
                               "(SELECT story_id FROM item)",
    "band keys without their item": "SELECT count(*) FROM item_band WHERE item_id NOT IN "
                                    "(SELECT id FROM item)",
    "story keys without their story": "SELECT count(*) FROM story_key WHERE story_id NOT IN "
                                      "(SELECT id FROM story)",
    "recent story keys without their story": "SELECT count(*) FROM story_key_recent WHERE "
                                             "story_id NOT IN (SELECT id FROM story)",
    "story keys in both tables": "SELECT count(*) FROM story_key_recent WHERE key_hash IN "
                                 "(SELECT key_hash FROM story_key)",
    "leases still held": "SELECT count(*) FROM source WHERE lease_owner IS NOT NULL",
}


def _config(directory: Path, port: int, feeds: int) -> Path:
    lines = ["settings:", "  allow_private_networks: true", "  timeout: 20s",
             "  concurrency: 16", "sources:"]
    for index in range(feeds):
        lines += [f"  - name: f{index:04d}", f"    url: {feed_url(index, port, 1)}"]
    lines += ["outputs:", "  - name: all", "    title: All stories"]
    path = directory / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc, Linux)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _make_due(url: str) -> None:
    engine = create_engine(normalize_database_url(url))
    with engine.begin() as connection:  # due now, and forget the validators: every feed writes
        connection.execute(text("UPDATE source SET next_fetch_at = '2000-01-01 00:00:00', "
                                "etag = NULL, last_modified = NULL, body_hash = NULL"))
    engine.dispose()


def _checks(url: str, expected_items: int) -> list[str]:
    problems = []
    engine = create_engine(normalize_database_url(url))
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            verdict = connection.execute(text("PRAGMA integrity_check")).scalar_one()
            if verdict != "ok":
                problems.append(f"integrity_check: {verdict}")
        for what, query in ORPHANS.items():
            count = connection.execute(text(query)).scalar_one()
            if count:
                problems.append(f"{count} {what}")
        items = connection.execute(text("SELECT count(*) FROM item")).scalar_one()
        if items != expected_items:
            problems.append(f"{items} items stored, the corpus has {expected_items}")
        outcomes = dict(connection.execute(text(
            "SELECT last_outcome, count(*) FROM source GROUP BY last_outcome")).all())
        if set(outcomes) - {"ok", "not_modified"}:
            problems.append(f"sources not converged: {outcomes}")
    engine.dispose()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=48)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", help="database URL [default: a fresh SQLite file]")
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="aggregator-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = generate(Path(tempfile.gettempdir()) / "aggregator-bench" /
                      f"corpus-{args.feeds}x{args.items}", args.feeds, args.items, args.seed)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "bench.ingest.server", str(corpus.directory),
                               "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout is None or not server.stdout.readline().startswith("READY"):
            raise SystemExit("the feed server did not start")
        config = _config(work, port, args.feeds)
        url = args.db or f"sqlite:///{work / 'crash.db'}"
        command = [*AGGREGATOR, "fetch", "--config", str(config), "--db", url]
        leaked: set[int] = set()
        for round_ in range(1, args.kills + 1):
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, cwd=work)
            delay = rng.uniform(0.3, 4.0)
            time.sleep(delay)
            children = _descendants(process.pid)
            how = signal.SIGTERM if round_ % 8 == 0 else signal.SIGKILL
            process.send_signal(how)
            code = process.wait()
            deadline = time.monotonic() + 5  # helpers notice their parent is gone, then exit
            while (left := {pid for pid in children if _alive(pid)}) and \
                    time.monotonic() < deadline:
                time.sleep(0.1)
            leaked |= left
            print(f"round {round_:3d}: {how.name} after {delay:.1f} s, exit {code}, "
                  f"{len(left)} helper processes left", flush=True)
            _make_due(url)
        final = subprocess.run(command, capture_output=True, text=True, cwd=work, check=False)
        print(f"final run: exit {final.returncode}: {final.stderr.strip().splitlines()[-1:]}")
        problems = _checks(url, corpus.total_items)
        if final.returncode != 0:
            problems.append(f"the final fetch exited {final.returncode}")
        if leaked:
            problems.append(f"{len(leaked)} helper processes outlived their fetch")
            for pid in leaked:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    finally:
        server.terminate()
        server.wait()
    print(f"{args.kills} kills, database {url}: " +
          ("all checks passed" if not problems else "; ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
