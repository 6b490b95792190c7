"""The command line. No logic of its own: it parses options and calls update/site/service.

Exit codes: 0 success, 1 a source (or the database, or writing) failed,
2 a usage or configuration error (a schema this version will not open, a port in use).

No ``from __future__ import annotations`` here: typer reads every command's signature
at every start, and as strings each annotation was compiled and evaluated again (typer
from ``app()`` to the command 11-16 -> 4.3 ms); the names imported only for type
checking are quoted instead.
"""

import gc
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from aggregator.exceptions import (
    AggregatorError,
    ConfigError,
    SchemaError,
    StorageError,
    UpdateError,
)
from aggregator.version import __version__

if TYPE_CHECKING:
    from socket import socket
    from types import FrameType

    from rich.console import Console

    from aggregator.config import Config
    from aggregator.service import Service
    from aggregator.store import SourceStatus, Store
    from aggregator.types import StoryView, UpdateResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # 128 + SIGINT, 128 + SIGTERM

app = typer.Typer(
    name="aggregator", no_args_is_help=True, add_completion=False,
    pretty_exceptions_enable=False, rich_markup_mode=None,
    help="Poll RSS/Atom sources, merge the same story from several outlets, "
         "publish curated Atom feeds.",
)


@cache
def err() -> "Console":
    """Standard error through rich, made at first use: `--help` and `--version` never
    load rich (15 ms and 2.4 MB of their start)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@cache
def out() -> "Console":
    """Standard output through rich, made at first use."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


ConfigOption = Annotated[str | None, typer.Option(
    "--config", "-c", metavar="PATH",
    help="feeds.yaml to use [default: $AGGREGATOR_CONFIG, else feeds.yaml]")]
DbOption = Annotated[str | None, typer.Option(
    "--db", metavar="URL",
    help="database URL [default: settings.database, else $AGGREGATOR_DATABASE_URL, "
         "else sqlite:///aggregator.db]")]


def _say(line: str, *, stderr: bool = False) -> None:
    """One line of plain text, as the consoles print it (no markup, highlighting or
    wrapping), without loading rich: 25 of the 190 ms of `check`."""
    print(line, file=sys.stderr if stderr else sys.stdout, flush=True)


def _fail(message: str, code: int) -> NoReturn:
    _say(f"aggregator: {message}", stderr=True)
    raise typer.Exit(code)


def _config_path(path: str | None) -> str:
    from aggregator.config import config_path

    _settled()  # every command reads feeds.yaml (or its path) once its imports are done
    return config_path(path)


def _config(path: str | None) -> tuple[str, "Config"]:
    from aggregator.config import load_config

    chosen = _config_path(path)
    try:
        conf = load_config(chosen)
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
    _settled()
    return chosen, conf


@contextmanager
def _store(db: str | None, config: "Config", *,
           upgrade: bool | None = None) -> Iterator["Store"]:
    """The store, its schema created or migrated (unless settings.auto_migrate is false:
    then an older schema is refused, as is always a newer one, in one line, status 2)."""
    # logging here, not at the top: `check` and `--help` never load it (5 ms)
    import logging

    from aggregator.config import database_url
    from aggregator.store import Store

    logging.getLogger("alembic").setLevel(logging.WARNING)  # no INFO lines at every start
    try:
        store = Store(database_url(db, config), upgrade=config.settings.auto_migrate
                      if upgrade is None else upgrade)
    except SchemaError as error:
        _fail(str(error), EXIT_USAGE)
    except StorageError as error:
        _fail(str(error), EXIT_FAILED)
    try:
        yield store
    except StorageError as error:
        _fail(str(error), EXIT_FAILED)
    finally:
        store.close()


def _summary(results: list["UpdateResult"]) -> str:
    from aggregator.types import Outcome

    count = {o: sum(r.outcome is o for r in results) for o in Outcome}
    new = sum(r.new for r in results)
    updated = sum(r.updated for r in results)
    failed = count[Outcome.ERROR] + count[Outcome.GONE]
    return (f"sources: {count[Outcome.OK]} ok, {count[Outcome.NOT_MODIFIED]} unchanged, "
            f"{failed} failed; items: {new} new, {updated} updated")


