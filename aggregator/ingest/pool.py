"""The processes that prepare feeds (parse, normalize, fingerprint) beside the event
loop and the database writer.

A pool of our own rather than ``concurrent.futures.ProcessPoolExecutor``: each worker is
one plain child process (ingest/worker.py) with a pipe each way, driven by one thread
of this process. No resource tracker process (12 MB resident), no queue feeder thread,
and the worker does not import the parent's ``__main__`` (the command line: typer, rich).
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import IO, Any

from aggregator.ingest.worker import read_message, run_named, write_message

__all__ = ["ParsePool", "WorkerCrashed", "parse_pool", "parse_workers", "run_named"]

#: the worker's command: imports only ingest/worker.py until a job needs more
WORKER = "from aggregator.ingest.worker import serve; serve()"


def parse_workers(setting: int) -> int:
    """How many processes prepare feeds: 0 (auto) is one per core but one, which is left
    to the event loop and the database writer (on 2 cores: 1 process, measured 1.42x the
    items/s of preparing in-process); -1 is none."""
    cores = os.cpu_count() or 1
    if setting < 0:
        return 0
    return setting or cores - 1


class WorkerCrashed(RuntimeError):
    """The worker process ended before answering (killed, crashed, or it could not
    start); the job may be run elsewhere. The next job starts a new worker."""


class PoolBroken(WorkerCrashed):
    """Workers keep ending without answering: the pool takes no more jobs."""


class _Worker:
    """One worker process, started on its first job; a new one after a crash."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def call(self, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        job = pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL)
        process = self.process
        if process is None or process.poll() is not None:
            # -P: the working directory is not put on sys.path (an `aggregator` folder
            # there would shadow the installed package)
            process = self.process = subprocess.Popen(
                [sys.executable, "-P", "-c", WORKER], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE)
        stdin, stdout = _pipes(process)
        try:
            write_message(stdin, job)
            del job
            answer = read_message(stdout)
        except (BrokenPipeError, ValueError):  # ValueError: closed by stop() meanwhile
            answer = None
        if answer is None:
            self.stop(kill=True)
            raise WorkerCrashed(f"parse worker {process.pid} ended "
                                f"(exit status {process.returncode})")
        ok, *value = pickle.loads(answer)
        if ok:
            return value[0]
        error, text = value
        error.__cause__ = RemoteTraceback(text)
        raise error

    def stop(self, *, kill: bool) -> None:
        """End the process: at once (``kill``), else once its job is done."""
        process, self.process = self.process, None
        if process is None:
            return
        if kill:
            process.kill()
        for stream in _pipes(process):
            stream.close()
        process.wait()  # killed, or it leaves as its stdin ends


def _pipes(process: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert process.stdin is not None and process.stdout is not None
    return process.stdin, process.stdout


class RemoteTraceback(Exception):
    """Where an exception raised in a worker came from (its ``__cause__``)."""

    def __str__(self) -> str:
        return f'\n"""\n{self.args[0]}"""'


_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class ParsePool(Executor):
    """``workers`` worker processes, each driven by a daemon thread of this process that
    sends it one job at a time. A job whose worker ends before answering raises
    ``WorkerCrashed``; one raising in the worker raises the same exception here (with the
    worker's traceback as its cause). After ``MAX_CRASHES`` crashes in a row (no job
    answered between them) every job raises ``PoolBroken``."""

    MAX_CRASHES = 3

    def __init__(self, workers: int) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._workers = [_Worker() for _ in range(workers)]
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._crashes = 0
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if kwargs:
            raise TypeError("the parse pool passes positional arguments only")
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the parse pool is shut down")
            if self._crashes >= self.MAX_CRASHES:
                future.set_exception(PoolBroken(f"{self._crashes} parse workers in a row "
                                                "ended without answering"))
                return future
            if not self._threads:
                self._threads = [threading.Thread(target=self._drive, args=(worker,),
                                                  name=f"parse-{n}", daemon=True)
                                 for n, worker in enumerate(self._workers)]
                for thread in self._threads:
                    thread.start()
        self._jobs.put((future, fn, args))
        return future

    def _drive(self, worker: _Worker) -> None:
        while (job := self._jobs.get()) is not None:
            future, function, args = job
            del job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                value = worker.call(function, args)
            except WorkerCrashed as error:
                with self._lock:
                    self._crashes += 1
                future.set_exception(error)
            except BaseException as error:
                self._answered()
                future.set_exception(error)
            else:
                self._answered()
                future.set_result(value)
            del future, function, args

    def _answered(self) -> None:
        with self._lock:
            self._crashes = 0

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more jobs. ``wait``: the jobs queued (unless ``cancel_futures``) and running
        are done first, then the workers leave; else the workers are killed at once and
        a running job raises ``WorkerCrashed``."""
        with self._lock:
            self._closed = True
        if cancel_futures:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
        for worker in self._workers:
            worker.stop(kill=not wait)


_POOLS: dict[int, ParsePool] = {}


def parse_pool(workers: int) -> ParsePool:
    """One pool per size for the life of the process, created when a feed first needs
    parsing (a tick of 304s starts no process), its workers ended at exit."""
    pool = _POOLS.get(workers)
    if pool is None:
        pool = ParsePool(workers)
        _POOLS[workers] = pool
        if len(_POOLS) == 1:
            atexit.register(_shutdown_pools)
    return pool


def _shutdown_pools() -> None:
    for pool in _POOLS.values():
        pool.shutdown(wait=False, cancel_futures=True)
