"""Retention under a steady inflow: does the database stay the same size? (issue 12)

    python -m bench.retention [--days 30] [--sources 3] [--items 100] [--retention 7d]
                              [--db URL] [--flat 1.1]

Simulates ``--days`` days. Each day, at a frozen clock (day 0 = the corpus's
``BASE_TIME``, one day later each day):

1. the bench's feed server (``bench/ingest/server.py``, one loopback host per source)
   is given that day's feeds: the same ``--sources`` outlets of the bench corpus, each
   listing ``--items`` new items (``corpus.generate(..., edition=day)``: other guids,
   links and wire stories every day, 15% syndicated copies as in the suite);
2. ``aggregator.update.update_sources`` fetches, parses, dedupes and stores them (the
   real pipeline; its clock, ``aggregator.update.utc_now``, is the simulated one);
3. what the service does daily: ``prune_index`` (the near-duplicate index window) and
   ``apply_retention`` (``settings.retention``: stories with no item stored or changed
   within it go, leaving tombstones);
4. on PostgreSQL, ``VACUUM`` of the schema's tables (``--no-vacuum`` to skip): what
   autovacuum does between two real days, and has no time to do in a compressed run;
5. the counts (items, stories, tombstones) and the bytes in use: on SQLite
   ``(page_count - freelist_count) x page_size`` (the pages a live store reuses; the
   file itself does not shrink), on PostgreSQL ``pg_total_relation_size`` (tables,
   indexes, TOAST) summed over the schema's tables.

On a shared PostgreSQL database the prune's advisory lock is database-wide: a day whose
pass found it held (by a prune in another schema) is marked busy (its tombstones then
expire the next day).

It prints the table day by day and whether the size is flat: max / min of the bytes in
use over the last half of the days <= ``--flat`` (1.1). ``--db`` is a SQLite file in a
temporary folder by default; a ``postgresql://`` URL gets a fresh schema of its own
(``bench/pg.py``), dropped at the end (``--keep`` keeps it). A record per run is appended
to ``bench/results/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from bench.ingest import corpus as corpus_mod
from bench.ingest.server import feed_url
from bench.ingest.suite import (
    RESULTS,
    ServerError,
    git_state,
    machine,
    serve_on_free_port,
    write_config,
)
from bench.pg import fresh_schema, is_postgres

DAY = timedelta(days=1)
COUNTED = ("item", "story", "tombstone")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.retention",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30, help="simulated days (30)")
    parser.add_argument("--sources", type=int, default=3, help="feeds (3)")
    parser.add_argument("--items", type=int, default=100,
                        help="new items per feed per day (100; at most 1000)")
    parser.add_argument("--retention", default="7d", help="settings.retention (7d)")
    parser.add_argument("--db", default=None,
                        help="database URL (default: SQLite in a temporary folder); "
                             "postgresql://... gets a fresh schema")
    parser.add_argument("--keep", action="store_true",
                        help="keep the PostgreSQL schema / the SQLite folder")
    parser.add_argument("--no-vacuum", action="store_true",
                        help="PostgreSQL: no VACUUM after the daily prune")
    parser.add_argument("--flat", type=float, default=1.1,
                        help="flat when max/min of the last half's bytes <= this (1.1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-save", action="store_true",
                        help="do not append to bench/results/results.jsonl")
    args = parser.parse_args(argv)
    if not 1 <= args.items <= 1000 or args.days < 2 or args.sources < 1:
        parser.error("--items must be 1..1000, --days >= 2, --sources >= 1")
    return args


# ---- measuring ------------------------------------------------------------------


def counts(store: Any) -> dict[str, int]:
    from sqlalchemy import text

    with store.engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in COUNTED}


def bytes_in_use(store: Any) -> int:
    """SQLite: the pages in use (a live store reuses freed pages); PostgreSQL: the
    schema's tables with their indexes and TOAST."""
    from sqlalchemy import text

    with store.engine.connect() as connection:
        if store.dialect == "sqlite":
            pages, free, size = (connection.execute(text(f"PRAGMA {p}")).scalar_one()
                                 for p in ("page_count", "freelist_count", "page_size"))
            return int((pages - free) * size)
        return int(connection.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'")).scalar_one())


def vacuum(store: Any) -> None:
    """VACUUM each table of the schema (not the whole database: other schemas live there)."""
    from sqlalchemy import text

    with store.engine.connect() as connection:
        tables = connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
        names = list(tables)
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name in names:
            connection.execute(text(f'VACUUM "{name}"'))


def flatness(values: list[int]) -> float:
    """max / min over the last half of the days."""
    tail = values[len(values) // 2:]
    return max(tail) / max(1, min(tail))


# ---- the run --------------------------------------------------------------------


@contextmanager
def database(args: argparse.Namespace, work: Path) -> Iterator[str]:
    if args.db and is_postgres(args.db):
        with fresh_schema(args.db, keep=args.keep, prefix="bench_retention") as url:
            yield url
    else:
        yield args.db or f"sqlite:///{work / 'retention.db'}"


@contextmanager
def day_server(folder: Path, log: Path, sources: int) -> Iterator[tuple[int, Any]]:
    """The feed server on ``folder``; yields its port and a function that makes it read
    the folder again (SIGHUP, then its ``RELOADED`` line)."""
    with serve_on_free_port(folder, log, hosts=sources) as (port, processes):

        def reload(process: Any = processes[0]) -> None:
            assert process.stdout is not None
            process.send_signal(signal.SIGHUP)
            if not process.stdout.readline().startswith("RELOADED"):
                raise ServerError(f"the feed server did not reload; see {log}")

        yield port, reload


def simulate(args: argparse.Namespace, work: Path, url: str) -> list[dict[str, Any]]:
    from aggregator import update
    from aggregator.config import load_config
    from aggregator.store import Store

    folder = work / "feeds"
    start = corpus_mod.BASE_TIME

    def edition(day: int) -> None:
        # the day's feeds, written where the server reads them
        corpus_mod.generate(folder, args.sources, args.items, args.seed, edition=day + 1,
                            base_time=start + day * DAY - timedelta(minutes=5))

    edition(0)
    rows: list[dict[str, Any]] = []
    with day_server(folder, work / "server.log", args.sources) as (port, reload):
        urls = [feed_url(i, port, args.sources) for i in range(args.sources)]
        config_path = work / "feeds.yaml"
        write_config(config_path, urls, argparse.Namespace(
            concurrency=16, hosts=args.sources, set=[f"retention={args.retention}"]))
        config = load_config(config_path)
        store = Store(url)
        try:
            store.sync_sources(config.sources, config.settings.poll_interval, start)
            for day in range(args.days):
                now = start + day * DAY
                if day:
                    edition(day)
                    reload()
                clock = time.perf_counter()
                with mock.patch.object(update, "utc_now", lambda now=now: now):
                    results = update.update_sources(store, config, now=now)
                ingest = time.perf_counter() - clock
                errors = [f"{r.source}: {r.error}" for r in results if r.error]
                clock = time.perf_counter()
                update.prune_index(store, now)
                indexed = time.perf_counter() - clock
                report = update.apply_retention(store, config, now)
                assert report is not None
                pruned = time.perf_counter() - clock - indexed
                if store.dialect == "postgresql" and not args.no_vacuum:
                    vacuum(store)
                row = {"day": day, **counts(store), "bytes": bytes_in_use(store),
                       "new": sum(r.new for r in results), "pruned_stories": report.stories,
                       "pruned_items": report.items,
                       "tombstones_expired": report.tombstones_expired,
                       "busy": report.busy,
                       "ingest_s": round(ingest, 2), "prune_index_s": round(indexed, 3),
                       "prune_s": round(pruned, 3),
                       "errors": errors[:3]}
                rows.append(row)
                print(line(row), flush=True)
        finally:
            store.close()
    return rows


HEADER = ("| day | new | items | stories | tombstones | MB in use | pruned stories (items) "
          "| ingest s | prune_index s | retention s |\n" + "|---:" * 10 + "|")


def line(row: dict[str, Any]) -> str:
    errors = f" errors: {row['errors']}" if row["errors"] else ""
    if row["busy"]:  # the advisory lock is database-wide: another schema's prune held it
        errors += " (prune lock busy: tombstones not expired)"
    return (f"| {row['day']} | {row['new']:,} | {row['item']:,} | {row['story']:,} "
            f"| {row['tombstone']:,} | {row['bytes'] / 1e6:.2f} "
            f"| {row['pruned_stories']:,} ({row['pruned_items']:,}) | {row['ingest_s']:.2f} "
            f"| {row['prune_index_s']:.3f} | {row['prune_s']:.3f} |{errors}")


def summary(args: argparse.Namespace, rows: list[dict[str, Any]]) -> dict[str, Any]:
    sizes = [r["bytes"] for r in rows]
    items = [r["item"] for r in rows]
    tail = rows[len(rows) // 2:]
    return {
        "days": args.days, "flat_from_day": tail[0]["day"],
        "bytes_ratio_last_half": round(flatness(sizes), 3),
        "items_ratio_last_half": round(flatness(items), 3),
        "mb_last_half": [round(min(sizes[len(sizes) // 2:]) / 1e6, 2),
                         round(max(sizes[len(sizes) // 2:]) / 1e6, 2)],
        "items_last_half": [min(items[len(items) // 2:]), max(items[len(items) // 2:])],
        "flat": flatness(sizes) <= args.flat,
        "median_retention_s": round(statistics.median(r["prune_s"] for r in tail), 3),
        "errors": sum(len(r["errors"]) for r in rows),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    info = {"machine": machine(), "git": git_state()}
    with ExitStack() as stack:
        if args.keep:
            work = Path(tempfile.mkdtemp(prefix="bench-retention-"))
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="bench-retention-")))
        url = stack.enter_context(database(args, work))
        kind = "postgresql" if is_postgres(url) else "sqlite"
        print(f"retention {args.retention}: {args.days} days x {args.sources} feeds x "
              f"{args.items} new items on {kind}; load {os.getloadavg()[0]:.2f}; "
              f"commit {info['git'].get('commit')}", flush=True)
        print(HEADER, flush=True)
        rows = simulate(args, work, url)
    result = summary(args, rows)
    verdict = "flat" if result["flat"] else "NOT flat"
    print(f"\nlast half (days {result['flat_from_day']}-{args.days - 1}): "
          f"{result['mb_last_half'][0]}-{result['mb_last_half'][1]} MB in use, "
          f"max/min {result['bytes_ratio_last_half']} ({verdict}, limit {args.flat}); "
          f"items {result['items_last_half'][0]:,}-{result['items_last_half'][1]:,}; "
          f"median retention {result['median_retention_s']} s; "
          f"load {' / '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{(datetime.now(UTC) - started).total_seconds():.0f} s", flush=True)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        record = {"run_id": f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}",
                  "time": started.isoformat(timespec="seconds"),
                  "scenario": f"retention: {args.days} simulated days", "database": kind,
                  "options": {k: v for k, v in vars(args).items() if k != "db"},
                  **result, "rows": rows,
                  "load_avg": [round(x, 2) for x in os.getloadavg()], **info}
        with (RESULTS / "results.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0 if result["flat"] and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
