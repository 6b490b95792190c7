"""One measurement, run in a process of its own: ``python -m bench.ingest.jobs SPEC_JSON``.

Each job does its work, then prints one line ``RESULT {json}`` with what it
measured and the peak resident memory of this process (VmHWM: the interpreter,
the imports and the work, as a user would see it in ``top``). The suite runs
every job in a fresh process so that one job's memory or caches never count for
another.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

Spec = dict[str, Any]


def memory_kb(field: str = "VmHWM") -> int:
    """A field of /proc/self/status in kB (VmHWM: peak resident set; VmRSS: current)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _children(pid: int) -> list[int]:
    """The processes under ``pid`` (its parse workers), recursively."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(OSError, ValueError):
            for child in (task / "children").read_text().split():
                found += [int(child), *_children(int(child))]
    return found


def distinct_resident_mb(pids: list[int]) -> float | None:
    """The physical pages resident in any of ``pids``, each counted once (MB): what
    they hold together. Summed RSS counts a page two processes share (the interpreter,
    numpy's and lxml's libraries) once per process; PSS splits it with every other
    process mapping it (the suite's own, the feed server). From /proc/PID/pagemap,
    whose frame numbers only root can read: None otherwise."""
    from array import array

    page = os.sysconf("SC_PAGE_SIZE")
    frames: set[int] = set()
    try:
        for pid in pids:
            with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
                for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
                    span, *rest = line.split()
                    if rest and rest[-1] == "[vsyscall]":
                        continue
                    low, high = (int(end, 16) for end in span.split("-"))
                    pagemap.seek(low // page * 8)
                    entries = array("Q")
                    entries.frombytes(pagemap.read((high - low) // page * 8))
                    frames.update(e & ((1 << 55) - 1) for e in entries if e >> 63)
    except (OSError, ValueError):
        return None
    if frames <= {0}:  # present pages, but their frames hidden (not root)
        return None
    return round(len(frames) * page / 2**20, 1)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (every thread)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load_bodies(corpus: str) -> list[tuple[bytes, dict[str, str]]]:
    manifest = json.loads((Path(corpus) / "manifest.json").read_text())
    return [((Path(corpus) / f["file"]).read_bytes(), {"content-type": f["content_type"]})
            for f in manifest["files"]]


# ---- feedparser alone ----------------------------------------------------------

_FP_OPTIONS = {
    "default": {},
    "no-sanitize": {"sanitize_html": False, "resolve_relative_uris": False},
}
_worker_bodies: list[tuple[bytes, dict[str, str]]] = []


def _fp_init(corpus: str) -> None:
    global _worker_bodies  # noqa: PLW0603 - one copy per pool worker
    _worker_bodies = _load_bodies(corpus)


def _fp_range(args: tuple[int, int, str]) -> int:
    import feedparser

    start, stop, options = args
    count = 0
    for body, headers in _worker_bodies[start:stop]:
        count += len(feedparser.parse(body, response_headers=headers,
                                      **_FP_OPTIONS[options]).entries)
    return count


def job_feedparser(spec: Spec) -> dict[str, Any]:
    """feedparser.parse on every file, from bytes already in memory."""
    import feedparser

    options = spec["options"]
    processes = spec.get("processes", 1)
    if processes == 1:
        bodies = _load_bodies(spec["corpus"])
        feedparser.parse(bodies[0][0], response_headers=bodies[0][1])  # warm imports
        started = time.perf_counter()
        entries = sum(len(feedparser.parse(b, response_headers=h, **_FP_OPTIONS[options])
                          .entries) for b, h in bodies)
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "items": entries, "items_per_s": entries / seconds}
    from concurrent.futures import ProcessPoolExecutor

    total = len(json.loads((Path(spec["corpus"]) / "manifest.json").read_text())["files"])
    step = 10  # small chunks, so both workers stay busy to the end
    chunks = [(s, min(s + step, total), options) for s in range(0, total, step)]
    with ProcessPoolExecutor(processes, initializer=_fp_init,
                             initargs=(spec["corpus"],)) as pool:
        list(pool.map(_fp_range, [(0, 1, options)] * processes * 2))  # start and load
        started = time.perf_counter()
        entries = sum(pool.map(_fp_range, chunks))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "items": entries, "items_per_s": entries / seconds}


# ---- httpx alone ---------------------------------------------------------------


async def _httpx_cycle(urls: list[str], concurrency: int, clients: int,
                       etags: dict[str, str] | None) -> tuple[float, Counter[int], int, float]:
    import httpx

    per_client = max(1, concurrency // clients)
    pools = [httpx.AsyncClient(limits=httpx.Limits(max_connections=per_client,
                                                   max_keepalive_connections=per_client),
                               timeout=30.0, trust_env=False) for _ in range(clients)]
    gate = asyncio.Semaphore(concurrency)
    statuses: Counter[int] = Counter()
    received = 0

    async def one(n: int, url: str) -> None:
        nonlocal received
        headers = {"Accept-Encoding": "gzip"}
        if etags is not None and url in etags:
            headers["If-None-Match"] = etags[url]
        async with gate:
            response = await pools[n % clients].get(url, headers=headers)
        statuses[response.status_code] += 1
        received += len(response.content)
        if etags is not None and "etag" in response.headers:
            etags[url] = response.headers["etag"]

    started, cpu_started = time.perf_counter(), cpu_seconds()
    await asyncio.gather(*(one(n, u) for n, u in enumerate(urls)))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    for pool in pools:
        await pool.aclose()
    return seconds, statuses, received, cpu


def job_httpx(spec: Spec) -> dict[str, Any]:
    """GET every feed with httpx alone: ``conditional`` sends the ETag of a first pass."""
    urls = spec["urls"]
    concurrency, clients = spec["concurrency"], spec.get("clients", 1)
    etags: dict[str, str] | None = None
    if spec["conditional"]:
        etags = {}
        asyncio.run(_httpx_cycle(urls, concurrency, clients, etags))  # learn the validators
    runs = [asyncio.run(_httpx_cycle(urls, concurrency, clients, etags))
            for _ in range(spec.get("repeat", 1))]
    times = [r[0] for r in runs]
    seconds = statistics.median(times)
    return {"seconds": seconds, "all_seconds": times, "requests": len(urls),
            "requests_per_s": len(urls) / seconds,
            "cpu_seconds": statistics.median(r[3] for r in runs),
            "statuses": {str(k): v for k, v in runs[-1][1].items()},
            "mb_received": round(runs[-1][2] / 1e6, 1)}


# ---- our pipeline --------------------------------------------------------------


def _our_config(spec: Spec) -> Any:
    from aggregator.config import load_config

    return load_config(spec["config"])


def _pipeline() -> tuple[Any, Any]:
    """update_sources and utc_now, wherever the tree being measured keeps them."""
    try:
        from aggregator.clock import utc_now
        from aggregator.update import update_sources
    except ImportError:  # trees before the stage packages (issue 9)
        from aggregator.core import update_sources  # type: ignore[no-redef]
        from aggregator.normalize import utc_now  # type: ignore[no-redef]
    return update_sources, utc_now


def job_ours(spec: Spec) -> dict[str, Any]:
    """Our pipeline through its public API: Store, sync_sources, update_sources."""
    import logging

    from aggregator.store import Store
    from aggregator.types import Outcome

    update_sources, utc_now = _pipeline()

    logging.basicConfig(level=logging.WARNING)
    config = _our_config(spec)
    rss_before = memory_kb("VmRSS")
    started = time.perf_counter()
    store = Store(spec["db"])
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    setup = time.perf_counter() - started
    times, cpu, outcomes, new, updated, errors = [], [], Counter(), 0, 0, []
    progress: list[tuple[float, int]] = []  # (seconds since start, new items) per source
    for _ in range(spec.get("repeat", 1)):
        progress.clear()
        started, cpu_started = time.perf_counter(), cpu_seconds()

        def done(result: Any, started: float = started) -> None:
            progress.append((time.perf_counter() - started, result.new))

        results = update_sources(store, config, on_result=done)
        times.append(time.perf_counter() - started)
        cpu.append(cpu_seconds() - cpu_started)
        outcomes = Counter(str(r.outcome.value) for r in results)
        new += sum(r.new for r in results)
        updated += sum(r.updated for r in results)
        errors = [f"{r.source}: {r.error}" for r in results if r.outcome is Outcome.ERROR]
    # the end of the run is where the main process peaks: its pages and its workers'
    distinct = distinct_resident_mb([os.getpid(), *_children(os.getpid())])
    store.close()
    workers_cpu = _workers_cpu()
    seconds = statistics.median(times)
    try:  # what the pipeline counted (who read the candidates, merges): trees that count
        from aggregator.metrics import METRICS
        counts = dict(METRICS.counts)
    except ImportError:
        counts = {}
    return {"seconds": seconds, "all_seconds": times, "setup_seconds": setup,
            "items": new, "updated_items": updated, "items_per_s": new / seconds if new else None,
            "cpu_seconds": statistics.median(cpu),
            "cpu_per_wall": statistics.median(c / t for c, t in zip(cpu, times, strict=True)),
            "outcomes": dict(outcomes), "errors": len(errors), "first_errors": errors[:3],
            "rss_before_mb": rss_before / 1024, "items_per_s_by_tenth": _by_tenth(progress),
            "distinct_end_mb": distinct, "counts": counts,
            "workers_cpu_seconds": workers_cpu}


def _workers_cpu() -> float | None:
    """CPU seconds of the parse workers over the whole job (all runs): they are ended
    here, so that their time counts among this process's children."""
    import resource

    try:
        from aggregator.ingest.pool import _shutdown_pools
    except ImportError:  # trees before the pool of our own
        return None
    _shutdown_pools()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _by_tenth(progress: list[tuple[float, int]]) -> list[float] | None:
    """items/s over each tenth of the sources, in the order they were stored: a rate that
    falls from the first tenth to the last says a source costs more as the store grows."""
    if len(progress) < 10 or not sum(n for _, n in progress):
        return None
    rates, previous = [], 0.0
    for tenth in range(10):
        chunk = progress[len(progress) * tenth // 10: len(progress) * (tenth + 1) // 10]
        end = chunk[-1][0]
        rates.append(round(sum(n for _, n in chunk) / max(end - previous, 1e-9), 1))
        previous = end
    return rates


def job_stages(spec: Spec) -> dict[str, Any]:
    """Our parse and normalize stages alone, in one thread, on bytes in memory.

    No profiler is running, so the shares are not skewed; the store's share is what is
    left of the cold ingest.
    """
    from aggregator.ingest.normalize import normalize_entry
    from aggregator.ingest.parse import parse_feed

    bodies = _load_bodies(spec["corpus"])[:spec.get("feeds")]
    urls = spec["urls"][:len(bodies)]
    now = datetime.now(UTC)
    started = time.perf_counter()
    parsed = [parse_feed(body, headers) for body, headers in bodies]
    parse_seconds = time.perf_counter() - started
    entries = sum(len(p.entries) for p in parsed)
    started = time.perf_counter()
    normalized = []
    for feed, url in zip(parsed, urls, strict=True):
        normalized.append([i for i in (normalize_entry(e, url, now) for e in feed.entries)
                           if i is not None])
    normalize_seconds = time.perf_counter() - started
    items = sum(len(n) for n in normalized)
    del parsed
    sqlite_seconds = _sqlite_floor(normalized, Path(spec["scratch"]))
    return {"parse_seconds": parse_seconds, "normalize_seconds": normalize_seconds,
            "entries": entries, "items": items,
            "parse_items_per_s": entries / parse_seconds,
            "normalize_items_per_s": items / normalize_seconds,
            "sqlite_floor_seconds": sqlite_seconds,
            "sqlite_floor_items_per_s": items / sqlite_seconds}


def _sqlite_floor(feeds: list[list[Any]], scratch: Path) -> float:
    """The same items written with the sqlite3 module alone: one transaction and one
    executemany per feed, a unique (source, guid) index and a url index, WAL and
    synchronous=NORMAL as our store sets them. A floor for what storing can cost."""
    import sqlite3

    path = scratch / "floor.sqlite"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, source_id INT, guid TEXT, url TEXT, "
               "canonical_url TEXT, title TEXT, author TEXT, content_html TEXT, "
               "summary_text TEXT, categories TEXT, published_at TEXT, updated_at TEXT, "
               "content_hash TEXT)")
    db.execute("CREATE UNIQUE INDEX item_source_guid ON item (source_id, guid)")
    db.execute("CREATE INDEX item_url ON item (canonical_url)")

    def row(source: int, i: Any) -> tuple[Any, ...]:
        published = getattr(i, "published_at", None)
        updated = getattr(i, "updated_at", None)
        return (source, i.guid, getattr(i, "url", None), getattr(i, "canonical_url", None),
                getattr(i, "title", None), getattr(i, "author", None),
                getattr(i, "content_html", None), getattr(i, "summary_text", None),
                "\n".join(getattr(i, "categories", ()) or ()),
                published.isoformat() if published else None,
                updated.isoformat() if updated else None, getattr(i, "content_hash", None))

    started = time.perf_counter()
    for source, items in enumerate(feeds):
        db.execute("BEGIN")
        db.executemany("INSERT OR IGNORE INTO item (source_id, guid, url, canonical_url, title, "
                       "author, content_html, summary_text, categories, published_at, "
                       "updated_at, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                       [row(source, i) for i in items])
        db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return seconds


def _package_of(filename: str, function: str) -> str:
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/aggregator/"):
        if marker in path:
            rest = path.split(marker, 1)[1]
            top = rest.split("/", 1)[0].removesuffix(".py")
            if marker == "/aggregator/":
                return "aggregator." + rest.removesuffix(".py").replace("/", ".")
            return top
    if filename == "~":  # a C function: name it by its module when cProfile shows one
        if _is_wait(filename, function):
            return "waiting"
        for word, name in (("nh3", "nh3 (Rust)"), ("sqlite3", "sqlite3 (C)"),
                           ("zlib", "zlib (C)"), ("pyexpat", "expat (C)"),
                           ("xmlparser", "expat (C)"), ("re.Pattern", "re (C)"),
                           ("_sre", "re (C)"), ("hashlib", "hashlib (C)"),
                           ("of 'str' objects", "str methods (C)"),
                           ("of 'dict' objects", "dict methods (C)"),
                           ("of 'list' objects", "list methods (C)"),
                           ("isinstance", "isinstance/getattr/hasattr (C)"),
                           ("getattr", "isinstance/getattr/hasattr (C)"),
                           ("hasattr", "isinstance/getattr/hasattr (C)"),
                           ("_ssl", "ssl (C)"), ("socket", "socket calls (C)")):
            if word in function:
                return name
        return "other builtins (C)"
    if "/lib/python3" in path:
        rest = path.split("/lib/python3", 1)[1].split("/", 1)
        module = rest[1] if len(rest) > 1 else path
        return "stdlib " + module.split("/", 1)[0].removesuffix(".py")
    return path


def _busy(stats: Any) -> float:
    """Self time in a profile, less the time spent waiting."""
    return float(sum(v[2] for (f, _l, fn), v in stats.stats.items() if not _is_wait(f, fn)))


def _is_wait(filename: str, function: str) -> bool:
    """A C call that blocks: the event loop's poll, a queue or lock wait, a sleep."""
    return filename == "~" and any(
        word in function for word in ("poll' of 'select", "select.select", "SimpleQueue",
                                      "acquire' of '_thread", "time.sleep"))


def _profiled(call: Callable[[], Any]) -> tuple[Any, float, Any, Counter[str]]:
    """Run ``call`` under cProfile in every thread it starts; the stats merged, and the
    busy (non-waiting) self time of each thread."""
    import cProfile
    import pstats
    import threading

    profiles: list[tuple[str, cProfile.Profile]] = []
    lock = threading.Lock()

    def start_in_thread(*_args: object) -> None:  # the first event of each new thread
        profile = cProfile.Profile()
        with lock:
            profiles.append((threading.current_thread().name, profile))
        profile.enable()

    main = cProfile.Profile()
    threading.setprofile(start_in_thread)
    started = time.perf_counter()
    main.enable()
    result = call()
    main.disable()
    seconds = time.perf_counter() - started
    threading.setprofile(None)  # type: ignore[arg-type]
    for _name, profile in profiles:
        profile.disable()
    stats = pstats.Stats(main)
    threads: Counter[str] = Counter()
    threads["MainThread (event loop, httpx)"] = _busy(pstats.Stats(main))
    for name, profile in profiles:
        with suppress(TypeError):  # a thread that never ran anything
            stats.add(profile)
            threads[name.rsplit("_", 1)[0]] += _busy(pstats.Stats(profile))
    return result, seconds, stats, threads


_CUMULATIVE = {"parse_feed", "normalize_entry", "apply", "stored_hashes", "sanitize_html",
               "html_to_text", "canonical_url", "unique_items", "decide", "fetch", "parse",
               "claim_sources", "clean", "commit", "flush", "execute", "apply_batch",
               "assign", "fingerprint", "render_atom", "_process", "process"}


def _summary(title: str, seconds: float, stats: Any,
             threads: Counter[str]) -> tuple[str, dict[str, Any]]:
    import io

    by_package: Counter[str] = Counter()
    cumulative: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, tottime, cumtime, _callers) in \
            stats.stats.items():
        package = _package_of(filename, function)
        if package != "waiting":
            by_package[package] += tottime
        label = function if filename == "~" else f"{Path(filename).stem}.{function}"
        if function in _CUMULATIVE:
            cumulative[label] = max(cumulative.get(label, 0.0), cumtime)
    total = sum(by_package.values()) or 1.0
    text = io.StringIO()
    stats.stream = text
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(50)
    top = sorted(cumulative.items(), key=lambda kv: -kv[1])[:20]
    report = (f"==== {title}: {seconds:.1f} s wall under cProfile\n\n"
              "busy time by thread (waits excluded):\n"
              + "".join(f"  {t:8.2f} s  {n}\n" for n, t in threads.most_common())
              + "\nself time by package (all threads, waits excluded):\n"
              + "".join(f"  {t:8.2f} s {100 * t / total:5.1f}%  {p}\n"
                        for p, t in by_package.most_common(25))
              + "\ncumulative time of our stages and their big callees:\n"
              + "".join(f"  {t:8.2f} s  {n}\n" for n, t in top)
              + "\n" + text.getvalue())
    return report, {"seconds": seconds,
                    "busy_by_thread": {n: round(t, 3) for n, t in threads.most_common()},
                    "self_by_package": {p: round(t, 3) for p, t in by_package.most_common(20)},
                    "self_total": round(total, 3),
                    "cumulative": {n: round(t, 3) for n, t in top}}


def job_profile(spec: Spec) -> dict[str, Any]:
    """The cold ingest, then one warm cycle (304s), under cProfile in every thread (the
    event loop's and the ingest thread).

    cProfile makes small Python calls dearer than they are (feedparser's SAX callbacks,
    SQLAlchemy's layers), so shares are indicative; ``job_stages`` gives unskewed ones.
    """
    from aggregator.store import Store

    update_sources, utc_now = _pipeline()

    config = _our_config(spec)
    store = Store(spec["db"])
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    results, seconds, stats, threads = _profiled(lambda: update_sources(store, config))
    items = sum(r.new for r in results)
    cold_report, cold = _summary(f"cold ingest of {len(results)} feeds, {items} items",
                                 seconds, stats, threads)
    results, seconds, stats, threads = _profiled(lambda: update_sources(store, config))
    warm_report, warm = _summary(f"warm cycle of {len(results)} feeds (304)", seconds, stats,
                                 threads)
    store.close()
    Path(spec["report"]).write_text(cold_report + "\n\n" + warm_report)
    return {**cold, "items": items, "warm": warm}


# ---- reader (lemon24/reader) ---------------------------------------------------


def job_reader(spec: Spec) -> dict[str, Any]:
    """reader's public API: make_reader, add_feed, update_feeds(workers=...)."""
    from reader import make_reader

    reader = make_reader(spec["db"])
    setup_started = time.perf_counter()
    if spec["phase"] == "cold":
        for url in spec["urls"]:
            reader.add_feed(url, exist_ok=True)
    setup = time.perf_counter() - setup_started
    before = reader.get_entry_counts().total
    times, cpu = [], []
    for _ in range(spec.get("repeat", 1)):
        started, cpu_started = time.perf_counter(), cpu_seconds()
        # scheduled=False: every feed, whatever its update interval says (a full cycle)
        reader.update_feeds(workers=spec["workers"], scheduled=False)
        times.append(time.perf_counter() - started)
        cpu.append(cpu_seconds() - cpu_started)
    after = reader.get_entry_counts().total
    errors = sum(1 for f in reader.get_feeds() if f.last_exception is not None)
    reader.close()
    seconds = statistics.median(times)
    new = after - before
    return {"seconds": seconds, "all_seconds": times, "setup_seconds": setup, "items": new,
            "items_per_s": new / seconds if new else None, "errors": errors,
            "cpu_seconds": statistics.median(cpu),
            "cpu_per_wall": statistics.median(c / t for c, t in zip(cpu, times, strict=True)),
            "total_entries": after}


# ---- publishing ----------------------------------------------------------------


def job_render(spec: Spec) -> dict[str, Any]:
    """render_output of one output (100 stories) from a store filled by a cold ingest."""
    import inspect

    try:  # where publishing lives has moved once already; take it where it is
        from aggregator.site import render_output
    except ImportError:
        from aggregator.publish import render_output  # type: ignore[attr-defined,no-redef]
    from aggregator.store import Store

    config = _our_config(spec)
    output = config.output(spec["output"])
    assert output is not None
    store = Store(spec["db"])
    now = datetime.now(UTC)
    takes_now = "now" in inspect.signature(render_output).parameters

    def render() -> Any:
        if takes_now:
            return render_output(store, config, output, now)
        return render_output(store, config, output)  # type: ignore[call-arg]

    feed = render()  # first call: imports, caches
    times = []
    for _ in range(spec.get("repeat", 20)):
        started = time.perf_counter()
        feed = render()
        times.append(time.perf_counter() - started)
    stories = feed.body.count(b"<entry>") + feed.body.count(b"<entry ")
    store.close()
    return {"ms": 1000 * statistics.median(times), "min_ms": 1000 * min(times),
            "stories": stories, "bytes": len(feed.body)}


def job_web_load(spec: Spec) -> dict[str, Any]:
    """A bounded httpx load loop against the web app (used when wrk is not installed)."""
    import httpx

    async def run() -> tuple[int, float]:
        deadline = time.perf_counter() + spec["seconds"]
        count = 0
        headers = spec.get("headers", {})

        async def worker() -> None:
            nonlocal count
            async with httpx.AsyncClient(trust_env=False) as client:
                while time.perf_counter() < deadline:
                    response = await client.get(spec["url"], headers=headers)
                    assert response.status_code in (200, 304)
                    count += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(spec.get("connections", 8))))
        return count, time.perf_counter() - started

    count, seconds = asyncio.run(run())
    return {"requests": count, "seconds": seconds, "requests_per_s": count / seconds}