def _failed(result: "UpdateResult") -> bool:
    from aggregator.types import Outcome

    return result.outcome in (Outcome.ERROR, Outcome.GONE)


class _Process:
    """Whether this process is the command's own (``main()``, the console script), not a
    test's or a program's that calls ``app`` in-process."""

    own = False


def _settled() -> None:
    """The command's modules (and then feeds.yaml) are loaded: in a process of its own,
    their objects leave the garbage collector's sight (``gc.freeze``) and the collector,
    off since ``main()`` began, is on again. They live as long as the process, yet the
    collections while importing (70 ms), each full one of a warm cycle (three over 1,000
    feeds) and the one at exit walked them all again: 0.3 s of a fetch. In-process
    callers of ``app`` are left alone: their own objects would be frozen too."""
    if _Process.own:
        gc.freeze()
        gc.enable()


@contextmanager
def _sigterm_as_interrupt(stopped_by: list[str]) -> Iterator[None]:
    """Within: SIGTERM stops the way Ctrl-C does (KeyboardInterrupt, after asyncio.run
    has let the update clean up), and ``stopped_by`` records it."""

    def interrupt(_number: int, frame: "FrameType | None") -> None:
        stopped_by.append("SIGTERM")
        handler = signal.getsignal(signal.SIGINT)  # asyncio.run's while an update runs
        if not callable(handler):
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command()
def fetch(
    sources: Annotated[list[str] | None, typer.Argument(
        metavar="[SOURCE]...", help="names of sources to fetch [default: all]")] = None,
    config: ConfigOption = None, db: DbOption = None,
) -> None:
    """Fetch every source (or the named ones) once, store new items, and exit.

    Exit status: 0 all fetched or unchanged, 1 any source failed, 2 usage or config error,
    130/143 interrupted (Ctrl-C/SIGTERM).
    """
    from aggregator.clock import utc_now
    from aggregator.update import prune_index, update_sources

    _, conf = _config(config)
    unknown = sorted(set(sources or ()) - {s.name for s in conf.sources})
    if unknown:
        _fail(f"unknown source(s): {', '.join(unknown)}; see `aggregator sources`", EXIT_USAGE)
    names = list(dict.fromkeys(sources)) if sources else None
    stopped_by: list[str] = []
    try:
        with _sigterm_as_interrupt(stopped_by), _store(db, conf) as store:
            store.sync_sources(conf.sources, conf.settings.poll_interval, utc_now())
            total = len(names) if names else len(conf.sources)
            if err().is_terminal:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                with Progress(TextColumn("fetching"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.description}"), TimeElapsedColumn(),
                              console=err(), transient=True) as progress:
                    task = progress.add_task("", total=total)

                    def advance(result: "UpdateResult") -> None:
                        progress.update(task, advance=1, description=result.source)

                    results = update_sources(store, conf, names=names, on_result=advance)
            else:
                results = update_sources(store, conf, names=names)
            if any(r.new for r in results):  # the index grew: keep it the window's size
                prune_index(store, utc_now())
    except KeyboardInterrupt:  # update_sources released what it had not stored
        signame = stopped_by[0] if stopped_by else "SIGINT"
        _fail(f"interrupted by {signame}; the sources not stored yet are fetched next time",
              EXIT_TERMINATED if stopped_by else EXIT_INTERRUPTED)
    for result in sorted(results, key=lambda r: r.source):
        if _failed(result):
            err().print(f"{result.source}: {result.error}", markup=False)
        elif result.moved_to:
            err().print(f"{result.source}: moved permanently to {result.moved_to}; "
                      "update its url in feeds.yaml", markup=False)
    skipped = total - len(results)
    line = _summary(results) + (f"; {skipped} skipped (being fetched elsewhere)"
                                if skipped else "")
    (err() if err().is_terminal else out()).print(line, markup=False)
    if any(_failed(r) for r in results):
        raise typer.Exit(EXIT_FAILED)


