"""Throughput of N `aggregator worker` processes on one PostgreSQL database (issue 12).

    python -m bench.workers [--workers 1,4] [--feeds 300] [--items 50] [--repeat 3]
                            [--db postgresql://postgres@127.0.0.1:5432/test]

For each repetition and each worker count: a fresh, empty schema (``bench/pg.py``);
the bench's feed server (``bench/ingest/server.py``) serving the bench corpus
(``--feeds`` x ``--items``, one loopback host per feed, as the suite does); a
``feeds.yaml`` with the suite's settings (``concurrency: 16``,
``allow_private_networks: true``); then N real ``aggregator worker --config feeds.yaml
--db URL`` processes started together. Every source is due at start, so the workers'
first tick shares them through the leases. Every 0.2 s the database is asked how many
items are stored and how many sources have been fetched; the run ends when every source
has been (a source's items are stored in the same transaction as its fetch time).

Figures per run: ``wall`` (from starting the processes to the last source stored:
start-up, schema creation and the first publish included), ``window`` (from the first
item stored to the last), items/s over each, and the CPU seconds (user + system) of all
the worker processes and their parse-pool children at the end; PostgreSQL's own CPU is
not counted. Medians over ``--repeat`` runs, and the ratio of N workers to the first
count. The machine's cores are shared by the workers, their parse pools, the feed server
and PostgreSQL: on 2 cores, CPU bounds what more workers can give, and so does the
stories lock (story assignment runs one worker at a time, docs/operations.md).
A record per run is appended to ``bench/results/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ingest import corpus as corpus_mod
from bench.ingest.server import feed_url
from bench.ingest.suite import (
    REPO,
    RESULTS,
    git_state,
    machine,
    serve_on_free_port,
    write_config,
)
from bench.pg import fresh_schema, is_postgres

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
POLL_SECONDS = 0.2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.workers",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,4", help="worker counts, in order (1,4)")
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--items", type=int, default=50, help="items per feed (50)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="settings.concurrency")
    parser.add_argument("--db", default=os.environ.get("AGGREGATOR_TEST_DATABASE_URL",
                                                      PG_DEFAULT),
                        help="PostgreSQL URL; each run gets a fresh schema in it")
    parser.add_argument("--timeout", type=float, default=900,
                        help="give up on a run after this many seconds")
    parser.add_argument("--corpus-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--log", type=Path, default=None,
                        help="append the workers' and the server's stderr here "
                             "(default: a temporary file, shown when a run fails)")
    args = parser.parse_args(argv)
    args.counts = [int(n) for n in args.workers.split(",")]
    if not is_postgres(args.db):
        parser.error("--db must be a postgresql:// URL (several workers need PostgreSQL)")
    if args.corpus_dir is None:
        args.corpus_dir = (Path(tempfile.gettempdir()) / "aggregator-bench" /
                           f"corpus-{args.feeds}x{args.items}-s{args.seed}")
    return args


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (and of the children it
    has reaped): /proc/PID/stat, /proc/PID/task/*/children, recursively."""
    ticks = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except (OSError, IndexError):
            continue
        ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        for task in tasks:
            with suppress(OSError, ValueError):
                stack += [int(c) for c in (task / "children").read_text().split()]
    return ticks / CLOCK_TICKS


