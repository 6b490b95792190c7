"""The schema the migrations build is the schema the models declare, on both databases."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel, create_engine

from aggregator.store import Store
from aggregator.store.migrations import HEAD
from aggregator.store.store import normalize_database_url, run_migrations


def _assert_the_models_schema(url: str) -> None:
    engine = create_engine(normalize_database_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            assert compare_metadata(context, SQLModel.metadata) == []
            assert context.get_current_revision() == HEAD
            tables = set(inspect(connection).get_table_names())
        assert {"source", "item", "story", "story_key", "item_band", "output"} <= tables
    finally:
        engine.dispose()


@contextmanager
def _migrating(db_url: str) -> Iterator[tuple[Any, Any]]:
    """A connection in one transaction, and an alembic config that migrates through it."""
    from sqlalchemy import create_engine

    engine = create_engine(normalize_database_url(db_url))
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection  # type: ignore[attr-defined]
            yield connection, config
    finally:
        engine.dispose()


_SOURCE_ONE = (
    "INSERT INTO source (id, name, url, poll_interval_seconds, fixed_interval, active, "
    "stopped, error_count, created_at, next_fetch_at, tags) VALUES (1, 's', "
    "'http://x/', 1800, false, true, false, 0, :t, :t, '')")
_STORY_ONE = ("INSERT INTO story (id, uid, representative_is_original, published_at, "
              "first_seen_at, updated_at) VALUES (1, 'u', false, :t, :t, :t)")


def _source_and_story(connection: Any, when: datetime) -> None:
    """Source 1 and story 1, as every revision stores them."""
    from sqlalchemy import text

    connection.execute(text(_SOURCE_ONE), {"t": when})
    connection.execute(text(_STORY_ONE), {"t": when})


def test_migrations_build_exactly_the_models(db_url: str) -> None:
    engine = create_engine(normalize_database_url(db_url))
    try:
        with engine.begin() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()
    _assert_the_models_schema(db_url)


def test_a_new_store_has_the_models_schema_without_loading_alembic(db_url: str) -> None:
    # in a process of its own: this one has loaded alembic already
    done = subprocess.run([sys.executable, "-c", NEW_STORE, db_url], check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [HEAD, "False"]
    _assert_the_models_schema(db_url)
    Store(db_url).close()  # and it opens as a store at the newest revision


NEW_STORE = """
import sys
from aggregator.store import Store
from aggregator.store.store import current_revision
Store(sys.argv[1]).close()
print(current_revision(sys.argv[1]), "alembic" in sys.modules)
"""


def _blake2b_keys(title: str, body: str, bands: int, rows: int, lead_bands: int,
                  lead_rows: int) -> list[int]:
    """The band keys a text had before migration 0018 (each band's BLAKE2b digest) with
    these bands (42, 3, 16, 8 before 0016; 28, 2, 4, 8 since), in the order of its
    bands."""
    from aggregator.stories.minhash import keys_of_signatures
    from aggregator.stories.similarity import fingerprint

    fp = fingerprint(title, body)
    assert fp is not None
    (keys,) = keys_of_signatures([fp.signature], bands=bands, rows=rows,
                                 lead_bands=lead_bands, lead_rows=lead_rows, blake2b=True)
    return keys


def _bands(bands: int, rows: int, lead_bands: int, lead_rows: int) -> Any:
    """The fingerprint settings with these LSH bands (the index's before 0016: 42, 3,
    16, 8; since: 28, 2, 4, 8)."""
    from dataclasses import replace

    from aggregator.stories.similarity import DEFAULT

    return replace(DEFAULT, bands=bands, rows=rows, lead_bands=lead_bands,
                   lead_rows=lead_rows)


def test_opening_a_store_twice_migrates_once(db_url: str) -> None:
    Store(db_url).close()
    again = Store(db_url)  # already at head: nothing to do, no error
    again.close()


def test_0003_converts_the_stored_band_keys_and_moves_the_fingerprints(
        db_url: str) -> None:
    from datetime import UTC, datetime
    from pathlib import Path

    from alembic import command
    from sqlalchemy import text

    from aggregator.stories.similarity import fingerprint

    title, _, body = (Path(__file__).parent / "data" / "seed-article.ru.txt").read_text(
        encoding="utf-8").partition("\n\n")
    fp = fingerprint(title, body, _bands(42, 3, 16, 8))  # the index's bands up to 0015
    assert fp is not None
    old_keys = _blake2b_keys(title, body, 42, 3, 16, 8)  # its keys up to 0015
    # the text keys of the same fingerprint, as the store kept them before 0003
    whole = [f"{b}:{(k + (1 << 62)) >> 7:014x}00" for b, k in enumerate(old_keys[:42])]
    lead = [f"L{b}:{(k + (1 << 62)) >> 7:014x}00" for b, k in enumerate(old_keys[42:])]
    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0002")
        when = datetime(2026, 11, 24, 9, 0)
        _source_and_story(connection, when)
        connection.execute(text(
            "INSERT INTO item (id, source_id, story_id, guid, title, content_html, "
            "summary_text, categories, first_seen_at, last_changed_at, content_hash, cites, "
            "join_reason, fp_words, fp_shingles, fp_signature, fp_slots, fp_skeleton) "
            "VALUES (1, 1, 1, 'g', 't', '', '', '', :t, :t, 'h', '', '', :w, :s, :sig, "
            ":slots, :sk)"), {"t": when, "w": fp.words, "s": fp.shingles,
                              "sig": fp.signature, "slots": "\n".join(fp.numbers),
                              "sk": fp.skeleton_hash})
        for band in whole + lead:
            connection.execute(text("INSERT INTO item_band (band, item_id, story_id, seen_at) "
                                    "VALUES (:b, 1, 1, :t)"), {"b": band, "t": when})
    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0003")
        rows = connection.execute(text("SELECT band, seen FROM item_band")).all()
        moved = connection.execute(text(
            "SELECT item_id, seen, words, shingles, signature, slots, skeleton "
            "FROM item_fingerprint")).all()
        columns = {c["name"] for c in inspect(connection).get_columns("item")}
    seen = int(when.replace(tzinfo=UTC).timestamp())
    assert sorted(b for b, _ in rows) == sorted(old_keys)
    assert {s for _, s in rows} == {seen}
    assert [tuple(m) for m in moved] == [(1, seen, fp.words, fp.shingles, fp.signature,
                                         "\n".join(fp.numbers), fp.skeleton_hash)]
    assert not {c for c in columns if c.startswith("fp_")}


def test_0009_drops_the_stored_fingerprints_and_keeps_the_band_keys(db_url: str) -> None:
    """The fingerprints are made from the items' text from 0009 on: the table goes, the
    band keys stay, and a stored item is still found and matched by a new copy."""
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from alembic import command
    from sqlalchemy import text

    from aggregator.packing import unpack_text
    from aggregator.stories.similarity import fingerprint
    from aggregator.types import ItemData, Outcome, SourceUpdate

    title, _, body = (Path(__file__).parent / "data" / "seed-article.ru.txt").read_text(
        encoding="utf-8").partition("\n\n")
    content = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    fp = fingerprint(title, body)
    assert fp is not None
    when = datetime(2026, 11, 24, 9, 0)
    seen = int(when.replace(tzinfo=UTC).timestamp())
    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0007")
        _source_and_story(connection, when)
        connection.execute(text(
            "INSERT INTO item (id, source_id, story_id, guid, title, content_html, "
            "summary_text, categories, published_at, first_seen_at, last_changed_at, "
            "content_hash, cites, join_reason) VALUES (1000, 1, 1, 'g', :title, :content, '', "
            "'', :t, :t, :t, 'h', '', '')"), {"t": when, "title": title, "content": content})
        connection.execute(text(
            "INSERT INTO item_fingerprint (item_id, seen, words, shingles, signature, slots, "
            "skeleton) VALUES (1000, :seen, :w, :s, :sig, :slots, :sk)"),
            {"seen": seen, "w": fp.words, "s": fp.shingles, "sig": fp.signature,
             "slots": "\n".join(fp.numbers), "sk": fp.skeleton_hash})
        for band in fp.bands:
            connection.execute(text("INSERT INTO item_band (band, item_id, seen) "
                                    "VALUES (:b, 1000, :seen)"), {"b": band, "seen": seen})
    store = Store(db_url)  # upgrades to head
    try:
        with store.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            bands = connection.execute(text("SELECT band, seen FROM item_band")).all()
        assert "item_fingerprint" not in tables
        with store.engine.connect() as connection:
            stored = connection.execute(text(
                "SELECT content_html, summary_text FROM item WHERE id = 1000")).one()
        assert bytes(stored.content_html)[:1] == b"\x01"  # deflated
        assert len(stored.content_html) < len(content.encode()) / 2
        assert (unpack_text(stored.content_html), unpack_text(stored.summary_text)) == (
            content, "")
        assert sorted(bands) == sorted((b, seen) for b in fp.bands)
        with store.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO source (id, name, url, poll_interval_seconds, fixed_interval, "
                "active, stopped, error_count, created_at, next_fetch_at, tags) VALUES (2, "
                "'copy', 'http://y/', 1800, false, true, false, 0, :t, :t, '')"), {"t": when})
        now = when.replace(tzinfo=UTC) + timedelta(hours=1)
        copy = ItemData(guid="c", url=None, canonical_url=None, title=title + " (copy)",
                        author=None, content_html=content, summary_text="",
                        published_at=now, updated_at=None, content_hash="c")
        store.apply(2, SourceUpdate(outcome=Outcome.OK, now=now, next_fetch_at=now,
                                    new_items=(copy,),
                                    fingerprints={"c": fingerprint(copy.title, body)}))
        with store.engine.connect() as connection:
            joined = connection.execute(text(
                "SELECT story_id, join_reason FROM item WHERE guid = 'c'")).one()
        assert joined.story_id == 1
        assert joined.join_reason.startswith("near-duplicate of item #1000 (s)")
    finally:
        store.close()


def test_the_head_the_store_checks_is_alembics_head() -> None:
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from aggregator.store import migrations

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    assert ScriptDirectory.from_config(config).get_current_head() == migrations.HEAD


# ---- the schema's revision: created, upgraded, or refused ----


def _alembic_config() -> object:
    from pathlib import Path

    from alembic.config import Config

    import aggregator.store.store as store_module

    config = Config()
    config.set_main_option("script_location",
                           str(Path(store_module.__file__).parent / "migrations"))
    return config


def _at_revision(db_url: str, revision: str, rows: str = "") -> None:
    """The database built by the migrations up to ``revision``, with ``rows`` (SQL)."""
    from alembic import command
    from sqlalchemy import text


    with _migrating(db_url) as (connection, config):
        command.upgrade(config, revision)
        for statement in filter(None, (s.strip() for s in rows.split(";"))):
            connection.execute(text(statement))


FIRST_RELEASE_ROWS = """
INSERT INTO source (id, name, url, poll_interval_seconds, fixed_interval, active, stopped,
  error_count, created_at, next_fetch_at, tags, moved_to)
  VALUES (1, 'news', 'https://news.example/feed', 1800, false, true, false, 0,
  '2026-11-24 09:00:00', '2026-11-24 09:00:00', 'en', 'https://moved.example/feed');
INSERT INTO source (id, name, url, poll_interval_seconds, fixed_interval, active, stopped,
  error_count, created_at, next_fetch_at, tags)
  VALUES (2, 'wire', 'https://wire.example/rss', 1800, false, true, false, 0,
  '2026-11-24 09:00:00', '2026-11-24 09:00:00', '');
INSERT INTO story (id, uid, representative_is_original, published_at, first_seen_at,
  updated_at) VALUES (1, 'urn:uuid:1', false, '2026-11-24 09:00:00',
  '2026-11-24 09:00:00', '2026-11-24 09:00:00');
INSERT INTO item (id, source_id, story_id, guid, title, content_html, summary_text,
  categories, first_seen_at, last_changed_at, content_hash, cites, join_reason)
  VALUES (1, 1, 1, 'g1', 'A title', '<p>x</p>', 'x', '', '2026-11-24 09:00:00',
  '2026-11-24 09:00:00', 'h', '', 'new story');
INSERT INTO item (id, source_id, story_id, guid, title, content_html, summary_text,
  categories, first_seen_at, last_changed_at, content_hash, cites, join_reason)
  VALUES (2, 2, 1, 'g2', 'A title', '<p>x</p>', 'x', '', '2026-11-24 09:00:00',
  '2026-11-24 09:00:00', 'h', '', 'exact match')
"""


def test_the_first_release_with_data_migrates_to_the_newest(db_url: str) -> None:
    """A database of the first release (revision 0001) with sources, a story and its
    items opens with this version: migrated, the data kept, each source's host filled."""
    from sqlalchemy import text

    _at_revision(db_url, "0001", FIRST_RELEASE_ROWS)
    store = Store(db_url)
    try:
        with store.engine.connect() as connection:
            hosts = connection.execute(text("SELECT name, host FROM source ORDER BY name")).all()
            assert connection.execute(text("SELECT count(*) FROM item")).scalar() == 2
        assert [tuple(h) for h in hosts] == [("news", "moved.example"), ("wire", "wire.example")]
        assert [(s.representative.source_name, [o.source_name for o in s.others])
                for s in store.stories_for(None, 10)] == [("news", ["wire"])]
        assert store.site_version() == 0
    finally:
        store.close()


def test_an_older_schema_is_refused_without_auto_migrate_and_left_alone(db_url: str) -> None:
    import pytest

    from aggregator.exceptions import SchemaError
    from aggregator.store.store import current_revision

    _at_revision(db_url, "0003")
    with pytest.raises(SchemaError, match=r"^the database schema is at revision 0003 and "
                                          rf"this version needs {HEAD}: run `aggregator db "
                                          r"upgrade` \(settings.auto_migrate is false\)$"):
        Store(db_url, upgrade=False)
    assert current_revision(db_url) == "0003"
    Store(db_url).close()  # auto_migrate (the default) migrates it
    assert current_revision(db_url) == HEAD
    Store(db_url, upgrade=False).close()  # at the newest: opens either way


def test_an_empty_database_is_created_even_without_auto_migrate(db_url: str) -> None:
    from aggregator.store.store import current_revision

    assert current_revision(db_url) is None
    Store(db_url, upgrade=False).close()
    assert current_revision(db_url) == HEAD


def test_a_schema_newer_than_the_code_is_always_refused(db_url: str) -> None:
    import pytest
    from sqlalchemy import text

    from aggregator.exceptions import SchemaError

    Store(db_url).close()
    store = Store(db_url)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0042'"))
    store.close()
    for upgrade in (True, False):
        with pytest.raises(SchemaError, match=r"^the database schema is at revision 0042, "
                                              r"newer than this version"):
            Store(db_url, upgrade=upgrade)


def test_the_revisions_the_store_knows_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    from aggregator.store import migrations

    script = ScriptDirectory.from_config(_alembic_config())  # type: ignore[arg-type]
    known = [r.revision for r in script.walk_revisions()]
    assert sorted(known) == sorted(migrations.REVISIONS)


def test_db_current_and_upgrade_on_the_command_line(db_url: str, tmp_path: object) -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from aggregator.cli import app

    folder = Path(str(tmp_path))
    config = folder / "feeds.yaml"
    config.write_text("settings:\n  auto_migrate: false\nsources:\n  - name: a\n"
                      "    url: https://example.com/a.xml\n")
    _at_revision(db_url, "0003")
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, [*args, "--config", str(config), "--db", db_url])
        return result.exit_code, result.stdout, result.stderr

    assert invoke("db", "current") == (
        0, f"0003 (older than this version's {HEAD}: run `aggregator db upgrade`)\n", "")
    assert invoke("sources") == (2, "", "aggregator: the database schema is at revision 0003 "
                                 f"and this version needs {HEAD}: run `aggregator db upgrade` "
                                 "(settings.auto_migrate is false)\n")
    assert invoke("db", "upgrade") == (0, f"schema at {HEAD} (was 0003)\n", "")
    assert invoke("db", "current") == (0, f"{HEAD} (the newest: nothing to do)\n", "")
    code, out, _ = invoke("sources")
    assert code == 0 and out.startswith("source")