@app.command()
def publish(
    out_dir: Annotated[Path, typer.Option("--out", metavar="DIR",
                                          help="directory to write the site into")],
    config: ConfigOption = None, db: DbOption = None,
) -> None:
    """Write the whole site for static hosting, atomically, with the same paths
    `aggregator run` serves: DIR/feeds/<name>.atom, .rss, .json and .html (older pages as
    <name>.pageN.*), DIR/index.html and DIR/sources.opml. Unchanged files are left alone."""
    from aggregator.clock import utc_now
    from aggregator.site import render_site, unpublished_paths, write_site

    _, conf = _config(config)
    with _store(db, conf) as store:
        try:
            files = render_site(store, conf, utc_now())
            changed = write_site(out_dir, {path: file.body for path, file in files.items()},
                                 remove=unpublished_paths(conf))
        except AggregatorError as error:
            _fail(str(error), EXIT_FAILED)
    if err().is_terminal:
        err().print(f"{len(conf.outputs)} outputs, {len(files)} files in {out_dir}, "
                  f"{len(changed)} changed", markup=False)


@app.command()
def prune(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="count what would be pruned; change nothing")] = False,
    config: ConfigOption = None, db: DbOption = None,
) -> None:
    """Prune the stories none of whose items was stored or changed within
    settings.retention, with their items and keys, leaving tombstones so the feeds that
    still list them do not bring them back. `aggregator run` does this daily."""
    from aggregator.clock import utc_now
    from aggregator.config.model import show_duration
    from aggregator.update import apply_retention

    _, conf = _config(config)
    retention = conf.settings.retention
    if retention is None:
        _fail("settings.retention is not set in feeds.yaml: nothing to prune", EXIT_USAGE)
    with _store(db, conf) as store:
        report = apply_retention(store, conf, utc_now(), dry_run=dry_run)
    assert report is not None
    if report.busy:
        _fail("another process is pruning this database; try again later", EXIT_FAILED)
    verbs = ("would prune", "would expire") if dry_run else ("pruned", "expired")
    out().print(f"{verbs[0]} {report.stories} stories ({report.items} items, {report.keys} "
              f"keys) unchanged for {show_duration(retention)}; "
              f"{report.tombstones_expired} tombstones {verbs[1]}", markup=False)


def _listen_option(value: str | None) -> str | None:
    from aggregator.config.model import parse_listen

    if value is not None:
        try:
            parse_listen(value)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
    return value


def _listen(listen: str | None, conf: "Config") -> tuple[str, int, "socket"]:
    """The address to serve on, bound now: a port in use is one line (status 2) before
    anything starts, and "serving on" is said only once the port is ours."""
    import socket as sockets

    from aggregator.config.model import parse_listen

    host, port = parse_listen(listen or conf.settings.listen)
    try:
        return host, port, sockets.create_server((host, port))
    except OSError as error:  # its strerror repeats the address: " (while attempting ...)"
        reason = str(error.strerror or error).split(" (while attempting")[0]
        _fail(f"cannot listen on {host}:{port}: {reason}", EXIT_USAGE)


def _log_to_stderr() -> None:
    """One line per event: JSON unless stderr is a terminal (logs.py)."""
    from aggregator.logs import configure

    configure()


def _serve(service: "Service", sock: "socket", host: str, port: int, what: str) -> None:
    """Start the service's jobs and serve its cache on ``sock`` until SIGTERM or SIGINT;
    then stop the jobs (a running update finishes)."""
    import uvicorn

    from aggregator.web import create_app, server_config

    service.start()
    err().print(f"serving {what} on http://{host}:{port}/ (Ctrl-C to stop)", markup=False)
    # uvicorn re-raises the signal that stopped it once it is done; these handlers
    # take that re-raise, so the scheduler below still finishes its work cleanly.
    stopped_by: list[int] = []
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda received, _frame: stopped_by.append(received))
    try:
        server = uvicorn.Server(server_config(
            create_app(service.cache, service.health, service.subscriber), host, port))
        server.run(sockets=[sock])
    finally:
        service.stop()
    if not server.started:
        _fail(f"could not listen on {host}:{port}", EXIT_FAILED)


ListenOption = Annotated[str | None, typer.Option(
    metavar="HOST:PORT", callback=_listen_option,
    help="address to serve on [default: settings.listen]")]


