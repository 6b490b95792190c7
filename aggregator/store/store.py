"""The only place with database sessions and queries. Returns our types, never ORM rows.

SQLite (WAL, busy timeout) is the embedded default; PostgreSQL is for several
workers on several hosts. Workers coordinate through the database alone: a
source is *leased* by a conditional UPDATE (atomic on both databases), and a
story is found or created through the primary key of its exact keys.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    event,
    func,
    inspect,
    or_,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlmodel import Session, SQLModel, col, create_engine, select

from aggregator import metrics
from aggregator.config import SourceConfig
from aggregator.exceptions import SchemaError, StorageError
from aggregator.store import bands
from aggregator.store.bands import PendingBands, RecentRows, chunks, placeholder
from aggregator.store.cache import tune
from aggregator.store.driver import bound, select_rows
from aggregator.store.keys import ADVISORY_KEY, LOCKS
from aggregator.store.lookahead import WrittenBands
from aggregator.store.migrations import HEAD, REVISIONS
from aggregator.store.models import (
    ItemRow,
    OutputRow,
    SourceRow,
    StoryRow,
    SubscriptionRow,
)
from aggregator.store.published import SiteWriter, site_etags, site_files, site_version
from aggregator.store.render_reads import story_views
from aggregator.store.retention import (
    BATCH,
    PruneReport,
    expire_tombstones,
    prune_batch,
    pruned_guids,
)
from aggregator.text import canonical_url, url_host
from aggregator.types import (
    HubSource,
    Outcome,
    SiteFile,
    SourceToFetch,
    SourceUpdate,
    StoryView,
    Subscription,
    SubscriptionState,
)

if TYPE_CHECKING:
    from aggregator.store.stories import Added
    from aggregator.stories.fingerprints import Fingerprints

DEFAULT_LEASE = timedelta(minutes=5)
#: a polite claim of N sources looks at the N x this earliest due ones (see _polite_ids)
RANKED_PER_CLAIMED = 20


@dataclass(frozen=True, slots=True)
class ItemExplanation:
    """Why an item is in the story it is in, for `aggregator explain`."""

    item_id: int
    source: str
    title: str
    url: str | None
    guid: str
    first_seen_at: datetime
    join_reason: str
    relayed_by: str | None
    cites: tuple[str, ...]
    credit_line: str | None
    story_uid: str
    story_outlets: tuple[str, ...]  # source names, the representative first
    is_representative: bool
    representative_is_original: bool
    credited_origin: str | None
    full_text: str | None = None  # a full_text source's item: extracted, or why not


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source's polling state, for `aggregator sources`."""

    name: str
    url: str  # as configured
    feed_url: str  # where the feed lives now: moved_to or url (SourceRow.feed_url)
    title: str
    active: bool
    last_fetched_at: datetime | None
    last_outcome: str | None
    last_http_status: int | None
    next_fetch_at: datetime
    error_count: int
    last_error: str | None
    moved_to: str | None
    items: int
    stopped: bool = False
    site_url: str | None = None
    hub: str | None = None  # the WebSub hub its feed announces
    push_state: str | None = None  # its subscription's state there (SubscriptionState)
    pushed_until: datetime | None = None  # the lease of a live subscription


def normalize_database_url(url: str) -> str:
    """postgres:// and postgresql:// use psycopg 3; everything else as given."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def lock(connection: Connection, name: str) -> None:
    """Hold ``name`` (a key of LOCKS) until this connection's transaction ends; call it
    first in the transaction. Another process taking the same lock waits."""
    if connection.dialect.name == "postgresql":
        assert name in LOCKS, name
        connection.execute(text(f"SELECT pg_advisory_xact_lock({ADVISORY_KEY})"),
                           {"name": name})
    else:  # SQLite has one write lock: take it before reading, so what is read stays true
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def schema_problem(revision: str | None, *, upgrade: bool) -> str | None:
    """Why a store at ``revision`` must not be opened by this version, or None. An empty
    database (None) and an older schema with ``upgrade`` are migrated."""
    if revision is None or revision == HEAD:
        return None
    if revision not in REVISIONS:
        return (f"the database schema is at revision {revision}, newer than this version "
                f"of aggregator knows (its newest is {HEAD}): run the newer version, or "
                "restore a backup taken before the upgrade")
    if not upgrade:
        return (f"the database schema is at revision {revision} and this version needs "
                f"{HEAD}: run `aggregator db upgrade` (settings.auto_migrate is false)")
    return None


def migrate(engine: Engine, *, upgrade: bool = True) -> None:
    """Create the schema of an empty database, or bring an older one to the newest
    revision (alembic) when ``upgrade``; refuse (SchemaError) a schema newer than the code
    or, without ``upgrade``, an older one. Runs under the schema lock, so several
    processes starting together on an empty database create it once. A store already at
    the newest revision is only checked, and an empty one is created from the models
    (alembic, 12 MB resident with mako and pygments, is loaded only to upgrade)."""
    revision = _revision(engine)
    if revision == HEAD:
        return
    problem = schema_problem(revision, upgrade=upgrade)
    if problem:
        raise SchemaError(problem)
    with engine.begin() as connection:
        lock(connection, "schema")
        # another process may have migrated while this one waited for the lock
        found = _read_revision(connection)
        if found == HEAD:
            return
        problem = schema_problem(found, upgrade=upgrade)
        if problem:
            raise SchemaError(problem)
        if found is None and not inspect(connection).get_table_names():
            create_schema(connection)
        else:
            run_migrations(connection)


def create_schema(connection: Connection) -> None:
    """The models' tables in an empty database, stamped as the newest revision: the
    schema the migrations build (tests/test_migrations.py compares both to the models)."""
    SQLModel.metadata.create_all(connection)
    connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"))
    connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                       {"head": HEAD})


def run_migrations(connection: Connection) -> None:
    """alembic's upgrade to the newest revision, on ``connection``'s transaction."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def current_revision(url: str) -> str | None:
    """The schema revision of the database at ``url`` (None: empty), without changing it."""
    engine = create_engine(normalize_database_url(url))
    try:
        with _opening(url):
            return _revision(engine)
    finally:
        engine.dispose()


@contextmanager
def _opening(url: str) -> Iterator[None]:
    """The errors of opening the database at ``url`` as one-line StorageErrors."""
    try:
        yield
    except ArgumentError as error:
        raise StorageError(f"invalid database URL {url!r}: {error}") from None
    except (OperationalError, DBAPIError) as error:
        raise StorageError(f"cannot open the database {_safe(url)}: {error.orig}") from None
    except ModuleNotFoundError as error:
        raise StorageError(f"no driver for {_safe(url)}: {error}") from None


