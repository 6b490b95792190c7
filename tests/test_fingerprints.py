"""The store keeps no fingerprint: a candidate's is made again from its item's title and
content (stories.fingerprints.Fingerprints). That is only sound if the fingerprint made at
ingest is the one the stored row gives back, so it is tested here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from aggregator.config import SourceConfig
from aggregator.ingest.normalize import normalize_entry_with_text
from aggregator.ingest.prepare import prepare_feed
from aggregator.packing import pack_text
from aggregator.store import Store
from aggregator.stories.fingerprints import VERSION, Fingerprints, pack, unpack_many
from aggregator.stories.similarity import fingerprint, fingerprints
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
    expected = [replace(made, bands=(), lead=None) if made else None  # compare reads no bands
                for made in (prepared.fingerprints[item.guid] for item in prepared.items)]
    rows = [(item.title, item.content_html) for item in prepared.items]
    assert Fingerprints().of_many(rows) == expected  # made together
    assert [prints.of_many([row])[0] for row in rows] == expected  # one by one
    # read back from the print the store keeps (item_print)
    made = [prepared.fingerprints[item.guid] for item in prepared.items]
    packed = [(fp and pack(fp, item.content_hash), item.content_hash)
              for fp, item in zip(made, prepared.items, strict=True)]
    assert unpack_many(packed) == expected



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
        replace(made, bands=(), lead=None) if made else None)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(_WORDS, max_size=8).map(" ".join),
                          st.lists(_WORDS, max_size=120).map(" ".join)), max_size=5))
def test_a_print_gives_back_the_fingerprint_the_text_makes(
        rows: list[tuple[str, str]]) -> None:
    """A fingerprint read back from its print (the whole text's signature kept, the
    lead's and the opening's made again from the lead's hashes) is the one the item's
    text makes: made together (one numpy pass) or alone (short bodies among them)."""
    texts = [(title, html_to_text(content)) for title, content in rows]
    expected = Fingerprints(size=1).of_many(rows)
    for made in (fingerprints(texts), [fingerprint(*pair) for pair in texts]):
        packed = [(fp and pack(fp, f"hash{n}"), f"hash{n}") for n, fp in enumerate(made)]
        assert [data is None for data, _ in packed] == [fp is None for fp in made]
        assert unpack_many(packed) == expected


def test_a_print_of_another_text_or_version_is_not_used() -> None:
    made = fingerprint("Курс доллара", "Курс доллара на торгах вырос до 89,5 рубля, "
                       "сообщает биржа. Подробности позже в нашем материале о торгах.")
    assert made is not None and made.lead is not None
    data = pack(made, "one")
    assert data is not None
    assert unpack_many([(data, "one")])[0] is not None
    assert unpack_many([(data, "two")]) == [None]  # the item's text changed since
    assert unpack_many([(bytes([VERSION + 1]) + data[1:], "one")]) == [None]
    assert unpack_many([(data[:100], "one"), (None, "one")]) == [None, None]
    # a fingerprint without lead hashes (made again, or read back) has no print
    assert pack(replace(made, lead=None), "one") is None


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
    assert made == [fp and replace(fp, bands=(), lead=None) for fp in alone]
    assert len(prints._recent) == min(size, len(set(rows)))
    if rows:
        assert made[0] is made[-1]  # made once
        last = list(dict.fromkeys(rows))[-1]
        assert prints.of_many([last])[0] is made[rows.index(last)]  # the last kept


@pytest.mark.parametrize("print_", ["kept", "missing", "stale"])
def test_a_new_process_matches_a_copy_of_an_item_stored_by_another(
        db_url: str, print_: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No fingerprint is kept in memory between processes: the second store reads the
    stored item's back from its print (item_print), or, when it has none (an item
    stored before migration 0017) or one of another text (its content_hash changed),
    makes it from its text; either way it finds the copy the same story."""
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
        with first.engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM item_print")).scalar() == 1
            if print_ == "missing":
                connection.execute(text("DELETE FROM item_print"))
            elif print_ == "stale":
                connection.execute(text("UPDATE item SET content_hash = 'edited'"))
    finally:
        first.close()
    made: list[tuple[str, str]] = []  # the texts fingerprinted again

    def counted(items: Sequence[tuple[str, str]], *args: Any, **kwargs: Any) -> Any:
        made.extend(items)
        return fingerprints(items, *args, **kwargs)

    monkeypatch.setattr("aggregator.stories.fingerprints.fingerprints", counted)
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
    assert [t for t, _ in made] == ([] if print_ == "kept" else [title])


def _stored_prints(store: Store) -> dict[str, Fingerprint]:
    """The fingerprints the store's prints give back, by guid."""
    from aggregator.store.prints import read

    with store.engine.connect() as connection:
        ids = dict(connection.execute(text("SELECT id, guid FROM item")).all())
        found = read(lambda sql, values: connection.exec_driver_sql(sql, values).all(),
                     "?" if connection.dialect.name == "sqlite" else "%s", sorted(ids))
    return {ids[item_id]: fp for item_id, fp in found.items()}


def test_a_changed_item_gets_the_print_of_its_new_text_and_old_prints_are_pruned(
        db_url: str) -> None:
    first_text = "Курс доллара на торгах Московской биржи вырос до 89,5 рубля за доллар."
    second_text = "Курс евро на торгах Московской биржи снизился до 97,1 рубля за евро утром."

    def item(guid: str, body: str, when: datetime) -> ItemData:
        return ItemData(guid=guid, url=None, canonical_url=None, title="Курс", author=None,
                        content_html=f"<p>{body}</p>", summary_text="", published_at=when,
                        updated_at=None, content_hash=f"{guid}:{len(body)}")

    store = Store(db_url)
    try:
        store.sync_sources([SourceConfig(name="bank", url="https://bank.example.com/feed.xml")],
                           timedelta(minutes=30), NOW)
        (source,) = store.claim_sources(NOW, due_only=False)
        old = item("old", first_text, NOW - timedelta(days=30))
        store.apply(source.id, SourceUpdate(
            outcome=Outcome.OK, now=NOW, next_fetch_at=NOW,
            new_items=(old, item("a", first_text, NOW)),
            fingerprints={"old": fingerprint("Курс", first_text),
                          "a": fingerprint("Курс", first_text)}))
        assert _stored_prints(store) == {
            "old": replace(fingerprint("Курс", first_text), bands=(), lead=None),
            "a": replace(fingerprint("Курс", first_text), bands=(), lead=None)}
        changed = item("a", second_text, NOW)
        store.apply(source.id, SourceUpdate(
            outcome=Outcome.OK, now=NOW, next_fetch_at=NOW, changed_items=(changed,),
            fingerprints={"a": fingerprint("Курс", second_text)}))
        assert _stored_prints(store)["a"] == replace(fingerprint("Курс", second_text),
                                                     bands=(), lead=None)
        store.prune_index(NOW - timedelta(days=8))  # the old item's rows go, its print too
        assert set(_stored_prints(store)) == {"a"}
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM item_print")).scalar() == 1
    finally:
        store.close()


def test_the_print_version_changes_with_the_settings_a_print_depends_on() -> None:
    """A stored print is read back with the running code's settings: when one of these
    changes, fingerprints.VERSION must change with it (the old prints are then not used,
    and their items fingerprinted from their text), and this pin with it."""
    from aggregator.stories import similarity

    settings_now = (similarity.NUM_PERM, similarity.SHINGLE, similarity.LEAD_WORDS,
                    similarity.OPENING_WORDS, similarity.SEED)
    assert (VERSION, settings_now) == (1, (128, 5, 60, 20, 1))