@app.command()
def run(config: ConfigOption = None, db: DbOption = None, listen: ListenOption = None) -> None:
    """Poll due sources on schedule and serve /feeds/<name>.atom, until stopped: a worker
    and a web server in one process."""
    from aggregator.service import Service

    path, conf = _config(config)
    host, port, sock = _listen(listen, conf)
    _log_to_stderr()
    with sock, _store(db, conf) as store:
        _serve(Service(path, conf, store), sock, host, port, "feeds")


@app.command()
def serve(config: ConfigOption = None, db: DbOption = None,
          listen: ListenOption = None) -> None:
    """Serve the site the workers publish into the database, until stopped; no fetching
    (run `aggregator worker` for that)."""
    from aggregator.service import Service

    path, conf = _config(config)
    host, port, sock = _listen(listen, conf)
    _log_to_stderr()
    with sock, _store(db, conf) as store:
        _serve(Service(path, conf, store, fetch=False), sock, host, port, "the published site")


@app.command()
def worker(config: ConfigOption = None, db: DbOption = None) -> None:
    """Poll due sources on schedule and publish what changed into the database, until
    stopped; no web server (run `aggregator serve` for that)."""
    from aggregator.service import Service

    path, conf = _config(config)
    _log_to_stderr()
    with _store(db, conf) as store:
        service = Service(path, conf, store, serve=False)
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda _received, _frame: stop.set())
        service.start()
        err().print(f"worker {store.worker_id} started (Ctrl-C to stop)", markup=False)
        try:
            while not stop.wait(3600):
                pass
        finally:
            service.stop()