# ---- the command line, as a user runs it ---------------------------------------


def _aggregator_command() -> list[str]:
    """The installed entry point next to this interpreter, else ``python -m aggregator``."""
    entry = Path(sys.executable).with_name("aggregator")
    return [str(entry)] if entry.exists() else [sys.executable, "-m", "aggregator"]


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _stored_counts(url: str) -> dict[str, int]:
    """Rows that a cycle must not change: items, stories, band keys, the last item id."""
    import sqlite3

    db = sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)
    try:
        return {"items": db.execute("SELECT count(*) FROM item").fetchone()[0],
                "stories": db.execute("SELECT count(*) FROM story").fetchone()[0],
                "bands": sum(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                             for (table,) in db.execute(
                                 "SELECT name FROM sqlite_master WHERE type = 'table'"
                                 " AND name IN ('item_band', 'item_band_recent')")),
                "last_item_id": db.execute("SELECT max(id) FROM item").fetchone()[0] or 0}
    finally:
        db.close()


def job_cli(spec: Spec) -> dict[str, Any]:
    """``aggregator ARGS...`` as a subprocess, stdout and stderr piped (not a terminal):
    the wall clock of the whole process, start-up included, median of ``repeat`` runs.

    With ``db``, the rows a warm cycle must not change are counted before and after."""
    import resource
    import subprocess

    command = [*_aggregator_command(), *spec["args"]]
    before = _stored_counts(spec["db"]) if spec.get("db") else None
    times, cpu, codes, last, failures = [], [], [], "", []
    for _ in range(spec.get("repeat", 5)):
        started = time.perf_counter()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=False,
                              timeout=spec.get("timeout", 600))
        times.append(time.perf_counter() - started)
        # the CPU time of the process (and of its parse workers, which it waited for):
        # on a shared machine a steadier figure than the wall clock
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime)
        codes.append(done.returncode)
        lines = (done.stdout + done.stderr).strip().splitlines()
        last = lines[-1] if lines else ""
        if done.returncode:
            failures.append(" / ".join(lines[-3:])[-400:])
    succeeded = [t for t, code in zip(times, codes, strict=True) if code == 0]
    result: dict[str, Any] = {
        # the median of the runs that exited 0 (a failing run is no cycle)
        "seconds": statistics.median(succeeded or times), "all_seconds": times,
        "cpu_seconds": statistics.median(cpu), "all_cpu_seconds": cpu,
        "exit_codes": codes, "last_line": last[-300:], "first_errors": failures[:3],
        # the largest of the child processes (the fetch process itself; its parse workers
        # are its children, not ours)
        "process_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                                 / 1024, 1)}
    if before is not None:
        after = _stored_counts(spec["db"])
        result.update(stored_before=before, stored_after=after, stored_changed=before != after)
    if any(codes):
        result["errors"] = sum(1 for c in codes if c)
    return result


# ---- the size of the database --------------------------------------------------


def _checkpointed(source: Path, target: Path) -> dict[str, Any]:
    """Copy a SQLite database (and its WAL) to ``target``, fold the WAL into it, and
    measure it: the file, its pages in use, and the bytes of each table by dbstat."""
    import shutil

    on_disk = 0
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(source) + suffix)
        Path(str(target) + suffix).unlink(missing_ok=True)
        if src.exists():
            if suffix != "-shm":
                on_disk += src.stat().st_size
            shutil.copyfile(src, str(target) + suffix)
    return _measure(target, on_disk)


