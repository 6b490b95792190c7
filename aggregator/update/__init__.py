"""The facade that wires the update stages: ``update_sources()``.

The one-off ``aggregator fetch`` and the scheduler's tick call the same function. How
the decided updates are written (batches, groups, the ingest thread) is ``writes.py``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from aggregator import metrics
from aggregator.clock import utc_now
from aggregator.config import Config
from aggregator.exceptions import AggregatorError, ParseError
from aggregator.ingest.fetch import Client, FetchLimits, fetch, fetch_page, make_client
from aggregator.ingest.plan import (
    Response,
    error_value,
    failure,
    needs_prepare,
    plan,
    result,
    without_validators,
)
from aggregator.ingest.pool import parse_pool, parse_workers, run_named
from aggregator.ingest.schedule import PollPolicy
from aggregator.store import PruneReport, Store
from aggregator.text import url_host
from aggregator.types import (
    Fetched,
    FullText,
    ItemData,
    PreparedFeed,
    SourceToFetch,
    SourceUpdate,
    UpdateResult,
)
from aggregator.update.collection import fewer_collections
from aggregator.update.writes import (
    Decided,
    Group,
    IngestThread,
    Writer,
    commit,
    commit_later,
)

if TYPE_CHECKING:
    from aggregator.store.lookahead import Lookahead

log = logging.getLogger(__name__)
ResultCallback = Callable[[UpdateResult], None]
HostGate = Callable[[str], AbstractAsyncContextManager[Any]]  # a URL -> its host's slot
CpuRunner = Callable[..., Awaitable[Any]]  # (function, *args) -> its result, off the loop
#: what the parse pool runs on a new body (by name: see pool.run_named); on a SQLite
#: file, the worker also reads what the store holds of the feed and, while the writer
#: is behind, the new items' near-duplicate candidates
PREPARE = "aggregator.ingest.prepare:prepare_feed"
PREPARE_AND_READ = "aggregator.store.lookahead:prepare_and_read"
#: a URL's host, for its gate (the scheduler polls the same URLs every tick)
_host = lru_cache(maxsize=8192)(url_host)


def update_sources(store: Store, config: Config, *, names: Sequence[str] | None = None,
                   due_only: bool = False, on_result: ResultCallback | None = None,
                   now: datetime | None = None) -> list[UpdateResult]:
    """Fetch, parse, normalize, dedupe and store the claimed sources.

    Pipeline, per source, ``concurrency`` at a time::

        store.claim_sources      lease (due ones, or the named ones)
        | fetch                  conditional GET -> Fetched | NotModified | FetchError
        | parse                  feedparser on bytes + headers (skipped if the body is unchanged)
        | normalize              ItemData: canonical URL, UTC, sanitized HTML, stable guid
        | unique_items, decide   new / changed / unchanged against stored hashes
        | story_keys             exact keys that join other sources' items
        | fingerprint, credits   near-duplicate fingerprint; "передает X со ссылкой на Y"
        | Group.write            a transaction per source, or per group of sources on
                                 SQLite (a savepoint each); the commit releases the lease

    Never raises for what a source does: each outcome is an UpdateResult, given (and
    passed to ``on_result``) once its update is committed.
    """
    with fewer_collections():  # (update/collection.py)
        return asyncio.run(_update_all(store, config, names=names, due_only=due_only,
                                       on_result=on_result, now=now))


async def _update_all(store: Store, config: Config, *, names: Sequence[str] | None,
                      due_only: bool, on_result: ResultCallback | None,
                      now: datetime | None) -> list[UpdateResult]:
    settings = config.settings
    limits = FetchLimits.of(settings)
    host_gates: dict[str, asyncio.Semaphore] = defaultdict(
        lambda: asyncio.Semaphore(settings.per_host_concurrency))
    loop = asyncio.get_running_loop()
    # The scheduler leases due sources a window at a time, topping the window up as
    # sources finish: several workers share the due sources, and no lease is held
    # much longer than one fetch. A one-off fetch leases what it was asked for at once:
    # a first window, so the fetches start while the rest is claimed right after.
    window = settings.concurrency * 2 if due_only and names is None else None
    first: int | None = settings.concurrency * 2 if window is None else None
    results: list[UpdateResult] = []
    workers = parse_workers(settings.parse_workers)
    full_text = frozenset(s.name for s in config.sources if s.full_text)
    database = store.sqlite_path  # the workers read candidates from it (store/lookahead.py)
    staged = 0  # prepared feeds handed to the ingest thread and not written yet
    preparing = 0  # new bodies in the parse pool
    # Claims, parsing and storing run on one thread beside the event loop: fetches keep
    # flowing while a feed is processed, and the database sees one writer.
    writer = Writer(store)
    writes: list[asyncio.Future[None]] = []  # batches handed to the ingest thread
    lease = store.lease_token()  # every claim of this update: released if it stops early
    # new bodies being prepared or staged (full_text sources aside): a parsed feed is
    # memory (~450 KB), and the ingest thread writes one at a time (backlog_size)
    backlog = asyncio.Semaphore(backlog_size(workers))
    group = Group(store)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest") as executor:
        ingest = IngestThread(executor, group, loop)
        async with make_client(limits, settings.user_agent, settings.concurrency) as client:

            async def one(source: SourceToFetch) -> UpdateResult:
                # The global slot is held until the feed is written, so at most
                # `concurrency` bodies wait in memory however fast the network is; its
                # result may then wait for the commit of the group it was written in.
                try:
                    stored, finish = await fetch_and_store(source)
                except Exception as error:  # whatever raised, it is this source's error
                    log.exception("internal error while fetching %s", source.name)
                    return polled(source, error_value(error))
                finally:
                    slots.release()
                if isinstance(stored, Future):
                    stored = await asyncio.wrap_future(stored)
                return finish(stored)

            async def fetch_and_store(source: SourceToFetch) -> tuple[
                    UpdateResult | Future[UpdateResult], Callable[[UpdateResult], UpdateResult]]:
                """The source's result, or the future one of its write, and what
                completes that result once written."""
                if source.name in full_text and await ingest.run(
                        partial(pages_waiting, store, source)):
                    source = without_validators(source)
                async with host_gates[_host(source.url)]:
                    started, clock = utc_now(), time.monotonic()
                    response = await fetch(client, source, limits, started)
                    seconds = time.monotonic() - clock
                lag = (started - source.due_at).total_seconds() \
                    if due_only and source.due_at is not None else None

                def finish(done: UpdateResult) -> UpdateResult:
                    metrics.record_fetch(done.outcome.value, seconds, lag)
                    return replace(done, seconds=seconds)

                return await store_response(source, response), finish

            def polled(source: SourceToFetch, response: Response) -> UpdateResult:
                """A response without a new body (a 304, the same body again, an error),
                decided here on the event loop: the plan is pure and cheap, and its write
                joins the next batch, handed to the ingest thread once per batch."""
                decided = decide(store, config, source, response)
                batch = writer.defer(source, decided.update, decided.policy)
                if batch:
                    writes.append(ingest.run(writer.write, batch, writes=True))
                return result(source, decided.update, decided.problem)

            async def store_response(source: SourceToFetch, response: Response
                                     ) -> UpdateResult | Future[UpdateResult]:
                if not needs_prepare(source, response):
                    return polled(source, response)
                if source.name in full_text:  # not held back while its pages are fetched
                    return await prepare_and_store(source, response)
                async with backlog:
                    return await prepare_and_store(source, response)

            async def prepare_and_store(source: SourceToFetch, response: Response
                                        ) -> UpdateResult | Future[UpdateResult]:
                nonlocal staged, preparing
                prepared: PreparedFeed | Exception | None = None
                # The pool prepares every new body, so the parsing libraries load in the
                # workers, not in this process (the ingest thread preparing what the pool
                # had no room for cost this process 40 MB; its gain, measured on a loaded
                # machine, was within the noise: bench/README.md, "Latest")
                if workers:
                    assert isinstance(response, Fetched)
                    # a full_text source's texts change once its pages are read: it is
                    # prepared whole, and its candidates are read when it is written
                    ahead = (lookahead(database, source.id, read_ahead(staged),
                                       defer_to_writer(staged, preparing)),) \
                        if database is not None and source.name not in full_text else ()
                    preparing += 1
                    try:
                        with ingest.coming():
                            prepared = await loop.run_in_executor(
                                parse_pool(workers), run_named,
                                PREPARE_AND_READ if ahead else PREPARE, response.body,
                                dict(response.headers), response.url, utc_now(), *ahead)
                    except ParseError as error:
                        prepared = error
                    except Exception:  # the pool broke: prepare on the ingest thread instead
                        log.warning("parse worker failed for %s; parsing in-process",
                                    source.name, exc_info=True)
                    finally:
                        preparing -= 1
                if source.name in full_text:
                    return await with_full_text(source, response, prepared)
                staged += 1
                try:
                    return await ingest.run(partial(  # reported once committed
                        stage, store, config, source, response, prepared, writer=writer,
                        group=group))
                finally:
                    staged -= 1

            async def with_full_text(source: SourceToFetch, response: Response,
                                     prepared: PreparedFeed | Exception | None
                                     ) -> UpdateResult | Future[UpdateResult]:
                """A new body of a full_text source: plan, fetch and read the article
                pages of its new and changed items, and of those an earlier update's
                limit left out, then write."""
                decided = await ingest.run(partial(
                    decide, store, config, source, response, prepared, keep_items=True))
                waiting = await ingest.run(partial(full_text_waiting, store, source, decided))
                if decided.update.new_items or decided.update.changed_items or waiting:
                    update = await add_full_text(
                        client, decided.update, limits=limits,
                        limit=settings.full_text_per_update,
                        gate=lambda url: host_gates[_host(url)], run=run_cpu,
                        waiting=waiting)
                    decided = replace(decided, update=update)
                return await ingest.run(partial(
                    commit_later, store, source, decided, writer=writer, group=group))

            async def run_cpu(function: Callable[..., Any], *args: Any) -> Any:
                """CPU work off the event loop: in the parse pool, else (no pool, or
                it broke) on the ingest thread."""
                if workers:
                    try:
                        return await loop.run_in_executor(parse_pool(workers), function, *args)
                    except Exception:
                        log.warning("parse worker failed; working in-process", exc_info=True)
                return await ingest.run(partial(function, *args))

            def claim(limit: int | None) -> list[SourceToFetch]:
                # the scheduler's window also keeps each host's leases, counted across
                # every worker, within per_host_concurrency
                return store.claim_sources(
                    now or utc_now(), names=names, due_only=due_only, limit=limit,
                    token=lease, per_host=None if window is None
                    else settings.per_host_concurrency)

            slots = _Slots(settings.concurrency, one)
            more = True
            try:
                while more or slots.running:
                    if more and (window is None or slots.outstanding < window):
                        room = first if window is None else window - slots.outstanding
                        claimed = await ingest.run(claim, room, writes=True)
                        slots.admit(claimed)
                        if window is None:  # the rest of a one-off, if the first was full
                            more, first = first is not None and len(claimed) == first, None
                            if more:
                                continue
                        else:
                            # a short window claim may only mean busy hosts: claim again
                            # when a fetch finishes and frees a host's slot
                            more = bool(claimed)
                        if not slots.running:
                            break
                    done = await slots.finished()
                    more = more or window is not None
                    for task in done:
                        outcome = task.result()
                        results.append(outcome)
                        if on_result is not None:
                            on_result(outcome)
                await ingest.run(writer.flush, writes=True)
                await asyncio.gather(*writes)
            except BaseException:  # interrupted (Ctrl-C, SIGTERM, a failing callback)
                await slots.cancel()
                # on the ingest thread, after the claim or write still running there:
                # what this update leased and did not store is free again at once
                await asyncio.shield(ingest.run(_release, store, lease, writes=True))
                await asyncio.gather(*writes, return_exceptions=True)
                raise
    return results


class _Slots:
    """At most ``size`` sources in their slot (fetched and, if new, written) at once:
    a task is made for a claimed source only when a slot is free for it, and a finished
    task is handed back without watching every running one (``asyncio.wait`` over a
    thousand tasks, called once per completion, cost more than the fetches' own
    bookkeeping)."""

    def __init__(self, size: int,
                 run: Callable[[SourceToFetch], Coroutine[Any, Any, UpdateResult]]) -> None:
        self._free = size
        self._run = run
        self._waiting: deque[SourceToFetch] = deque()  # claimed, no slot yet
        self._done: list[asyncio.Task[UpdateResult]] = []
        self._wake = asyncio.Event()
        self.running: set[asyncio.Task[UpdateResult]] = set()

    @property
    def outstanding(self) -> int:
        """Claimed sources not finished yet."""
        return len(self.running) + len(self._waiting)

    def admit(self, sources: Iterable[SourceToFetch]) -> None:
        """Start each source now if a slot is free, else when one is."""
        for source in sources:
            if self._free:
                self._free -= 1
                self._start(source)
            else:
                self._waiting.append(source)

    def release(self) -> None:
        """A source left its slot: the next one waiting takes it."""
        if self._waiting:
            self._start(self._waiting.popleft())
        else:
            self._free += 1

    def _start(self, source: SourceToFetch) -> None:
        task = asyncio.create_task(self._run(source))
        self.running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[UpdateResult]) -> None:
        self._done.append(task)
        self._wake.set()

    async def finished(self) -> list[asyncio.Task[UpdateResult]]:
        """The tasks finished since the last call (waiting for one if none is)."""
        while not self._done:
            self._wake.clear()
            await self._wake.wait()
        done, self._done = self._done, []
        self.running.difference_update(done)
        return done

    async def cancel(self) -> None:
        """Cancel every task, started or not, and wait for them to end."""
        self._waiting.clear()
        for task in self.running:
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)


#: how many prepared feeds must be waiting for the writer before the parse worker
#: reads a feed's candidates itself (read_ahead). With 3 the worker was the busier process
#: of a cold run (busy ~95% of the time, the writer ~83%): the bench's cold 1,000-feed run,
#: 7 against 3 in alternating pairs, 1,931-2,087 against 1,840-1,926 items/s (+5% to
#: +13%), the worker's CPU 20.9-22.3 s against 23.0-24.4, the peak memory the same; 5
#: and 9 were slower than 7 in each of 3 rounds. Into a million-item store, where the
#: writer is behind and the backlog full, +3% (1,566-1,586 against 1,504-1,547)
AHEAD_AT = 7


def backlog_size(workers: int) -> int:
    """How many new bodies may be in the parse pool or waiting for the ingest thread at
    once: enough that neither process waits for the other when a feed takes either of
    them longer than the one before (a group's commit, a big feed). The bench's cold
    1,000-feed run, CPU seconds of both processes per wall second (3 rounds each,
    interleaved), by backlog and ``AHEAD_AT``: 1.61 with 5 and 1 (before), 1.70 with 9
    and 2, 1.72 with 12 and 3, 1.74 with 16 and 4; the peak memory +2 MB at 12."""
    return 11 * workers + 1


#: how many new bodies must be in the parse pool, with no prepared feed waiting for the
#: writer, before a feed's fingerprints and credits are left to the writer
#: (defer_to_writer). On the bench's cold run 3 and 6 chose alike (145-187 feeds of
#: 1,000): whenever the writer waits, the pool is nearly full; 6 keeps a worker that
#: is only a little behind, or a pool not filled yet, from handing its work over
DEFER_AT = 6


def defer_to_writer(staged: int, preparing: int) -> bool:
    """Whether the parse worker should leave a feed's fingerprints and credits (about
    half of its work on a feed) to the writer: when the worker is the one behind, with
    ``preparing`` new bodies in the pool (``DEFER_AT`` or more) and none of the feeds
    it prepared waiting for the writer (``staged``). The mirror of ``read_ahead``."""
    return staged == 0 and preparing >= DEFER_AT


def read_ahead(staged: int) -> bool:
    """Whether the parse worker should read a feed's candidates (store/lookahead.py) and
    pack its texts: when the writer is the one behind, with ``staged`` prepared feeds not
    written yet (``AHEAD_AT`` or more: with fewer, the worker read ahead so often that it
    became the busier process, and the cold run waited for it).
    Either costs the worker about what it saves the writer, so it goes to whichever
    process has time for it; when the worker is behind, the writer does both."""
    return staged >= AHEAD_AT


def lookahead(database: str, source_id: int, ahead: bool, defer: bool = False) -> Lookahead:
    """What a parse worker reads of the store for a source: what it holds, and, if
    ``ahead`` (``read_ahead``), its candidates, and it packs the texts (store/lookahead.py,
    imported with the first new body: a cycle of 304s does not need it); if ``defer``
    (``defer_to_writer``), it leaves the fingerprints and credits to the writer."""
    from aggregator.store.lookahead import Lookahead

    return Lookahead(database, source_id, ahead, defer)


def _release(store: Store, lease: str) -> None:
    try:
        store.release_leases(lease)
    except AggregatorError as error:  # they expire instead
        log.error("could not release the leases of an interrupted update: %s", error)


def process(store: Store, config: Config, source: SourceToFetch, response: Response,
            prepared: PreparedFeed | Exception | None = None, *,
            writer: Writer | None = None) -> UpdateResult:
    """Turn one fetch outcome (and its feed, if already prepared) into a stored update:
    look up what the plan needs, plan, write once (through ``writer``, which batches
    updates without items, when given). Never raises."""
    return commit(store, source, decide(store, config, source, response, prepared),
                  writer=writer)


def decide(store: Store, config: Config, source: SourceToFetch, response: Response,
           prepared: PreparedFeed | Exception | None = None, *,
           keep_items: bool = False) -> Decided:
    """Prepare the feed if not done yet, look up the stored hashes, plan. Never raises.
    ``keep_items``: with every item of the feed (``Decided.items``), not only those the
    plan keeps."""
    now = utc_now()
    policy = poll_policy(config, source)
    try:
        if isinstance(prepared, Exception):
            raise prepared
        if prepared is None and needs_prepare(source, response):
            assert isinstance(response, Fetched)
            from aggregator.ingest.prepare import prepare_feed

            prepared = prepare_feed(response.body, response.headers, response.url, now)
        elif prepared is not None and prepared.deferred:  # left to the writer (this thread)
            from aggregator.stories.marks import finish

            prepared = finish(prepared)
            metrics.count("marks_made_by_writer")
        stored = store.stored_hashes(source.id, [i.guid for i in prepared.items]) \
            if prepared else {}
        # items not stored: was any pruned by retention? (their tombstones say so)
        pruned = store.pruned_guids(source.id, {
            i.guid: prepared.story_keys.get(i.guid, ()) for i in prepared.items
            if i.guid not in stored}, now) if prepared else frozenset()
    except AggregatorError as error:
        response, prepared, stored, pruned = error, None, {}, frozenset()
    except Exception as error:  # a bug on one feed must not stop the others
        log.exception("internal error while preparing %s", source.name)
        response, prepared, stored, pruned = error_value(error), None, {}, frozenset()
    update = plan(source, response, prepared, stored, policy=policy, now=now,
                  jitter=random.random(), pruned=pruned)
    if isinstance(prepared, PreparedFeed) and prepared.skipped and isinstance(
            response, Fetched) and any(i.guid in prepared.skipped for i in update.new_items):
        # the worker found stored an item that is new now (deleted meanwhile): it made
        # no fingerprint for it, so the feed is prepared again, whole, here (rare)
        return decide(store, config, source, response, None, keep_items=keep_items)
    if isinstance(prepared, PreparedFeed) and update.new_items:  # packed by the worker
        update = replace(update, packed=prepared.packed, candidates=prepared.candidates)
    problem = failure(response) if isinstance(response, AggregatorError) else None
    return Decided(update, policy, problem, prepared.items
                   if keep_items and isinstance(prepared, PreparedFeed) else ())


def stage(store: Store, config: Config, source: SourceToFetch, response: Response,
          prepared: PreparedFeed | Exception | None = None, *, writer: Writer,
          group: Group) -> Future[UpdateResult]:
    """``process``, with the items written in ``group``'s transaction: the result is
    ready once that transaction is committed. Never raises."""
    return commit_later(store, source, decide(store, config, source, response, prepared),
                        writer=writer, group=group)


def full_text_waiting(store: Store, source: SourceToFetch, decided: Decided
                      ) -> tuple[ItemData, ...]:
    """The items of the feed just read that this update leaves as stored and whose
    article page an earlier update's limit left unread (ingest/fulltext.py)."""
    from aggregator.ingest.fulltext import over_limit

    update = decided.update
    planned = {i.guid for i in update.new_items + update.changed_items}
    unchanged = {i.guid: i for i in decided.items if i.guid not in planned}
    if not unchanged:
        return ()
    statuses = store.full_text_statuses(source.id, unchanged)
    return tuple(i for guid, i in unchanged.items() if over_limit(statuses.get(guid)))