@app.command()
def preview(
    output: Annotated[str, typer.Argument(metavar="OUTPUT", help="name of an output")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
    config: ConfigOption = None, db: DbOption = None,
) -> None:
    """Show what an output would publish right now, and why each story is in it."""
    from aggregator.clock import utc_now
    from aggregator.site import select_stories

    _, conf = _config(config)
    chosen = conf.output(output)
    if chosen is None:
        _fail(f"unknown output {output!r}; outputs: "
              f"{', '.join(o.name for o in conf.outputs) or 'none'}", EXIT_USAGE)
    with _store(db, conf) as store:
        result = select_stories(store, conf, chosen, utc_now())
    shown = result.selected[: chosen.limit]
    if as_json:
        out().print_json(json.dumps({
            "output": chosen.name,
            "stories": [{"id": s.story.uid, "title": s.story.title, "url": s.story.url,
                         "published": s.story.published_at.isoformat(),
                         "outlets": [s.story.representative.source_name,
                                     *(o.source_name for o in s.story.others)],
                         "reasons": list(s.reasons)} for s in shown],
            "dropped": dict(result.dropped),
            "rules_matching_nothing": result.silent_rules(),
        }, ensure_ascii=False))
        return
    for selected in shown:
        story = selected.story
        outlets = ", ".join([story.representative.source_title,
                             *(o.source_title for o in story.others)])
        out().print(f"{story.published_at:%Y-%m-%d %H:%M}  {story.title}\n"
                  f"    outlets: {outlets}\n    why: {'; '.join(selected.reasons)}",
                  markup=False)
    more = len(result.selected) - len(shown)
    out().print(f"{len(shown)} stories in {chosen.name}"
              + (f" (+{more} on older pages)" if more > 0 else ""), markup=False)
    for reason, count in result.dropped:
        out().print(f"left out: {count} ({reason})", markup=False)
    for rule in result.silent_rules():
        err().print(f"warning: the rule {rule} matched no story", markup=False)


def _outlets_line(story: "StoryView") -> str:
    lead = story.representative.source_title
    if story.representative_is_original:
        lead += " (original)"
    line = lead + (" · " + ", ".join(o.source_title for o in story.others) if story.others
                   else "")
    if story.credited_origin:
        line += f" · credited to {story.credited_origin}"
    return line


@app.command()
def stories(
    limit: Annotated[int, typer.Option(min=1, help="how many stories")] = 30,
    min_outlets: Annotated[int, typer.Option(
        "--min-outlets", min=1, help="only stories carried by at least this many")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
    config: ConfigOption = None, db: DbOption = None,
) -> None:
    """List recent stories with every outlet that carried them."""
    _, conf = _config(config)
    with _store(db, conf) as store:
        found = [s for s in store.stories_for(None, limit * (5 if min_outlets > 1 else 1))
                 if 1 + len(s.others) >= min_outlets][:limit]
    if as_json:
        out().print_json(json.dumps([{
            "id": s.uid, "title": s.title, "url": s.url,
            "published": s.published_at.isoformat(),
            "representative": {"source": s.representative.source_name, "url": s.url,
                               "original": s.representative_is_original},
            "also_carried_by": [{"source": o.source_name, "url": o.item_url}
                                for o in s.others],
            "credited_origin": s.credited_origin,
        } for s in found], ensure_ascii=False))
        return
    for story in found:
        out().print(f"{story.published_at:%Y-%m-%d %H:%M}  {story.title}\n"
                  f"    {_outlets_line(story)}", markup=False)


@app.command()
def explain(
    item: Annotated[str, typer.Argument(metavar="ITEM",
                                        help="an item id, its URL or its guid")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
    config: ConfigOption = None, db: DbOption = None,
) -> None:
    """Tell why an item joined (or did not join) a story: the key or the similarity."""
    _, conf = _config(config)
    with _store(db, conf) as store:
        found = store.explain_item(item)
    if not found:
        _fail(f"no item with the id, URL or guid {item!r}", EXIT_USAGE)
    if as_json:
        out().print_json(json.dumps([{
            "item": e.item_id, "source": e.source, "title": e.title, "url": e.url,
            "guid": e.guid, "join_reason": e.join_reason, "relayed_by": e.relayed_by,
            "cites": list(e.cites), "credit_line": e.credit_line, "story": e.story_uid,
            "story_outlets": list(e.story_outlets), "is_representative": e.is_representative,
            "representative_is_original": e.representative_is_original,
            "credited_origin": e.credited_origin, "full_text": e.full_text,
        } for e in found], ensure_ascii=False))
        return
    for e in found:
        role = "its representative" if e.is_representative else "one of its outlets"
        lines = [f"item #{e.item_id} from {e.source}: {e.title}",
                 f"    url: {e.url or '-'}", f"    story: {e.story_uid} ({role}; outlets: "
                 f"{', '.join(e.story_outlets)})", f"    why: {e.join_reason}"]
        if e.credit_line:
            who = f"relayed by {e.relayed_by}" if e.relayed_by else ""
            cites = f"citing {', '.join(e.cites)}" if e.cites else ""
            lines.append(f"    credit: {e.credit_line!r} ({' '.join(filter(None, [who, cites]))})")
        if e.full_text:
            lines.append(f"    full text: {e.full_text}")
        out().print("\n".join(lines), markup=False)


@app.command()
def check(config: ConfigOption = None) -> None:
    """Validate feeds.yaml; print the first problem with its file, line and field."""
    path, conf = _config(config)
    _say(f"{path}: OK ({len(conf.sources)} sources, {len(conf.outputs)} outputs)")


sources_app = typer.Typer(help="List, add and remove sources.", no_args_is_help=False)
app.add_typer(sources_app, name="sources")
opml_app = typer.Typer(help="Export or import the sources as OPML.", no_args_is_help=True)
app.add_typer(opml_app, name="opml")
db_app = typer.Typer(help="The database's schema: its revision, and upgrading it.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("current")
def db_current(config: ConfigOption = None, db: DbOption = None) -> None:
    """Print the schema's revision and whether this version can use it; change nothing."""
    from aggregator.config import database_url
    from aggregator.store.migrations import HEAD
    from aggregator.store.store import current_revision, schema_problem

    _, conf = _config(config)
    try:
        revision = current_revision(database_url(db, conf))
    except StorageError as error:
        _fail(str(error), EXIT_FAILED)
    if revision is None:
        state = f"empty: the schema ({HEAD}) is created when a command first opens it"
    elif revision == HEAD:
        state = "the newest: nothing to do"
    elif schema_problem(revision, upgrade=True):
        state = f"newer than this version of aggregator ({HEAD}): it refuses to open it"
    else:
        state = f"older than this version's {HEAD}: run `aggregator db upgrade`"
    out().print(f"{revision or 'none'} ({state})", markup=False)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, db: DbOption = None) -> None:
    """Create the schema, or migrate it to this version's revision (whatever
    settings.auto_migrate says); processes starting meanwhile wait for it. Stop the
    running ones of the old version first (docs/operations.md, "Upgrading")."""
    from aggregator.config import database_url
    from aggregator.store.migrations import HEAD
    from aggregator.store.store import current_revision

    _, conf = _config(config)
    try:
        before = current_revision(database_url(db, conf))
    except StorageError as error:
        _fail(str(error), EXIT_FAILED)
    with _store(db, conf, upgrade=True):
        pass
    out().print(f"schema at {HEAD}" + (" (it was already)" if before == HEAD
                                     else f" (was {before or 'empty'})"), markup=False)


@sources_app.callback(invoke_without_command=True)
def list_sources(
    context: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
    config: ConfigOption = None, db: DbOption = None,
) -> None:
    """List every source with its polling state (or: sources add / sources remove)."""
    from aggregator.clock import utc_now

    if context.invoked_subcommand is not None:
        return
    _, conf = _config(config)
    with _store(db, conf) as store:
        now = utc_now()
        store.sync_sources(conf.sources, conf.settings.poll_interval, now)
        statuses = [s for s in store.source_statuses() if s.active]
    if as_json:
        out().print_json(json.dumps([{
            "name": s.name, "url": s.url, "title": s.title,
            "last_fetched_at": s.last_fetched_at.isoformat() if s.last_fetched_at else None,
            "last_outcome": s.last_outcome, "last_http_status": s.last_http_status,
            "next_fetch_at": s.next_fetch_at.isoformat(), "error_count": s.error_count,
            "last_error": s.last_error, "moved_to": s.moved_to, "items": s.items,
            "stopped": s.stopped, "hub": s.hub, "push": s.push_state,
            "pushed": s.pushed_until is not None and s.pushed_until > now,
            "pushed_until": s.pushed_until.isoformat() if s.pushed_until else None,
        } for s in statuses], ensure_ascii=False))
        return
    _print_sources(statuses, now)


@sources_app.command("add")
def add_source(
    url: Annotated[str, typer.Argument(metavar="URL", help="a feed URL, or a web page "
                                                          "that links to its feed")],
    name: Annotated[str | None, typer.Option("--name", help="the source's slug")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="a tag (repeatable)")] = None,
    title: Annotated[str | None, typer.Option("--title", help="the title to show")] = None,
    config: ConfigOption = None,
) -> None:
    """Check the feed at URL (autodiscovering it from a web page) and add it to feeds.yaml,
    keeping the file's comments, order and formatting."""
    from aggregator.config import Config
    from aggregator.config.edit import NewSource, add_sources
    from aggregator.ingest.subscribe import find_feed
    from aggregator.publish.opml import derive_name, unique_name

    path = _config_path(config)
    conf = _config(config)[1] if Path(path).exists() else Config()
    try:
        found = find_feed(url, conf.settings)
    except UpdateError as error:
        _fail(f"{url}: {error}", EXIT_FAILED)
    chosen = name or unique_name(derive_name(title or found.title, found.url),
                                 {s.name for s in conf.sources})
    try:
        add_sources(path, [NewSource(chosen, found.url, title, tuple(tags or ()))])
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
    out().print(f"added {chosen}: {found.url} ({found.title or 'untitled'}, "
              f"{found.entries} entries) to {path}", markup=False)


@sources_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(metavar="NAME", help="the source to remove")],
    config: ConfigOption = None,
) -> None:
    """Remove a source from feeds.yaml, keeping the rest of the file as it is."""
    from aggregator.config.edit import remove_source

    path = _config_path(config)
    try:
        remove_source(path, name)
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
    out().print(f"removed {name} from {path}", markup=False)


