"""The ingest and publishing benchmark suite: ``python -m bench`` (or ``make bench``).

Order of a run (each measurement in a fresh process, see jobs.py):

1. corpus: N feeds x M items, generated once and cached (corpus.py);
2. baselines without a network: feedparser alone (default options, one core), the
   same without its sanitizer and relative-URI pass, the same on two processes, and
   our own parse and normalize stages alone;
3. for each latency (0 and 50 ms): the feed server (server.py) honouring validators:
   its capacity (wrk), httpx alone, our cold ingest, our warm cycle (304s), reader's
   cold ingest and warm cycle; then the server ignoring validators: the warm cycle
   with 200s and unchanged bodies, ours and reader's;
4. our warm cycle against a server that closes every connection (no keep-alive);
5. publishing: render_output of 100 stories, and the web app under wrk;
6. optionally (--profile) the cold ingest under cProfile, written to bench/results/.

Every scenario prints one line and appends one JSON record to the results file; the
run ends with a table of figures and ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ingest import corpus as corpus_mod
from bench.ingest.server import feed_url

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
JOB_TIMEOUT = 3600.0


# ---- the machine ---------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = None
    with suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem_gb = round(mem_kb / 1024 / 1024, 1)
    return {
        "nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "mem_gb": mem_gb,
        "python": platform.python_version(), "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "shared_machine": True,
    }


def git_state() -> dict[str, Any]:
    """The commit measured, and whether the work tree had uncommitted changes under aggregator/."""
    def git(*command: str) -> str:
        done = subprocess.run(["git", *command], cwd=REPO, capture_output=True, text=True,
                              timeout=30, check=False)
        return done.stdout.strip()

    with suppress(OSError, subprocess.SubprocessError):
        return {"commit": git("rev-parse", "--short", "HEAD"),
                "aggregator_dirty": bool(git("status", "--porcelain", "--", "aggregator"))}
    return {}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("aggregator", "feedparser", "httpx", "httpcore", "sqlalchemy", "nh3", "reader",
                 "uvicorn", "starlette"):
        with suppress(PackageNotFoundError):
            out[name] = version(name)
    wrk = shutil.which("wrk")
    if wrk:
        with suppress(OSError, subprocess.SubprocessError):
            text = subprocess.run([wrk, "--version"], capture_output=True, text=True,
                                  timeout=10, check=False)
            out["wrk"] = (text.stdout + text.stderr).split()[1]
    return out


# ---- running things ------------------------------------------------------------


@dataclass
class Run:
    """What one run of the suite collects."""

    args: argparse.Namespace
    run_id: str
    machine: dict[str, Any]
    corpus: dict[str, Any]
    settings: dict[str, Any]
    log: Path
    records: list[dict[str, Any]] = field(default_factory=list)

    def record(self, scenario: str, latency_ms: int | None, result: dict[str, Any],
               line: str) -> dict[str, Any]:
        rec = {"run_id": self.run_id, "time": datetime.now(UTC).isoformat(timespec="seconds"),
               "scenario": scenario, "latency_ms": latency_ms, **result,
               "load_avg": [round(x, 2) for x in os.getloadavg()],
               "machine": self.machine, "corpus": self.corpus, "settings": self.settings}
        self.records.append(rec)
        print(line, flush=True)
        if not self.args.no_save:
            self.args.results.parent.mkdir(parents=True, exist_ok=True)
            with self.args.results.open("a", encoding="utf-8") as out:
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        return rec

    def get(self, scenario: str, latency_ms: int | None = None) -> dict[str, Any] | None:
        for rec in self.records:
            if rec["scenario"] == scenario and rec["latency_ms"] == latency_ms:
                return rec
        return None


def _process_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB: smaps_rollup, else statm (PSS then = RSS)."""
    try:
        rss = pss = 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
        return rss, pss
    except (OSError, ValueError, IndexError):
        resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        kb = resident * (os.sysconf("SC_PAGE_SIZE") // 1024)
        return kb, kb


def _tree_kb(pid: int) -> tuple[int, int, int]:
    """Summed RSS and PSS (kB) of a process and all its descendants (its parse workers,
    their forkserver), and how many processes: /proc/PID/task/*/children, recursively.
    RSS counts pages shared between them (a forkserver's children share its imports)
    once per process; PSS divides them among the processes that share them."""
    rss = pss = count = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            one_rss, one_pss = _process_kb(current)
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        rss, pss, count = rss + one_rss, pss + one_pss, count + 1
        for task in tasks:
            with suppress(OSError, ValueError):
                stack += [int(c) for c in (task / "children").read_text().split()]
    return rss, pss, count


class TreeMemory:
    """Samples, from a thread of the suite (not of the job: it takes none of the job's
    GIL), the summed resident memory of a job's process tree every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.peak_kb = self.peak_pss_kb = self.peak_processes = self.most_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            rss, pss, processes = _tree_kb(self.pid)
            self.samples += 1
            self.most_processes = max(self.most_processes, processes)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            if rss > self.peak_kb:
                self.peak_kb, self.peak_processes = rss, processes
            self._stop.wait(self.interval)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        return {"peak_all_mb": round(self.peak_kb / 1024, 1),
                "peak_all_pss_mb": round(self.peak_pss_kb / 1024, 1),
                "peak_all_processes": self.peak_processes,
                "most_processes": self.most_processes, "memory_samples": self.samples}


def run_job(run: Run, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one job in a fresh process; its RESULT line, or {"failed": reason}.

    Besides the job's own VmHWM (``peak_mb``), ``peak_all_mb`` is the peak of the summed
    resident memory of the job and every process under it, sampled every 50 ms."""
    with run.log.open("a") as log:
        shown = {k: v for k, v in spec.items() if k != "urls"}
        log.write(f"\n=== {spec['job']} {json.dumps(shown)}\n")
        log.flush()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.ingest.jobs", json.dumps(spec)], cwd=REPO,
            stdout=subprocess.PIPE, stderr=log, text=True, env=job_env())
        watch = TreeMemory(process.pid)
        try:
            stdout, _ = process.communicate(timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            watch.stop()
            return {"failed": f"timed out after {JOB_TIMEOUT:.0f} s"}
        memory = watch.stop()
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT "):])
            result.update(memory)
            return result
    tail = run.log.read_text(errors="replace").strip().splitlines()[-3:]
    return {"failed": f"exit {process.returncode}: " + " / ".join(tail)[-400:]}


def job_env() -> dict[str, str]:
    """The environment of a job: this tree first on ``PYTHONPATH``, so that the job's
    parse workers (started with ``python -P``, which leaves the working directory off
    ``sys.path``) run the code under test too, not the tree the venv installed (a
    worktree's run otherwise measured its own main process with another tree's worker)."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerError(RuntimeError):
    pass


@contextmanager
def serve_corpus(corpus_dir: Path, port: int, log: Path, *, hosts: int, latency_ms: int = 0,
                 validators: bool = True, keepalive: bool = True,
                 procs: int = 1) -> Iterator[list[subprocess.Popen[str]]]:
    """Start the feed server's processes on ``corpus_dir`` (stderr to ``log``); stop them
    (by pid) on exit. Yields the processes (stdout piped: ``READY`` already read)."""
    command = [sys.executable, "-m", "bench.ingest.server", str(corpus_dir), "--port",
               str(port), "--hosts", str(hosts), "--latency", str(latency_ms / 1000)]
    if not validators:
        command.append("--no-validators")
    if not keepalive:
        command.append("--no-keepalive")
    if procs > 1:
        command.append("--reuse-port")
    processes: list[subprocess.Popen[str]] = []
    try:
        with log.open("a") as out:
            for _ in range(procs):
                processes.append(subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                                  stderr=out, text=True))
        for process in processes:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], 120)
            line = process.stdout.readline() if ready else ""
            if not line.startswith("READY"):
                raise ServerError(f"the feed server did not start (port {port}); see {log}")
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def feed_server(run: Run, port: int, *, latency_ms: int, validators: bool = True,
                keepalive: bool = True) -> Iterator[None]:
    """The suite's feed server on its corpus (``serve_corpus``)."""
    args = run.args
    with serve_corpus(args.corpus_dir, port, run.log, hosts=args.hosts, latency_ms=latency_ms,
                      validators=validators, keepalive=keepalive, procs=args.server_procs):
        yield


@contextmanager
def serve_on_free_port(corpus_dir: Path, log: Path, *, hosts: int
                       ) -> Iterator[tuple[int, list[subprocess.Popen[str]]]]:
    """``serve_corpus`` on a port free on every loopback address it uses (tried a few
    times); yields the port and the server's processes."""
    for _ in range(10):
        port = free_port()
        try:
            server = serve_corpus(corpus_dir, port, log, hosts=hosts)
            processes = server.__enter__()
        except ServerError:
            continue
        try:
            yield port, processes
        except BaseException:
            if not server.__exit__(*sys.exc_info()):
                raise
        else:
            server.__exit__(None, None, None)
        return
    raise ServerError("no free port for the feed server")


def start_feed_server_port(run: Run) -> int:
    """A port free on every loopback address we serve from (tried a few times)."""
    for _ in range(10):
        port = free_port()
        try:
            with feed_server(run, port, latency_ms=0):
                return port
        except ServerError:
            continue
    raise ServerError("no free port for the feed server")


def wrk(url: str, seconds: float, connections: int, *, headers: dict[str, str] | None = None,
        script: Path | None = None, threads: int = 1) -> dict[str, Any]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True,
                          timeout=seconds + 60, check=False)
    text = done.stdout
    rate = re.search(r"Requests/sec:\s*([\d.]+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", text)
    p99_ms = None
    if p99:
        p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    if rate is None:
        return {"failed": (text + done.stderr)[-300:]}
    return {"requests_per_s": float(rate.group(1)), "p99_ms": p99_ms,
            "socket_errors": errors.group(1) if errors else None,
            "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0, "tool": "wrk"}


WRK_ROTATE = """
-- every request asks for another feed, as a polling cycle does
counter = 0
request = function()
  counter = counter + 1
  local path = string.format("/feeds/%04d.xml", counter % FEEDS)
  return wrk.format("GET", path, HEADERS)
end
"""


def wrk_script(work: Path, feeds: int, headers: dict[str, str], name: str) -> Path:
    lua_headers = "{" + ", ".join(f'["{k}"]="{v}"' for k, v in headers.items()) + "}"
    path = work / f"{name}.lua"
    path.write_text(WRK_ROTATE.replace("FEEDS", str(feeds)).replace("HEADERS", lua_headers))
    return path


# ---- configuration for our pipeline --------------------------------------------


def write_config(path: Path, urls: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """feeds.yaml for our pipeline; settings only where aggregator.config knows them."""
    from aggregator.config import Settings

    fields = Settings.model_fields
    settings: dict[str, Any] = {"concurrency": args.concurrency}
    if "allow_private_networks" in fields:  # the server is on loopback addresses
        settings["allow_private_networks"] = True
    if "per_host_concurrency" in fields and args.hosts < len(urls):
        # several feeds share a host here only because loopback has few of them
        settings["per_host_concurrency"] = args.concurrency
    for item in args.set:  # --set KEY=VALUE, e.g. parse_workers=2
        key, _, value = item.partition("=")
        if key not in fields:
            raise SystemExit(f"--set {item}: aggregator.config.Settings has no field {key!r}")
        try:
            settings[key] = json.loads(value)
        except ValueError:  # a bare string such as 2h
            settings[key] = value
    lines = ["# written by bench/ingest/suite.py", "settings:"]
    lines += [f"  {k}: {json.dumps(v)}" for k, v in settings.items()]
    lines += ["outputs:", "  - name: all", "    title: All stories", "    limit: 100",
              "sources:"]
    for n, url in enumerate(urls):
        lines += [f"  - name: f{n:05d}", f"    url: {url}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return settings


# ---- formatting ----------------------------------------------------------------


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _secs(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _peak(result: dict[str, Any]) -> str:
    """The job's own VmHWM; with the sum over its process tree when it had children."""
    main = _num(result.get("peak_mb"), 0)
    if (result.get("peak_all_processes") or 0) > 1:
        return f"{main} (all {result['peak_all_processes']} processes: {_num(_peak_all(result))})"
    return main


def _peak_all(result: dict[str, Any]) -> float | None:
    """Peak of every process of a job together: the 50 ms samples of the tree's summed
    RSS, never below the main process's own exact peak (a sample can miss a spike)."""
    values = [v for v in (result.get("peak_all_mb"), result.get("peak_mb")) if v is not None]
    return max(values) if values else None


def _failed(result: dict[str, Any]) -> str | None:
    return result.get("failed")


def line_items(name: str, latency: int | None, result: dict[str, Any]) -> str:
    lat = f"{latency} ms" if latency is not None else "-"
    if _failed(result):
        return f"{name:<52} {lat:>6}  FAILED: {result['failed']}"
    extra = f"  errors {result['errors']}" if result.get("errors") else ""
    tenths = result.get("items_per_s_by_tenth")
    if tenths:
        extra += f"  (first tenth of sources {tenths[0]:,.0f}, last {tenths[-1]:,.0f} items/s)"
    if result.get("workers_cpu_seconds") is not None and result.get("cpu_seconds"):
        extra += (f"  CPU: main {result['cpu_seconds']:.1f} s, parse workers "
                  f"{result['workers_cpu_seconds']:.1f} s")
    return (f"{name:<52} {lat:>6}  {_num(result.get('items'))} items in "
            f"{_secs(result.get('seconds'))}  = {_num(result.get('items_per_s'))} items/s"
            f"  peak {_peak(result)} MB{extra}")


def line_cycle(name: str, latency: int | None, result: dict[str, Any]) -> str:
    lat = f"{latency} ms" if latency is not None else "-"
    if _failed(result):
        return f"{name:<52} {lat:>6}  FAILED: {result['failed']}"
    detail = result.get("outcomes") or result.get("statuses") or ""
    extra = f"  errors {result['errors']}" if result.get("errors") else ""
    runs = result.get("all_seconds") or []
    spread = (f" (runs: {', '.join(f'{t:.2f}' for t in runs)})" if len(runs) > 1 else "")
    return (f"{name:<52} {lat:>6}  {_secs(result.get('seconds'))}{spread}  "
            f"peak {_peak(result)} MB  {json.dumps(detail)}{extra}")


def line_rate(name: str, latency: int | None, result: dict[str, Any]) -> str:
    lat = f"{latency} ms" if latency is not None else "-"
    if _failed(result):
        return f"{name:<52} {lat:>6}  FAILED: {result['failed']}"
    p99 = f"  p99 {result['p99_ms']:.1f} ms" if result.get("p99_ms") is not None else ""
    return f"{name:<52} {lat:>6}  {_num(result.get('requests_per_s'))} requests/s{p99}"


# ---- the suite -----------------------------------------------------------------


def ingest_scenarios(run: Run, port: int, work: Path, urls: list[str], config: Path) -> None:
    args = run.args
    have_reader = args.reader and _importable("reader")
    if args.reader and not have_reader:
        print("reader is not installed: its baseline is skipped "
              "(.venv/bin/pip install -e '.[bench]')", flush=True)
    have_wrk = shutil.which("wrk") is not None
    reader_db_path = str(work / f"reader-{args.latencies[0]}.sqlite")
    our_db = {lat: f"sqlite:///{work / f'ours-{lat}.sqlite'}" for lat in args.latencies}
    cold_snapshot = f"sqlite:///{work / 'ours-cold-snapshot.sqlite'}"
    repeat = args.repeat
    for lat in args.latencies:
        with feed_server(run, port, latency_ms=lat):
            if lat == 0 and have_wrk:
                gz = wrk_script(work, len(urls), {"Accept-Encoding": "gzip"}, "rotate-200")
                cap = wrk(f"http://127.0.0.1:{port}/", args.wrk_seconds, args.concurrency,
                          script=gz)
                run.record("server capacity: 200 gzip, keep-alive (wrk)", lat, cap,
                           line_rate("server capacity: 200 gzip, keep-alive (wrk)", lat, cap))
                nm = wrk_script(work, len(urls), {"If-Modified-Since":
                                                  "Fri, 01 Jan 2100 00:00:00 GMT"}, "rotate-304")
                cap = wrk(f"http://127.0.0.1:{port}/", args.wrk_seconds, args.concurrency,
                          script=nm)
                run.record("server capacity: 304, keep-alive (wrk)", lat, cap,
                           line_rate("server capacity: 304, keep-alive (wrk)", lat, cap))
                # a new connection for every request, as a cycle over many hosts makes
                nc = wrk_script(work, len(urls), {"Accept-Encoding": "gzip",
                                                  "Connection": "close"}, "rotate-close")
                name = "server capacity: 200 gzip, new connection each (wrk)"
                cap = wrk(f"http://127.0.0.1:{port}/", args.wrk_seconds, args.concurrency,
                          script=nc)
                run.record(name, lat, cap, line_rate(name, lat, cap))
            base = {"job": "httpx", "urls": urls, "concurrency": args.concurrency}
            first_cold = run.get("ours: cold ingest", args.latencies[0])
            if lat == args.latencies[0]:
                cold_rounds(run, work, urls, config, ours_db=our_db[lat],
                            reader_db=reader_db_path if have_reader else None,
                            cold_snapshot=cold_snapshot)
            elif first_cold is not None and (first_cold.get("failed") or first_cold.get("skipped")
                                             or first_cold["seconds"] > args.cold_budget):
                # The warm cycles below need a filled store, not this latency's cold run.
                copy_sqlite(our_db[args.latencies[0]], our_db[lat])
                why = (f"the cold ingest at {args.latencies[0]} ms took more than "
                       f"--cold-budget {args.cold_budget:g} s; the warm cycles use a copy of "
                       "its store")
                run.record("ours: cold ingest", lat, {"skipped": why},
                           f"{'ours: cold ingest':<52} {lat:>3} ms  skipped: {why}")
            else:
                res = run_job(run, {"job": "ours", "config": str(config), "db": our_db[lat]})
                run.record("ours: cold ingest", lat, res,
                           line_items("ours: cold ingest", lat, res))
            # httpx alone right before the cycle it is the yardstick of: this machine's
            # speed drifts within minutes (a target's 0.95x became 1.47x when httpx ran
            # ten minutes before us, behind the cold rounds)
            res = run_job(run, {**base, "conditional": True, "clients": 4, "repeat": repeat})
            run.record("httpx alone: all 304 (4 clients)", lat, res,
                       line_cycle("httpx alone: all 304 (4 clients)", lat, res))
            # httpx alone (1 client) and our cycle, the target's two sides, in --rounds
            # interleaved rounds: the ratio is the median of the rounds' (httpx alone's
            # cycle moved 0.93-1.63 s between jobs minutes apart, ours 1.1-1.5 s)
            cycles: dict[str, list[dict[str, Any]]] = {HTTPX_304: [], OURS_304: []}
            for _ in range(args.rounds):
                cycles[HTTPX_304].append(run_job(run, {**base, "conditional": True,
                                                       "clients": 1, "repeat": repeat}))
                cycles[OURS_304].append(run_job(run, {"job": "ours", "config": str(config),
                                                      "db": our_db[lat], "repeat": repeat}))
            for name, results in cycles.items():
                res = merge_rounds(results, key="seconds")
                run.record(name, lat, res, line_cycle(name, lat, res)
                           + _rounds_text(res, key="seconds"))
            cli_fetch(run, config, our_db[lat], work, lat)
            if have_reader:
                if lat != args.latencies[0] and args.reader_every_latency:
                    db = str(work / f"reader-{lat}.sqlite")
                    res = run_job(run, {"job": "reader", "db": db, "urls": urls,
                                        "phase": "cold", "workers": args.concurrency})
                    run.record("reader: cold ingest", lat, res,
                               line_items("reader: cold ingest", lat, res))
                res = run_job(run, {"job": "reader", "db": reader_db_path, "urls": urls,
                                    "phase": "warm", "workers": args.concurrency,
                                    "repeat": repeat})
                run.record("reader: warm cycle, 304", lat, res,
                           line_cycle("reader: warm cycle, 304", lat, res))
            if lat == args.latencies[0]:
                publishing(run, work, config, our_db[lat], have_wrk)
        with feed_server(run, port, latency_ms=lat, validators=False):
            # (httpx sends no validators: every answer is a 200 whatever the server does)
            res = run_job(run, {"job": "httpx", "urls": urls, "concurrency": args.concurrency,
                                "conditional": False, "clients": 1})
            run.record("httpx alone: all 200 (1 client)", lat, res,
                       line_cycle("httpx alone: all 200 (1 client)", lat, res))
            res = run_job(run, {"job": "ours", "config": str(config), "db": our_db[lat],
                                "repeat": repeat})
            run.record("ours: warm cycle, validators ignored (200)", lat, res,
                       line_cycle("ours: warm cycle, validators ignored (200)", lat, res))
            if have_reader and (lat == args.latencies[0] or args.reader_every_latency):
                res = run_job(run, {"job": "reader", "db": reader_db_path, "urls": urls,
                                    "phase": "warm", "workers": args.concurrency,
                                    "repeat": 1})
                run.record("reader: warm cycle, validators ignored (200)", lat, res,
                           line_cycle("reader: warm cycle, validators ignored (200)", lat, res))
    if 0 in args.latencies:
        with feed_server(run, port, latency_ms=0, keepalive=False):
            res = run_job(run, {"job": "ours", "config": str(config), "db": our_db[0],
                                "repeat": repeat})
            run.record("ours: warm cycle, 304, no keep-alive", 0, res,
                       line_cycle("ours: warm cycle, 304, no keep-alive", 0, res))


def _remove_sqlite(path: Path) -> None:
    """A database and the files beside it (SQLite's, reader's search index)."""
    for suffix in ("", "-wal", "-shm", ".search", ".search-wal", ".search-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def merge_rounds(results: list[dict[str, Any]], key: str = "items_per_s") -> dict[str, Any]:
    """One record for the rounds of a job: the round of the median ``key`` (items/s, or
    a cycle's seconds; the lower of the two middle ones) whole (its time, CPU,
    progress), each round's in ``round_<key>`` (None: failed), and the highest peak
    memory of the rounds. Failed if every round failed."""
    done = [r for r in results if not _failed(r) and r.get(key)]
    if not done:
        return results[0]
    median = sorted(done, key=lambda r: r[key])[(len(done) - 1) // 2]
    merged = {**median, "rounds": len(results),
              f"round_{key}": [None if _failed(r) else r.get(key) for r in results]}
    for peak in ("peak_mb", "peak_all_mb", "peak_all_pss_mb", "distinct_end_mb"):
        values = [r[peak] for r in done if r.get(peak) is not None]
        if values:
            merged[peak] = max(values)
    return merged


def _rounds_text(result: dict[str, Any], key: str = "items_per_s") -> str:
    values = result.get(f"round_{key}") or []
    if len(values) < 2:
        return ""
    if key == "seconds":
        return "  (rounds: " + ", ".join(_secs(v) for v in values) + ")"
    return "  (rounds: " + ", ".join(_num(v) for v in values) + " items/s)"


def paired_ratio(mine: dict[str, Any] | None, theirs: dict[str, Any] | None,
                 key: str = "items_per_s") -> float | None:
    """The median of the ratios of two jobs' ``key`` round by round (interleaved rounds:
    each pair ran minutes apart, so a drift of the machine's speed cancels), or None when
    they have no rounds in common."""
    a = (mine or {}).get(f"round_{key}") or []
    b = (theirs or {}).get(f"round_{key}") or []
    ratios = [x / y for x, y in zip(a, b, strict=False) if x and y]
    return statistics.median(ratios) if len(a) == len(b) and ratios else None


def _rounds_ratio(mine: dict[str, Any] | None, theirs: dict[str, Any] | None,
                  key: str = "items_per_s") -> float | None:
    """``key`` of ``mine`` / of ``theirs``: round by round where both have rounds."""
    paired = paired_ratio(mine, theirs, key)
    if paired is not None:
        return paired
    return _ratio((mine or {}).get(key), (theirs or {}).get(key))


def cold_rounds(run: Run, work: Path, urls: list[str], config: Path, *, ours_db: str,
                reader_db: str | None, cold_snapshot: str) -> None:
    """The cold ingests the targets compare, in ``--rounds`` interleaved rounds of
    reader's, feedparser alone's (default options) and ours, each into a new store; one
    record each (``merge_rounds``). The first round's stores are kept: the warm cycles
    and the database sizes use them."""
    args = run.args
    lat = args.latencies[0]
    jobs = {"reader: cold ingest": lat, "feedparser alone, default options": None,
            "ours: cold ingest": lat}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in jobs}
    for n in range(args.rounds):
        if reader_db is not None:
            db = Path(reader_db) if n == 0 else work / "reader-round.sqlite"
            results["reader: cold ingest"].append(run_job(run, {
                "job": "reader", "db": str(db), "urls": urls, "phase": "cold",
                "workers": args.concurrency}))
            if n:
                _remove_sqlite(db)
        results["feedparser alone, default options"].append(run_job(run, {
            "job": "feedparser", "corpus": str(args.corpus_dir), "options": "default",
            "processes": 1}))
        ours = ours_db if n == 0 else f"sqlite:///{work / 'ours-round.sqlite'}"
        res = run_job(run, {"job": "ours", "config": str(config), "db": ours})
        results["ours: cold ingest"].append(res)
        if n == 0 and not _failed(res):
            copy_sqlite(ours_db, cold_snapshot)  # for its size, measured below
        if n:
            _remove_sqlite(Path(ours.removeprefix("sqlite:///")))
        if args.rounds > 1:
            print(f"  cold round {n + 1}/{args.rounds}: " + ", ".join(
                f"{name.split(':')[0].split(',')[0]} {_num(found[-1].get('items_per_s'))}"
                for name, found in results.items() if found), flush=True)
    for name, latency in jobs.items():
        if results[name]:
            merged = merge_rounds(results[name])
            run.record(name, latency, merged,
                       line_items(name, latency, merged) + _rounds_text(merged))
    reader = run.get("reader: cold ingest", lat)
    database_size(run, work, cold_snapshot,
                  reader_db if reader_db is not None and _ok(reader) else None)


FETCH_PROCESS = "ours: `aggregator fetch` process, warm cycle, 304"
HTTPX_304 = "httpx alone: all 304 (1 client)"
OURS_304 = "ours: warm cycle, 304"


def cli_fetch(run: Run, config: Path, db: str, work: Path, lat: int) -> None:
    """The whole `aggregator fetch` process, start-up included, on a copy of the filled
    store while every feed answers 304: what a cron job costs."""
    copy = f"sqlite:///{work / f'ours-{lat}-cli.sqlite'}"
    if not Path(db.removeprefix("sqlite:///")).exists():
        res: dict[str, Any] = {"failed": "no store from a cold ingest"}
    else:
        copy_sqlite(db, copy)
        res = run_job(run, {"job": "cli", "args": ["fetch", "--config", str(config), "--db", copy],
                            "db": copy, "repeat": run.args.repeat})
        if not _failed(res) and res.get("stored_changed"):
            res["errors"] = (res.get("errors") or 0) + 1
            res["first_errors"] = [f"the 304 cycle changed the store: {res['stored_before']} -> "
                                   f"{res['stored_after']}"]
    line = line_cycle(FETCH_PROCESS, lat, res)
    if not _failed(res):
        cpu = f"cpu {res['cpu_seconds']:.2f} s; " if res.get("cpu_seconds") is not None else ""
        line += f"  {cpu}exit {res['exit_codes']}; {res['last_line']!r}"
    run.record(FETCH_PROCESS, lat, res, line)


def cli_startup(run: Run, config: Path) -> None:
    """`aggregator --version`, `--help` and `check`: the wall clock of each process."""
    for name, command in (("cli: aggregator --version", ["--version"]),
                          ("cli: aggregator --help", ["--help"]),
                          ("cli: aggregator check", ["check", "--config", str(config)])):
        res = run_job(run, {"job": "cli", "args": command, "repeat": 5})
        run.record(name, None, res, line_cycle(name, None, res))


DB_SIZE = "database: bytes per item"


def database_size(run: Run, work: Path, ours: str, reader_db: str | None) -> None:
    """Our store right after its cold ingest (and once its index is pruned) against
    reader's after its cold ingest, on the same corpus."""
    if not Path(ours.removeprefix("sqlite:///")).exists():
        res: dict[str, Any] = {"failed": "no store from a cold ingest"}
    else:
        res = run_job(run, {"job": "db_size", "db": ours, "reader_db": reader_db,
                            "scratch": str(work)})
    if _failed(res):
        line = f"{DB_SIZE:<52} {'-':>6}  FAILED: {res['failed']}"
    else:
        parts = [f"ours {_num(res['ours']['bytes_per_item'])} B/item "
                 f"({res['ours']['bytes'] / 1e6:.1f} MB, {res['ours']['items']} items)",
                 f"pruned index {_num(res['ours_pruned']['bytes_per_item'])} B/item in use"]
        if res.get("reader"):
            parts.append(f"reader {_num(res['reader']['bytes_per_item'])} B/entry "
                         f"({res['reader']['bytes'] / 1e6:.1f} MB)")
        line = f"{DB_SIZE:<52} {'-':>6}  " + "; ".join(parts)
    run.record(DB_SIZE, None, res, line)
    for name in ("size-ours.sqlite", "size-reader.sqlite"):  # measured; not needed any more
        _remove_sqlite(work / name)


def grown_name(items: int, index: str = "window") -> str:
    if index == "all":
        return f"ours: cold ingest, store holding {items:,} items, all in the window"
    return f"ours: cold ingest, store holding {items:,} items"


#: the filled store's bytes per filler item (3,306 measured at 100,000 items with every
#: band row kept), rounded up
GROWN_BYTES_PER_ITEM = 3_600


def growth(run: Run, port: int, work: Path, config: Path) -> None:
    """The cold ingest of the corpus into stores that already hold a history of
    ``--grow`` items (written directly, not fetched): is a new item's cost flat? Each
    store's band index holds what a store keeps (the window's rows); for the counts of
    ``--grow-all-in-window``, also a store whose every item is within the window."""
    args = run.args
    stores = [(count, "window") for count in args.grow]
    stores += [(count, "all") for count in args.grow_all_in_window]
    with feed_server(run, port, latency_ms=0):
        for count, index in stores:
            name = f"grown-{count}{'-all' if index == 'all' else ''}.sqlite"
            db = f"sqlite:///{work / name}"
            # the filled store, a copy of it for each round, the ingest, the WAL
            need = 2 * count * GROWN_BYTES_PER_ITEM + 1_000_000_000
            free = shutil.disk_usage(work).free
            if free < need:
                fill = {"failed": f"{free / 1e9:.1f} GB free in {work}, {need / 1e9:.1f} needed"}
            else:
                fill = run_job(run, {"job": "fill", "db": db, "count": count, "index": index,
                                     "center": corpus_mod.BASE_TIME.isoformat(),
                                     "spread_days": 30})
            if _failed(fill):
                res: dict[str, Any] = {"failed": "filling the store: " + fill["failed"]}
            else:
                res = grown_rounds(run, work, config, work / name)
                res["fill"] = fill
            line = line_items(grown_name(count, index), 0, res) + _rounds_text(res)
            if not _failed(res):
                line += (f"  (filled in {fill['seconds']:.1f} s, {fill['filled_mb']:.0f} MB, "
                         f"{fill['filler_bands']:,} band rows; empty store right before "
                         f"each: {', '.join(_num(r) for r in res['empty_round_items_per_s'])}"
                         " items/s)")
            run.record(grown_name(count, index), 0, res, line)
            if not args.work_dir:
                _remove_sqlite(work / name)


def grown_rounds(run: Run, work: Path, config: Path, filled: Path) -> dict[str, Any]:
    """``--grow-rounds`` rounds of our cold ingest into a new empty store, then into a copy
    of the ``filled`` one: the grown store's record (``merge_rounds``), with the empty
    store's items/s of each round in ``empty_round_items_per_s``."""
    empty, grown = [], []
    for _ in range(run.args.grow_rounds):
        scratch = work / "empty-round.sqlite"
        empty.append(run_job(run, {"job": "ours", "config": str(config),
                                   "db": f"sqlite:///{scratch}"}))
        _remove_sqlite(scratch)
        copy = work / f"{filled.stem}-round.sqlite"
        copy_sqlite(f"sqlite:///{filled}", f"sqlite:///{copy}")
        grown.append(run_job(run, {"job": "ours", "config": str(config),
                                   "db": f"sqlite:///{copy}"}))
        _remove_sqlite(copy)
    res = merge_rounds(grown)
    res["empty_round_items_per_s"] = [None if _failed(r) else r.get("items_per_s")
                                      for r in empty]
    return res


def copy_sqlite(source: str, target: str) -> None:
    """Copy a closed SQLite database (and its WAL files, if any) between sqlite:/// URLs."""
    src, dst = Path(source.removeprefix("sqlite:///")), Path(target.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        if Path(str(src) + suffix).exists():
            shutil.copyfile(str(src) + suffix, str(dst) + suffix)


def publishing(run: Run, work: Path, config: Path, db: str, have_wrk: bool) -> None:
    args = run.args
    res = run_job(run, {"job": "render", "config": str(config), "db": db, "output": "all",
                        "repeat": 20})
    line = (f"{'publish: render_output, 100 stories':<52} {'-':>6}  "
            + (f"FAILED: {res['failed']}" if _failed(res) else
               f"{res['ms']:.1f} ms (median of 20; {res['stories']} entries, "
               f"{res['bytes'] / 1000:.0f} kB)"))
    run.record("publish: render_output, 100 stories", None, res, line)
    port = free_port()
    aggregator = Path(sys.executable).with_name("aggregator")
    command = ([str(aggregator)] if aggregator.exists()
               else [sys.executable, "-m", "aggregator"])
    with run.log.open("a") as log:  # the real service: publishes from the store at start
        server = subprocess.Popen(
            [*command, "run", "--config", str(config), "--db", db,
             "--listen", f"127.0.0.1:{port}"], cwd=work, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}/feeds/all.atom"
        etag = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    etag = response.headers["ETag"]
                    break
            except OSError:
                time.sleep(0.2)
        if etag is None:
            fail = {"failed": f"the web app did not start; see {run.log}"}
            run.record("web: cached output, 200", None, fail,
                       line_rate("web: cached output, 200", None, fail))
            return
        for name, headers in (("web: cached output, 200", {}),
                              ("web: conditional request, 304", {"If-None-Match": etag})):
            if have_wrk:
                res = wrk(url, args.wrk_seconds, 32, headers=headers)
                name_used = name + " (wrk, 32 connections)"
            else:
                res = run_job(run, {"job": "web_load", "url": url, "headers": headers,
                                    "seconds": args.wrk_seconds, "connections": 8})
                res["tool"] = "httpx load loop (wrk not installed)"
                name_used = name + " (httpx loop: wrk not installed)"
            run.record(name, None, res, line_rate(name_used, None, res))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def profile(run: Run, port: int, work: Path, urls: list[str]) -> None:
    count = min(len(urls), run.args.profile_feeds)
    config = work / "feeds-profile.yaml"
    write_config(config, urls[:count], run.args)
    report = (work if run.args.no_save else RESULTS) / "profile-cold.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    with feed_server(run, port, latency_ms=0):
        res = run_job(run, {"job": "profile", "config": str(config),
                            "db": f"sqlite:///{work / 'profile.sqlite'}", "report": str(report)})
    line = (f"{'profile: cold ingest under cProfile':<52} {'0 ms':>6}  "
            + (f"FAILED: {res['failed']}" if _failed(res) else
               f"{count} feeds, {res['items']} items in {res['seconds']:.1f} s, then a warm "
               f"cycle in {res['warm']['seconds']:.1f} s; {report}"))
    run.record("profile: cold ingest under cProfile", 0, res, line)
    if not _failed(res):
        for title, part in (("cold ingest", res), ("warm cycle", res["warm"])):
            top = ", ".join(f"{p} {100 * t / part['self_total']:.0f}%"
                            for p, t in list(part["self_by_package"].items())[:6])
            threads = ", ".join(f"{n} {t:.1f} s" for n, t in part["busy_by_thread"].items())
            print(f"  {title}: busy {threads}; self time: {top}", flush=True)


def baselines(run: Run, urls: list[str]) -> None:
    corpus = str(run.args.corpus_dir)
    for name, options, processes in (  # (default options: in cold_rounds, interleaved)
            ("feedparser alone, no sanitize/resolve", "no-sanitize", 1),
            ("feedparser alone, no sanitize/resolve, 2 procs", "no-sanitize", 2)):
        res = run_job(run, {"job": "feedparser", "corpus": corpus, "options": options,
                            "processes": processes})
        run.record(name, None, res, line_items(name, None, res))
    res = run_job(run, {"job": "stages", "corpus": corpus, "urls": urls,
                        "feeds": run.args.stage_feeds, "scratch": str(run.log.parent)})
    name = "ours: parse_feed + normalize_entry alone"
    line = (f"{name:<52} {'-':>6}  " + (f"FAILED: {res['failed']}" if _failed(res) else
            f"parse {_num(res['parse_items_per_s'])} items/s ({_secs(res['parse_seconds'])}), "
            f"normalize {_num(res['normalize_items_per_s'])} items/s "
            f"({_secs(res['normalize_seconds'])}); sqlite3 alone stores them at "
            f"{_num(res['sqlite_floor_items_per_s'])} items/s  peak {_peak(res)} MB"))
    run.record(name, None, res, line)
    entries = 10_000 if run.args.quick else 100_000
    res = run_job(run, {"job": "big_feed", "entries": entries})
    name = f"ours: one feed of {entries:,} entries (prepare_feed)"
    line = (f"{name:<52} {'-':>6}  " + (f"FAILED: {res['failed']}" if _failed(res) else
            f"{_secs(res['seconds'])} for {res['body_bytes'] / 1e6:.1f} MB, {res['items']:,} "
            f"entries kept; memory grew {res['grown_mb']} MB = {res['rss_per_body_byte']} "
            f"bytes per body byte  peak {_peak(res)} MB"))
    run.record(name, None, res, line)
    cli_startup(run, run.log.parent / "feeds.yaml")


# ---- the table -----------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _x(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}x"


def table(run: Run) -> str:
    """The markdown table of one run: figures, then ratios against targets."""
    rows: list[tuple[str, str, str, str, str]] = []
    fp = run.get("feedparser alone, default options")
    fp_rate = fp.get("items_per_s") if fp else None
    reader_cold = run.get("reader: cold ingest", 0)
    for rec in run.records:
        name, lat = rec["scenario"], rec["latency_ms"]
        lat_text = f"{lat} ms" if lat is not None else ""
        if rec.get("failed") or rec.get("skipped"):
            why = "FAILED: " + rec["failed"] if rec.get("failed") else "skipped: " + rec["skipped"]
            rows.append((name, lat_text, why, "", ""))
            continue
        peak = _peak(rec)
        ratio = ""
        if rec.get("items_per_s") and ("cold" in name or name.startswith("feedparser")):
            value = f"{_num(rec.get('items_per_s'))} items/s ({_secs(rec.get('seconds'))})"
            parts = []
            if rec.get("fill"):
                value += f", after {rec['fill']['seconds']:.0f} s of filling"
                empty = _empty_store(rec)
                if empty:
                    parts.append(f"{_x(_rounds_ratio(rec, empty))} the empty store's items/s "
                                 "(run right before it)")
            elif fp_rate and not name.startswith("feedparser alone, default"):
                parts.append(f"{_x(_rounds_ratio(rec, fp))} feedparser-alone")
            if (name == "ours: cold ingest" and reader_cold
                    and not reader_cold.get("failed")):
                rc = run.get("reader: cold ingest", lat) or reader_cold
                parts.append(f"{_x(_rounds_ratio(rec, rc))} reader's items/s")
            ratio = "; ".join(parts)
        elif name.startswith("ours: parse_feed"):
            value = (f"parse {_num(rec['parse_items_per_s'])} items/s, normalize "
                     f"{_num(rec['normalize_items_per_s'])} items/s; plain sqlite3 stores "
                     f"{_num(rec['sqlite_floor_items_per_s'])} items/s")
            if fp_rate:
                ratio = (f"parse {_x(_ratio(rec['parse_items_per_s'], fp_rate))} "
                         "feedparser-alone")
        elif "requests_per_s" in rec and "seconds" not in rec:
            value = f"{_num(rec['requests_per_s'])} req/s"
            if rec.get("p99_ms") is not None:
                value += f", p99 {rec['p99_ms']:.1f} ms"
            peak = ""
        elif name.startswith("publish"):
            value = f"{rec['ms']:.1f} ms"
            peak = _peak(rec)
        elif name == DB_SIZE:
            value = (f"ours {_num(rec['ours']['bytes_per_item'])} B/item "
                     f"({rec['ours']['bytes'] / 1e6:.1f} MB); pruned index "
                     f"{_num(rec['ours_pruned']['bytes_per_item'])} B/item in use")
            if rec.get("reader"):
                value += f"; reader {_num(rec['reader']['bytes_per_item'])} B/entry"
                per_item = _ratio(rec["ours"]["bytes_per_item"], rec["reader"]["bytes_per_item"])
                ratio = f"ours/reader {_x(per_item)}"
            peak = ""
        elif name.startswith("profile"):
            value = (f"cold {rec['seconds']:.1f} s ({rec['items']} items), warm "
                 f"{rec['warm']['seconds']:.1f} s, under cProfile")
        else:
            value = _secs(rec.get("seconds"))
            if rec.get("requests_per_s"):
                value += f" ({_num(rec['requests_per_s'])} req/s)"
            ratio = _cycle_ratio(run, name, lat, rec)
        if rec.get("errors"):
            value += f", {rec['errors']} errors"
        rows.append((name, lat_text, value, peak, ratio))
    head = "| scenario | latency | result | peak MB | ratio |\n|---|---|---|---|---|\n"
    return head + "".join(f"| {' | '.join(r)} |\n" for r in rows)


def cycle_floor(feeds: int, concurrency: int, latency_ms: int) -> float:
    """The least a cycle can take: rounds of ``concurrency`` requests, each one RTT."""
    return math.ceil(feeds / concurrency) * latency_ms / 1000


def _cycle_ratio(run: Run, name: str, lat: int | None, rec: dict[str, Any]) -> str:
    parts = []
    if name.startswith("ours: warm cycle, 304") and "no keep-alive" not in name:
        httpx = run.get(HTTPX_304, lat)
        if httpx and not httpx.get("failed"):
            parts.append(f"{_x(_rounds_ratio(rec, httpx, 'seconds'))} httpx-alone time")
        if lat:
            floor = cycle_floor(run.args.feeds, run.args.concurrency, lat)
            parts.append(f"{_x(_ratio(rec['seconds'], floor))} floor ({floor:.2f} s)")
    if name == FETCH_PROCESS:
        peer = run.get("reader: warm cycle, 304", lat)
        if peer and not peer.get("failed"):
            parts.append(f"ours/reader time {_x(_ratio(rec['seconds'], peer['seconds']))}")
    if name.startswith("ours: warm"):
        peer = run.get(name.replace("ours:", "reader:"), lat)
        if peer and not peer.get("failed"):
            parts.append(f"reader/ours time {_x(_ratio(peer['seconds'], rec['seconds']))}")
    return "; ".join(parts)


GROWTH_FLAT = 0.9  # "flat": a grown store keeps at least this share of the empty store's rate


def _ok(rec: dict[str, Any] | None) -> dict[str, Any] | None:
    return rec if rec and not rec.get("failed") and not rec.get("skipped") else None


def _empty_store(grown: dict[str, Any] | None) -> dict[str, Any] | None:
    """The empty store's runs paired with a grown store's (``grown_rounds``), as a record."""
    rates = (_ok(grown) or {}).get("empty_round_items_per_s") or []
    done = [r for r in rates if r]
    if not done:
        return None
    return {"items_per_s": statistics.median_low(done), "round_items_per_s": rates}


def targets(run: Run) -> str:
    """The targets of issue 10 against this run: each figure, its same-run baseline, the
    ratio figure / baseline (or figure / limit), met or not."""
    a = run.args
    lat = a.latencies[0]
    at = "" if lat == 0 else f" (at {lat} ms)"
    rows = []

    def add(target: str, measured: str, baseline: str, ratio: float | None,
            met: bool | str | None) -> None:
        shown = met if isinstance(met, str) else (
            "n/a" if met is None else ("yes" if met else "no"))
        rows.append(f"| {target} | {measured} | {baseline} | {_x(ratio)} | {shown} |")

    def compare(target: str, rec: dict[str, Any] | None, base: dict[str, Any] | None, *,
                base_name: str, key: str, fmt: Callable[[float | None], str],
                test: Callable[[float], bool | str]) -> None:
        mine, theirs = (_ok(rec) or {}).get(key), (_ok(base) or {}).get(key)
        r = _rounds_ratio(_ok(rec), _ok(base), key)
        errors = sum((_ok(x) or {}).get("errors") or 0 for x in (rec, base))
        add(target, fmt(mine) + (f" ({errors} errors in the two runs)" if errors else ""),
            f"{base_name} {fmt(theirs)}", r, None if r is None else test(r))

    def rate(value: float | None) -> str:
        return f"{_num(value)} items/s"

    cold = run.get("ours: cold ingest", lat)
    compare(f"cold ingest >= 2.0x reader's items/s{at}", cold,
            run.get("reader: cold ingest", lat), base_name="reader", key="items_per_s",
            fmt=rate, test=lambda r: r >= 2.0)
    compare("cold ingest >= 1.3x feedparser alone (default options) items/s", cold,
            run.get("feedparser alone, default options"), base_name="feedparser",
            key="items_per_s", fmt=rate, test=lambda r: r >= 1.3)
    compare(f"warm cycle, all 304: the whole `aggregator fetch` process <= reader's "
            f"in-process update_feeds{at}", run.get(FETCH_PROCESS, lat),
            run.get("reader: warm cycle, 304", lat), base_name="reader", key="seconds",
            fmt=_secs, test=lambda r: r <= 1.0)
    compare(f"warm cycle in-process (update_sources), all 304 <= 1.2x httpx alone{at}",
            run.get(OURS_304, lat), run.get(HTTPX_304, lat), base_name="httpx 1 client",
            key="seconds", fmt=_secs, test=lambda r: r <= 1.2)
    compare(f"validators ignored (200, same bytes) <= 1.5x httpx alone's 200s{at}",
            run.get("ours: warm cycle, validators ignored (200)", lat),
            run.get("httpx alone: all 200 (1 client)", lat), base_name="httpx 1 client",
            key="seconds", fmt=_secs, test=lambda r: r <= 1.5)
    for name, limit in (("cli: aggregator --version", 0.2), ("cli: aggregator --help", 0.2),
                        ("cli: aggregator check", 0.4)):
        rec = _ok(run.get(name))
        value = rec.get("seconds") if rec and not rec.get("errors") else None
        add(f"`{name.removeprefix('cli: ')}` <= {limit} s (process wall time, median of 5)",
            _secs(value), f"limit {limit} s", _ratio(value, limit),
            None if value is None else value <= limit)
    size = _ok(run.get(DB_SIZE))
    reader = (size or {}).get("reader")
    theirs = reader["bytes_per_item"] if reader else None
    reader_text = (f"reader {_num(theirs)} B/entry ({reader['bytes'] / 1e6:.1f} MB, "
                   f"{reader['items']:,} entries)" if reader else "reader n/a")
    for key, target, info in (
            ("ours", "database <= 1.0x reader's bytes per item, right after the cold ingest",
             False),
            ("ours_pruned", "(information, no target) the same store after "
             "`prune_index(now + 365 days)`: pages in use", True)):
        part = size[key] if size else None
        mine = part["bytes_per_item"] if part else None
        measured = (f"{_num(mine)} B/item ({part['used_bytes' if info else 'bytes'] / 1e6:.1f} MB, "
                    f"{part['items']:,} items)" if part else "n/a")
        r = _ratio(mine, theirs)
        add(target, measured, reader_text, r,
            "information" if info else (None if r is None else r <= 1.0))
    cold_ok = _ok(cold)
    peak = _peak_all(cold_ok) if cold_ok else None
    rcold = _ok(run.get("reader: cold ingest", lat))
    distinct = cold_ok.get("distinct_end_mb") if cold_ok else None
    measured = (f"{_num(peak)} MB summed RSS of {cold_ok.get('peak_all_processes', 1)} "
                f"processes (PSS {_num(cold_ok.get('peak_all_pss_mb'))} MB; main process "
                f"VmHWM {_num(cold_ok.get('peak_mb'))} MB"
                + (f"; at the end, {_num(distinct)} MB of distinct pages" if distinct else "")
                + ")" if cold_ok else "n/a")
    add(f"peak memory of the cold run, all processes together <= 150 MB{at}", measured,
        f"limit 150 MB (reader: {_num(_peak_all(rcold)) if rcold else 'n/a'} MB)",
        _ratio(peak, 150), None if peak is None else peak <= 150)
    for count in a.grow:
        grown = run.get(grown_name(count), 0)
        compare(f"cost per new item flat: cold ingest into a store holding {count:,} items "
                f">= {GROWTH_FLAT}x the empty store's items/s (run right before it)", grown,
                _empty_store(grown), base_name="empty store", key="items_per_s",
                fmt=rate, test=lambda r: r >= GROWTH_FLAT)
    for count in a.grow_all_in_window:
        grown = run.get(grown_name(count, "all"), 0)
        compare(f"(information, no target) the same into a store holding {count:,} items all "
                f"within the matching window (every band row kept)", grown,
                _empty_store(grown), base_name="empty store", key="items_per_s", fmt=rate,
                test=lambda r: "information")
    head = ("| target (issue 10) | measured | baseline (same run) | ratio | met |\n"
            "|---|---|---|---|---|\n")
    return head + "\n".join(rows) + "\n\n" + issue6_targets(run)


def issue6_targets(run: Run) -> str:
    """What issue 6 asked that issue 10 does not: the 50 ms cycle, publishing, the web."""
    a = run.args
    rows = []

    def add(target: str, measured: str, met: bool | None) -> None:
        rows.append(f"| {target} | {measured} | "
                    f"{'n/a' if met is None else ('yes' if met else 'no')} |")

    if 50 in a.latencies:
        warm50 = _ok(run.get("ours: warm cycle, 304", 50))
        floor = cycle_floor(a.feeds, a.concurrency, 50)
        w50 = warm50.get("seconds") if warm50 else None
        r = _ratio(w50, floor)
        add(f"warm cycle at 50 ms <= 1.3x floor ({floor:.2f} s)",
            f"{_secs(w50)} = {_x(r)}", None if r is None else r <= 1.3)
    render = _ok(run.get("publish: render_output, 100 stories"))
    ms = render.get("ms") if render else None
    add("render 100 stories in milliseconds", "n/a" if ms is None else f"{ms:.1f} ms",
        None if ms is None else ms < 100)
    for name in ("web: cached output, 200", "web: conditional request, 304"):
        web = _ok(run.get(name))
        rate = web.get("requests_per_s") if web else None
        tool = "" if not web or web.get("tool") == "wrk" else " (httpx loop, not wrk)"
        add(f"{name}: thousands of req/s", f"{_num(rate)} req/s{tool}",
            None if rate is None else rate >= 1000)
    return ("| kept from issue 6 | measured | met |\n|---|---|---|\n" + "\n".join(rows)
            + "\n")


# ---- entry point ---------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark suite for aggregator: ingest (cold, warm, validators "
                    "ignored), baselines (feedparser, httpx, reader), publishing.")
    parser.add_argument("--feeds", type=int, default=1000, help="feeds in the corpus")
    parser.add_argument("--items", type=int, default=50, help="items per feed")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 100 feeds x 20 items, short wrk runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--syndicated", type=float, default=0.15,
                        help="share of items that are copies of a wire story")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="fetches at once: ours (settings.concurrency), httpx alone, "
                             "reader's workers")
    parser.add_argument("--latencies", default="0,50",
                        help="per-response server latencies in ms, comma-separated")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another setting for our feeds.yaml, e.g. --set parse_workers=2 "
                             "(repeatable; JSON values)")
    parser.add_argument("--hosts", type=int, default=None,
                        help="distinct loopback addresses to serve from "
                             "[default: one per feed, at most 4000]")
    parser.add_argument("--server-procs", type=int, default=1,
                        help="feed server processes sharing the port (SO_REUSEPORT)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each warm cycle (the median is reported)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved rounds of the cold ingests the targets compare "
                             "(reader, feedparser alone, ours, in turn; the median of each "
                             "and of the ratios round by round is reported) and of each "
                             "grown store's run with an empty store's right before it "
                             "[default: 3; --quick: 1]")
    parser.add_argument("--grow-rounds", type=int, default=None,
                        help="rounds of each grown store's run, each right after an empty "
                             "store's [default: --rounds]")
    parser.add_argument("--wrk-seconds", type=float, default=5.0)
    parser.add_argument("--no-reader", dest="reader", action="store_false",
                        help="skip the reader baseline")
    parser.add_argument("--reader-every-latency", action="store_true",
                        help="run reader's cold ingest and validators-ignored cycle at every "
                             "latency, not only the first (each takes about a minute)")
    parser.add_argument("--cold-budget", type=float, default=180.0,
                        help="when our cold ingest at the first latency takes longer than "
                             "this (seconds), skip it at the other latencies")
    parser.add_argument("--stage-feeds", type=int, default=200,
                        help="feeds used to time our parse and normalize stages alone")
    parser.add_argument("--grow", default=None, metavar="N,N,...",
                        help="also ingest the corpus into stores already holding N filler "
                             "items each, written directly in the database, their band "
                             "index as a store keeps it (the window's rows) [default: "
                             "10000,100000; --quick: 10000; 1000000 takes minutes and 2.3 GB; "
                             "'' for none]")
    parser.add_argument("--grow-all-in-window", default="", metavar="N,N,...",
                        help="also into stores of N items all within the matching window "
                             "(every band row kept: 1000000 takes 3.3 GB) [default: none]")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="keep the databases and logs here [default: a temporary folder]")
    parser.add_argument("--profile", action="store_true",
                        help="also profile a cold ingest with cProfile")
    parser.add_argument("--profile-only", action="store_true",
                        help="only the profile (and the corpus)")
    parser.add_argument("--profile-feeds", type=int, default=100,
                        help="feeds in the profiled cold ingest")
    parser.add_argument("--corpus-dir", type=Path, default=None,
                        help="where the corpus is cached [default: a folder in $TMPDIR]")
    parser.add_argument("--results", type=Path, default=RESULTS / "results.jsonl",
                        help="JSON lines file appended with one record per scenario")
    parser.add_argument("--no-save", action="store_true",
                        help="print only: append nothing to the results file")
    args = parser.parse_args(argv)
    if args.quick:
        if args.feeds == 1000:
            args.feeds = 100
        if args.items == 50:
            args.items = 20
        args.wrk_seconds = min(args.wrk_seconds, 2.0)
        args.profile_feeds = min(args.profile_feeds, 50)
    args.latencies = [int(x) for x in str(args.latencies).split(",") if x.strip()]
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    args.rounds = max(args.rounds, 1)
    args.grow_rounds = max(args.rounds if args.grow_rounds is None else args.grow_rounds, 1)
    if args.grow is None:
        args.grow = "10000" if args.quick else "10000,100000"
    args.grow, args.grow_all_in_window = (
        [int(x.replace("_", "")) for x in str(value).split(",")
         if x.strip() and int(x.replace("_", ""))]
        for value in (args.grow, args.grow_all_in_window))
    if args.hosts is None:
        args.hosts = min(args.feeds, 4000)
    if args.corpus_dir is None:
        args.corpus_dir = (Path(tempfile.gettempdir()) / "aggregator-bench" /
                           f"corpus-{args.feeds}x{args.items}-s{args.seed}-"
                           f"y{args.syndicated:g}-v{corpus_mod.CORPUS_VERSION}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    print(f"aggregator benchmark {run_id}: {args.feeds} feeds x {args.items} items, "
          f"concurrency {args.concurrency}, latencies {args.latencies} ms, "
          f"{args.hosts} loopback hosts", flush=True)
    generated = time.perf_counter()
    corpus = corpus_mod.generate(args.corpus_dir, args.feeds, args.items, args.seed,
                                 args.syndicated)
    print(f"corpus: {args.corpus_dir} ({corpus.total_items} items, "
          f"{corpus.total_bytes / 1e6:.1f} MB, ready in {time.perf_counter() - generated:.1f} s)",
          flush=True)
    mach = machine()
    print(f"machine: {mach['nproc']} cores, {mach['cpu']}, Python {mach['python']}, load "
          f"{mach['load_avg_at_start']} (a shared machine: figures move with other work)",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="aggregator-bench-") as tmp:
        work = Path(tmp)
        if args.work_dir is not None:
            work = args.work_dir.resolve()
            work.mkdir(parents=True, exist_ok=True)
            for old in work.glob("*.sqlite*"):
                old.unlink()
        log = work / "jobs.log"
        run = Run(args=args, run_id=run_id, machine=mach, corpus=corpus.describe(),
                  settings={}, log=log)
        port = start_feed_server_port(run)
        urls = [feed_url(i, port, args.hosts) for i in range(args.feeds)]
        config = work / "feeds.yaml"
        our_settings = write_config(config, urls, args)
        git = git_state()
        dirty = " plus uncommitted changes under aggregator/" if git.get("aggregator_dirty") else ""
        print(f"aggregator at {git.get('commit')}{dirty}", flush=True)
        run.settings = {"concurrency": args.concurrency, "hosts": args.hosts,
                        "server_procs": args.server_procs, "our_settings": our_settings,
                        "reader_workers": args.concurrency, "versions": versions(),
                        "git": git}
        if not args.profile_only:
            baselines(run, urls)
            ingest_scenarios(run, port, work, urls, config)
            if args.grow or args.grow_all_in_window:
                growth(run, port, work, config)
        if args.profile or args.profile_only:
            profile(run, port, work, urls)
        summary = ("\n" + table(run) + "\n" + targets(run))
    print(summary)
    if not args.no_save and not args.profile_only:
        git = run.settings.get("git", {})
        header = (f"run {run_id}; aggregator at {git.get('commit')}"
                  f"{' plus uncommitted changes' if git.get('aggregator_dirty') else ''}; "
                  f"{args.feeds} feeds x {args.items} items; concurrency "
                  f"{args.concurrency}; {args.hosts} loopback hosts; machine: "
                  f"{mach['nproc']} cores, {mach['cpu']}, Python {mach['python']}, "
                  f"load at start {mach['load_avg_at_start']}\n\n")
        (RESULTS / "latest.md").write_text(header + summary.lstrip("\n"), encoding="utf-8")
    print(f"done in {time.perf_counter() - started:.0f} s; records appended to "
          f"{args.results}" if not args.no_save else "")
    return 0