def _measure(path: Path, on_disk: int | None = None) -> dict[str, Any]:
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        tables: dict[str, int] = {}
        with suppress(sqlite3.DatabaseError):  # dbstat is a compile-time option
            for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name "
                                         "ORDER BY 2 DESC LIMIT 12"):
                tables[name] = int(size)
    finally:
        db.close()
    return {"bytes": pages * page_size, "used_bytes": (pages - free) * page_size,
            "free_bytes": free * page_size, "page_size": page_size,
            "bytes_on_disk_before_checkpoint": on_disk, "by_table": tables}


def job_db_size(spec: Spec) -> dict[str, Any]:
    """Bytes per item of our store after a cold ingest, (a) as it is and (b) once the
    near-duplicate index is pruned as a long-running store prunes it; and reader's bytes
    per entry on the same corpus. Measured on copies: the stores are not touched."""
    import sqlite3

    from aggregator.store import Store

    scratch = Path(spec["scratch"])
    copy = scratch / "size-ours.sqlite"
    ours = _checkpointed(_sqlite_path(spec["db"]), copy)
    counts = _stored_counts(f"sqlite:///{copy}")
    ours["items"] = counts["items"]
    ours["bytes_per_item"] = ours["bytes"] / max(counts["items"], 1)
    before = datetime.now(UTC) + timedelta(days=365)  # later than every item of the corpus
    store = Store(f"sqlite:///{copy}")
    started = time.perf_counter()
    dropped = store.prune_index(before)
    prune_seconds = time.perf_counter() - started
    store.close()
    pruned = _measure(copy)
    pruned.update(items=_stored_counts(f"sqlite:///{copy}")["items"], fingerprints_dropped=dropped,
                  prune_seconds=prune_seconds)
    # a long-running store reuses the freed pages rather than growing: count pages in use
    pruned["bytes_per_item"] = pruned["used_bytes"] / max(pruned["items"], 1)
    result: dict[str, Any] = {"ours": ours, "ours_pruned": pruned}
    for name in ("ours", "ours_pruned"):
        result[name]["mb"] = round(result[name]["bytes"] / 1e6, 2)
    if spec.get("reader_db"):
        reader_path = Path(spec["reader_db"])
        reader = _checkpointed(reader_path, scratch / "size-reader.sqlite")
        db = sqlite3.connect(scratch / "size-reader.sqlite")
        try:
            reader["items"] = db.execute("SELECT count(*) FROM entries").fetchone()[0]
        finally:
            db.close()
        search = Path(str(reader_path) + ".search")
        reader["search_bytes"] = search.stat().st_size if search.exists() else 0
        reader["search_counted"] = False
        if search.exists():
            db = sqlite3.connect(f"file:{search}?mode=ro", uri=True)
            try:
                tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            finally:
                db.close()
            if tables:  # not empty: the search index is part of reader's store
                reader["search_counted"] = True
                reader["bytes"] += reader["search_bytes"]
        reader["bytes_per_item"] = reader["bytes"] / max(reader["items"], 1)
        result["reader"] = reader
    return result


