"""The ingest thread's write path alone: prepared feeds replayed into a fresh store.

``python -m bench.replay [--feeds 200] [--repeat 5] [--profile FILE] [--hash] [--ahead]``

The corpus's first ``--feeds`` feeds are prepared once (``prepare_feed``, as the parse
workers do) and cached pickled, as a worker answers them. Each repeat then opens a
fresh SQLite store, syncs and claims the sources (not timed), and times, in this one
thread, what the ingest thread does for each new body: unpickle the prepared feed,
``decide`` (stored hashes, tombstones, plan) and ``commit_later`` into a ``Group`` of
16 sources, committed at 16 (never on time: the replay does not wait for fetches).
Reported: CPU time (``time.process_time``) per 1,000 new items, the median of the
repeats. The clock and the jitter are fixed, so every repeat stores the same rows:
``--hash`` prints a digest of every table (ids included) to compare two trees.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NOW = datetime(2026, 10, 1, 18, 0, tzinfo=UTC)  # the corpus's BASE_TIME + 6 hours
CORPUS = Path(tempfile.gettempdir()) / "aggregator-bench" / "corpus-1000x50-s1-y0.15-v1"


def _url(n: int) -> str:
    return f"http://feeds{n % 50}.example/feeds/{n:04d}.xml"


def prepared_feeds(corpus: Path, feeds: int, cache: Path) -> list[bytes]:
    """The first ``feeds`` feeds of ``corpus`` prepared and pickled (cached in
    ``cache``, which serves any smaller count too)."""
    if cache.exists():
        blobs: list[bytes] = pickle.loads(cache.read_bytes())
        if len(blobs) >= feeds:
            return blobs[:feeds]
    from aggregator.ingest.prepare import prepare_feed

    manifest = json.loads((corpus / "manifest.json").read_text())
    blobs = []
    for n, entry in enumerate(manifest["files"][:feeds]):
        body = (corpus / entry["file"]).read_bytes()
        prepared = prepare_feed(body, {"content-type": entry["content_type"]}, _url(n), NOW)
        blobs.append(pickle.dumps((True, prepared), pickle.HIGHEST_PROTOCOL))  # as pool.py
    cache.write_bytes(pickle.dumps(blobs, pickle.HIGHEST_PROTOCOL))
    return blobs


def _config(feeds: int, folder: Path) -> Any:
    from aggregator.config import load_config

    path = folder / f"feeds-{feeds}-{os.getpid()}.yaml"
    lines = ["settings:", "  allow_private_networks: true", "sources:"]
    for n in range(feeds):
        lines += [f"  - name: f{n:05d}", f"    url: {_url(n)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


def replay(blobs: list[bytes], folder: Path, config: Any, *, profile: Path | None = None,
           group_size: int | None = None, ahead: bool = False) -> tuple[float, int, Path]:
    """One cold replay into a fresh store in ``folder``: (CPU seconds, new items, the
    database file). ``ahead``: each feed's candidates are read first, as a parse worker
    reads them ahead of the writer (store/lookahead.py, as of what is committed: the
    open group's rows are the writer's to add); that read is not counted."""
    from aggregator import update
    from aggregator.store import Store
    from aggregator.store.lookahead import Lookahead, read_candidates
    from aggregator.types import Fetched
    from aggregator.update.writes import Group, Writer, commit_later

    db = folder / f"replay-{len(blobs)}-{os.getpid()}.sqlite"
    _remove(db)
    store = Store(f"sqlite:///{db}", worker_id="replay:1")
    store.sync_sources(config.sources, config.settings.poll_interval, NOW)
    sources = {s.name: s for s in store.claim_sources(NOW, due_only=False, token="replay")}
    update.utc_now = lambda: NOW  # type: ignore[attr-defined]  # the stored rows repeat
    random.seed(1)
    group, writer = Group(store), Writer(store)
    group.SECONDS = 1e9  # type: ignore[misc]  # committed at 16 sources, as under load
    if group_size is not None:
        group.limit = group_size
    results = []
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    reading = 0.0  # CPU seconds of the reads ahead, taken out of the writer's
    started = time.process_time()
    for n, blob in enumerate(blobs):
        source = sources[f"f{n:05d}"]
        _, prepared = pickle.loads(blob)
        if ahead:
            clock = time.process_time()
            where = Lookahead(str(db), source.id)
            prepared = replace(prepared, candidates=read_candidates(where, prepared, NOW))
            reading += time.process_time() - clock
        response = Fetched(url=source.url, status=200,
                           headers={"content-type": "application/xml"}, body=b"",
                           digest=f"{n:064x}")
        results.append(update.stage(store, config, source, response, prepared,
                                    writer=writer, group=group))
    group.commit()
    seconds = time.process_time() - started - reading
    if profiler is not None:
        import pstats

        profiler.disable()
        assert profile is not None
        with profile.open("w") as out:
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
    _ = commit_later  # the path stage takes
    done = [r.result() for r in results]
    failed = [f"{r.source}: {r.error}" for r in done if r.error]
    if failed:
        raise SystemExit(f"{len(failed)} updates failed: {failed[:3]}")
    items = sum(r.new for r in done)
    store.close()
    return seconds, items, db


def table_hashes(db: Path) -> dict[str, str]:
    """SHA-256 of every table's rows, in rowid (or key) order, ids included."""
    connection = sqlite3.connect(db)
    found = {}
    tables = [name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for table in tables:
        digest = hashlib.sha256()
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
        order = ", ".join(columns)
        for row in connection.execute(f"SELECT * FROM {table} ORDER BY {order}"):
            digest.update(repr(row).encode())
        found[table] = digest.hexdigest()[:16]
    connection.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--work-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "aggregator-replay")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a cProfile of one more replay here")
    parser.add_argument("--hash", action="store_true", help="print every table's digest")
    parser.add_argument("--group", type=int, default=None,
                        help="sources a transaction [default: Group.SOURCES]")
    parser.add_argument("--ahead", action="store_true",
                        help="the candidates read first, as a parse worker reads them")
    args = parser.parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    blobs = prepared_feeds(args.corpus, args.feeds, args.work_dir / "prepared.pickle")
    config = _config(args.feeds, args.work_dir)
    runs = []
    db = None
    for _ in range(args.repeat):
        if db is not None:
            _remove(db)
        seconds, items, db = replay(blobs, args.work_dir, config, group_size=args.group,
                                    ahead=args.ahead)
        runs.append(seconds / items * 1e6)
    print(f"{items} new items; CPU ms per 1,000 items: median {statistics.median(runs):.1f}"
          f" (runs {', '.join(f'{r:.1f}' for r in runs)})")
    if args.hash and db is not None:
        hashes = table_hashes(db)
        print(json.dumps(hashes, indent=1))
        print("all:", hashlib.sha256(json.dumps(hashes).encode()).hexdigest()[:16])
    if db is not None:
        _remove(db)
    if args.profile is not None:
        _remove(replay(blobs, args.work_dir, config, profile=args.profile,
                       group_size=args.group, ahead=args.ahead)[2])
        print(f"profile: {args.profile}", file=sys.stderr)


def _remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
