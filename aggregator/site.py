"""Publishing: select each output's stories and render the whole site, as files.

The site is the same whether `aggregator run` serves it or `aggregator publish --out`
writes it for static hosting, so a subscriber's URL never depends on how it is hosted::

    index.html                      every output, with autodiscovery links
    feeds/<name>.atom|.rss|.json    each output in three formats (RFC 5005 older pages:
    feeds/<name>.pageN.<ext>        <name>.page2.atom, ...)
    feeds/<name>.html               a readable page per output
    stories/<id>.html               a page per story some output publishes (any page of it)
    404.html                        what is answered for any other path
    sources.opml                    every source (unless settings.publish_sources is false)

``select_stories`` reads the store and applies the output's rules (publish/curate.py); the
rendering is pure; ``write_site`` writes atomically. ``publish_site`` keeps the site in the
database for the web servers (``aggregator serve``, ``run``): the worker that stored a
change renders the outputs it touched, under the store's site lock, and writes the files
whose bytes changed.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aggregator import metrics
from aggregator.config import Config, OutputConfig, RuleConfig
from aggregator.exceptions import PublishError
from aggregator.files import replace_file
from aggregator.publish.curate import Curation, CurationResult, Rule, curate
from aggregator.publish.formats import (
    FORMATS,
    NOT_FOUND_PATH,
    OPML_PATH,
    feed_path,
    site_url,
    story_path,
)
from aggregator.publish.opml import OpmlSource, export_opml
from aggregator.publish.pages import (
    OutputSummary,
    SiteInfo,
    content_security_policy,
    render_index,
    render_not_found,
    render_output_page,
    render_story_page,
)
from aggregator.store import PublishedOutput, Store
from aggregator.types import OutputFeed, SiteFile, StoryView

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HTML = "text/html; charset=utf-8"
OPML = "text/x-opml; charset=utf-8"
MAX_PAGES = 10  # RFC 5005 paging goes back this many pages of `limit` stories
CANDIDATES_PER_STORY = 4  # stories read per story wanted, when rules may drop some


def feed_url(config: Config, name: str, extension: str = "atom", page: int = 1) -> str:
    return site_url(config.settings.base_url, feed_path(name, extension, page))


def curation(output: OutputConfig) -> Curation:
    """An output's rules from feeds.yaml, in the form the pure curator takes."""
    def rule(r: RuleConfig) -> Rule:
        return Rule(field=r.field, keywords=r.keywords, pattern=r.regex)

    return Curation(
        include=tuple(map(rule, output.include)), exclude=tuple(map(rule, output.exclude)),
        languages=tuple(lang.lower() for lang in output.languages),
        min_outlets=output.min_outlets, max_age=output.max_age,
        per_source_limit=output.per_source_limit)


def story_url(config: Config, uid: str) -> str:
    """A story's page, absolute: ``<base_url>stories/<id>.html`` (formats.story_path)."""
    return site_url(config.settings.base_url, story_path(uid))


def select_stories(store: Store, config: Config, output: OutputConfig, now: datetime,
                   pages: int = MAX_PAGES) -> CurationResult:
    """The stories an output publishes (its first ``pages`` pages), newest first, with
    the reasons; each links to its page."""
    names = [s.name for s in config.sources_of(output)]
    rules = curation(output)
    filtered = bool(rules.include or rules.exclude or rules.languages or rules.min_outlets > 1
                    or rules.per_source_limit)
    wanted = output.limit * pages * (CANDIDATES_PER_STORY if filtered else 1)
    since = now - output.max_age if output.max_age else None
    stories = [replace(s, page_url=story_url(config, s.uid))
               for s in store.stories_for(names, wanted, since)]
    return curate(rules, stories, now)