def test_0006_has_every_feed_parsed_again_to_find_its_hub(db_url: str) -> None:
    """A feed whose body has not changed since the upgrade would never be parsed again,
    and its hub never found: 0006 clears the stored body hashes."""
    from sqlalchemy import text

    _at_revision(db_url, "0005", """
INSERT INTO source (id, name, url, poll_interval_seconds, fixed_interval, active, stopped,
  error_count, created_at, next_fetch_at, tags, body_hash)
  VALUES (1, 's', 'http://x/', 1800, false, true, false, 0, '2026-12-01 09:00:00',
  '2026-12-01 09:00:00', '', 'abc')""")
    store = Store(db_url)  # upgrades to head
    try:
        with store.engine.connect() as connection:
            row = connection.execute(text(
                "SELECT body_hash, websub_hub, websub_topic FROM source")).one()
        assert tuple(row) == (None, None, None)
        assert store.subscriptions() == []
    finally:
        store.close()


def test_0010_keeps_the_body_hashes_and_adds_no_wire_hash(db_url: str) -> None:
    """A source's stored body hash still spares the parse after the upgrade; its wire
    hash is recorded by its next full body."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import text


    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0007")
        connection.execute(text(
            "INSERT INTO source (id, name, url, poll_interval_seconds, fixed_interval, active, "
            "stopped, error_count, created_at, next_fetch_at, tags, body_hash) VALUES (1, 's', "
            "'http://x/', 1800, false, true, false, 0, :t, :t, '', 'abc')"),
            {"t": datetime(2026, 12, 1, 9, 0)})
    store = Store(db_url)  # upgrades to head
    try:
        claimed = store.claim_sources(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
        assert [(s.body_hash, s.wire_hash) for s in claimed] == [("abc", None)]
    finally:
        store.close()


def test_0011_keeps_the_band_rows_without_foreign_keys_and_back(db_url: str) -> None:
    """The stored band rows stay in item_band (copied on SQLite to drop its foreign key);
    a downgrade folds item_band_recent back into it and restores the key."""
    from datetime import datetime

    from alembic import command
    from sqlalchemy import text


    when = datetime(2026, 12, 1, 9, 0)
    rows = [(2**63 - 1, 1000, 5), (-2**63, 1000, 5), (7, 1000, 5)]
    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0010")
        _source_and_story(connection, when)
        connection.execute(text(
            "INSERT INTO item (id, source_id, story_id, guid, title, content_html, "
            "summary_text, categories, published_at, first_seen_at, last_changed_at, "
            "content_hash, cites, join_reason) VALUES (1000, 1, 1, 'g', 't', '', '', "
            "'', :t, :t, :t, 'h', '', '')"), {"t": when})
        for band, item_id, seen in rows:
            connection.execute(text("INSERT INTO item_band (band, item_id, seen) "
                                    "VALUES (:b, :i, :s)"), {"b": band, "i": item_id, "s": seen})
        command.upgrade(config, "0011")
        inspector = inspect(connection)
        assert inspector.get_foreign_keys("item_band") == []
        assert inspector.get_foreign_keys("item_band_recent") == []
        assert sorted(connection.execute(text(
            "SELECT band, item_id, seen FROM item_band")).all()) == sorted(rows)
        connection.execute(text("INSERT INTO item_band_recent (band, item_id, seen) "
                                "VALUES (8, 1000, 6)"))
        command.downgrade(config, "0010")
        inspector = inspect(connection)
        assert "item_band_recent" not in inspector.get_table_names()
        assert [key["referred_table"] for key in inspector.get_foreign_keys("item_band")] == [
            "item"]
        assert sorted(connection.execute(text(
            "SELECT band, item_id, seen FROM item_band")).all()) == sorted([*rows, (8, 1000, 6)])


def test_0012_stores_the_keys_as_integers_that_still_match(db_url: str) -> None:
    """A story key and a tombstone stored as hex before 0012 are found by the key they
    were made from after it; a downgrade brings back text keys of the same rows."""
    import hashlib
    from datetime import datetime

    from alembic import command
    from sqlalchemy import text

    from aggregator.store.keys import key_hash

    def old_hash(key: str) -> str:  # how a key was stored up to 0011
        return hashlib.sha256(key.encode()).hexdigest()

    when = datetime(2026, 12, 1, 9, 0)
    keys = ["https://example.com/a", "guid:tag:example.com,2026:1", "https://example.com/ы"]
    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0011")
        _source_and_story(connection, when)
        for key in keys:
            connection.execute(text("INSERT INTO story_key (key_hash, story_id) "
                                    "VALUES (:k, 1)"), {"k": old_hash(key)})
            connection.execute(text("INSERT INTO tombstone (key_hash, seen_at) "
                                    "VALUES (:k, :t)"), {"k": old_hash(key), "t": when})
        command.upgrade(config, "0012")
        assert sorted(connection.execute(text(
            "SELECT key_hash, story_id FROM story_key")).all()) == sorted(
            (key_hash(key), 1) for key in keys)
        assert sorted(k for (k,) in connection.execute(text(
            "SELECT key_hash FROM tombstone")).all()) == sorted(key_hash(k) for k in keys)
        assert any(key_hash(key) < 0 for key in keys)  # the sign survives both ways
        assert "ix_story_key_story_id" in {
            index["name"] for index in inspect(connection).get_indexes("story_key")}
        command.downgrade(config, "0011")
        assert sorted(k for (k,) in connection.execute(text(
            "SELECT key_hash FROM story_key")).all()) == sorted(
            old_hash(key)[:16] for key in keys)


def test_0015_adds_the_recent_story_keys_and_a_downgrade_folds_them_back(db_url: str) -> None:
    """The stored keys stay in story_key; a downgrade moves story_key_recent's into it."""
    from datetime import datetime

    from alembic import command
    from sqlalchemy import text

    when = datetime(2026, 12, 1, 9, 0)
    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0014")
        _source_and_story(connection, when)
        connection.execute(text("INSERT INTO story_key (key_hash, story_id) VALUES (-5, 1)"))
        command.upgrade(config, "0015")
        assert connection.execute(text("SELECT key_hash FROM story_key")).all() == [(-5,)]
        assert [key["referred_table"] for key in
                inspect(connection).get_foreign_keys("story_key_recent")] == ["story"]
        connection.execute(text("INSERT INTO story_key_recent (key_hash, story_id) "
                                "VALUES (2, 1)"))
        command.downgrade(config, "0014")
        assert "story_key_recent" not in inspect(connection).get_table_names()
        assert sorted(connection.execute(text(
            "SELECT key_hash, story_id FROM story_key")).all()) == [(-5, 1), (2, 1)]