def _revision(engine: Engine) -> str | None:
    """The schema's alembic revision, or None for a database without one."""
    with engine.connect() as connection:
        return _read_revision(connection)


def _read_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return str(found[0][0]) if len(found) == 1 else None


def _assign(row: SQLModel, values: Mapping[str, Any]) -> None:
    """Set the fields of ``row`` whose value differs from ``values``."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


#: how long a connection waits for a lock (busy_timeout), and for the switch to WAL
BUSY_SECONDS: Final = 30.0


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
    # a new database only (before its first table, and before WAL): 8 KiB pages hold the
    # 1.5 KB fingerprints and typical items with less slack (13.0 MB against 14.3 MB
    # for the bench's 2,000 items)
    cursor.execute("PRAGMA page_size=8192")
    _journal_wal(cursor, time.monotonic() + BUSY_SECONDS)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    tune(cursor)
    cursor.close()


def _journal_wal(cursor: Any, deadline: float) -> None:
    """Put the database in WAL mode, once per file (the mode is kept in it). Switching
    needs the file to itself, and SQLite fails it at once ("database is locked") rather
    than wait (busy_timeout does not apply): processes opening a new store together
    retry until ``deadline``, and one that finds another has switched is done."""
    pause = 0.001
    while True:
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # (":memory:" stays "memory")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


class Store:
    """Sources, items and stories in one SQL database."""

    def __init__(self, url: str, *, worker_id: str | None = None,
                 upgrade: bool = True) -> None:
        self.url = normalize_database_url(url)
        self._fingerprints: Fingerprints | None = None  # of candidates, made on first use
        self._batches: dict[int, Session] = {}  # thread id -> the session of its open Batch
        # the band rows this process wrote lately (SQLite: store/lookahead.py)
        self._written: WrittenBands | None = None
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        with _opening(url):
            parsed = make_url(self.url)
            self.dialect = parsed.get_backend_name()
            if self.dialect == "sqlite":
                if parsed.database and parsed.database != ":memory:":
                    folder = os.path.dirname(os.path.abspath(parsed.database))
                    try:
                        os.makedirs(folder, exist_ok=True)
                    except OSError as error:
                        raise StorageError(f"cannot create the folder {folder} for the "
                                           f"database {_safe(url)}: "
                                           f"{error.strerror or error}") from None
                self.engine: Engine = create_engine(
                    self.url, connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False})
                event.listen(self.engine, "connect", _set_sqlite_pragmas)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True)
            try:
                migrate(self.engine, upgrade=upgrade)
            except SchemaError:
                self.engine.dispose()
                raise
        if self.sqlite_path is not None:
            self._written = WrittenBands()
        self._recent_rows = RecentRows()  # (SQLite's recent band table)

    @property
    def sqlite_path(self) -> str | None:
        """The database's file, when it is a SQLite file (a parse worker may read it)."""
        database = make_url(self.url).database if self.dialect == "sqlite" else None
        return os.path.abspath(database) if database and database != ":memory:" \
            and not database.startswith("file:") else None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self, locked: str | None = None, *,
                 reading: bool = False) -> Iterator[Session]:
        """One transaction, under the lock ``locked`` (a key of LOCKS) if given; database
        failures become StorageError. ``reading``: the caller only reads."""
        # on a thread with an open Batch (which holds the stories lock and, on SQLite, the
        # write lock), in a savepoint of its transaction: another would wait for that lock.
        # Reads need none on SQLite (a failed SELECT leaves the transaction as it was)
        joined = self._batches.get(threading.get_ident()) \
            if locked in (None, "stories") else None
        try:
            if joined is not None and reading and self.dialect == "sqlite":
                yield joined
            elif joined is not None:
                with joined.begin_nested():
                    yield joined
            else:
                with Session(self.engine, expire_on_commit=False) as session, session.begin():
                    if locked is not None:
                        lock(session.connection(), locked)
                    yield session
        except DBAPIError as error:
            metrics.count("database_errors")
            if not isinstance(error, OperationalError):
                raise
            if "readonly database" in str(error.orig):
                # SQLite opened these connections read-only (the file was not writable
                # then) and they stay so: open new ones, which see the file as it is now
                self.engine.dispose()
            raise StorageError(f"database error: {error.orig}") from error

    def _insert_ignore(self, session: Session, model: type[SQLModel],
                       values: list[dict[str, Any]], conflict: Sequence[str]) -> None:
        """INSERT ... ON CONFLICT DO NOTHING, on either database, as one executemany
        (one cached statement, not a VALUES list compiled anew for every batch)."""
        if not values:
            return
        # the PostgreSQL dialect is imported here, where used: 2.4 MB a SQLite store spares
        statement: Any
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement = pg_insert(model).on_conflict_do_nothing(index_elements=list(conflict))
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = sqlite_insert(model).on_conflict_do_nothing(
                index_elements=list(conflict))
        session.connection().execute(statement, values)

    # ---- the near-duplicate index --------------------------------------------

    def prune_index(self, before: datetime) -> int:
        """Drop the band keys of items dated before ``before``: no new item can match
        them (matching looks within the time window), so the index stays the size of the
        window however long the history grows. Returns the items whose keys were
        dropped."""
        self._forget_written()
        self._recent_rows.forget()
        from aggregator.store import prints

        with self._session() as session:
            prints.prune(session.connection(), int(before.timestamp()))
            return bands.prune(session, int(before.timestamp()))

    def _forget_written(self) -> None:
        """The rows this process wrote may no longer be what is stored (a prune, a
        rollback): a worker's read is used again once they are known anew."""
        if self._written is not None:
            self._written.reset()

    # ---- retention -----------------------------------------------------------

    def prune_stories(self, cutoff: datetime, now: datetime, *, dry_run: bool = False,
                      batch: int = BATCH) -> PruneReport:
        """Prune the stories none of whose items was stored or changed since ``cutoff``,
        ``batch`` stories a transaction, leaving tombstones of their keys; then drop the
        tombstones no feed has listed since ``cutoff``. ``dry_run`` counts and changes
        nothing. Stops early if another process is pruning (``busy``)."""
        total, after = PruneReport(), 0
        self._forget_written()
        while True:
            with self._session() as session:
                last, report = prune_batch(session, self._insert_ignore,
                                           postgres=self.dialect == "postgresql",
                                           after=after, cutoff=cutoff, now=now,
                                           size=batch, dry_run=dry_run)
            total += report
            if not dry_run:
                metrics.count("stories_pruned", report.stories)
            if last is None:
                break
            after = last
        if total.busy:
            return total
        with self._session() as session:
            expired = expire_tombstones(session, cutoff, dry_run=dry_run)
        return total + PruneReport(tombstones_expired=expired)

    def pruned_guids(self, source_id: int, keys: Mapping[str, Sequence[str]],
                     now: datetime) -> frozenset[str]:
        """Which of a source's new items (guid -> exact story keys) were pruned before:
        their item or a key has a tombstone (seen again by this lookup)."""
        if not keys:
            return frozenset()
        # first a read, which needs no savepoint of an open Batch: a store without
        # tombstones (every cold ingest) is the usual answer (3-4 us an item less)
        with self._session(reading=True) as session:
            if session.connection().exec_driver_sql(
                    "SELECT 1 FROM tombstone LIMIT 1").first() is None:
                return frozenset()
        with self._session() as session:
            return pruned_guids(session, source_id, keys, now)

    def ping(self) -> None:
        """Raise StorageError unless the database answers a query."""
        with self._session() as session:
            session.execute(text("SELECT 1"))

    # ---- outputs -------------------------------------------------------------

    def first_published(self, names: Sequence[str], now: datetime) -> dict[str, datetime]:
        """When each output was first published; ``now`` for one published the first time.
        An output's date until it has stories: stable across renders and processes."""
        with self._session() as session:
            self._insert_ignore(session, OutputRow,
                                [{"name": n, "first_published_at": now} for n in names],
                                ["name"])
            rows = session.exec(select(OutputRow).where(col(OutputRow.name).in_(names)))
            return {row.name: row.first_published_at for row in rows}

    # ---- the rendered site ---------------------------------------------------

    @contextmanager
    def publishing(self) -> Iterator[SiteWriter]:
        """Hold the site lock while rendering and writing: publishes in any process run
        one at a time, each starting from what the previous one wrote. Render with the
        store's other methods meanwhile, but write nothing else (on SQLite this holds the
        database's write lock)."""
        with self._session(locked="site") as session:
            yield SiteWriter(session)

    def site_version(self) -> int:
        """The version of the newest publish that changed the site: poll it."""
        with self._session() as session:
            return site_version(session)

    def site_etags(self) -> dict[str, str]:
        """Every path of the stored site -> its ETag."""
        with self._session() as session:
            return site_etags(session)

    def site_files(self, paths: Collection[str]) -> list[SiteFile]:
        """The stored files at ``paths`` (those that still exist)."""
        with self._session() as session:
            return site_files(session, paths)

    # ---- sources -------------------------------------------------------------

    def sync_sources(self, sources: Sequence[SourceConfig], default_interval: timedelta,
                     now: datetime) -> None:
        """Make the stored sources match feeds.yaml: add, update, deactivate the removed.

        A new source, or one whose URL changed, is due at once. Several processes may
        sync at the same moment (five workers starting on an empty database): each sync
        holds the sources lock, and a new source is inserted with ON CONFLICT DO NOTHING.
        """
        wanted = {s.name: s for s in sources}
        with self._session(locked="sources") as session:
            rows = {r.name: r for r in session.exec(select(SourceRow)).all()}
            for name, row in rows.items():
                if name not in wanted and row.active:
                    row.active = False
                    session.add(row)
            new = []
            for name, conf in wanted.items():
                interval = int((conf.poll_interval or default_interval).total_seconds())
                existing = rows.get(name)
                if existing is None:
                    new.append({
                        "name": name, "url": conf.url, "title": conf.title, "tags": conf.tags,
                        "language": conf.language, "poll_interval_seconds": interval,
                        "fixed_interval": conf.poll_interval is not None, "active": True,
                        "stopped": False, "error_count": 0, "created_at": now,
                        "next_fetch_at": now, "host": url_host(conf.url)[:255]})
                    continue
                row = existing
                if row.url != conf.url:  # a new feed: forget what we knew of the old one
                    row.url = conf.url
                    row.etag = row.last_modified = row.body_hash = row.wire_hash = None
                    row.moved_to = None
                    row.websub_hub = row.websub_topic = None
                    row.error_count = 0
                    row.stopped = False
                    row.next_fetch_at = now
                    row.host = url_host(conf.url)[:255]
                if not row.active:
                    row.active = True
                    row.next_fetch_at = min(row.next_fetch_at, now)
                if interval != row.poll_interval_seconds:
                    row.next_fetch_at = min(row.next_fetch_at, now + timedelta(seconds=interval))
                    row.poll_interval_seconds = interval
                # only what changed: an unchanged row (every row, usually) stays clean and
                # costs the flush nothing (half of a 1,000-source sync's CPU)
                _assign(row, {"title": conf.title, "language": conf.language,
                              "tags": conf.tags,
                              "fixed_interval": conf.poll_interval is not None})
            session.flush()
            for start in range(0, len(new), 500):
                self._insert_ignore(session, SourceRow, new[start:start + 500], ["name"])

    def claim_sources(self, now: datetime, *, names: Sequence[str] | None = None,
                      due_only: bool = True, limit: int | None = None,
                      lease: timedelta = DEFAULT_LEASE,
                      token: str | None = None,
                      per_host: int | None = None) -> list[SourceToFetch]:
        """Lease sources for one update, so no other worker takes them meanwhile; they are
        leased to ``token`` (from ``lease_token``; a new one if not given). With
        ``per_host``, no host ends up with more than that many sources leased, counting
        every worker's live leases: politeness across workers, not only within one.

        Claims hold the claims lock (one at a time across processes, so two workers
        counting a host's leases cannot both take its last slot), and the lease is a
        conditional UPDATE (only rows whose lease is free). A crashed worker's lease
        simply expires, at once if that worker was a process of this host that is gone.
        """
        token = token or self.lease_token()
        with self._session(locked="claims") as session:
            held = session.exec(select(SourceRow.lease_owner).distinct().where(
                col(SourceRow.lease_until) >= now)).all()
            dead = [owner for owner in held if owner and _owner_is_gone(owner)]
            free = or_(col(SourceRow.lease_until).is_(None), col(SourceRow.lease_until) < now,
                       col(SourceRow.lease_owner).in_(dead))
            wanted = [col(SourceRow.active), free]
            if due_only:  # the scheduler: due ones, never a stopped (gone) one
                wanted += [col(SourceRow.next_fetch_at) <= now,
                           col(SourceRow.stopped).is_(False)]
            if names is not None:
                wanted.append(col(SourceRow.name).in_(list(names)))
            order = (col(SourceRow.next_fetch_at), col(SourceRow.id))
            if per_host is None:
                ids = [int(i or 0) for i in session.exec(
                    select(SourceRow.id).where(*wanted).order_by(*order).limit(limit))]
            else:
                ids = self._polite_ids(session, wanted, free, per_host, limit)
            if not ids:
                return []
            return _lease(session.connection(), sorted(ids), dead, token=token, now=now,
                          until=now + lease)

    @staticmethod
    def _pushed_until(session: Session, ids: Sequence[int],
                      now: datetime) -> dict[int, datetime]:
        """source id -> the lease of its live WebSub subscription."""
        if not ids:
            return {}
        rows = session.exec(select(SubscriptionRow.source_id, SubscriptionRow.lease_until)
                            .where(col(SubscriptionRow.source_id).in_(list(ids)),
                                   SubscriptionRow.state == SubscriptionState.ACTIVE.value,
                                   col(SubscriptionRow.lease_until) > now)).all()
        return {source_id: until for source_id, until in rows if until is not None}

    def source_to_fetch(self, source_id: int, now: datetime) -> SourceToFetch | None:
        """An active source as an update needs it, without leasing it (a pushed body is
        stored through the same path as a poll)."""
        with self._session() as session:
            row = session.get(SourceRow, source_id)
            if row is None or not row.active:
                return None
            return _to_fetch(row, self._pushed_until(session, [source_id], now).get(source_id))

    @staticmethod
    def _polite_ids(session: Session, wanted: list[Any], free: Any, per_host: int,
                    limit: int | None) -> list[int]:
        """The ids to claim, at most ``per_host`` leased per host counting the leases
        every worker holds now: each host's candidates ranked by due time, taken while
        rank + leased <= per_host. ``limit`` None (no window) ranks every candidate."""
        leased = (select(SourceRow.host, func.count().label("leased"))
                  .where(~free).group_by(col(SourceRow.host)).subquery())
        # only the earliest due are ranked, so a claim costs the same with 100 or
        # 100,000 sources due (a claim runs each time a fetch finishes)
        earliest = (select(SourceRow.id, SourceRow.host, SourceRow.next_fetch_at)
                    .where(*wanted)
                    .order_by(col(SourceRow.next_fetch_at), col(SourceRow.id))
                    .limit(None if limit is None else limit * RANKED_PER_CLAIMED).subquery())
        rank = func.row_number().over(partition_by=earliest.c.host,
                                      order_by=(earliest.c.next_fetch_at,
                                                earliest.c.id)).label("rank")
        candidates = select(earliest.c.id.label("id"), earliest.c.host.label("host"),
                            earliest.c.next_fetch_at.label("due"), rank).subquery()
        query = (select(candidates.c.id)
                 .join(leased, leased.c.host == candidates.c.host, isouter=True)
                 .where(candidates.c.rank + func.coalesce(leased.c.leased, 0) <= per_host)
                 .order_by(candidates.c.due, candidates.c.id).limit(limit))
        return [int(i) for i in session.execute(query).scalars()]

    def lease_token(self) -> str:
        """A new lease owner for ``claim_sources``: this worker's id and a random part."""
        return f"{self.worker_id}:{uuid.uuid4().hex[:12]}"

    def release_leases(self, token: str) -> None:
        """Give up the leases still held under ``token`` (an update that stopped before
        storing its sources), so the next update, here or elsewhere, takes them at once."""
        with self._session() as session:
            session.execute(update(SourceRow).where(col(SourceRow.lease_owner) == token)
                            .values(lease_owner=None, lease_until=None))

    def sources_sharing_stories(self, names: Collection[str], since: datetime) -> set[str]:
        """The sources that carry a story in which an item of ``names`` was added or
        changed at or after ``since``: whose outputs such a change can touch."""
        if not names:
            return set()
        changed = (select(ItemRow.story_id).join(SourceRow, col(SourceRow.id) == ItemRow.source_id)
                   .where(col(SourceRow.name).in_(sorted(names)),
                          col(ItemRow.last_changed_at) >= since))
        with self._session() as session:
            return set(session.exec(
                select(SourceRow.name).distinct()
                .join(ItemRow, col(ItemRow.source_id) == SourceRow.id)
                .where(col(ItemRow.story_id).in_(changed))).all())

    def source_names(self) -> list[str]:
        with self._session() as session:
            return list(session.exec(select(SourceRow.name).where(col(SourceRow.active))).all())

    def stored_hashes(self, source_id: int, guids: Iterable[str]) -> dict[str, str]:
        """guid -> content hash of the items of one source we already have."""
        guid_list = list(guids)
        result: dict[str, str] = {}
        with self._session(reading=True) as session:
            connection = session.connection()
            mark = placeholder(connection)
            for start in range(0, len(guid_list), 500):
                chunk = guid_list[start:start + 500]
                # the driver's own SQL: plain strings, read per source on the ingest thread
                result.update(connection.exec_driver_sql(
                    f"SELECT guid, content_hash FROM item WHERE source_id = {mark}"
                    f" AND guid IN ({', '.join([mark] * len(chunk))})",
                    (source_id, *chunk)).all())
        return result

    def full_text_statuses(self, source_id: int, guids: Iterable[str]) -> dict[str, str]:
        """guid -> full-text status of the items of one source that have one."""
        guid_list = list(guids)
        result: dict[str, str] = {}
        with self._session(reading=True) as session:
            for chunk in chunks(guid_list):
                result.update((guid, status) for guid, status in session.exec(
                    select(ItemRow.guid, ItemRow.full_text_status).where(
                        ItemRow.source_id == source_id, col(ItemRow.guid).in_(chunk)))
                    if status is not None)
        return result

    def has_full_text_status(self, source_id: int, prefix: str, *,
                             seen_since: datetime) -> bool:
        """Whether an item of the source first seen since ``seen_since`` has a full-text
        status that starts with ``prefix`` (``fulltext.OVER_LIMIT``: its article page
        waits to be read)."""
        with self._session(reading=True) as session:
            return session.exec(select(ItemRow.id).where(
                ItemRow.source_id == source_id, col(ItemRow.first_seen_at) >= seen_since,
                col(ItemRow.full_text_status).startswith(prefix, autoescape=True),
            ).limit(1)).first() is not None

    def source_statuses(self) -> list[SourceStatus]:

        with self._session() as session:
            counts = dict(session.exec(
                select(ItemRow.source_id, func.count()).group_by(col(ItemRow.source_id))).all())
            rows = session.exec(select(SourceRow).order_by(col(SourceRow.name))).all()
            subs = {sub.source_id: sub for sub in session.exec(select(SubscriptionRow))}
            return [SourceStatus(
                name=r.name, url=r.url, feed_url=r.feed_url,
                title=r.title or r.feed_title or r.name, active=r.active,
                last_fetched_at=r.last_fetched_at, last_outcome=r.last_outcome,
                last_http_status=r.last_http_status, next_fetch_at=r.next_fetch_at,
                error_count=r.error_count, last_error=r.last_error, moved_to=r.moved_to,
                items=counts.get(r.id or 0, 0), stopped=r.stopped, site_url=r.site_url,
                hub=r.websub_hub, **_push_status(subs.get(r.id or 0)))
                for r in rows]

    # ---- WebSub subscriptions ------------------------------------------------

    def hub_sources(self) -> list[HubSource]:
        """The active sources whose feed announces a WebSub hub (not those gone)."""
        with self._session() as session:
            rows = session.exec(select(SourceRow).where(
                col(SourceRow.active), col(SourceRow.stopped).is_(False),
                col(SourceRow.websub_hub).is_not(None)).order_by(col(SourceRow.id))).all()
            return [HubSource(r.id or 0, r.name, r.websub_hub or "",
                              r.websub_topic or r.feed_url) for r in rows]

    def subscriptions(self) -> list[Subscription]:
        with self._session() as session:
            names = dict(session.exec(select(SourceRow.id, SourceRow.name)).all())
            rows = session.exec(select(SubscriptionRow).order_by(
                col(SubscriptionRow.source_id))).all()
            return [_subscription(r, names.get(r.source_id, "")) for r in rows]

    def subscription(self, token: str) -> Subscription | None:
        """The subscription a callback token names."""
        with self._session() as session:
            row = session.exec(select(SubscriptionRow).where(
                SubscriptionRow.token == token)).first()
            if row is None:
                return None
            source = session.get(SourceRow, row.source_id)
            return _subscription(row, source.name if source else "")

    def begin_subscription(self, wanted: Subscription, current: Subscription | None) -> bool:
        """Record that ``wanted`` is being asked of its hub, if the stored subscription
        of its source is still ``current`` (None: none yet): False when another worker
        got there first. A renewal keeps an active subscription active meanwhile."""
        values = {"token": wanted.token, "secret": wanted.secret, "hub": wanted.hub,
                  "topic": wanted.topic, "callback": wanted.callback,
                  "state": wanted.state.value, "requested_at": wanted.requested_at,
                  "error": None}
        with self._session() as session:
            if current is None:
                self._insert_ignore(session, SubscriptionRow,
                                    [{"source_id": wanted.source_id, **values}],
                                    ["source_id"])
                row = session.get(SubscriptionRow, wanted.source_id)
                return row is not None and row.token == wanted.token
            same = col(SubscriptionRow.requested_at).is_(None) \
                if current.requested_at is None \
                else col(SubscriptionRow.requested_at) == current.requested_at
            if wanted.state is not SubscriptionState.ACTIVE:
                values.update(verified_at=None, lease_until=None)
                self._make_due(session, current, wanted.requested_at)
            done = session.execute(update(SubscriptionRow).where(
                col(SubscriptionRow.source_id) == wanted.source_id,
                col(SubscriptionRow.token) == current.token, same).values(**values))
            return bool(getattr(done, "rowcount", 0))

    def subscription_verified(self, token: str, now: datetime, lease_until: datetime) -> None:
        with self._session() as session:
            session.execute(update(SubscriptionRow).where(col(SubscriptionRow.token) == token)
                            .values(state=SubscriptionState.ACTIVE.value, verified_at=now,
                                    lease_until=lease_until, error=None))

    def end_subscription(self, token: str, state: SubscriptionState, now: datetime,
                         error: str | None = None) -> None:
        """A subscription is no longer live (denied, lapsed, being unsubscribed): its
        source is due at once, so polling takes over where pushing stopped."""
        with self._session() as session:
            row = session.exec(select(SubscriptionRow).where(
                SubscriptionRow.token == token)).first()
            if row is None:
                return
            self._make_due(session, row, now)
            row.state = state.value
            row.lease_until = None
            row.error = error
            if state is SubscriptionState.UNSUBSCRIBING:
                row.requested_at = now
            session.add(row)

    def subscription_failed(self, token: str, requested_at: datetime | None,
                            error: str) -> None:
        """The hub could not be asked (``error``): a request still waiting becomes
        failed; a live subscription keeps its lease and notes the error."""
        with self._session() as session:
            row = session.exec(select(SubscriptionRow).where(
                SubscriptionRow.token == token)).first()
            if row is None or row.requested_at != requested_at:
                return
            if row.state == SubscriptionState.REQUESTED.value:
                row.state = SubscriptionState.FAILED.value
            row.error = error
            session.add(row)

    def forget_subscription(self, token: str) -> None:
        with self._session() as session:
            session.execute(delete(SubscriptionRow).where(col(SubscriptionRow.token) == token))

    @staticmethod
    def _make_due(session: Session, subscription: Subscription | SubscriptionRow,
                  now: datetime | None) -> None:
        """A source no longer pushed is polled at once (not a day later)."""
        if now is None or subscription.state != SubscriptionState.ACTIVE.value:
            return
        source = session.get(SourceRow, subscription.source_id)
        if source is not None and source.next_fetch_at > now:
            source.next_fetch_at = now
            session.add(source)

    # ---- applying an update --------------------------------------------------

    def apply(self, source_id: int, change: SourceUpdate) -> None:
        """Record one source's update in one transaction, and release its lease."""
        # Items join stories under the stories lock, held from reading the candidates to
        # the commit: two workers storing copies of one article at the same instant see
        # each other's rows, so they never make two stories of it (nor lose an outlet).
        items = bool(change.new_items or change.changed_items)
        with self._session(locked="stories" if items else None) as session:
            pending = PendingBands(self._recent_rows)
            added = self._write_update(session, source_id, change, pending)
            if added is not None:
                pending.add([*added.bands, *added.rebanded])
                pending.write(session)
        self._remember_written(added)
        self._committed()
        _count([(change, added)])

    def _remember_written(self, added: Added | None) -> None:
        """Keep the band rows of items whose writes will stay (WrittenBands)."""
        if self._written is None or added is None:
            return
        if added.ids is not None:
            self._written.add(*added.ids, added.bands)
        if added.rebanded:  # rows of items below its cover
            self._written.distrust(added.rebanded_floor)

    def _committed(self) -> None:
        if self._written is not None:
            self._written.committed()

    def batch(self) -> Batch:
        """An open transaction for several sources' updates (``Batch``), under the
        stories lock."""
        return Batch(self)

    def _write_update(self, session: Session, source_id: int, change: SourceUpdate,
                      pending: PendingBands) -> Added | None:
        """Write one source's update in ``session``; what it added to the stories (its
        band rows for ``pending``, not yet written), None if it added no item."""
        source = _SourceState.read(session, source_id)
        if source is None:
            return None
        self._record_state(source, change)
        source.write(session)
        if change.outcome is not Outcome.OK:
            return None
        # loaded with the first items: a cycle of 304s never needs the story logic
        from aggregator.store.stories import (
            add_items,
            refresh_representatives,
            rematch_changed,
            update_items,
        )

        if self._fingerprints is None:
            from aggregator.stories.fingerprints import Fingerprints

            self._fingerprints = Fingerprints()
        added = add_items(session, self._fingerprints, source, change, pending=pending,
                          written=self._written)
        updated = update_items(session, source, change)
        rematched = rematch_changed(session, self._fingerprints, change,
                                    updated.texts_changed, pending=pending)
        added = replace(added, rebanded=rematched.bands, rebanded_floor=rematched.floor,
                        merges=added.merges + rematched.merges)
        refresh_representatives(session, added.touched | updated.touched | rematched.touched,
                                added.members)
        return added

    def apply_many(self, changes: Sequence[tuple[int, SourceUpdate]]) -> None:
        """Record several sources' updates that carry no items (304s, unchanged bodies,
        errors) in one transaction, and release their leases.

        The polls that only confirm the feed (a 304, the same body again) and the errors
        are each written by one UPDATE executed for the whole batch (no source row is
        read); the rare others (a changed body with no new item) through the ORM."""
        if any(change.new_items or change.changed_items for _, change in changes):
            raise ValueError("apply_many takes updates without items; use apply")
        confirmed, failed, others = [], [], []
        for source_id, change in changes:
            if change.outcome in (Outcome.ERROR, Outcome.GONE):
                failed.append(_failed_values(source_id, change))
            elif change.outcome is Outcome.NOT_MODIFIED and change.feed is None \
                    and change.weekly_entries is None and change.feed_ttl_seconds is None:
                confirmed.append(_confirmed_values(source_id, change))
            else:
                others.append((source_id, change))
        with self._session() as session:
            connection = session.connection()
            mark = placeholder(connection)
            for sql, names, values in ((_CONFIRMED, _CONFIRMED_COLUMNS, confirmed),
                                       (_FAILED, _FAILED_COLUMNS, failed)):
                if values:  # the driver's own executemany (store/driver.py)
                    connection.exec_driver_sql(sql.format(m=mark),
                                               bound(connection, _SOURCE_TABLE, names, values))
            ids = sorted({source_id for source_id, _ in others})
            rows = {row.id: row for start in range(0, len(ids), 500)
                    for row in session.exec(select(SourceRow).where(
                        col(SourceRow.id).in_(ids[start:start + 500])))}
            for source_id, change in others:
                row = rows.get(source_id)
                if row is not None:
                    self._record_state(row, change)
                    session.add(row)

    @staticmethod
    def _record_state(source: Any, change: SourceUpdate) -> None:
        """Set what an update tells of a source on its row (a SourceRow, or the
        _SourceState of one)."""
        source.last_fetched_at = change.now
        source.last_outcome = change.outcome.value
        source.last_http_status = change.http_status
        if change.next_fetch_at is not None:
            source.next_fetch_at = change.next_fetch_at
        source.lease_owner = None
        source.lease_until = None
        if change.outcome in (Outcome.ERROR, Outcome.GONE):
            source.error_count += 1
            source.last_error = change.error
            source.stopped = change.outcome is Outcome.GONE
            return
        source.stopped = False
        source.error_count = 0
        source.last_error = None
        source.last_success_at = change.now
        source.etag = change.etag
        source.last_modified = change.last_modified
        if change.body_hash:  # and the wire hash of the same response, or none
            source.body_hash = change.body_hash
            source.wire_hash = change.wire_hash or None
        if change.moved_to is not None:
            source.moved_to = change.moved_to if change.moved_to != source.url else None
            source.host = url_host(source.feed_url)[:255]
        if change.weekly_entries is not None:
            source.weekly_entries = change.weekly_entries
        if change.feed_ttl_seconds is not None or change.outcome is Outcome.OK:
            source.feed_ttl_seconds = change.feed_ttl_seconds
        if change.feed is not None:
            source.websub_hub = change.feed.hub
            source.websub_topic = change.feed.topic
            source.feed_title = change.feed.title
            source.site_url = change.feed.site_url
            source.feed_id = change.feed.feed_id
            source.feed_updated = change.feed.updated
            source.feed_language = change.feed.language

    # ---- reading stories -----------------------------------------------------

    def explain_item(self, reference: str) -> list[ItemExplanation]:
        """Items matching an item id, a URL (as given or canonical) or a guid."""
        canonical = canonical_url(reference)
        with self._session() as session:
            query = select(ItemRow)
            if reference.isdigit():
                query = query.where(ItemRow.id == int(reference))
            else:
                query = query.where(or_(col(ItemRow.url) == reference,
                                        col(ItemRow.canonical_url) == (canonical or reference),
                                        col(ItemRow.guid) == reference))
            items = session.exec(query.order_by(col(ItemRow.id)).limit(20)).all()
            sources = {r.id: r for r in session.exec(select(SourceRow)).all()}
            result = []
            for item in items:
                story = session.get(StoryRow, item.story_id)
                assert story is not None
                members = session.exec(select(ItemRow.id, ItemRow.source_id).where(
                    ItemRow.story_id == story.id).order_by(col(ItemRow.id))).all()
                rep_source = next((src for i, src in members
                                   if i == story.representative_item_id), item.source_id)
                outlets = [sources[rep_source].name] + [
                    name for name in dict.fromkeys(sources[src].name for _, src in members)
                    if name != sources[rep_source].name]
                result.append(ItemExplanation(
                    item_id=item.id or 0, source=sources[item.source_id].name,
                    title=item.title, url=item.url, guid=item.guid,
                    first_seen_at=item.first_seen_at, join_reason=item.join_reason,
                    relayed_by=item.relayed_by,
                    cites=item.cites,
                    credit_line=item.credit_line, story_uid=story.uid,
                    story_outlets=tuple(outlets),
                    is_representative=story.representative_item_id == item.id,
                    representative_is_original=story.representative_is_original,
                    credited_origin=story.credited_origin,
                    full_text=item.full_text_status))
            return result

    def stories_for(self, source_names: Sequence[str] | None, limit: int,
                    since: datetime | None = None) -> list[StoryView]:
        """The newest stories carried by any of ``source_names`` (None: every source),
        published at ``since`` or later when given (render_reads.story_views)."""
        with self._session(reading=True) as session:
            return story_views(session.connection(), source_names, limit, since)