def render_output_feeds(config: Config, output: OutputConfig, stories: Sequence[StoryView],
                        *, only: tuple[str, int] | None = None,
                        first_published: datetime = EPOCH) -> list[SiteFile]:
    """Every format and page of one output (or ``only`` one (extension, page)); an output
    with no stories is dated ``first_published``. Pure: same stories, same bytes."""
    settings = config.settings

    def url(extension: str, page: int = 1) -> str:
        return feed_url(config, output.name, extension, page)

    pages = max(1, min(MAX_PAGES, math.ceil(len(stories) / output.limit)))
    languages = {s.language for s in stories}
    language = languages.pop() if len(languages) == 1 else None
    feeds = []
    for page in range(1, pages + 1):
        chunk = stories[(page - 1) * output.limit: page * output.limit]
        updated = max((s.updated_at for s in chunk), default=first_published)
        for fmt in FORMATS.values():
            if only is not None and only != (fmt.extension, page):
                continue
            meta = OutputFeed(
                name=output.name, title=output.title, description=output.description,
                # one id for the output, in every format and on every page
                feed_id="urn:uuid:" + str(uuid.uuid5(
                    uuid.NAMESPACE_URL, feed_url(config, output.name, "atom"))),
                self_url=url(fmt.extension, page), site_url=settings.base_url,
                updated=updated, author=settings.publisher, hub_url=settings.websub_hub,
                language=language, page_url=url("html"),
                first_url=url(fmt.extension) if pages > 1 else None,
                next_url=url(fmt.extension, page + 1) if page < pages else None,
                previous_url=url(fmt.extension, page - 1) if page > 1 else None)
            try:
                body = fmt.render(meta, chunk)
            except (ValueError, TypeError) as error:
                raise PublishError(f"output {output.name!r} could not be rendered as "
                                   f"{fmt.extension}: {error}") from error
            feeds.append(SiteFile.of(feed_path(output.name, fmt.extension, page), body,
                                     updated, fmt.content_type))
    return feeds


def render_output(store: Store, config: Config, output: OutputConfig, now: datetime,
                  extension: str = "atom") -> SiteFile:
    """The first page of one output in one format."""
    stories = select_stories(store, config, output, now, pages=1).stories
    first = store.first_published([output.name], now)[output.name]
    return render_output_feeds(config, output, stories, only=(extension, 1),
                               first_published=first)[0]


class StoryPages:
    """The story pages of the last rendering, by what they were rendered from: most
    stories do not change between two publishes, and a page costs its diffs (about 3 ms
    for a story of three copies), so an unchanged story's page is reused. Holds one
    rendering's pages (the same SiteFiles the site holds) and their StoryViews."""

    def __init__(self) -> None:
        self._kept: dict[tuple[SiteInfo, StoryView], SiteFile] = {}

    def render(self, site: SiteInfo, stories: Sequence[StoryView]) -> list[SiteFile]:
        """The page of each story (once each), dated by the story's last change."""
        kept, fresh = self._kept, {}
        for story in {s.uid: s for s in stories}.values():
            key = (site, story)
            fresh[key] = kept.get(key) or SiteFile.of(
                story_path(story.uid), render_story_page(site, story).encode("utf-8"),
                story.updated_at, HTML, content_security_policy(site.remote_images))
        self._kept = fresh  # swapped whole: two renderings at once each see one
        return list(fresh.values())


STORY_PAGES = StoryPages()


Rendered = tuple[list[SiteFile], OutputSummary, list[StoryView]]


class OutputFiles:
    """Each output's files as last rendered, by what they were rendered from: an output
    whose stories and settings did not change since (a poll of one of its sources that
    changed nothing it shows; the minute's re-render of an output with ``max_age`` when
    no story aged out) is not rendered again, and its feeds are not gzipped again (a
    rendering of 10 pages is about 0.5 s of CPU, its read 60 ms). Holds one rendering
    per output: the same SiteFiles the site holds."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[tuple[object, ...], Rendered]] = {}

    def render(self, config: Config, output: OutputConfig, stories: list[StoryView], *,
               first_published: datetime) -> Rendered:
        """``_render_output_files``, or the same files again for the same inputs."""
        inputs = (output, config.settings, first_published, stories)
        kept = self._kept.get(output.name)
        if kept is not None and kept[0] == inputs:
            return kept[1]
        rendered = _render_output_files(config, output, stories,
                                        first_published=first_published)
        self._kept[output.name] = (inputs, rendered)  # one item: a reader sees one
        return rendered


OUTPUT_FILES = OutputFiles()


def _render_one(store: Store, config: Config, output: OutputConfig, now: datetime, *,
                first_published: datetime) -> Rendered:
    """One output's feeds (every format and page) and HTML page, its index summary, and
    the stories its feeds' pages hold (each gets a page)."""
    stories = select_stories(store, config, output, now).stories
    return OUTPUT_FILES.render(config, output, stories, first_published=first_published)