def test_0017_adds_the_prints_table_and_a_downgrade_drops_it(db_url: str) -> None:
    """No backfill: the stored items have no print (their fingerprints are made from
    their text); the table is the model's, and goes with a downgrade."""
    from alembic import command
    from sqlalchemy import text

    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0016")
        connection.execute(text(FIRST_RELEASE_ROWS.split(";", maxsplit=1)[0]))
        command.upgrade(config, "0017")
        assert connection.execute(text("SELECT count(*) FROM item_print")).scalar() == 0
        assert {c["name"] for c in inspect(connection).get_columns("item_print")} == {
            "item_id", "seen", "data"}
        assert inspect(connection).get_pk_constraint("item_print")["constrained_columns"] == [
            "item_id"]
        command.downgrade(config, "0016")
        assert "item_print" not in inspect(connection).get_table_names()


def _items_of_texts(connection: Any, texts: dict[int, tuple[str, str]], when: Any) -> None:
    """Item rows of source 1 and story 1 (``_source_and_story``) with these ids, titles
    and bodies (packed, as the store keeps them)."""
    from sqlalchemy import text

    from aggregator.packing import pack_text

    for item_id, (title, body) in texts.items():
        connection.execute(text(
            "INSERT INTO item (id, source_id, story_id, guid, title, content_html, "
            "summary_text, categories, published_at, first_seen_at, last_changed_at, "
            "content_hash, cites, join_reason) VALUES (:i, 1, 1, :g, :title, :c, :s, "
            "'', :t, :t, :t, 'h', '', '')"),
            {"i": item_id, "g": f"g{item_id}", "title": title, "t": when,
             "c": pack_text(f"<p>{body}</p>"), "s": pack_text("")})


