"""The processes that prepare feeds (parse, normalize, fingerprint) beside the event
loop and the database writer.

A pool of our own rather than ``concurrent.futures.ProcessPoolExecutor``: each worker is
one plain child process (ingest/worker.py) with a pipe each way, driven by one thread
of this process. No resource tracker process (12 MB resident), no queue feeder thread,
and the worker does not import the parent's ``__main__`` (the command line: typer, rich).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextlib import suppress
from dataclasses import dataclass
from typing import IO, Any

from aggregator.ingest.worker import read_message, run_named, write_message

__all__ = ["ParsePool", "WorkerCrashed", "parse_pool", "parse_workers", "run_named"]

#: the worker's command: imports only ingest/worker.py until a job needs more
WORKER = "from aggregator.ingest.worker import serve; serve()"
#: the size asked for each of a worker's pipes (``_widen``)
PIPE_BYTES = 1 << 20


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
    """One worker process, started by the first job sent to it; a new one after a crash.

    Jobs are sent ahead: the worker reads each as it comes (a thread of its own), so the
    next job is already there when it answers one. Waiting for each answer before
    sending the next left the worker idle 14% of a cold ingest: the round trip through
    this process (the answer read and unpickled, the next job pickled and written) under
    a GIL shared with the event loop and the database writer."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def send(self, job: bytes, *, idle: bool) -> None:
        """Write ``job`` to the process, started first if there is none. ``idle``: no
        job sent to it is unanswered, and a process that ended meanwhile is replaced;
        one that ended with jobs in it is replaced only once ``receive`` has said so
        (else the new process's answers were taken for the dead one's)."""
        process = self.process
        if process is None or (idle and process.poll() is not None):
            # -P: the working directory is not put on sys.path (an `aggregator` folder
            # there would shadow the installed package)
            process = self.process = subprocess.Popen(
                [sys.executable, "-P", "-c", WORKER], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE)
            _widen(process)
        with suppress(BrokenPipeError, ValueError):  # it ended: receive() says so
            write_message(_pipes(process)[0], job)

    def receive(self) -> bytes | WorkerCrashed:
        """The answer to the oldest job sent and not answered; if the worker ended first,
        the error to raise for that job (the worker is stopped: the next job sent starts
        another)."""
        process = self.process
        answer = None
        if process is not None:
            with suppress(ValueError):  # closed by stop() meanwhile
                answer = read_message(_pipes(process)[1])
        if answer is not None:
            return answer
        self.stop(kill=True)
        status = None if process is None else process.returncode
        return WorkerCrashed(f"parse worker {process.pid if process else '?'} ended "
                             f"(exit status {status})")

    def stop(self, *, kill: bool) -> None:
        """End the process: at once (``kill``), else once its jobs are done."""
        process, self.process = self.process, None
        if process is None:
            return
        if kill:
            process.kill()
        for stream in _pipes(process):
            with suppress(BrokenPipeError):  # a job left unflushed to a dead process
                stream.close()  # (its pipe is closed all the same)
        process.wait()  # killed, or it leaves as its stdin ends


def _widen(process: subprocess.Popen[bytes]) -> None:
    """Make the worker's pipes 1 MiB (Linux; elsewhere they stay as they are): a prepared
    feed's answer (~450 KB) then fits in one, and the worker goes on to its next job
    instead of waiting, 64 KB at a time, for this process's reading thread to get the
    GIL back from the writer (7% of the worker's time in a cold ingest)."""
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux 2.6.35+
    if setting is None:
        return
    for stream in _pipes(process):
        with suppress(OSError):  # above /proc/sys/fs/pipe-max-size: left as it is
            fcntl.fcntl(stream.fileno(), setting, PIPE_BYTES)


