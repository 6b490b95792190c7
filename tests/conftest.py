from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from aggregator.store import Store
from tests.feedserver import FeedServer

PG_URL = os.environ.get("AGGREGATOR_TEST_DATABASE_URL")
ATOM_RNG = Path(__file__).parent / "data" / "atom.rng"


@pytest.fixture(scope="session", autouse=True)
def _config_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each feeds.yaml text that read cleanly is remembered (config/load.py): the tests'
    in a folder of their own, not the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGGREGATOR_CACHE_DIR", str(tmp_path_factory.mktemp("config-cache")))
        yield


@pytest.fixture(scope="session")
def _feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture
def feed_server(_feed_server: FeedServer) -> Iterator[FeedServer]:
    _feed_server.reset()
    yield _feed_server
    _feed_server.reset()


def _pg_schema_url(schema: str) -> str:
    assert PG_URL is not None
    url = make_url(PG_URL.replace("postgresql+psycopg://", "postgresql://"))
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


def _pg_conninfo() -> str:
    assert PG_URL is not None
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every store test runs on SQLite and on PostgreSQL (a fresh schema per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aggregator.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need AGGREGATOR_TEST_DATABASE_URL")
    with pg_schema() as url:
        yield url


@contextmanager
def pg_schema() -> Iterator[str]:
    """The URL of a fresh schema in the test PostgreSQL database, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_conninfo(), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _pg_schema_url(schema)
    finally:
        with psycopg.connect(_pg_conninfo(), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def write_config(directory: Path, sources: dict[str, str], outputs: str | None = None,
                 settings: dict[str, object] | None = None,
                 tags: dict[str, list[str]] | None = None) -> Path:
    """A feeds.yaml for the tests: ``sources`` maps name -> url; ``settings`` overrides."""
    chosen: dict[str, object] = {"timeout": "5s", "poll_interval": "30m",
                                 "allow_private_networks": True, "parse_workers": -1,
                                 **(settings or {})}
    lines = ["settings:"]
    lines += [f"  {key}: {str(value).lower() if isinstance(value, bool) else value}"
              for key, value in chosen.items()]
    lines.append("sources:")
    for name, url in sources.items():
        lines += [f"  - name: {name}", f"    url: {url}"]
        if tags and name in tags:
            lines.append(f"    tags: [{', '.join(tags[name])}]")
    lines.append(outputs or "outputs:\n  - name: all\n    title: All stories")
    path = directory / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