# ---- the batched state of a poll (apply_many): one statement for a whole batch ----
# What Store._record_state does to a row, for the two common cases, in SQL: bound by
# name (b_*) per source; the names must differ from the columns'.



_SOURCE_TABLE = SQLModel.metadata.tables["source"]
#: what Store._record_state reads of a source row, and add_items (its outlet's names)
_STATE = ("id", "name", "url", "title", "feed_title", "site_url", "moved_to", "error_count")


class _SourceState:
    """A source row as an update with items reads and writes it: the columns of
    ``_STATE``, read by the driver's own SQL, then those ``Store._record_state`` sets
    (``changed``), written back by one UPDATE. The ORM's row (every column loaded, a
    flush) cost more than the rest of the row's share of a small update."""

    id: int
    name: str
    url: str
    title: str | None
    feed_title: str | None
    site_url: str | None
    moved_to: str | None
    error_count: int
    changed: dict[str, Any]

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "changed", {})
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        self.changed[name] = value
        object.__setattr__(self, name, value)

    @property
    def feed_url(self) -> str:
        return self.moved_to or self.url

    @classmethod
    def read(cls, session: Session, source_id: int) -> _SourceState | None:
        session.flush()  # the driver's SQL reads what the session holds only once flushed
        connection = session.connection()
        rows = select_rows(connection, f"SELECT {', '.join(_STATE)} FROM source"
                           f" WHERE id = {placeholder(connection)}", (source_id,),
                           [(_SOURCE_TABLE, name) for name in _STATE])
        return cls(dict(zip(_STATE, rows[0], strict=True))) if rows else None

    def write(self, session: Session) -> None:
        """UPDATE the columns set since read (none: no statement)."""
        if not self.changed:
            return
        connection = session.connection()
        mark = placeholder(connection)
        names = (*self.changed, "id")
        connection.exec_driver_sql(
            f"UPDATE source SET {', '.join(f'{name} = {mark}' for name in names[:-1])}"
            f" WHERE id = {mark}",
            bound(connection, _SOURCE_TABLE, names, [(*self.changed.values(), self.id)])[0])
        object.__setattr__(self, "changed", {})


