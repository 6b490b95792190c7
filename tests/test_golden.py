"""The published bytes of a fixed corpus, pinned: every file of the site (Atom, RSS, JSON
Feed and HTML per output and page, the index, the OPML) must come out byte for byte as in
tests/data/golden/, on SQLite and on PostgreSQL alike.

The corpus is the feed files of tests/data/feeds plus three outlets carrying the seed
article (the original, a relay crediting it, an edited copy), fetched from a local
server at a fixed clock. A change that alters what we publish shows here as a diff;
when the change is meant, regenerate with ``AGGREGATOR_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.store import Store
from tests.conftest import write_config
from tests.feedserver import FeedServer

GOLDEN = Path(__file__).parent / "data" / "golden"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SEED = (Path(__file__).parent / "data" / "seed-article.ru.txt").read_text(encoding="utf-8")
TITLE, _, BODY = SEED.partition("\n\n")
PARAGRAPHS = [p for p in BODY.split("\n\n") if p.strip()]
CREDIT = ", передает Turantimes.kz со ссылкой на газету «Известия»"
FILES = {"rss2": ("rss2.xml", "application/rss+xml"), "atom": ("atom.xml", "application/atom+xml"),
         "rss1": ("rss1.rdf", "application/rdf+xml"), "cp1251": ("ru-cp1251.xml", None),
         "koi8r": ("ru-koi8r.xml", None), "hostile": ("hostile.xml", None),
         "noguids": ("no-guids.xml", None), "repeated": ("repeated-guids.xml", None),
         "control": ("control-chars.xml", None)}
OUTPUTS = """outputs:
  - name: all
    title: All stories
    limit: 4
  - name: russian
    title: Русские новости
    description: Syndicated stories, once each
    languages: [ru]
  - name: agreed
    title: Told by two outlets
    min_outlets: 2
    include:
      - field: title
        keywords: [Токаев]
"""


def _rss(channel: str, title: str, link: str, paragraphs: list[str], when: str) -> bytes:
    body = html.escape("".join(f"<p>{html.escape(p)}</p>" for p in paragraphs))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{channel}</title><link>https://{channel.lower()}.example/</link>"
            f"<language>ru</language><description>{channel}</description>"
            f"<item><title>{html.escape(title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{when}</pubDate><description>{body}</description></item>"
            f"</channel></rss>").encode()


def _serve(server: FeedServer) -> dict[str, str]:
    urls = {name: server.serve_file(f"/{file}", file, *([kind] if kind else []))
            for name, (file, kind) in FILES.items()}
    original = [PARAGRAPHS[0].replace(CREDIT, ""), *PARAGRAPHS[1:]]
    edited = [p.replace("«", '"').replace("»", '"') for p in PARAGRAPHS]
    urls["izvestia"] = server.serve("/iz.xml", _rss(
        "Известия", "Касым-Жомарт Токаев: Казахстан и Россия — союзники",
        "https://iz.ru/1/tokaev", original, "Tue, 24 Nov 2026 10:00:00 +0000"))
    urls["turantimes"] = server.serve("/tt.xml", _rss(
        "Turantimes", TITLE, "https://turantimes.kz/news/tokaev", PARAGRAPHS,
        "Tue, 24 Nov 2026 08:00:00 +0000"))
    urls["kazinform"] = server.serve("/kz.xml", _rss(
        "Kazinform", "Токаев написал статью для «Известий»", "https://inform.kz/ru/tokaev",
        edited, "Tue, 24 Nov 2026 09:00:00 +0000"))
    return urls


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every module's ``utc_now`` answers NOW (they import it by name)."""
    from aggregator.clock import utc_now

    for name, module in list(sys.modules.items()):
        if name.startswith("aggregator") and getattr(module, "utc_now", None) is utc_now:
            monkeypatch.setattr(module, "utc_now", lambda: NOW)
    yield


def _site(tmp_path: Path, store: Store, server: FeedServer) -> dict[str, bytes]:
    from aggregator.site import render_site
    from aggregator.update import update_sources

    path = write_config(tmp_path, _serve(server), OUTPUTS, settings={"concurrency": 1})
    config = load_config(path)
    store.sync_sources(config.sources, config.settings.poll_interval, NOW)
    update_sources(store, config, now=NOW)
    origin = f"http://127.0.0.1:{server.port}".encode()
    return {path: file.body.replace(origin, b"http://feeds.test")
            for path, file in render_site(store, config, NOW).items()}


@pytest.mark.usefixtures("frozen_clock")
def test_the_published_bytes_of_the_corpus_are_pinned(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    site = _site(tmp_path, store, feed_server)
    if os.environ.get("AGGREGATOR_UPDATE_GOLDEN"):
        for old in GOLDEN.rglob("*"):
            if old.is_file():
                old.unlink()
        for path, body in site.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_bytes(body)
    pinned = {str(p.relative_to(GOLDEN)): p.read_bytes()
              for p in GOLDEN.rglob("*") if p.is_file()}
    assert sorted(site) == sorted(pinned)
    changed = [path for path in sorted(site) if site[path] != pinned[path]]
    assert not changed, f"published bytes differ from tests/data/golden/: {changed}"