def _render_output_files(config: Config, output: OutputConfig, stories: list[StoryView], *,
                         first_published: datetime) -> Rendered:
    files = render_output_feeds(config, output, stories, first_published=first_published)
    shown = stories[: output.limit]
    updated = max((s.updated_at for s in shown), default=None)
    summary = OutputSummary(output.name, output.title, output.description, len(shown),
                            updated)
    site = _site_info(config)
    page = render_output_page(site, summary, shown).encode("utf-8")
    files.append(SiteFile.of(feed_path(output.name, "html"), page, updated or first_published,
                             HTML, content_security_policy(site.remote_images)))
    return files, summary, list(stories[: output.limit * MAX_PAGES])


def _site_info(config: Config) -> SiteInfo:
    return SiteInfo(title=config.settings.title, base_url=config.settings.base_url,
                    remote_images=config.settings.remote_images,
                    sources_listed=config.settings.publish_sources)


def _index_and_sources(store: Store, config: Config, summaries: Sequence[OutputSummary],
                       first: Mapping[str, datetime], now: datetime) -> list[SiteFile]:
    """The index page, the "Not found" page and (unless kept private) the OPML list."""
    site = _site_info(config)
    policy = content_security_policy(site.remote_images)
    newest = max((s.updated for s in summaries if s.updated),
                 default=min(first.values(), default=now))
    files = [SiteFile.of("index.html", render_index(site, summaries).encode("utf-8"),
                         newest, HTML, policy),
             SiteFile.of(NOT_FOUND_PATH, render_not_found(site).encode("utf-8"),
                         min(first.values(), default=EPOCH), HTML, policy)]
    if config.settings.publish_sources:
        files.append(SiteFile.of(OPML_PATH, sources_opml(store, config), newest, OPML))
    return files


def render_site(store: Store, config: Config, now: datetime) -> dict[str, SiteFile]:
    """Every file of the site, by path: feeds in every format and page, the HTML pages
    (the index, one per output, one per story published) and the OPML list of sources.

    A story has a page while some output publishes it, on any of its pages: the feeds
    link to it, and the site stays the size of what is published (``run`` holds it in
    memory, and a request never queries the database) rather than of the whole store."""
    started = time.monotonic()
    files = _render_site(store, config, now)
    metrics.record_publish(time.monotonic() - started)
    return files


def _render_site(store: Store, config: Config, now: datetime) -> dict[str, SiteFile]:
    files: dict[str, SiteFile] = {}
    summaries = []
    published: list[StoryView] = []
    first = store.first_published([o.name for o in config.outputs], now)
    for output in config.outputs:
        rendered, summary, stories = _render_one(store, config, output, now,
                                                 first_published=first[output.name])
        files.update((f.path, f) for f in rendered)
        summaries.append(summary)
        published += stories
    files.update((f.path, f) for f in _index_and_sources(store, config, summaries, first, now))
    files.update((f.path, f) for f in STORY_PAGES.render(_site_info(config), published))
    return files


def unpublished_paths(config: Config) -> list[str]:
    """The site's paths that this config keeps private (a static export removes them)."""
    return [] if config.settings.publish_sources else [OPML_PATH]


def outputs_of_sources(config: Config, sources: Collection[str]) -> list[str]:
    """The outputs that select any of ``sources``: those a change to them can touch."""
    return [o.name for o in config.outputs
            if any(s.name in sources for s in config.sources_of(o))]