class _Abandoned(Exception):
    """Rolls a Batch's transaction back (never leaves it)."""


class Batch:
    """Several sources' updates in one transaction under the stories lock. ``commit``
    writes them all at once, then counts what was stored; ``rollback`` drops them. If
    ``apply`` raises, the transaction may hold part of that source's writes: the
    caller rolls the batch back (``update.writes.Group`` then writes its sources one
    by one). No savepoint a source: on SQLite each one journaled every page the source
    changed that the batch had changed before (8,400 page writes for 5,000 items).
    Used from the thread that opened it, whose other store calls meanwhile run in
    savepoints of its transaction (``Store._session``).

    On SQLite, most of a feed's commit was writing the pages its ~2,900 band rows
    dirtied (each on a random page of the index): a batch of feeds shares those pages,
    and its band rows go in at the commit, in key order (``PendingBands``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._context = store._session(locked="stories")
        self._session = self._context.__enter__()
        self._pending = PendingBands(store._recent_rows)
        self._added: list[tuple[SourceUpdate, Added | None]] = []
        self._thread = threading.get_ident()
        store._batches[self._thread] = self._session

    def __len__(self) -> int:
        """The sources written so far."""
        return len(self._added)

    def apply(self, source_id: int, change: SourceUpdate) -> None:
        """Write one source's update; if that raises, roll the batch back."""
        try:
            added = self._store._write_update(self._session, source_id, change,
                                              self._pending)
        except DBAPIError as error:
            metrics.count("database_errors")
            raise StorageError(f"database error: {error.orig}") from error
        if added is not None:
            self._pending.add([*added.bands, *added.rebanded])
            self._store._remember_written(added)
        self._added.append((change, added))

    def commit(self) -> None:
        """Commit (StorageError if that fails: then nothing of the batch is stored)."""
        del self._store._batches[self._thread]
        try:
            self._pending.write(self._session)
        except BaseException as error:
            self._store._forget_written()
            self._context.__exit__(type(error), error, error.__traceback__)
            raise
        try:
            self._context.__exit__(None, None, None)
        except BaseException:
            self._store._forget_written()
            raise
        self._store._committed()
        _count(self._added)

    def rollback(self) -> None:
        """Drop what the batch wrote."""
        del self._store._batches[self._thread]
        self._store._forget_written()
        with suppress(_Abandoned):
            self._context.__exit__(_Abandoned, _Abandoned(), None)