def test_0016_makes_the_band_keys_again_from_the_items_texts_and_back(db_url: str) -> None:
    """The items with band rows get the keys their text gives with 28 x 2 and 4 x 8
    bands, dated as their rows were (the latest of a changed item's); an item without
    rows (outside the window) gets none, nor one whose text gives no fingerprint, nor
    rows of no item; a downgrade makes the 42 x 3 and 16 x 8 keys."""
    from datetime import datetime

    from alembic import command
    from sqlalchemy import text


    def keys(bands: int, rows: int, lead_bands: int, lead_rows: int, title: str,
             body: str) -> list[int]:  # (BLAKE2b digests, as until 0018)
        return list(dict.fromkeys(_blake2b_keys(title, body, bands, rows, lead_bands,
                                                lead_rows)))

    when = datetime(2026, 12, 1, 9, 0)
    # more items than one numpy pass takes (0016's _PRINTS, 8); 1011 has no rows
    texts = {1000 + n: (f"Заголовок {n}", " ".join(f"слово{n}x{k}" for k in range(80)))
             for n in range(12)}
    texts[1012] = ("Коротко", "Подробности позже.")  # too short to fingerprint
    with_rows = range(1000, 1011)
    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0015")
        _source_and_story(connection, when)
        _items_of_texts(connection, texts, when)
        old = {item_id: keys(42, 3, 16, 8, *texts[item_id]) for item_id in with_rows}
        seen = {item_id: 9 if item_id == 1000 else 7 for item_id in with_rows}

        def insert(table: str, band: int, item_id: int, dated: int) -> None:
            connection.execute(text(f"INSERT INTO {table} (band, item_id, seen) "
                                    "VALUES (:b, :i, :s)"), {"b": band, "i": item_id, "s": dated})

        for band in old[1000]:  # dated 5, one row of it dated 9 in the recent table
            insert("item_band", band, 1000, 5)
        insert("item_band_recent", old[1000][0] + 1, 1000, 9)
        for item_id in with_rows[1:]:
            for band in old[item_id]:
                insert("item_band_recent", band, item_id, 7)
        insert("item_band", 11, 1012, 7)  # rows of a text too short: none after
        insert("item_band", 12, 4242, 7)  # a row of no item: gone

        def stored() -> tuple[set[tuple[int, int, int]], int]:
            main = set(connection.execute(text("SELECT band, item_id, seen FROM item_band")).all())
            recent = connection.execute(text("SELECT count(*) FROM item_band_recent")).scalar()
            return main, int(recent or 0)

        command.upgrade(config, "0016")
        new = {item_id: keys(28, 2, 4, 8, *texts[item_id]) for item_id in with_rows}
        assert {len(found) for found in new.values()} == {32}
        assert stored() == ({(band, item_id, seen[item_id])
                             for item_id in with_rows for band in new[item_id]}, 0)
        if connection.dialect.name == "sqlite":  # the filter of the new keys
            assert connection.execute(text(
                "SELECT keys FROM item_band_filter WHERE id = 1")).scalar() == 32 * 11
        command.downgrade(config, "0015")
        assert stored() == ({(band, item_id, seen[item_id])
                             for item_id in with_rows for band in old[item_id]}, 0)