def publish_site(store: Store, config: Config, now: datetime, *,
                 outputs: Collection[str] | None = None,
                 rendered_before: datetime | None = None) -> list[str]:
    """Render and store the site for the web servers; return the paths that changed.

    Renders every output, or only ``outputs`` (those a change touched), and of those
    only the ones last rendered before ``rendered_before`` when given (the periodic pass
    that lets ``max_age`` drop old stories: the first worker to run it renders, the
    others find it done).
    The index shows the other outputs as they were last rendered; an output never
    rendered is rendered now. It all happens under the store's site lock, so a publish
    in another process starts from what this one wrote; only the files whose bytes
    changed are written, with one new version, and files of the rendered outputs (or,
    rendering everything, of the whole site) that are no longer produced are removed.
    """
    first = store.first_published([o.name for o in config.outputs], now)
    with store.publishing() as writer:
        known = writer.outputs()

        def wanted(output: OutputConfig) -> bool:
            last = known.get(output.name)
            if last is None or last.rendered_at is None:
                return True
            if outputs is not None and output.name not in outputs:
                return False
            return rendered_before is None or last.rendered_at < rendered_before

        chosen = [o for o in config.outputs if wanted(o)]
        if not chosen and config.outputs:
            return []
        started = time.monotonic()
        files: dict[str, SiteFile] = {}
        summaries: dict[str, OutputSummary] = {}
        published: list[StoryView] = []
        for output in chosen:
            rendered, summary, stories = _render_one(store, config, output, now,
                                                     first_published=first[output.name])
            files.update((f.path, f) for f in rendered)
            summaries[output.name] = summary
            published += stories
        for output in config.outputs:
            if output.name not in summaries:
                last = known[output.name]
                summaries[output.name] = OutputSummary(output.name, output.title,
                                                       output.description, last.stories,
                                                       last.updated_at)
        ordered = [summaries[o.name] for o in config.outputs]
        files.update((f.path, f) for f in _index_and_sources(store, config, ordered, first,
                                                             now))
        # the pages of the rendered outputs' stories; a story no output publishes any more
        # loses its page at the next whole publish
        files.update((f.path, f) for f in STORY_PAGES.render(_site_info(config), published))
        metrics.record_publish(time.monotonic() - started)
        everything = len(chosen) == len(config.outputs)
        prefixes = tuple(f"feeds/{o.name}." for o in chosen)
        return writer.write(
            files, [PublishedOutput(o.name, summaries[o.name].story_count,
                                    summaries[o.name].updated, now) for o in chosen],
            stale=lambda path: everything or path.startswith(prefixes))


def sources_opml(store: Store, config: Config) -> bytes:
    """Every configured source as OPML 2.0, with the site URL its feed declares."""
    known = {s.name: s for s in store.source_statuses()}
    return export_opml(f"{config.settings.title}: sources", [
        OpmlSource(name=s.name, title=s.title or (known[s.name].title if s.name in known
                                                  else s.name),
                   xml_url=known[s.name].feed_url if s.name in known else s.url,
                   html_url=known[s.name].site_url if s.name in known else None,
                   tags=s.tags)
        for s in config.sources])


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
    replace_file(path, data)
    return True


def write_site(directory: Path, files: Mapping[str, bytes],
               remove: Sequence[str] = ()) -> list[Path]:
    """Write each relative path -> bytes under ``directory``, and delete the ``remove``
    paths; return the files that changed."""
    changed = []
    for relative in remove:
        target = directory / relative
        try:
            target.unlink()
            changed.append(target)
        except FileNotFoundError:
            pass
        except OSError as error:
            raise PublishError(f"cannot remove {target}: {error.strerror or error}") from error
    for relative, data in files.items():
        target = directory / relative
        try:
            if write_atomic(target, data):
                changed.append(target)
        except OSError as error:
            raise PublishError(f"cannot write {target}: {error.strerror or error}") from error
    return changed