def _count(written: Sequence[tuple[SourceUpdate, Added | None]]) -> None:
    """Count what committed updates stored, for the metrics."""
    for change, added in written:
        if added is None:  # no item written (not a success, or its source is gone)
            continue
        metrics.count("items_stored", len(change.new_items))
        metrics.count("items_updated", len(change.changed_items))
        metrics.count("stories_created", added.new_stories)
        metrics.count("near_duplicates", added.near_duplicates)
        metrics.count("story_merges", added.merges)


#: a 304 or the same body again: the source is fine; its validators and body hash kept.
#: The driver's own SQL (``{m}``: its parameter mark), the values in _CONFIRMED_COLUMNS'
#: order, each converted as that column's type converts it
_CONFIRMED = (
    "UPDATE source SET last_fetched_at = {m}, last_outcome = {m}, last_http_status = {m},"
    " next_fetch_at = COALESCE({m}, next_fetch_at), lease_owner = NULL, lease_until = NULL,"
    " stopped = {m}, error_count = 0, last_error = NULL, last_success_at = {m}, etag = {m},"
    " last_modified = {m}, body_hash = COALESCE({m}, body_hash),"
    " wire_hash = CASE WHEN CAST({m} AS VARCHAR) IS NULL THEN wire_hash ELSE {m} END,"
    # moved (or back): the URL it is fetched from is the new one, whichever it is
    " moved_to = CASE WHEN CAST({m} AS VARCHAR) IS NULL THEN moved_to"
    " WHEN {m} = url THEN NULL ELSE {m} END,"
    " host = CASE WHEN CAST({m} AS VARCHAR) IS NULL THEN host ELSE {m} END"
    " WHERE id = {m}")
