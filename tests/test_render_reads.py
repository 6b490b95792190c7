"""The stories an output reads (store/render_reads.py): the same stories, newest first,
whichever way they are found (walking the stories, or from the selected sources' items)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from aggregator.config import SourceConfig
from aggregator.store import Store, render_reads
from aggregator.store.models import StoryRow
from aggregator.types import ItemData, Outcome, SourceUpdate, StoryView

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _item(source: int, n: int, url: str | None = None) -> ItemData:
    guid = f"{source}-{n}"
    return ItemData(guid=guid, url=url, canonical_url=url, title=f"title {guid}",
                    author=None, content_html=f"<p>{guid}</p>", summary_text=guid,
                    published_at=NOW - timedelta(hours=n * 7 + source), updated_at=None,
                    content_hash=guid, categories=("a", "b") if n % 2 else ())


def _filled(store: Store) -> None:
    """Six sources of five items each; the first item of s0 and s1 is one story (one URL)
    and so is the second of s2, s3 and s4; s5 is then dropped from feeds.yaml."""
    sources = [SourceConfig(name=f"s{i}", url=f"https://example.com/{i}.xml") for i in range(6)]
    store.sync_sources(sources, timedelta(minutes=30), NOW)
    shared = {(0, 0): "https://a.example/x", (1, 0): "https://a.example/x",
              (2, 1): "https://b.example/y", (3, 1): "https://b.example/y",
              (4, 1): "https://b.example/y"}
    for claimed in store.claim_sources(NOW):
        index = int(claimed.name[1:])
        items = tuple(_item(index, n, shared.get((index, n))) for n in range(5))
        store.apply(claimed.id, SourceUpdate(
            outcome=Outcome.OK, now=NOW, next_fetch_at=NOW, new_items=items,
            story_keys={i.guid: (f"url:{i.url}",) for i in items if i.url}))
    store.sync_sources(sources[:5], timedelta(minutes=30), NOW)


def _expected(store: Store, names: list[str] | None, limit: int,
              since: datetime | None) -> list[str]:
    """The uids the read should give, worked out in Python from the whole tables."""
    with store.engine.connect() as connection:
        active = dict(connection.execute(text("SELECT id, name FROM source WHERE active")).all())
        carried = {story for story, source in connection.execute(
            text("SELECT story_id, source_id FROM item")).all()
            if source in active and (names is None or active[source] in names)}
        stories = [(row.published_at, row.id, row.uid) for row in connection.execute(
            select(StoryRow.published_at, StoryRow.id, StoryRow.uid)).all()
            if row.id in carried]
    return [uid for published_at, _, uid in sorted(stories, reverse=True)
            if since is None or published_at >= since][:limit]


def _both(store: Store, monkeypatch: pytest.MonkeyPatch, names: list[str] | None,
          limit: int, since: datetime | None = None) -> list[StoryView]:
    """The stories read by walking the stories (EXISTS) and from the items (IN): equal,
    and the ones they should be."""
    monkeypatch.setattr(render_reads, "EXISTS_SHARE", 0.0)
    walked = store.stories_for(names, limit, since)
    monkeypatch.setattr(render_reads, "EXISTS_SHARE", 2.0)
    looked_up = store.stories_for(names, limit, since)
    assert walked == looked_up
    assert [s.uid for s in walked] == _expected(store, names, limit, since)
    return walked


def test_both_ways_read_the_same_stories_newest_first(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _filled(store)
    every = _both(store, monkeypatch, None, 100)
    # 25 items of the active sources, 3 of them joining others' stories
    assert len(every) == 22
    assert [s.published_at for s in every] == sorted((s.published_at for s in every),
                                                      reverse=True)
    assert not any(s.representative.source_name == "s5" for s in every)
    assert _both(store, monkeypatch, None, 5) == every[:5]
    since = NOW - timedelta(hours=15)
    assert _both(store, monkeypatch, None, 100, since) == [
        s for s in every if s.published_at >= since]
    assert _both(store, monkeypatch, ["nobody"], 100) == []
    assert _both(store, monkeypatch, ["s5"], 100) == []  # no longer in feeds.yaml
    everyone = [f"s{i}" for i in range(6)]  # every active source, named
    assert _both(store, monkeypatch, everyone, 100) == every
    assert _both(store, monkeypatch, ["s0", "s1", "s2", "s3"], 7) == [
        s for s in every if s.representative.source_name != "s4" or s.others][:7]


def test_a_story_is_read_with_every_outlet_whichever_source_selects_it(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _filled(store)
    every = {s.uid: s for s in _both(store, monkeypatch, None, 100)}
    chosen = _both(store, monkeypatch, ["s3"], 100)
    assert len(chosen) == 5
    (shared,) = [s for s in chosen if s.others]
    assert shared == every[shared.uid]
    assert sorted(o.source_name for o in (shared.representative, *shared.others)) == [
        "s2", "s3", "s4"]
    assert [c.outlet.source_name for c in shared.copies] == ["s4", "s3", "s2"]  # as dated
    assert shared.categories == ("a", "b")
    assert shared.representative.item_url == "https://b.example/y"


def test_stories_for_reads_what_the_store_holds(store: Store) -> None:
    _filled(store)
    newest = store.stories_for(["s0"], 1)[0]  # the story of s0 and s1: s1 dated it first
    assert newest == replace(
        newest, title="title 1-0", url="https://a.example/x", content_html="<p>1-0</p>",
        summary_text="1-0", published_at=NOW - timedelta(hours=1), categories=(),
        language=None, enclosures=(), image_url=None)
    assert newest.updated_at >= newest.published_at
    assert newest.representative.feed_url == "https://example.com/1.xml"
    assert [o.source_name for o in newest.others] == ["s0"]
    assert [c.is_representative for c in newest.copies] == [True, False]
