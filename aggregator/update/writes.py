"""The write side of an update: how decided updates reach the store.

``commit`` writes one update (``Writer`` batches the ones without items, 64 to a
transaction); ``Group`` writes the ones with items several sources to a transaction on
SQLite; ``IngestThread`` is the one thread that runs every store
call of an update, and tells the group when nothing more is coming.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from aggregator.ingest.plan import error_value, failure, plan, result
from aggregator.ingest.schedule import PollPolicy
from aggregator.store import Store
from aggregator.store.store import Batch
from aggregator.types import (
    Failure,
    ItemData,
    Outcome,
    SourceToFetch,
    SourceUpdate,
    UpdateResult,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Decided:
    """A source's planned update, not yet written, and the failure to report."""

    update: SourceUpdate
    policy: PollPolicy
    problem: Failure | None
    items: tuple[ItemData, ...] = ()  # every item of the feed read, if asked (decide)


def commit(store: Store, source: SourceToFetch, decided: Decided, *,
           writer: Writer | None = None) -> UpdateResult:
    """Write a decided update (through ``writer`` when it carries no items). Never
    raises."""
    update, policy, problem = decided.update, decided.policy, decided.problem
    if writer is not None and not (update.new_items or update.changed_items):
        batch = writer.defer(source, update, policy)
        if batch:
            writer.write(batch)
        return result(source, update, problem)
    failed = _write(store, source, update, policy)
    if failed is not None:
        return UpdateResult(source.name, Outcome.ERROR, error=failed)
    return result(source, update, problem)


def commit_later(store: Store, source: SourceToFetch, decided: Decided, *, writer: Writer,
                 group: Group) -> Future[UpdateResult]:
    """``commit``, with an update carrying items written in ``group``'s transaction."""
    if decided.update.new_items or decided.update.changed_items:
        return group.write(source, decided)
    done: Future[UpdateResult] = Future()
    done.set_result(commit(store, source, decided, writer=writer))
    return done


def _write(store: Store, source: SourceToFetch, update: SourceUpdate,
           policy: PollPolicy) -> Failure | None:
    """Write one update; if that fails, record the failure instead (and return it)."""
    try:
        store.apply(source.id, update)
    except Exception as error:  # a bug or a failing database: record it if we can
        log.exception("could not store the update of %s", source.name)
        try:
            store.apply(source.id, plan(source, error_value(error), None, {}, policy=policy,
                                        now=update.now, jitter=random.random()))
        except Exception:  # the database is failing too: the lease expires, it is retried
            log.exception("could not record the failure of %s", source.name)
        return failure(error)
    return None


class Writer:
    """Writes the updates that carry no items (304s, the same body again, errors)
    ``BATCH`` at a time in one transaction: a warm cycle is mostly these, and a
    transaction each cost more than the fetch. ``defer`` may be called from any thread
    and hands back a full batch, which the caller writes (``write``) on the ingest
    thread; their leases are released when the batch is written. ``flush`` before the
    cycle ends."""

    BATCH = 64

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: list[tuple[SourceToFetch, SourceUpdate, PollPolicy]] = []
        self._lock = threading.Lock()

    def defer(self, source: SourceToFetch, update: SourceUpdate,
              policy: PollPolicy) -> list[tuple[SourceToFetch, SourceUpdate, PollPolicy]]:
        """Queue one update; a full batch to write (else an empty list)."""
        with self._lock:
            self.pending.append((source, update, policy))
            if len(self.pending) < self.BATCH:
                return []
            batch, self.pending = self.pending, []
        return batch

    def flush(self) -> None:
        """Write what is queued."""
        with self._lock:
            batch, self.pending = self.pending, []
        self.write(batch)

    def write(self, batch: Sequence[tuple[SourceToFetch, SourceUpdate, PollPolicy]]) -> None:
        """Write a batch in one transaction. Never raises."""
        if not batch:
            return
        try:
            self.store.apply_many([(source.id, update) for source, update, _ in batch])
        except Exception:  # write them one by one: a bad one records its own failure
            log.warning("a batch of %d updates failed; writing them one by one", len(batch),
                        exc_info=True)
            for source, update, policy in batch:
                _write(self.store, source, update, policy)