# ---- a store that already holds a history --------------------------------------

_SQL_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy keeps a naive UTC datetime in SQLite


def job_fill(spec: Spec) -> dict[str, Any]:
    """Write ``count`` filler items straight into a new store, as a long-running store
    holds them: a few sources of their own, one story per item with its exact key, and
    the item's band keys. Dates spread over the ``spread_days`` before ``center`` (the
    corpus's newest dates: the store's "now"), so some fall in the matching window of new
    items.

    Texts are random words (a pool of a few hundred reused); each item gets band keys of
    its own (random 64-bit values, as many as its text's fingerprint has), so fillers are
    no candidates of the corpus's items, as unrelated stories are not, but they fill the
    band index: in ``item_band``, as a store holds them once merged (the recent table
    empty, its filter built). Items with band rows have their print too (``item_print``).
    ``index``: "window" keeps the band rows a store keeps,
    those of the items seen within the matching window and the prune margin before ``center``
    (`aggregator fetch` and `run` drop older ones: ``update.prune_index``); "all" keeps
    every item's, as a store would whose million items all arrived within one window.
    The band rows are inserted at the end, sorted, so a million items fill in minutes,
    not hours."""
    import hashlib
    import random
    import sqlite3
    import uuid

    import numpy as np

    from aggregator.packing import pack_text
    from aggregator.store import Store
    from aggregator.store.keys import key_hash
    from aggregator.stories.similarity import WINDOW, fingerprint
    from aggregator.update import PRUNE_MARGIN

    try:  # trees before item_print (migration 0017) keep no prints
        from aggregator.stories.fingerprints import pack
    except ImportError:
        pack = None
    from bench.ingest.corpus import EN_WORDS, RU_WORDS

    count, sources = spec["count"], spec.get("sources", 10)
    rng = random.Random(spec.get("seed", 7))
    nprng = np.random.default_rng(spec.get("seed", 7))
    started = time.perf_counter()
    Store(spec["db"]).close()  # the schema, as the product creates it
    pool = []
    for n in range(min(count, spec.get("pool", 400))):
        words = RU_WORDS if n % 2 else EN_WORDS
        title = " ".join(rng.choice(words) for _ in range(rng.randint(5, 11))).capitalize()
        paragraphs = [" ".join(rng.choice(words) for _ in range(rng.randint(30, 90))) + "."
                      for _ in range(rng.randint(1, 5))]
        fp = fingerprint(title, "\n\n".join(paragraphs))
        if fp is not None:
            html = "".join(f"<p>{p}</p>" for p in paragraphs)
            pool.append((title, pack_text(html), pack_text(paragraphs[0][:300]),
                         len(dict.fromkeys(fp.bands)), fp))
    center = datetime.fromisoformat(spec["center"])
    spread = spec.get("spread_days", 30) * 86400
    index = spec.get("index", "window")
    if index not in ("window", "all"):
        raise ValueError(f"index: 'window' or 'all', not {index!r}")
    kept_from = int((center - WINDOW - PRUNE_MARGIN).timestamp()) if index == "window" \
        else -2**63
    db = sqlite3.connect(_sqlite_path(spec["db"]), isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")  # no WAL: each page written once, in place
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")  # 256 MB: the random story keys insert faster
    db.execute("BEGIN")
    now_text = datetime.now(UTC).strftime(_SQL_TIME)
    db.executemany(
        "INSERT INTO source (id, name, url, tags, poll_interval_seconds, fixed_interval, "
        "active, stopped, error_count, created_at, next_fetch_at) "
        "VALUES (?, ?, ?, '', 1800, 0, 0, 0, 0, ?, ?)",
        [(s + 1, f"filler-{s:03d}", f"http://filler-{s:03d}.invalid/feed.xml", now_text,
          now_text) for s in range(sources)])
    band_keys, band_items, band_seen = [], [], []  # numpy arrays, one per chunk
    prints: list[tuple[int, int, bytes]] = []
    prints_written = 0
    chunk = 5000
    for start in range(0, count, chunk):
        stories, items, keys, chunk_items = [], [], [], []
        ids = range(start + 1, min(start + chunk, count) + 1)
        offsets = nprng.uniform(-spread, 0, size=len(ids))
        for item_id, offset in zip(ids, offsets, strict=True):
            title, packed_html, packed_summary, band_count, fp = pool[item_id % len(pool)]
            when = center + timedelta(seconds=float(offset))
            published = when.replace(tzinfo=None).strftime(_SQL_TIME)
            seen_text = (when + timedelta(minutes=rng.randint(1, 90))).replace(
                tzinfo=None).strftime(_SQL_TIME)
            seen = int(when.timestamp())
            source = item_id % sources + 1
            url = f"https://filler-{source - 1:03d}.example.com/news/{item_id}-story"
            stories.append((item_id, f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}",
                            item_id, published, seen_text, seen_text))
            content_hash = hashlib.sha256(f"{item_id}{title}".encode()).hexdigest()
            items.append((item_id, source, item_id, f"{url}#guid", url + "?utm_source=rss", url,
                          title, packed_html, packed_summary, "World", published,
                          seen_text, seen_text, content_hash))
            keys.append((key_hash(url), item_id))
            if seen >= kept_from:
                chunk_items.append((item_id, seen, band_count))
                if pack is not None and (data := pack(fp, content_hash)) is not None:
                    prints.append((item_id, seen, data))
        db.executemany("INSERT INTO story (id, uid, representative_item_id, "
                       "representative_is_original, published_at, first_seen_at, updated_at) "
                       "VALUES (?, ?, ?, 0, ?, ?, ?)", stories)
        db.executemany("INSERT INTO item (id, source_id, story_id, guid, url, canonical_url, "
                       "title, content_html, summary_text, categories, published_at, "
                       "first_seen_at, last_changed_at, content_hash, cites, join_reason) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', "
                       "'new story: filler')", items)
        db.executemany("INSERT INTO story_key (key_hash, story_id) VALUES (?, ?)", keys)
        if prints:  # the window's items' prints, as the store writes them with the items
            db.executemany("INSERT INTO item_print (item_id, seen, data) VALUES (?, ?, ?)",
                           prints)
            prints_written += len(prints)
            prints.clear()
        counts = [n for _, _, n in chunk_items]
        band_keys.append(nprng.integers(-2**63, 2**63 - 1, size=sum(counts), dtype=np.int64))
        band_items.append(np.repeat([i for i, _, _ in chunk_items], counts).astype(np.int64))
        band_seen.append(np.repeat([t for _, t, _ in chunk_items], counts).astype(np.int64))
    band = np.concatenate(band_keys) if band_keys else np.zeros(0, dtype=np.int64)
    item = np.concatenate(band_items) if band_items else np.zeros(0, dtype=np.int64)
    seen_at = np.concatenate(band_seen) if band_seen else np.zeros(0, dtype=np.int64)
    del band_keys, band_items, band_seen
    order = np.lexsort((item, band))  # the index's key order: each page written once
    band, item, seen_at = band[order], item[order], seen_at[order]
    del order
    step = 1_000_000
    for at in range(0, len(band), step):
        db.executemany("INSERT INTO item_band (band, item_id, seen) VALUES (?, ?, ?)",
                       zip(band[at:at + step].tolist(), item[at:at + step].tolist(),
                           seen_at[at:at + step].tolist(), strict=True))
    bands_written = len(band)
    with suppress(ImportError):  # trees before the filter: none
        from aggregator.store import bandfilter

        bandfilter.rebuild(db, "item_band")  # as the store's merges keep it
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")  # as the store keeps it
    db.close()
    seconds = time.perf_counter() - started
    size = _sqlite_path(spec["db"]).stat().st_size
    return {"seconds": seconds, "filler_items": count, "filler_sources": sources,
            "index": index, "filler_bands": bands_written, "filler_prints": prints_written,
            "fingerprint_pool": len(pool),
            "filled_mb": round(size / 1e6, 1)}


