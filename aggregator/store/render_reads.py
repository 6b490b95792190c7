"""The reads publishing makes: an output's newest stories, each with every outlet that
carried it, as ``StoryView``s (``Store.stories_for``).

The driver's own SQL and plain tuples (store/driver.py: each value converted by its
column type's processor, as through the ORM), not ORM rows: a render of 100 stories
read 15,000 rows' worth of objects it did not need. The stories are found by walking
``story.published_at`` newest first and keeping those an item of a selected source
carries (``EXISTS``, one index probe each; with every active source selected, an item
of an active source), which stops after ``limit`` stories; when the selected sources
are a small part of the store, most stories would be probed for nothing, and the
store's items of those sources are looked up first instead (``IN``).

Part of the store (queries live only in this package); it returns our types.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlmodel import SQLModel

from aggregator.store.bands import placeholder
from aggregator.store.driver import bound, select_rows
from aggregator.types import Copy, Enclosure, Outlet, StoryView

_SOURCE = SQLModel.metadata.tables["source"]
_STORY = SQLModel.metadata.tables["story"]
_ITEM = SQLModel.metadata.tables["item"]
_ENCLOSURE = SQLModel.metadata.tables["item_enclosure"]
_CHUNK = 500  # ids per IN list
#: below this share of the active sources, the stories are found from their items
EXISTS_SHARE = 0.25

_SOURCE_COLUMNS = ("id", "name", "title", "feed_title", "url", "moved_to", "site_url",
                   "feed_id", "feed_updated", "last_success_at", "created_at", "language",
                   "feed_language")
_STORY_COLUMNS = ("id", "uid", "representative_item_id", "representative_is_original",
                  "credited_origin", "published_at", "updated_at")
_ITEM_COLUMNS = ("id", "source_id", "story_id", "url", "canonical_url", "title", "author",
                 "content_html", "summary_text", "categories", "published_at",
                 "first_seen_at", "relayed_by", "cites", "credit_line", "image_url")
_ENCLOSURE_COLUMNS = ("item_id", "url", "media_type", "length", "duration")


class _Source:
    """An active source as its outlets show it."""

    __slots__ = ("language", "name", "outlet")

    def __init__(self, row: tuple[Any, ...]) -> None:
        (_, name, title, feed_title, url, moved_to, site_url, feed_id, feed_updated,
         last_success_at, created_at, language, feed_language) = row
        self.name: str = name
        self.language: str | None = language or feed_language
        # an Outlet's fields but the item's URL (SourceRow.feed_url: moved_to or url)
        self.outlet = (name, title or feed_title or name, moved_to or url, site_url,
                       feed_id or url, feed_updated or last_success_at or created_at)

    def of(self, item: _Item) -> Outlet:
        return Outlet(*self.outlet, item_url=item.canonical_url or item.url)


class _Item:
    """One row of ``_ITEM_COLUMNS``."""

    __slots__ = _ITEM_COLUMNS

    def __init__(self, row: tuple[Any, ...]) -> None:
        (self.id, self.source_id, self.story_id, self.url, self.canonical_url, self.title,
         self.author, self.content_html, self.summary_text, self.categories,
         self.published_at, self.first_seen_at, self.relayed_by, self.cites,
         self.credit_line, self.image_url) = row

    id: int
    source_id: int
    story_id: int
    url: str | None
    canonical_url: str | None
    title: str
    author: str | None
    content_html: str
    summary_text: str
    categories: tuple[str, ...]
    published_at: datetime | None
    first_seen_at: datetime
    relayed_by: str | None
    cites: tuple[str, ...]
    credit_line: str | None
    image_url: str | None


def _columns(table: Table, names: Sequence[str]) -> list[tuple[Table, str]]:
    return [(table, name) for name in names]


def _marks(mark: str, count: int) -> str:
    return ", ".join([mark] * count)


def story_views(connection: Connection, source_names: Collection[str] | None, limit: int,
                since: datetime | None = None) -> list[StoryView]:
    """The newest ``limit`` stories carried by any of ``source_names`` (None: every
    source), published at ``since`` or later when given, newest first (then by id,
    highest first); each with the active sources' items of it."""
    mark = placeholder(connection)
    active: dict[int, str] = dict(
        connection.exec_driver_sql("SELECT id, name FROM source WHERE active").all())
    wanted = None if source_names is None else set(source_names)
    selected = [i for i, name in active.items() if wanted is None or name in wanted]
    if not selected:
        return []
    stories = _stories(connection, mark, selected, len(active), limit=limit, since=since)
    items: dict[int, list[_Item]] = {}
    ids = [row[0] for row in stories]
    for start in range(0, len(ids), _CHUNK):
        chunk = tuple(ids[start:start + _CHUNK])
        for row in select_rows(
                connection, f"SELECT {', '.join(_ITEM_COLUMNS)} FROM item WHERE story_id IN"
                f" ({_marks(mark, len(chunk))}) ORDER BY id", chunk,
                _columns(_ITEM, _ITEM_COLUMNS)):
            if row[1] in active:
                items.setdefault(row[2], []).append(_Item(row))
    chosen = [(story, _representative(story, found)) for story in stories
              if (found := items.get(story[0]))]
    sources = _sources(connection, mark, {i.source_id for each in items.values() for i in each})
    enclosures = _enclosures(connection, mark, [rep.id for _, rep in chosen])
    return [_story_view(story, rep, items[story[0]], sources, enclosures.get(rep.id, ()))
            for story, rep in chosen]