def pages_waiting(store: Store, source: SourceToFetch) -> bool:
    """Whether an item of a full_text source waits for its article page (an update's
    limit left it out, within ``fulltext.CATCH_UP`` of its first sight)."""
    from aggregator.ingest.fulltext import CATCH_UP, OVER_LIMIT

    return store.has_full_text_status(source.id, OVER_LIMIT, seen_since=utc_now() - CATCH_UP)


async def add_full_text(client: Client, update: SourceUpdate, *, limits: FetchLimits,
                        limit: int, gate: HostGate, run: CpuRunner,
                        waiting: Sequence[ItemData] = ()) -> SourceUpdate:
    """``update`` with the full text of its new and changed items (ingest/fulltext.py),
    and of the ``waiting`` ones in the room left: their article pages fetched under the
    feeds' rules and their host's gate, at most ``limit`` of them, read by ``run`` (the
    parse pool). Never raises: what fails is recorded on its item."""
    from aggregator.ingest.fulltext import failed, read_article, to_fetch, with_full_text

    chosen, skipped = to_fetch(update.new_items + update.changed_items, limit, waiting)

    async def one(item: ItemData) -> FullText:
        try:
            url = item.url or ""
            async with gate(url):
                page = await fetch_page(client, url, limits, utc_now())
            if isinstance(page, AggregatorError):
                return failed(item, str(page))
            article: FullText = await run(read_article, item, page.body, dict(page.headers),
                                          page.url)
            return article
        except Exception as error:  # a bug on one page must not lose the item
            log.exception("internal error while reading the article %s", item.url)
            return failed(item, f"internal error: {error!r}")

    return with_full_text(update, await asyncio.gather(*(one(i) for i in chosen)), skipped,
                          waiting)


#: band keys are kept this long past the matching window, for feeds that arrive late
PRUNE_MARGIN = timedelta(days=1)


def prune_index(store: Store, now: datetime) -> int:
    """Drop the near-duplicate band keys no new item can match any more: those of items
    dated more than the window (and a day's margin) before ``now``."""
    from aggregator.stories.similarity import WINDOW

    return store.prune_index(now - WINDOW - PRUNE_MARGIN)


def apply_retention(store: Store, config: Config, now: datetime, *,
                    dry_run: bool = False) -> PruneReport | None:
    """Prune the stories none of whose items was stored or changed within
    ``settings.retention`` (None when retention is off), leaving tombstones of their keys
    so the feeds that still list them do not bring them back."""
    retention = config.settings.retention
    if retention is None:
        return None
    return store.prune_stories(now - retention, now, dry_run=dry_run)


def poll_policy(config: Config, source: SourceToFetch) -> PollPolicy:
    settings = config.settings
    return PollPolicy(
        interval=timedelta(seconds=source.poll_interval_seconds),
        adaptive=settings.adaptive_polling and not source.fixed_interval,
        min_interval=settings.min_interval, max_interval=settings.max_interval,
        max_error_interval=settings.max_error_interval)
