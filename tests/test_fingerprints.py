"""The store keeps no fingerprint: a candidate's is made again from its item's title and
content (stories.fingerprints.Fingerprints). That is only sound if the fingerprint made at
ingest is the one the stored row gives back, so it is tested here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from aggregator.config import SourceConfig
from aggregator.ingest.normalize import normalize_entry_with_text
from aggregator.ingest.prepare import prepare_feed
from aggregator.packing import pack_text
from aggregator.store import Store
from aggregator.stories.fingerprints import Fingerprints
from aggregator.stories.similarity import fingerprint
from aggregator.text import html_to_text
from aggregator.types import Fingerprint, ItemData, Outcome, ParsedEntry, SourceUpdate

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
FEEDS = sorted((DATA / "feeds").glob("*.x*")) + sorted((DATA / "fidelity").glob("*.xml"))


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: p.name)
def test_the_fingerprint_made_at_ingest_is_the_one_the_stored_row_gives(path: Path) -> None:
    prepared = prepare_feed(path.read_bytes(), {}, "https://example.com/feed.xml", NOW)
    assert prepared.items
    prints = Fingerprints()
    expected = [replace(made, bands=()) if made else None  # compare reads no bands
                for made in (prepared.fingerprints[item.guid] for item in prepared.items)]
    rows = [(item.title, item.content_html) for item in prepared.items]
    assert Fingerprints().of_many(rows) == expected  # made together
    assert [prints.of_many([row])[0] for row in rows] == expected  # one by one



@pytest.mark.parametrize("path", FEEDS, ids=lambda p: p.name)
def test_the_worker_packs_each_text_as_the_store_keeps_it(path: Path) -> None:
    prepared = prepare_feed(path.read_bytes(), {}, "https://example.com/feed.xml", NOW)
    texts = {t for item in prepared.items for t in (item.content_html, item.summary_text)}
    assert prepared.packed == {t: pack_text(t) for t in texts}


_WORDS = st.sampled_from(["Москва", "передает", "ТАСС", "rate", "89,5", "<b>", "</b>",
                          "&amp;", "&#1025;", "ёлка", "May", "3", "<br>", "<p>", "</p>",
                          "<script>x</script>", "Reuters", "reported", "https://t.me/x",
                          "«цитата»", "—", "18+", "\n", "Read", "more:"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_WORDS, min_size=0, max_size=80), st.lists(_WORDS, max_size=8))
def test_normalized_text_is_the_text_of_the_stored_content(body: list[str],
                                                           title: list[str]) -> None:
    entry = ParsedEntry(id="g", link="https://example.com/a", title=" ".join(title),
                        summary_html=None, content_html=" ".join(body), author=None,
                        published=None, updated=None)
    normalized = normalize_entry_with_text(entry, "https://example.com/feed.xml", NOW)
    assert normalized is not None
    item, text_of_item = normalized
    assert html_to_text(item.content_html) == text_of_item
    made = fingerprint(item.title, text_of_item)
    assert Fingerprints().of_many([(item.title, item.content_html)])[0] == (
        replace(made, bands=()) if made else None)


def test_the_recent_fingerprints_are_bounded_and_used() -> None:
    prints = Fingerprints(size=2)
    fake = Fingerprint(words=9, shingles=5, signature=b"\0" * 12, bands=(), numbers=(),
                       skeleton_hash="0" * 16)
    prints.remember("a", "<p>one two</p>", fake)
    assert prints.of_many([("a", "<p>one two</p>")])[0] is fake  # remembered: not made again
    prints.remember("b", "<p>x</p>", replace(fake, words=1))
    prints.remember("c", "<p>y</p>", replace(fake, words=2))
    assert prints.of_many([("a", "<p>one two</p>")])[0] is None  # forgotten: made again (too short)
    assert prints.of_many([("b", "<p>x</p>")])[0] is None  # evicted by "a" made again


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.lists(_WORDS, max_size=6).map(" ".join),
                          st.lists(_WORDS, max_size=60).map(" ".join)), max_size=6),
       st.integers(1, 4))
def test_many_rows_are_made_as_each_alone_and_kept(rows: list[tuple[str, str]],
                                                   size: int) -> None:
    """of_many makes what fingerprint makes for each row (a row given twice, once), keeps at
    most ``size`` and gives the last one made back as it is (not made again): that of the
    last row not given before (the last row may repeat the first, made first)."""
    prints = Fingerprints(size=size)
    made = prints.of_many(rows + rows[:1])
    alone = [fingerprint(title, html_to_text(content)) for title, content in rows + rows[:1]]
    assert made == [fp and replace(fp, bands=()) for fp in alone]
    assert len(prints._recent) == min(size, len(set(rows)))
    if rows:
        assert made[0] is made[-1]  # made once
        last = list(dict.fromkeys(rows))[-1]
        assert prints.of_many([last])[0] is made[rows.index(last)]  # the last kept


def test_a_new_process_matches_a_copy_of_an_item_stored_by_another(db_url: str) -> None:
    """No fingerprint is kept between processes: the second store makes the stored
    item's fingerprint from its text and finds the copy the same story."""
    title, _, body = (DATA / "seed-article.ru.txt").read_text(encoding="utf-8").partition(
        "\n\n")
    content = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))

    def item(guid: str, heading: str) -> ItemData:
        return ItemData(guid=guid, url=None, canonical_url=None, title=heading, author=None,
                        content_html=content, summary_text="", published_at=NOW,
                        updated_at=None, content_hash=guid)

    def update(new: ItemData, when: datetime) -> SourceUpdate:
        return SourceUpdate(outcome=Outcome.OK, now=when, next_fetch_at=when,
                            new_items=(new,), fingerprints={
                                new.guid: fingerprint(new.title, html_to_text(content))})

    first = Store(db_url)
    try:
        first.sync_sources([SourceConfig(name=n, url=f"https://{n}.example.com/feed.xml")
                            for n in ("izvestia", "kaztag")], timedelta(minutes=30), NOW)
        ids = {s.name: s.id for s in first.claim_sources(NOW, due_only=False)}
        first.apply(ids["izvestia"], update(item("a", title), NOW))
    finally:
        first.close()
    second = Store(db_url)
    try:
        second.apply(ids["kaztag"], update(item("b", title + ". Kaztag"),
                                           NOW + timedelta(hours=2)))
        with second.engine.connect() as connection:
            rows = dict(connection.execute(text("SELECT guid, story_id FROM item")).all())
            reason = connection.execute(text(
                "SELECT join_reason FROM item WHERE guid = 'b'")).scalar_one()
    finally:
        second.close()
    assert rows["a"] == rows["b"]
    assert reason.startswith("near-duplicate of item #")
