"""The schema the migrations build is the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from aggregator.store import Store


def test_migrations_build_exactly_the_models(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            assert compare_metadata(context, SQLModel.metadata) == []
            assert context.get_current_revision() is not None
            tables = set(inspect(connection).get_table_names())
        assert {"source", "item", "story", "story_key", "item_band", "output"} <= tables
    finally:
        store.close()


def test_opening_a_store_twice_migrates_once(db_url: str) -> None:
    Store(db_url).close()
    again = Store(db_url)  # already at head: nothing to do, no error
    again.close()


def test_0003_converts_the_stored_band_keys_and_moves_the_fingerprints(
        db_url: str) -> None:
    from datetime import UTC, datetime
    from pathlib import Path

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    import aggregator.store.store as store_module
    from aggregator.stories.similarity import fingerprint

    title, _, body = (Path(__file__).parent / "data" / "seed-article.ru.txt").read_text(
        encoding="utf-8").partition("\n\n")
    fp = fingerprint(title, body)
    assert fp is not None
    # the text keys of the same fingerprint, as the store kept them before 0003
    whole = [f"{b}:{(k + (1 << 62)) >> 7:014x}00" for b, k in enumerate(fp.bands[:42])]
    lead = [f"L{b}:{(k + (1 << 62)) >> 7:014x}00" for b, k in enumerate(fp.bands[42:])]
    engine = create_engine(store_module.normalize_database_url(db_url))
    config = Config()
    config.set_main_option("script_location",
                           str(Path(store_module.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        when = datetime(2026, 11, 24, 9, 0)
        connection.execute(text(
            "INSERT INTO source (id, name, url, poll_interval_seconds, fixed_interval, active, "
            "stopped, error_count, created_at, next_fetch_at, tags) VALUES (1, 's', "
            "'http://x/', 1800, false, true, false, 0, :t, :t, '')"), {"t": when})
        connection.execute(text(
            "INSERT INTO story (id, uid, representative_is_original, published_at, "
            "first_seen_at, updated_at) VALUES (1, 'u', false, :t, :t, :t)"), {"t": when})
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
    engine.dispose()
    store = Store(db_url)  # upgrades to head
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(text("SELECT band, seen FROM item_band")).all()
            moved = connection.execute(text(
                "SELECT item_id, seen, words, shingles, signature, slots, skeleton "
                "FROM item_fingerprint")).all()
            columns = {c["name"] for c in inspect(connection).get_columns("item")}
        seen = int(when.replace(tzinfo=UTC).timestamp())
        assert sorted(b for b, _ in rows) == sorted(fp.bands)
        assert {s for _, s in rows} == {seen}
        assert [tuple(m) for m in moved] == [(1, seen, fp.words, fp.shingles, fp.signature,
                                             "\n".join(fp.numbers), fp.skeleton_hash)]
        assert not {c for c in columns if c.startswith("fp_")}
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


def test_0006_has_every_feed_parsed_again_to_find_its_hub(db_url: str) -> None:
    """A feed whose body has not changed since the upgrade would never be parsed again,
    and its hub never found: 0006 clears the stored body hashes."""
    from datetime import datetime
    from pathlib import Path

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    import aggregator.store.store as store_module

    engine = create_engine(store_module.normalize_database_url(db_url))
    config = Config()
    config.set_main_option("script_location",
                           str(Path(store_module.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        connection.execute(text(
            "INSERT INTO source (id, name, url, poll_interval_seconds, fixed_interval, active, "
            "stopped, error_count, created_at, next_fetch_at, tags, body_hash) VALUES (1, 's', "
            "'http://x/', 1800, false, true, false, 0, :t, :t, '', 'abc')"),
            {"t": datetime(2026, 12, 1, 9, 0)})
    engine.dispose()
    store = Store(db_url)  # upgrades to head
    try:
        with store.engine.connect() as connection:
            row = connection.execute(text(
                "SELECT body_hash, websub_hub, websub_topic FROM source")).one()
        assert tuple(row) == (None, None, None)
        assert store.subscriptions() == []
    finally:
        store.close()


def test_0011_keeps_the_body_hashes_and_adds_no_wire_hash(db_url: str) -> None:
    """A source's stored body hash still spares the parse after the upgrade; its wire
    hash is recorded by its next full body."""
    from datetime import UTC, datetime
    from pathlib import Path

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    import aggregator.store.store as store_module

    engine = create_engine(store_module.normalize_database_url(db_url))
    config = Config()
    config.set_main_option("script_location",
                           str(Path(store_module.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        connection.execute(text(
            "INSERT INTO source (id, name, url, poll_interval_seconds, fixed_interval, active, "
            "stopped, error_count, created_at, next_fetch_at, tags, body_hash) VALUES (1, 's', "
            "'http://x/', 1800, false, true, false, 0, :t, :t, '', 'abc')"),
            {"t": datetime(2026, 12, 1, 9, 0)})
    engine.dispose()
    store = Store(db_url)  # upgrades to head
    try:
        claimed = store.claim_sources(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
        assert [(s.body_hash, s.wire_hash) for s in claimed] == [("abc", None)]
    finally:
        store.close()