_CONFIRMED_COLUMNS = ("last_fetched_at", "last_outcome", "last_http_status", "next_fetch_at",
                      "stopped", "last_success_at", "etag", "last_modified", "body_hash",
                      "body_hash", "wire_hash", "moved_to", "moved_to", "moved_to",
                      "moved_to", "host", "id")
#: an error (or 410 Gone): counted, said, and a gone source stopped
_FAILED = (
    "UPDATE source SET last_fetched_at = {m}, last_outcome = {m}, last_http_status = {m},"
    " next_fetch_at = COALESCE({m}, next_fetch_at), lease_owner = NULL, lease_until = NULL,"
    " error_count = error_count + 1, last_error = {m}, stopped = {m} WHERE id = {m}")
_FAILED_COLUMNS = ("last_fetched_at", "last_outcome", "last_http_status", "next_fetch_at",
                   "last_error", "stopped", "id")


def _confirmed_values(source_id: int, change: SourceUpdate) -> tuple[Any, ...]:
    body_hash, moved = change.body_hash or None, change.moved_to
    return (change.now, change.outcome.value, change.http_status, change.next_fetch_at, False,
            change.now, change.etag, change.last_modified, body_hash, body_hash,
            change.wire_hash or None, moved, moved, moved, moved,
            url_host(moved)[:255] if moved else None, source_id)