def _pipes(process: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert process.stdin is not None and process.stdout is not None
    return process.stdin, process.stdout


class RemoteTraceback(Exception):
    """Where an exception raised in a worker came from (its ``__cause__``)."""

    def __str__(self) -> str:
        return f'\n"""\n{self.args[0]}"""'


_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


@dataclass(slots=True)
class _Sent:
    """A job sent to a worker and not answered yet."""

    future: Future[Any]
    job: bytes
    live: bool = False  # its future is running (not cancelled before its turn)


class ParsePool(Executor):
    """``workers`` worker processes, each driven by a daemon thread of this process that
    keeps it one job ahead (``AHEAD``). A job's future runs when its worker starts on it.
    A job whose worker ends before answering raises ``WorkerCrashed`` (the job sent
    after it goes to the next worker); one raising in the worker raises the same
    exception here (with the worker's traceback as its cause). After ``MAX_CRASHES``
    crashes in a row (no job answered between them) every job raises ``PoolBroken``."""

    MAX_CRASHES = 3
    AHEAD = 2  # jobs sent to a worker at once: the one it runs, the next

    def __init__(self, workers: int) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._workers = [_Worker() for _ in range(workers)]
        self._sent: list[deque[_Sent]] = [deque() for _ in range(workers)]
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
            if self._broken(future):
                return future
            if not self._threads:
                self._threads = [threading.Thread(target=self._drive, args=(n,),
                                                  name=f"parse-{n}", daemon=True)
                                 for n in range(len(self._workers))]
                for thread in self._threads:
                    thread.start()
        self._jobs.put((future, fn, args))
        return future

    def _broken(self, future: Future[Any]) -> bool:
        """Fail ``future`` if the pool is broken (called holding the lock)."""
        if self._crashes < self.MAX_CRASHES:
            return False
        future.set_exception(PoolBroken(f"{self._crashes} parse workers in a row "
                                        "ended without answering"))
        return True

    def _drive(self, n: int) -> None:
        worker, sent = self._workers[n], self._sent[n]
        closing = False
        while True:
            while not closing and len(sent) < self.AHEAD:  # top the worker up
                try:  # wait for a job only if the worker has none
                    job = self._jobs.get_nowait() if sent else self._jobs.get()
                except queue.Empty:
                    break
                if job is None:
                    closing = True
                    break
                self._send(worker, sent, *job)
                del job
            if not sent:
                if closing:
                    return
                continue
            self._start(sent)
            answer = worker.receive()
            done = sent.popleft()
            if isinstance(answer, WorkerCrashed):
                self._crashed(worker, sent, done, answer)
            elif done.live:
                self._answered()
                self._settle(done.future, answer)
            del done, answer

    def _send(self, worker: _Worker, sent: deque[_Sent], future: Future[Any],
              function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if future.cancelled():
            return
        try:
            job = pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # arguments that do not pickle
            if future.set_running_or_notify_cancel():
                future.set_exception(error)
            return
        idle = not sent
        sent.append(_Sent(future, job))
        worker.send(job, idle=idle)

    @staticmethod
    def _start(sent: deque[_Sent]) -> None:
        """The oldest job sent is the one the worker runs: its future runs (unless it
        was cancelled meanwhile: its answer is then dropped)."""
        head = sent[0]
        if not head.live:
            head.live = head.future.set_running_or_notify_cancel()

    def _crashed(self, worker: _Worker, sent: deque[_Sent], done: _Sent,
                 error: WorkerCrashed) -> None:
        """The worker ended before answering ``done``: that job fails; the jobs sent
        after it go to a new worker, unless the pool is shut down or broken."""
        with self._lock:
            self._crashes += 1
            closed = self._closed
        if done.live:
            done.future.set_exception(error)
        for rest in list(sent):
            if closed:
                if not rest.future.cancel() and rest.live:
                    rest.future.set_exception(error)
                sent.remove(rest)
                continue
            with self._lock:
                broken = self._crashes >= self.MAX_CRASHES
            if broken:
                if rest.live or rest.future.set_running_or_notify_cancel():
                    with self._lock:
                        self._broken(rest.future)
                sent.remove(rest)
                continue
            worker.send(rest.job, idle=False)  # (the first starts a new process)

    @staticmethod
    def _settle(future: Future[Any], answer: bytes) -> None:
        try:
            ok, *value = pickle.loads(answer)
        except Exception as unreadable:  # a value that does not unpickle here
            future.set_exception(unreadable)
            return
        if ok:
            future.set_result(value[0])
            return
        raised, text = value
        raised.__cause__ = RemoteTraceback(text)
        future.set_exception(raised)

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
            for sent in self._sent:  # sent ahead, not started
                for one in list(sent):
                    one.future.cancel()
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