def progress(engine: Any) -> tuple[int, int, int, int]:
    """(items stored, sources, sources fetched, sources whose fetch failed); zeros until a
    worker has created the schema."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as connection:  # one statement: one snapshot
            items, sources, fetched, failed = connection.execute(text(
                "SELECT (SELECT count(*) FROM item), count(*), count(last_fetched_at), "
                "count(*) FILTER (WHERE last_outcome IS NOT NULL AND last_outcome <> 'ok') "
                "FROM source")).one()
    except DBAPIError:  # no tables yet
        return 0, 0, 0, 0
    return int(items), int(sources), int(fetched), int(failed)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def one_run(args: argparse.Namespace, workers: int, config: Path, log: Path) -> dict[str, Any]:
    """N workers on a fresh schema until every source is stored."""
    from sqlalchemy import create_engine

    entry = Path(sys.executable).with_name("aggregator")
    command = ([str(entry)] if entry.exists() else [sys.executable, "-m", "aggregator"])
    with fresh_schema(args.db, prefix="bench_workers") as url:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        env = {**os.environ, "AGGREGATOR_LOG_FORMAT": "json"}
        processes: list[subprocess.Popen[bytes]] = []
        first = done = None
        items = sources = fetched = failed = 0
        cpu: float | None = None
        try:
            started = time.perf_counter()
            with log.open("ab") as out:
                processes = [subprocess.Popen(
                    [*command, "worker", "--config", str(config), "--db", url], cwd=REPO,
                    stdout=out, stderr=out, env=env) for _ in range(workers)]
            while time.perf_counter() - started < args.timeout:
                time.sleep(POLL_SECONDS)
                items, sources, fetched, failed = progress(engine)
                now = time.perf_counter()
                if first is None and items:
                    first = now
                if sources == args.feeds and fetched == sources:
                    done = now
                    break
                if any(p.poll() is not None for p in processes):
                    break  # a worker died: see the log
            cpu = sum(tree_cpu_seconds(p.pid) for p in processes)
        finally:
            stop(processes)
            engine.dispose()
    wall = None if done is None else done - started
    window = None if done is None or first is None else done - first
    return {"workers": workers, "items": items, "sources_fetched": fetched,
            "sources_failed": failed, "completed": done is not None,
            "wall_s": None if wall is None else round(wall, 2),
            "window_s": None if window is None else round(window, 2),
            "items_per_s": None if not wall else round(items / wall, 1),
            "items_per_s_window": None if not window else round(items / window, 1),
            "cpu_s": None if cpu is None else round(cpu, 1),
            "cpu_ms_per_item": None if cpu is None or not items else round(cpu / items * 1000, 2),
            "exit_codes": [p.returncode for p in processes],
            "load_avg": [round(x, 2) for x in os.getloadavg()]}


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r[key] is not None]
    return round(statistics.median(values), 2) if values else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = datetime.now(UTC)
    run_id = f"{began:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    info = {"machine": machine(), "git": git_state()}
    corpus = corpus_mod.generate(args.corpus_dir, args.feeds, args.items, args.seed)
    print(f"{args.feeds} feeds x {args.items} items ({corpus.total_items:,}), workers "
          f"{args.counts}, {args.repeat} repeats; {info['machine']['nproc']} cores, load "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}; commit "
          f"{info['git'].get('commit')}", flush=True)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        work = Path(tmp)
        log = args.log or work / "workers.log"
        with serve_on_free_port(args.corpus_dir, log, hosts=args.feeds) as (port, _):
            config = work / "feeds.yaml"
            write_config(config, [feed_url(i, port, args.feeds) for i in range(args.feeds)],
                         argparse.Namespace(concurrency=args.concurrency, hosts=args.feeds,
                                            set=[]))
            for repeat in range(args.repeat):
                for workers in args.counts:
                    result = one_run(args, workers, config, log)
                    runs.append({"repeat": repeat, **result})
                    print(f"  run {repeat + 1}, {workers} worker(s): {result['items']:,} items"
                          f" in {result['wall_s']} s ({result['items_per_s']} items/s; "
                          f"first item to last {result['window_s']} s, "
                          f"{result['items_per_s_window']} items/s), CPU {result['cpu_s']} s, "
                          f"failed sources {result['sources_failed']}, load "
                          f"{result['load_avg'][0]}", flush=True)
                    if not result["completed"]:
                        print(f"    not complete; the workers' log: {log}", flush=True)
                        print(log.read_text(errors="replace")[-3000:], flush=True)
    summary = []
    base: dict[str, Any] | None = None
    print("\n| workers | items/s (start to last item) | items/s (first to last item) "
          "| wall s | CPU s (workers + pools) | CPU ms per item | ratio to the first |\n"
          + "|---:" * 7 + "|")
    for workers in args.counts:
        mine = [r for r in runs if r["workers"] == workers]
        row = {"workers": workers, **{k: _median(mine, k) for k in (
            "items_per_s", "items_per_s_window", "wall_s", "window_s", "cpu_s",
            "cpu_ms_per_item")}}
        base = base or row
        ratio = (row["items_per_s"] / base["items_per_s"]
                 if row["items_per_s"] and base["items_per_s"] else None)
        ratio_window = (row["items_per_s_window"] / base["items_per_s_window"]
                        if row["items_per_s_window"] and base["items_per_s_window"] else None)
        row["ratio"] = None if ratio is None else round(ratio, 2)
        row["ratio_window"] = None if ratio_window is None else round(ratio_window, 2)
        summary.append(row)
        print(f"| {workers} | {row['items_per_s']} | {row['items_per_s_window']} "
              f"| {row['wall_s']} | {row['cpu_s']} | {row['cpu_ms_per_item']} | {row['ratio']}x "
              f"({row['ratio_window']}x first to last) |", flush=True)
    print(f"load {' / '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{(datetime.now(UTC) - began).total_seconds():.0f} s", flush=True)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        record = {"run_id": run_id, "time": began.isoformat(timespec="seconds"),
                  "scenario": "workers: N aggregator worker processes on PostgreSQL",
                  "corpus": corpus.describe(), "concurrency": args.concurrency,
                  "summary": summary, "runs": runs,
                  "load_avg": [round(x, 2) for x in os.getloadavg()], **info}
        with (RESULTS / "results.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0 if all(r["completed"] and not r["sources_failed"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
