"""Retention (settings.retention, `aggregator prune`): old stories are pruned with their
items, keys and index rows, in batches; tombstones keep a feed that still lists a pruned
item from bringing it back. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.clock import utc_now
from aggregator.config import SourceConfig, load_config
from aggregator.store import Store
from aggregator.stories.dedupe import decide
from aggregator.types import Enclosure, Fingerprint, ItemData, Outcome, SourceUpdate
from aggregator.update import apply_retention, update_sources
from tests.conftest import write_config
from tests.feedserver import FeedServer

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _fp(guid: str) -> Fingerprint:
    """A fingerprint of its own (two band keys no other item shares), with lead hashes:
    the store keeps its print."""
    digest = hashlib.sha256(guid.encode()).digest()
    bands = (int.from_bytes(digest[:7]), -int.from_bytes(digest[7:14]))
    return Fingerprint(words=30, shingles=26, signature=digest * 48, bands=bands,
                       numbers=(), skeleton_hash=digest.hex()[:16], lead=digest[:8])

TABLES = ("story", "item", "story_key", "story_key_recent", "item_band", "item_band_recent",
          "item_print", "tombstone")


def _item(guid: str, url: str | None = None, content: str = "") -> ItemData:
    return ItemData(guid=guid, url=url, canonical_url=url, title=guid, author=None,
                    content_html=content, summary_text=content, published_at=None,
                    updated_at=None, content_hash=guid + content)


def _sources(store: Store, *names: str) -> dict[str, int]:
    store.sync_sources([SourceConfig(name=n, url=f"https://{n}.example.com/feed.xml")
                        for n in names], timedelta(minutes=30), T0)
    return {s.name: s.id for s in store.claim_sources(T0, due_only=False)}


def _add(store: Store, source_id: int, when: datetime, *items: ItemData) -> None:
    store.apply(source_id, SourceUpdate(
        outcome=Outcome.OK, now=when, next_fetch_at=when, new_items=items,
        story_keys={i.guid: (f"url:{i.url}",) for i in items if i.url},
        fingerprints={i.guid: _fp(i.guid) for i in items}))


def _counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        counts = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in TABLES}
    counts["keys"] = counts["story_key"] + counts["story_key_recent"]  # a key is in one
    return counts


def _guids(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        return {g for (g,) in connection.execute(text("SELECT guid FROM item"))}


def test_a_story_goes_only_when_every_item_is_older(store: Store) -> None:
    ids = _sources(store, "a", "b")
    _add(store, ids["a"], T0, _item("old-alone", "https://x.org/1"),
         _item("old-with-new", "https://x.org/2"), _item("edited"))
    _add(store, ids["b"], T0 + 80 * DAY, _item("new", "https://x.org/2"))  # joins by URL
    store.apply(ids["a"], SourceUpdate(outcome=Outcome.OK, now=T0 + 85 * DAY,
                                       next_fetch_at=T0, changed_items=(
                                           _item("edited", content="v2"),)))
    assert store.prune_stories(T0, T0 + 90 * DAY).stories == 0  # nothing before T0
    report = store.prune_stories(T0 + DAY, T0 + 91 * DAY)
    assert (report.stories, report.items, report.keys) == (1, 1, 1)
    assert _guids(store) == {"old-with-new", "new", "edited"}
    counts = _counts(store)
    assert (counts["story"], counts["item"], counts["keys"]) == (2, 3, 1)
    assert counts["item_band"] + counts["item_band_recent"] == 6  # not merged yet: recent
    # the pruned item's print went with it; the edited item's with its old text (the
    # update brought no fingerprint of the new one)
    assert counts["item_print"] == 2
    assert counts["tombstone"] == 2  # the item's identity and its URL key


def test_a_story_with_enclosures_is_pruned_with_them(store: Store) -> None:
    """A podcast episode's enclosures point to its item: they go first (the foreign key
    made the whole pass fail on both databases, and nothing past that story was pruned)."""
    ids = _sources(store, "a")
    episode = replace(_item("episode", "https://x.org/ep1"), enclosures=(
        Enclosure(url="https://x.org/ep1.mp3", media_type="audio/mpeg"),
        Enclosure(url="https://x.org/ep1.jpg", media_type="image/jpeg")))
    _add(store, ids["a"], T0, episode, _item("plain", "https://x.org/2"))
    _add(store, ids["a"], T0 + 10 * DAY, replace(_item("kept", "https://x.org/3"),
                                                 enclosures=episode.enclosures))
    assert store.prune_stories(T0 + DAY, T0 + 11 * DAY).stories == 2
    assert _guids(store) == {"kept"}
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM item_enclosure")).scalar_one() == 2


def test_the_boundary_is_strict(store: Store) -> None:
    ids = _sources(store, "a")
    _add(store, ids["a"], T0, _item("exactly"))
    assert store.prune_stories(T0, T0 + DAY).stories == 0
    assert store.prune_stories(T0 + timedelta(seconds=1), T0 + DAY).stories == 1


def test_tombstones_keep_a_pruned_item_and_its_keys_out(store: Store) -> None:
    ids = _sources(store, "a", "b")
    _add(store, ids["a"], T0, _item("g1", "https://x.org/story"), _item("g2"))
    store.prune_stories(T0 + DAY, T0 + 2 * DAY)
    later = T0 + 3 * DAY
    # the same source's guids; another source's item under the pruned URL; a new item
    assert store.pruned_guids(ids["a"], {"g1": (), "g2": (), "g3": ()}, later) == {"g1", "g2"}
    assert store.pruned_guids(ids["b"], {"other": ("url:https://x.org/story",),
                                         "g2": ()}, later) == {"other"}
    assert store.pruned_guids(ids["a"], {}, later) == frozenset()


def test_decide_leaves_pruned_items_out() -> None:
    items = [_item("kept"), _item("pruned"), _item("fresh")]
    decision = decide(items, {"kept": "kept"}, frozenset({"pruned"}))
    assert [i.guid for i in decision.new] == ["fresh"]
    assert decision.unchanged == 2


def test_tombstones_are_refreshed_while_listed_and_expire_after(store: Store) -> None:
    ids = _sources(store, "a")
    _add(store, ids["a"], T0, _item("listed"), _item("gone"))
    store.prune_stories(T0 + DAY, T0 + DAY)
    # a feed still lists "listed" 60 days later: its tombstone is seen again
    assert store.pruned_guids(ids["a"], {"listed": ()}, T0 + 60 * DAY) == {"listed"}
    report = store.prune_stories(T0 + 30 * DAY, T0 + 120 * DAY)
    assert report.tombstones_expired == 1
    assert store.pruned_guids(ids["a"], {"listed": (), "gone": ()}, T0 + 121 * DAY) == {
        "listed"}


def test_batches_prune_everything_old_and_skip_the_recent(store: Store) -> None:
    ids = _sources(store, "a")
    _add(store, ids["a"], T0, *(_item(f"old{n}") for n in range(7)))
    _add(store, ids["a"], T0 + 50 * DAY, _item("recent"))
    _add(store, ids["a"], T0, _item("old7"))  # a story after the recent one
    report = store.prune_stories(T0 + DAY, T0 + 60 * DAY, batch=2)
    assert report.stories == 8
    assert _guids(store) == {"recent"}


def test_a_dry_run_counts_and_changes_nothing(store: Store) -> None:
    ids = _sources(store, "a")
    _add(store, ids["a"], T0, _item("a", "https://x.org/a"), _item("b"))
    _add(store, ids["a"], T0 + 10 * DAY, _item("c"))
    before = _counts(store)
    dry = store.prune_stories(T0 + DAY, T0 + 20 * DAY, dry_run=True, batch=1)
    assert _counts(store) == before
    real = store.prune_stories(T0 + DAY, T0 + 20 * DAY, batch=1)
    assert dry == real
    assert (real.stories, real.items, real.keys) == (2, 2, 1)


def test_a_pruned_item_still_in_its_feed_is_not_fetched_back(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    original = (Path(__file__).parent / "data/feeds/rss2.xml").read_bytes()
    url = feed_server.serve("/rss2.xml", original)
    config = load_config(write_config(tmp_path, {"news": url},
                                      settings={"retention": "90d"}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    assert update_sources(store, config)[0].new == 3
    report = apply_retention(store, config, utc_now() + 91 * DAY)
    assert report is not None and report.stories == 3
    # the feed changes (a new item) but still lists the three pruned ones
    feed_server.serve("/rss2.xml", original.replace(b"<item>", b"""<item>
      <title>A new one</title><link>https://news.example.org/new</link>
      <guid>https://news.example.org/new</guid><description>New.</description>
    </item><item>""", 1))
    result = update_sources(store, config)[0]
    assert (result.outcome, result.new, result.updated) == (Outcome.OK, 1, 0)
    assert _guids(store) == {"https://news.example.org/new"}


def test_the_prune_command_says_what_it_pruned_or_would(
        tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    try:
        ids = _sources(store, "a")
        _add(store, ids["a"], T0, _item("old", "https://x.org/old"))
    finally:
        store.close()
    runner = CliRunner()
    path = write_config(tmp_path, {}, settings={"retention": "30d"})
    args = ["prune", "--config", str(path), "--db", db_url]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would prune 1 stories (1 items, 1 keys) unchanged for 30d" in dry.output
    done = runner.invoke(app, args)
    assert "pruned 1 stories (1 items, 1 keys)" in done.output
    assert "pruned 0 stories" in runner.invoke(app, args).output
    unset = runner.invoke(app, ["prune", "--config", str(write_config(tmp_path, {})),
                                "--db", db_url])
    assert unset.exit_code == 2
    assert "settings.retention is not set" in unset.output


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.integers(0, 60), min_size=1, max_size=3), min_size=1,
                max_size=12),
       st.integers(1, 60), st.integers(1, 5))
def test_exactly_the_stories_with_no_recent_item_go(ages: list[list[int]], cutoff_day: int,
                                                    batch: int) -> None:
    """Stories of random items (stored on random days; items of one story share a URL)
    pruned at a random cutoff in random batch sizes: the survivors are exactly the
    stories with an item stored on or after the cutoff, whole, and nothing is orphaned."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/p.db")
        try:
            ids = _sources(store, *(f"s{n}" for n in range(3)))
            sources = list(ids.values())
            expected: set[str] = set()
            for number, days in enumerate(ages):
                url = f"https://x.org/{number}"
                for position, day in enumerate(days):
                    _add(store, sources[position], T0 + day * DAY,
                         _item(f"{number}-{position}", url))
                if max(days) >= cutoff_day:
                    expected |= {f"{number}-{p}" for p in range(len(days))}
            report = store.prune_stories(T0 + cutoff_day * DAY, T0 + 61 * DAY, batch=batch)
            assert _guids(store) == expected
            assert report.items == sum(map(len, ages)) - len(expected)
            with store.engine.connect() as connection:
                orphans = connection.execute(text(
                    "SELECT (SELECT count(*) FROM item_band WHERE item_id NOT IN "
                    "(SELECT id FROM item)) + (SELECT count(*) FROM item_band_recent WHERE "
                    "item_id NOT IN (SELECT id FROM item)) + (SELECT count(*) FROM story_key WHERE "
                    "story_id NOT IN (SELECT id FROM story)) + (SELECT count(*) FROM "
                    "story_key_recent WHERE story_id NOT IN (SELECT id FROM story))"
                    " + (SELECT count(*) FROM "
                    "story WHERE id NOT IN (SELECT story_id FROM item))")).scalar_one()
            assert orphans == 0
        finally:
            store.close()


def test_the_retention_setting_is_off_by_default_and_a_day_at_least(tmp_path: Path) -> None:
    from aggregator.config import parse_config
    from aggregator.exceptions import ConfigError

    assert parse_config("settings: {}\n").settings.retention is None
    assert parse_config("settings:\n  retention: 90d\n").settings.retention == 90 * DAY
    try:
        parse_config("settings:\n  retention: 90\n")
    except ConfigError as error:
        assert "retention must be at least 1d" in str(error)
        assert error.line == 2
    else:
        raise AssertionError("a retention of 90 seconds was accepted")
