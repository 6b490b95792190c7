"""Publishing: select each output's stories, render every format and page, write files.

``select_stories`` reads the store and applies the output's rules (curate.py);
``render_output_feeds`` is pure; ``write_site`` writes atomically.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aggregator.config import Config, OutputConfig
from aggregator.curate import CurationResult, curate
from aggregator.exceptions import PublishError
from aggregator.render import render_atom, render_json, render_rss
from aggregator.store import Store
from aggregator.types import OutputFeed, StoryView

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PAGES = 10  # RFC 5005 paging goes back this many pages of `limit` stories
CANDIDATES_PER_STORY = 4  # stories read per story wanted, when rules may drop some


@dataclass(frozen=True, slots=True)
class Format:
    extension: str
    media_type: str
    render: Callable[[OutputFeed, Sequence[StoryView]], bytes]


FORMATS: dict[str, Format] = {
    "atom": Format("atom", "application/atom+xml; charset=utf-8", render_atom),
    "rss": Format("rss", "application/rss+xml; charset=utf-8", render_rss),
    "json": Format("json", "application/feed+json; charset=utf-8", render_json),
}


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """One page of one output in one format: the bytes and the validators to serve."""

    path: str  # relative to /feeds/, e.g. "all.atom", "all.page2.json"
    output: str
    body: bytes
    gzip_body: bytes
    etag: str  # strong, quoted; the gzip variant adds "-gz" inside the quotes
    last_modified: datetime
    media_type: str

    @staticmethod
    def of(path: str, output: str, body: bytes, updated: datetime,
           media_type: str) -> RenderedFeed:
        return RenderedFeed(
            path=path, output=output, body=body, gzip_body=gzip.compress(body, mtime=0),
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            last_modified=updated.replace(microsecond=0), media_type=media_type)


def feed_path(name: str, extension: str, page: int = 1) -> str:
    return f"{name}.{extension}" if page == 1 else f"{name}.page{page}.{extension}"


def feeds_base(config: Config, static: bool = False) -> str:
    """Where the feed files live: ``<base_url>/feeds/`` when served by `aggregator run`,
    ``<base_url>/`` for a static site written by `aggregator publish --out`."""
    return config.settings.base_url.rstrip("/") + ("/" if static else "/feeds/")


def feed_url(config: Config, name: str, extension: str = "atom", page: int = 1,
             *, static: bool = False) -> str:
    return feeds_base(config, static) + feed_path(name, extension, page)


def select_stories(store: Store, config: Config, output: OutputConfig,
                   now: datetime) -> CurationResult:
    """The stories an output publishes (every page), newest first, with the reasons."""
    names = [s.name for s in config.sources_of(output)]
    rules = output.curation()
    filtered = bool(rules.include or rules.exclude or rules.languages or rules.min_outlets > 1
                    or rules.per_source_limit)
    wanted = output.limit * MAX_PAGES * (CANDIDATES_PER_STORY if filtered else 1)
    since = now - output.max_age if output.max_age else None
    return curate(rules, store.stories_for(names, wanted, since), now)


def render_output_feeds(config: Config, output: OutputConfig, stories: Sequence[StoryView],
                        *, static: bool = False) -> list[RenderedFeed]:
    """Every format and page of one output. Pure: same stories, same bytes."""
    settings = config.settings

    def url(extension: str, page: int = 1) -> str:
        return feed_url(config, output.name, extension, page, static=static)

    pages = max(1, min(MAX_PAGES, math.ceil(len(stories) / output.limit)))
    languages = {s.language for s in stories}
    language = languages.pop() if len(languages) == 1 else None
    feeds = []
    for page in range(1, pages + 1):
        chunk = stories[(page - 1) * output.limit: page * output.limit]
        updated = max((s.updated_at for s in chunk), default=EPOCH)
        for fmt in FORMATS.values():
            meta = OutputFeed(
                name=output.name, title=output.title, description=output.description,
                # the id stays the same whether served or static, in every format
                feed_id="urn:uuid:" + str(uuid.uuid5(
                    uuid.NAMESPACE_URL, feed_url(config, output.name, "atom"))),
                self_url=url(fmt.extension, page), site_url=settings.base_url,
                updated=updated, author=settings.publisher, hub_url=settings.websub_hub,
                language=language,
                first_url=url(fmt.extension) if pages > 1 else None,
                next_url=url(fmt.extension, page + 1) if page < pages else None,
                previous_url=url(fmt.extension, page - 1) if page > 1 else None)
            try:
                body = fmt.render(meta, chunk)
            except (ValueError, TypeError) as error:
                raise PublishError(f"output {output.name!r} could not be rendered as "
                                   f"{fmt.extension}: {error}") from error
            feeds.append(RenderedFeed.of(feed_path(output.name, fmt.extension, page),
                                         output.name, body, updated, fmt.media_type))
    return feeds


def render_output(store: Store, config: Config, output: OutputConfig, now: datetime,
                  extension: str = "atom") -> RenderedFeed:
    """The first page of one output in one format."""
    stories = select_stories(store, config, output, now).stories
    return next(f for f in render_output_feeds(config, output, stories)
                if f.path == feed_path(output.name, extension))


def render_outputs(store: Store, config: Config, now: datetime, *,
                   static: bool = False) -> dict[str, RenderedFeed]:
    """Every page and format of every output, by path."""
    feeds: dict[str, RenderedFeed] = {}
    for output in config.outputs:
        stories = select_stories(store, config, output, now).stories
        feeds.update((f.path, f) for f in render_output_feeds(config, output, stories,
                                                              static=static))
    return feeds


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` so a reader never sees half a file.

    Returns False (and writes nothing) when the file already holds these bytes.
    """
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def write_site(directory: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write each relative path -> bytes under ``directory``; return the files that changed."""
    changed = []
    for relative, data in files.items():
        target = directory / relative
        try:
            if write_atomic(target, data):
                changed.append(target)
        except OSError as error:
            raise PublishError(f"cannot write {target}: {error.strerror or error}") from error
    return changed