def job_big_feed(spec: Spec) -> dict[str, Any]:
    """prepare_feed on one document of ``entries`` entries (issue 11 §7): what a huge feed
    costs in time and in memory per byte of body, with the entry cap in force."""
    from aggregator.ingest.prepare import prepare_feed

    count = int(spec.get("entries", 100_000))
    items = "".join(f"<item><title>Entry {i} of a very long feed</title>"
                    f"<link>https://big.example/{i}</link><guid>https://big.example/{i}</guid>"
                    f"<pubDate>Tue, 24 Nov 2026 09:00:00 GMT</pubDate><description>Text of "
                    f"entry {i}, a sentence or two long, as feeds of this kind have."
                    f"</description></item>" for i in range(count))
    body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Big</title><link>https://big.example/</link><description>d"
            f"</description>{items}</channel></rss>").encode()
    before = memory_kb("VmRSS")
    started = time.perf_counter()
    prepared = prepare_feed(body, {}, "https://big.example/feed", datetime.now(UTC))
    seconds = time.perf_counter() - started
    grown_kb = memory_kb("VmHWM") - before
    return {"seconds": seconds, "entries": count, "items": len(prepared.items),
            "body_bytes": len(body), "grown_mb": round(grown_kb / 1024, 1),
            "rss_per_body_byte": round(grown_kb * 1024 / len(body), 2)}


JOBS: dict[str, Callable[[Spec], dict[str, Any]]] = {
    "feedparser": job_feedparser, "httpx": job_httpx, "ours": job_ours, "stages": job_stages,
    "profile": job_profile, "reader": job_reader, "render": job_render,
    "web_load": job_web_load, "cli": job_cli, "db_size": job_db_size, "fill": job_fill,
    "big_feed": job_big_feed,
}


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = JOBS[spec["job"]](spec)
    result["peak_mb"] = round(memory_kb("VmHWM") / 1024, 1)
    result["pid"] = os.getpid()
    print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