def _failed_values(source_id: int, change: SourceUpdate) -> tuple[Any, ...]:
    return (change.now, change.outcome.value, change.http_status, change.next_fetch_at,
            change.error, change.outcome is Outcome.GONE, source_id)


#: what claim_sources reads of a source, in SourceToFetch's order (the URL: moved_to or url)
_FETCH_COLUMNS = ("id", "name", "url", "etag", "last_modified", "body_hash", "wire_hash",
                  "error_count", "poll_interval_seconds", "fixed_interval", "weekly_entries",
                  "feed_ttl_seconds")
_FETCH_SELECT = ", ".join("COALESCE(moved_to, url)" if name == "url" else name
                          for name in _FETCH_COLUMNS) + ", next_fetch_at"
_SUBSCRIPTION_TABLE = SQLModel.metadata.tables["subscription"]


def _lease(connection: Connection, ids: Sequence[int], dead: Sequence[str], *, token: str,
           now: datetime, until: datetime) -> list[SourceToFetch]:
    """Lease the sources ``ids`` whose lease is free (none, expired, or of a ``dead``
    owner) to ``token`` until ``until``, and read them as an update needs them: the
    driver's own SQL, a claim of a thousand sources costing a few statements, not a
    SQLAlchemy IN list and a Row each. Ordered by id."""
    mark = placeholder(connection)
    owner, until, free_before = bound(
        connection, _SOURCE_TABLE, ("lease_owner", "lease_until", "lease_until"),
        [(token, until, now)])[0]
    pushed_at, = bound(connection, _SUBSCRIPTION_TABLE, ("state", "lease_until"),
                       [(SubscriptionState.ACTIVE.value, now)])
    dead_owner = f" OR lease_owner IN ({', '.join([mark] * len(dead))})" if dead else ""
    columns = [(_SOURCE_TABLE, name) for name in (*_FETCH_COLUMNS, "next_fetch_at")]
    claimed: list[SourceToFetch] = []
    for start in range(0, len(ids), 500):
        chunk = tuple(ids[start:start + 500])
        marks = ", ".join([mark] * len(chunk))
        connection.exec_driver_sql(
            f"UPDATE source SET lease_owner = {mark}, lease_until = {mark} WHERE id IN"
            f" ({marks}) AND (lease_until IS NULL OR lease_until < {mark}{dead_owner})",
            (owner, until, *chunk, free_before, *dead))
        pushed = dict(select_rows(  # the lease of a live WebSub subscription
            connection, f"SELECT source_id, lease_until FROM subscription WHERE source_id"
            f" IN ({marks}) AND state = {mark} AND lease_until > {mark}",
            (*chunk, *pushed_at), [(_SUBSCRIPTION_TABLE, "source_id"),
                                   (_SUBSCRIPTION_TABLE, "lease_until")]))
        claimed += [SourceToFetch(**dict(zip(_FETCH_COLUMNS, row, strict=False)),
                                  pushed_until=pushed.get(row[0]), due_at=row[-1])
                    for row in select_rows(
                        connection, f"SELECT {_FETCH_SELECT} FROM source WHERE id IN"
                        f" ({marks}) AND lease_owner = {mark} ORDER BY id",
                        (*chunk, token), columns)]
    return claimed