def _stories(connection: Connection, mark: str, selected: list[int], active: int, *,
             limit: int, since: datetime | None) -> list[tuple[Any, ...]]:
    """The rows (``_STORY_COLUMNS``) of the newest stories an item of ``selected`` carries."""
    marks = _marks(mark, len(selected))
    parameters: tuple[Any, ...] = tuple(selected)
    if len(selected) == active:  # every active source: no list of them
        carried = ("EXISTS (SELECT 1 FROM item JOIN source ON source.id = item.source_id"
                   " WHERE item.story_id = story.id AND source.active)")
        parameters = ()
    elif len(selected) >= EXISTS_SHARE * active:
        carried = (f"EXISTS (SELECT 1 FROM item WHERE item.story_id = story.id"
                   f" AND item.source_id IN ({marks}))")
    else:
        carried = f"id IN (SELECT story_id FROM item WHERE source_id IN ({marks}))"
    if since is not None:
        carried += f" AND published_at >= {mark}"
        parameters += bound(connection, _STORY, ("published_at",), [(since,)])[0]
    return select_rows(
        connection, f"SELECT {', '.join(_STORY_COLUMNS)} FROM story WHERE {carried}"
        f" ORDER BY published_at DESC, id DESC LIMIT {mark}", (*parameters, limit),
        _columns(_STORY, _STORY_COLUMNS))


def _sources(connection: Connection, mark: str, ids: set[int]) -> dict[int, _Source]:
    """The sources of the stories' items (the active ones), by id."""
    found: dict[int, _Source] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), _CHUNK):
        chunk = tuple(wanted[start:start + _CHUNK])
        found.update((row[0], _Source(row)) for row in select_rows(
            connection, f"SELECT {', '.join(_SOURCE_COLUMNS)} FROM source"
            f" WHERE id IN ({_marks(mark, len(chunk))})", chunk,
            _columns(_SOURCE, _SOURCE_COLUMNS)))
    return found


def _enclosures(connection: Connection, mark: str,
                item_ids: list[int]) -> dict[int, tuple[Enclosure, ...]]:
    """The enclosures of the given items, by item id, in the feed's order."""
    found: dict[int, list[Enclosure]] = {}
    for start in range(0, len(item_ids), _CHUNK):
        chunk = tuple(item_ids[start:start + _CHUNK])
        for item_id, url, media_type, length, duration in select_rows(
                connection, f"SELECT {', '.join(_ENCLOSURE_COLUMNS)} FROM item_enclosure"
                f" WHERE item_id IN ({_marks(mark, len(chunk))}) ORDER BY item_id, position",
                chunk, _columns(_ENCLOSURE, _ENCLOSURE_COLUMNS)):
            found.setdefault(item_id, []).append(Enclosure(url, media_type, length, duration))
    return {item_id: tuple(each) for item_id, each in found.items()}


def _representative(story: tuple[Any, ...], items: list[_Item]) -> _Item:
    """The story's representative item, else its earliest dated."""
    return next((i for i in items if i.id == story[2]), None) or min(
        items, key=lambda i: (i.published_at or i.first_seen_at, i.id))


def _story_view(story: tuple[Any, ...], rep: _Item, items: list[_Item],
                sources: dict[int, _Source], enclosures: tuple[Enclosure, ...]) -> StoryView:
    _, uid, _, representative_is_original, credited_origin, published_at, updated_at = story
    others = []
    seen = {rep.source_id}
    for item in items:
        if item.source_id not in seen:
            seen.add(item.source_id)
            others.append(sources[item.source_id].of(item))
    copies = tuple(Copy(
        outlet=sources[item.source_id].of(item), title=item.title,
        content_html=item.content_html, published_at=item.published_at,
        first_seen_at=item.first_seen_at, relayed_by=item.relayed_by, cites=item.cites,
        credit_line=item.credit_line, is_representative=item is rep)
        for item in sorted(items, key=lambda i: (i.first_seen_at,
                                                 i.published_at or i.first_seen_at, i.id)))
    source = sources[rep.source_id]
    return StoryView(
        uid=uid, title=rep.title, url=rep.canonical_url or rep.url,
        content_html=rep.content_html,
        summary_text=rep.summary_text, author=rep.author, published_at=published_at,
        updated_at=max(updated_at, published_at),
        representative=source.of(rep),
        others=tuple(sorted(others, key=lambda o: o.source_title.casefold())),
        categories=rep.categories,
        language=source.language,
        representative_is_original=representative_is_original,
        credited_origin=credited_origin,
        enclosures=enclosures,
        image_url=rep.image_url,
        copies=copies,
    )