class Group:
    """The item updates of several sources written in one transaction (``Batch``), on
    SQLite: a burst of feeds shares the pages its band rows dirty, and one commit.

    ``write`` adds a source's update and hands back its result, set once the
    transaction is committed (if a source's writes fail, the transaction is rolled back
    and the group's sources are written one by one, the failing one recording its
    failure instead): ``commit`` when ``SOURCES`` sources or ``SECONDS`` are
    reached, or when the ingest thread has nothing else to do (``IngestThread``). The
    leases of its sources are released by that commit; if the process dies first,
    nothing of the group is stored, and the leases expire. If the commit fails, the
    updates are written again one by one. On PostgreSQL, every source is committed at
    once (other workers would wait on the stories lock the group holds).
    Used from the ingest thread only."""

    SOURCES = 16
    SECONDS = 1.0

    def __init__(self, store: Store) -> None:
        self.store = store
        self.limit = self.SOURCES if store.dialect == "sqlite" else 1
        self._batch: Batch | None = None
        self._started = 0.0
        self._waiting: list[tuple[SourceToFetch, Decided, UpdateResult,
                                  Future[UpdateResult]]] = []

    def write(self, source: SourceToFetch, decided: Decided) -> Future[UpdateResult]:
        """Write one source's update in the group. Never raises."""
        done: Future[UpdateResult] = Future()
        update = decided.update
        try:
            if self._batch is None:
                self._batch, self._started = self.store.batch(), time.monotonic()
            batch = self._batch
        except Exception:  # no transaction to join: write it alone
            log.warning("could not open a transaction; writing %s alone", source.name,
                        exc_info=True)
            _resolve(done, commit(self.store, source, decided))
            return done
        try:
            batch.apply(source.id, update)
        except Exception:  # the transaction holds part of it: start again, one by one
            log.warning("could not store the update of %s in a group of %d; writing them "
                        "one by one", source.name, len(self._waiting) + 1, exc_info=True)
            waiting = [(s, d, f) for s, d, _, f in self._waiting] + [(source, decided, done)]
            self._batch, self._waiting = None, []
            with suppress(Exception):  # (a failing database: the writes below say so)
                batch.rollback()
            self._one_by_one(waiting)
            return done
        self._waiting.append((source, decided, result(source, update, decided.problem), done))
        if len(batch) >= self.limit or time.monotonic() - self._started >= self.SECONDS:
            self.commit()
        return done

    def _one_by_one(self, waiting: Sequence[tuple[SourceToFetch, Decided,
                                                   Future[UpdateResult]]]) -> None:
        """Write each update in a transaction of its own: a bad one records its own
        failure."""
        for source, decided, done in waiting:
            _resolve(done, commit(self.store, source, decided))

    @property
    def open(self) -> bool:
        """Whether the group holds an uncommitted transaction."""
        return self._batch is not None

    def commit_if_old(self) -> None:
        """Commit if the group is ``SECONDS`` old."""
        if self._batch is not None and time.monotonic() - self._started >= self.SECONDS:
            self.commit()

    def commit(self) -> None:
        """Commit what the group holds, and set the results. Never raises."""
        batch, waiting = self._batch, self._waiting
        if batch is None:
            return
        self._batch, self._waiting = None, []
        try:
            batch.commit()
        except Exception:  # write them one by one: a bad one records its own failure
            log.warning("a group of %d updates failed; writing them one by one",
                        len(waiting), exc_info=True)
            self._one_by_one([(source, decided, done) for source, decided, _, done in waiting])
            return
        for _, _, outcome, done in waiting:
            _resolve(done, outcome)


def _resolve(done: Future[UpdateResult], outcome: UpdateResult) -> None:
    """Set a result, unless its update was cancelled meanwhile (interrupted)."""
    with suppress(InvalidStateError):
        done.set_result(outcome)


class IngestThread:
    """The ingest thread's queue of calls: ``run`` one there, counted, so the group's
    transaction is committed as soon as nothing more is coming its way (no call
    queued, no feed being parsed for it: ``coming``), and before a call that takes
    the write lock itself (``writes``: a claim, a batch of updates without items,
    releasing the leases)."""

    def __init__(self, executor: ThreadPoolExecutor, group: Group,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.executor = executor
        self.group = group
        self.loop = loop
        self._queued = 0  # calls handed to the thread, not started yet
        self._coming = 0  # feeds in the parse pool, each to be handed to the thread
        self._lock = threading.Lock()

    @contextmanager
    def coming(self) -> Iterator[None]:
        """While a feed is prepared elsewhere for a call that follows on this thread
        (the group waits for it rather than commit)."""
        with self._lock:
            self._coming += 1
        try:
            yield
        finally:
            with self._lock:
                self._coming -= 1
                idle = not self._queued and not self._coming
            if idle:  # if no call follows after all, this one commits the group
                self.run(lambda: None)

    def run(self, function: Callable[..., T], *args: Any,
            writes: bool = False) -> asyncio.Future[T]:
        with self._lock:
            self._queued += 1

        def call() -> T:
            with self._lock:
                self._queued -= 1
            if writes:
                self.group.commit()
            try:
                return function(*args)
            finally:
                with self._lock:
                    idle = not self._queued and not self._coming
                    waiting = not self._queued and self.group.open
                if idle:
                    self.group.commit()
                elif waiting:  # for feeds being parsed: at most Group.SECONDS
                    self.loop.call_soon_threadsafe(self.loop.call_later, self.group.SECONDS,
                                                   self._commit_if_old)

        return self.loop.run_in_executor(self.executor, call)

    def _commit_if_old(self) -> None:
        with suppress(RuntimeError):  # the update is over: the group was committed
            self.run(self.group.commit_if_old)