def _to_fetch(row: Any, pushed_until: datetime | None) -> SourceToFetch:
    """A SourceRow, or a row of _FETCH_COLUMNS, as an update needs it."""
    return SourceToFetch(id=row.id or 0, name=row.name, url=row.feed_url,
                         due_at=row.next_fetch_at, etag=row.etag, last_modified=row.last_modified,
                         body_hash=row.body_hash, wire_hash=row.wire_hash,
                         error_count=row.error_count,
                         poll_interval_seconds=row.poll_interval_seconds,
                         fixed_interval=row.fixed_interval,
                         weekly_entries=row.weekly_entries,
                         feed_ttl_seconds=row.feed_ttl_seconds, pushed_until=pushed_until)


def _subscription(row: SubscriptionRow, source: str) -> Subscription:
    return Subscription(
        source_id=row.source_id, source=source, hub=row.hub, topic=row.topic,
        callback=row.callback, token=row.token, secret=row.secret,
        state=SubscriptionState(row.state), requested_at=row.requested_at,
        verified_at=row.verified_at, lease_until=row.lease_until, error=row.error)


def _push_status(row: SubscriptionRow | None) -> dict[str, Any]:
    if row is None:
        return {}
    live = row.state == SubscriptionState.ACTIVE.value
    return {"push_state": row.state, "pushed_until": row.lease_until if live else None}


def _owner_is_gone(owner: str) -> bool:
    """Whether a lease owner ("host:pid:token") is a process of this host that no longer
    exists. Another host's processes cannot be checked: their leases expire."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # another user's process; not a pid
        pass
    return False


def _safe(url: str) -> str:
    """A database URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"
