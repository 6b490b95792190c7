"""The process pool that prepares feeds (parse, normalize, fingerprint) beside the
event loop and the database writer."""

from __future__ import annotations

import atexit
import importlib
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from multiprocessing.connection import wait
from typing import Any


def parse_workers(setting: int) -> int:
    """How many processes prepare feeds: 0 (auto) is one per core but one, which is left
    to the event loop and the database writer (on 2 cores: 1 process, measured 1.42x the
    items/s of preparing in-process); -1 is none."""
    cores = os.cpu_count() or 1
    if setting < 0:
        return 0
    return setting or cores - 1


_POOLS: dict[int, ProcessPoolExecutor] = {}


def parse_pool(workers: int) -> ProcessPoolExecutor:
    """One pool per size for the life of the process, created when a feed first needs
    parsing (a tick of 304s starts no process), shut down at exit."""
    pool = _POOLS.get(workers)
    if pool is None:
        # spawn: never fork a process that runs threads (the scheduler, the web server);
        # and no forkserver, a process more that only waits (14 MB resident)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                   initializer=_die_with_parent)
        _POOLS[workers] = pool
        if len(_POOLS) == 1:
            atexit.register(_shutdown_pools)
    return pool


def run_named(target: str, *args: Any) -> Any:
    """In a worker: call ``target`` ("package.module:function") with ``args``.

    What the parent sends instead of the function itself: pickling a function needs its
    module imported in the parent, and the parsing libraries (feedparser, lxml, numpy:
    about 40 MB resident) are needed only in the workers."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


def _shutdown_pools() -> None:
    for pool in _POOLS.values():
        pool.shutdown(wait=False, cancel_futures=True)


def _die_with_parent() -> None:
    """Worker initializer: exit as soon as the process that started the pool is gone,
    even killed (SIGKILL, a cron job's `timeout`), when no shutdown reaches the worker.

    A worker holds both ends of its task queue, so it would wait for work forever, and
    it holds the forkserver's "alive" pipe, so the forkserver (the worker's parent: a
    parent-death signal never fires) and the resource tracker would wait for it. The
    parent's sentinel is a pipe whose other end only that process holds: it becomes
    readable when that process ends, however it ends."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
