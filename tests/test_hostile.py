"""A hostile corpus end to end (issue 11): external entities, entity expansion, script
vectors at feed and item level, huge fields and absurd dates. Each is fetched from a
local server, stored and published; every output must be well formed and safe, and no
feed may leak a file, hang, or stop the others."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from lxml import etree

from aggregator.clock import utc_now
from aggregator.config import load_config
from aggregator.site import render_site
from aggregator.store import Store
from aggregator.types import Outcome
from aggregator.update import update_sources
from tests.conftest import write_config
from tests.feedserver import FEEDS, FeedServer

HOSTILE = Path(__file__).parent / "data" / "hostile"
ATOM = "{http://www.w3.org/2005/Atom}"


def _huge_and_absurd() -> bytes:
    items = [
        ("Very long title " * 20000, "Mon, 01 Jan 99999999999 00:00:00 GMT", "word " * 200000),
        ("Dated before the epoch", "Sat, 01 Jan 0001 00:00:00 +2359", "Old."),
        ("Dated in 2099", "Thu, 01 Jan 2099 00:00:00 GMT", "Future."),
    ]
    entries = "".join(f"<item><title>{t}</title><guid>huge-{i}</guid><pubDate>{d}</pubDate>"
                      f"<description>{b}</description></item>"
                      for i, (t, d, b) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>'
            f'{"T" * 100_000}</title><link>https://h.example/</link><description>d'
            f"</description>{entries}</channel></rss>").encode()


def _serve(server: FeedServer) -> dict[str, str]:
    urls = {path.stem: server.serve(f"/{path.name}", path.read_bytes())
            for path in sorted(HOSTILE.glob("*.xml"))}
    urls["huge-and-absurd"] = server.serve("/huge.xml", _huge_and_absurd())
    urls["good"] = server.serve_file("/rss2.xml", "rss2.xml")
    urls["hostile-items"] = server.serve_file("/hostile.xml", "hostile.xml")
    assert (FEEDS / "control-chars.xml").exists()
    urls["control-chars"] = server.serve_file("/control.xml", "control-chars.xml")
    return urls


def test_a_hostile_corpus_is_stored_and_published_safely(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    config = load_config(write_config(tmp_path, _serve(feed_server),
                                      settings={"max_body_size": 20_000_000}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    started = time.monotonic()
    results = {r.source: r for r in update_sources(store, config)}
    assert time.monotonic() - started < 60
    assert results["good"].outcome is Outcome.OK and results["good"].new == 3
    assert {r.outcome for r in results.values()} <= {Outcome.OK, Outcome.ERROR}
    site = render_site(store, config, utc_now())
    everything = b"".join(f.body for f in site.values())
    assert b"root:x:0:0" not in everything and b"lollollol" not in everything
    for fragment in _html_fragments(site):
        _assert_safe_html(fragment)
    for path, file in site.items():
        if path.endswith((".atom", ".rss", ".opml")):
            etree.fromstring(file.body)  # well formed
        elif path.endswith(".json"):
            json.loads(file.body)
        elif path.endswith(".html"):
            assert file.body.lower().startswith(b"<!doctype html>")
    atom = etree.fromstring(site["feeds/all.atom"].body)
    updated = [datetime.fromisoformat(e.text.replace("Z", "+00:00"))
               for e in atom.iter(f"{ATOM}updated") if e.text]
    assert all(u.tzinfo is not None and u <= utc_now() + timedelta(hours=2) for u in updated)
    assert all(u.year >= 1970 for u in updated)


def _html_fragments(site: dict[str, Any]) -> list[str]:
    """Every piece of HTML we publish: Atom content and summaries, RSS descriptions,
    JSON Feed content_html, and the HTML pages."""
    fragments = []
    for path, file in site.items():
        if path.endswith(".atom"):
            root = etree.fromstring(file.body)
            fragments += [e.text or "" for e in root.iter(f"{ATOM}content")]
        elif path.endswith(".rss"):
            fragments += [e.text or "" for e in etree.fromstring(file.body).iter("description")]
        elif path.endswith(".json"):
            fragments += [i["content_html"] for i in json.loads(file.body)["items"]]
        elif path.endswith(".html"):
            fragments.append(file.body.decode())
    return [f for f in fragments if f.strip()]


def _assert_safe_html(fragment: str) -> None:
    for element in lxml.html.fragments_fromstring(fragment, no_leading_text=False):
        if not isinstance(element, lxml.html.HtmlElement):
            continue
        for node in element.iter():
            tag = node.tag if isinstance(node.tag, str) else ""
            assert tag not in {"script", "iframe", "object", "embed", "svg", "form"}, tag
            if tag == "style":  # only our own page style, never one from a feed
                assert "body{}" not in (node.text or "")
            for name, value in node.attrib.items():
                assert not name.lower().startswith("on"), (tag, name)
                if name in {"href", "src"}:
                    assert value.startswith(("http://", "https://", "mailto:", "#")), value


@pytest.mark.parametrize("name", ["xxe.xml", "billion-laughs.xml"])
def test_entities_are_never_expanded_from_outside_or_without_bound(name: str) -> None:
    from aggregator.ingest.prepare import prepare_feed

    started = time.monotonic()
    try:
        prepared = prepare_feed((HOSTILE / name).read_bytes(), {}, "https://x.example/feed",
                                datetime(2026, 11, 25, tzinfo=UTC))
    except Exception as error:  # refusing the document is fine; leaking or hanging is not
        assert "root:" not in str(error)
        return
    finally:
        assert time.monotonic() - started < 5
    text = " ".join(f"{i.title} {i.content_html}" for i in prepared.items)
    assert "root:" not in text and "lollollol" not in text