def test_0018_makes_the_keys_of_the_code_from_the_items_texts_and_back(db_url: str) -> None:
    """The stored rows' BLAKE2b keys become the keys new items get (each band's rows
    mixed), dated as the rows were; more items than one numpy pass, one whose text gives
    no fingerprint and a row of no item lose theirs; a downgrade makes the BLAKE2b keys
    again."""
    from datetime import datetime

    from alembic import command
    from sqlalchemy import text

    from aggregator.stories.similarity import fingerprint

    when = datetime(2026, 12, 1, 9, 0)
    texts = {2000 + n: (f"Новость {n}", " ".join(f"текст{n}y{k}" for k in range(70)))
             for n in range(11)}
    texts[2011] = ("Коротко", "Подробности позже.")  # too short to fingerprint
    with_rows = range(2000, 2011)
    old = {i: list(dict.fromkeys(_blake2b_keys(*texts[i], 28, 2, 4, 8))) for i in with_rows}
    new = {}
    for item_id in with_rows:
        fp = fingerprint(*texts[item_id])
        assert fp is not None
        new[item_id] = list(dict.fromkeys(fp.bands))
    assert all(set(old[i]).isdisjoint(new[i]) for i in with_rows)  # every key changes
    with _migrating(db_url) as (connection, config):
        command.upgrade(config, "0017")
        _source_and_story(connection, when)
        _items_of_texts(connection, texts, when)
        for item_id in with_rows:  # half merged into item_band, half recent
            table = "item_band" if item_id % 2 else "item_band_recent"
            for band in old[item_id]:
                connection.execute(text(f"INSERT INTO {table} (band, item_id, seen) "
                                        "VALUES (:b, :i, :s)"),
                                   {"b": band, "i": item_id, "s": item_id - 1990})
        connection.execute(text("INSERT INTO item_band (band, item_id, seen) "
                                "VALUES (11, 2011, 7), (12, 4242, 7)"))

        def stored() -> tuple[set[tuple[int, int, int]], int]:
            main = set(connection.execute(text("SELECT band, item_id, seen FROM item_band")).all())
            recent = connection.execute(text("SELECT count(*) FROM item_band_recent")).scalar()
            return main, int(recent or 0)

        command.upgrade(config, "0018")
        assert stored() == ({(band, i, i - 1990) for i in with_rows for band in new[i]}, 0)
        if connection.dialect.name == "sqlite":  # the filter of the new keys
            assert connection.execute(text(
                "SELECT keys FROM item_band_filter WHERE id = 1")).scalar() == 32 * 11
        command.downgrade(config, "0017")
        assert stored() == ({(band, i, i - 1990) for i in with_rows for band in old[i]}, 0)


def test_0016_makes_the_keys_of_the_bands_the_code_uses() -> None:
    """The bands 0016 makes the stored keys with are the ones new items get."""
    import importlib.util
    from pathlib import Path

    from aggregator.stories import similarity

    path = (Path(similarity.__file__).parent.parent / "store" / "migrations" / "versions"
            / "0016_two_row_bands.py")
    spec = importlib.util.spec_from_file_location("revision_0016", path)
    assert spec is not None and spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    assert revision._NEW == (similarity.BANDS, similarity.ROWS, similarity.LEAD_BANDS,
                             similarity.LEAD_ROWS)