@opml_app.command("export")
def opml_export(
    out_file: Annotated[Path | None, typer.Option(
        "--out", metavar="FILE", help="write here instead of standard output")] = None,
    config: ConfigOption = None, db: DbOption = None,
) -> None:
    """Every source as OPML 2.0, for another reader."""
    from aggregator.site import sources_opml, write_site

    _, conf = _config(config)
    with _store(db, conf) as store:
        data = sources_opml(store, conf)
    if out_file is None:
        sys.stdout.buffer.write(data)
        return
    try:
        write_site(out_file.parent, {out_file.name: data})
    except AggregatorError as error:
        _fail(str(error), EXIT_FAILED)


@opml_app.command("import")
def opml_import(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="an OPML file")],
    config: ConfigOption = None,
) -> None:
    """Add the feeds of an OPML file to feeds.yaml (feeds already there are skipped)."""
    from aggregator.config import Config
    from aggregator.config.edit import NewSource, add_sources
    from aggregator.publish.opml import OpmlError, parse_opml, unique_name

    path = _config_path(config)
    conf = _config(config)[1] if Path(path).exists() else Config()
    try:
        found = parse_opml(file.read_bytes())
    except OSError as error:
        _fail(f"{file}: {error.strerror or error}", EXIT_USAGE)
    except OpmlError as error:
        _fail(f"{file}: {error}", EXIT_USAGE)
    taken = {s.name for s in conf.sources}
    known_urls = {s.url for s in conf.sources}
    new = []
    for source in found:
        if source.xml_url in known_urls:
            continue
        name = unique_name(source.name, taken)
        taken.add(name)
        new.append(NewSource(name, source.xml_url, source.title or None, source.tags))
    try:
        added = add_sources(path, new, skip_existing=True)
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
    out().print(f"added {len(added)} of {len(found)} feeds to {path}"
              + (f": {', '.join(added)}" if added else ""), markup=False)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


def _push_note(status: "SourceStatus", now: datetime) -> str:
    """Whether a WebSub hub pushes the source, and until when."""
    if status.push_state is None:
        return ""
    if status.pushed_until is not None and status.pushed_until > now:
        return f"; pushed by {status.hub} until {_when(status.pushed_until)}"
    state = "lapsed" if status.push_state == "active" else status.push_state
    return f"; push {state} ({status.hub}), polled on schedule"


def _print_sources(statuses: list["SourceStatus"], now: datetime) -> None:
    """One line per source that fits the terminal: the URL is cut short to fit (whole in
    --json), and a long status goes on its own indented line below."""
    header = ("source", "items", "last fetch (UTC)", "next fetch (UTC)", "errors", "url")
    rows, notes = [], []
    for s in statuses:
        status = s.last_outcome or "never fetched"
        if s.last_http_status and s.last_outcome != "not_modified":
            status += f" ({s.last_http_status})"
        if s.last_error:
            status += f": {s.last_error}"
        if s.moved_to:
            status += f"; moved permanently to {s.moved_to}: update feeds.yaml"
        status += _push_note(s, now)
        next_fetch = "stopped (gone)" if s.stopped else _when(s.next_fetch_at)
        rows.append((s.name, str(s.items), _when(s.last_fetched_at), next_fetch,
                     str(s.error_count), s.url))
        notes.append(status)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    room = max(16, out().width - sum(widths) - 2 * len(widths))

    def line(cells: tuple[str, ...]) -> str:
        url = cells[-1] if len(cells[-1]) <= room else cells[-1][: room - 1] + "…"
        return "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True)) + "  " + url

    out().print(line(header), markup=False)
    for row, note in zip(rows, notes, strict=True):
        out().print(line(row), markup=False)
        out().print("  " + note, markup=False)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"aggregator {__version__}\n")  # what rich wrote, without rich
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="print the version")] = False,
) -> None:
    """Poll RSS/Atom sources and publish curated Atom feeds."""


def main() -> None:
    _Process.own = True
    gc.disable()  # until the command has imported what it needs (_settled)
    try:
        app()
    except AggregatorError as error:  # a last guard: no traceback for an expected failure
        _say(f"aggregator: {error}", stderr=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        sys.exit(130)
