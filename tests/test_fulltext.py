"""Full text for ``full_text`` sources (issue 13): the pure steps as tables, then end to end
against a local server serving a feed and its article pages (one that extracts, one with
no article on it, one too short, a 404, one over the size cap), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import html
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.clock import utc_now
from aggregator.config import load_config
from aggregator.exceptions import FetchError
from aggregator.ingest.fetch import FetchLimits, fetch_page, make_client
from aggregator.ingest.fulltext import (
    MIN_WORDS,
    extracted,
    over_limit,
    read_article,
    to_fetch,
    with_full_text,
)
from aggregator.ingest.normalize import content_hash
from aggregator.store import Store
from aggregator.types import Fetched, FullText, ItemData, Outcome, SourceUpdate
from aggregator.update import update_sources
from tests.feedserver import FeedServer

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
TITLE = "Warehouse fire near the harbour sends four to hospital"
PARAGRAPHS = [
    "Firefighters battled a large blaze at a disused warehouse near the harbour early on "
    "Sunday, and four people were taken to hospital with minor injuries, the city's fire "
    "service said.",
    "The fire broke out shortly after midnight in the two-storey brick building on Dock Road "
    "and took crews from six stations almost five hours to bring under control. At its "
    "height, flames could be seen from the other side of the bay.",
    "Residents of the surrounding streets were asked to keep their windows and doors closed "
    "because of the heavy smoke, and a section of the coastal road was closed to traffic "
    "until the morning. Bus services were diverted.",
    "The warehouse had been empty for several years and was due to be demolished to make way "
    "for new housing. The owners said they would cooperate fully with the investigation into "
    "the cause of the fire, which is being treated as suspicious.",
]
TEASER = PARAGRAPHS[0][:90] + "… Read more on the site."
COMMENT = "Terrible news, that building has been an eyesore for years and years."


def _page(title: str, paragraphs: list[str]) -> bytes:
    """An article page as a news site serves it: menu, share buttons, related stories,
    comments and a footer around the article."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    menu = "".join(f'<li><a href="/s/{n}">{n}</a></li>' for n in
                   ("Home", "World", "Business", "Sport", "Culture", "Weather"))
    comments = "".join(f'<div class="comment"><p>{COMMENT} #{i}</p></div>' for i in range(8))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} | Gazette</title><script>var x = 1;</script></head><body>
<header><nav><ul>{menu}</ul></nav></header><main><article><h1>{html.escape(title)}</h1>
<div class="share">Share: Facebook X</div>{body}</article>
<aside class="related"><h2>Related</h2><ul><li><a href="/n/1">Cycle lanes approved</a></li>
</ul></aside><section id="comments"><h2>Comments</h2>{comments}</section></main>
<footer>&copy; 2026 Gazette. All rights reserved.</footer></body></html>""".encode()


SHORT = ("This page carries only a short note of some twenty words, which is far less "
         "than any real article would have to say.")
SHELL = (b'<!DOCTYPE html><html><head><title>Gazette</title><script src="/app.js"></script>'
         b'</head><body><div id="root"></div></body></html>')


def _rss(channel: str, items: list[tuple[str, str, str, datetime]]) -> bytes:
    entries = "".join(
        f"<item><title>{html.escape(title)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>{html.escape(body)}</description></item>"
        for title, link, body, when in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{channel}</title><link>https://{channel.lower()}.example/</link>"
            f"<description>{channel}</description>{entries}</channel></rss>").encode()


def _item(guid: str, url: str | None, content: str = "<p>A teaser.</p>",
          published: datetime | None = T0) -> ItemData:
    return ItemData(guid=guid, url=url, canonical_url=url, title=TITLE, author=None,
                    content_html=content, summary_text="A teaser.", published_at=published,
                    updated_at=None, content_hash=content_hash(guid, content))


# --- the pure steps -----------------------------------------------------------------------


def test_the_newest_linked_items_are_fetched_up_to_the_limit() -> None:
    items = [_item("a", "https://x.example/a", published=T0),
             _item("b", "https://x.example/b", published=T0 + timedelta(hours=1)),
             _item("c", "https://x.example/c", published=None),
             _item("d", None),
             _item("e", "javascript:alert(1)")]
    chosen, skipped = to_fetch(items, 2)
    assert [i.guid for i in chosen] == ["b", "a"]
    assert set(skipped) == {"c", "d", "e"}
    assert "settings.full_text_per_update" in skipped["c"]
    assert "no http(s) link" in skipped["d"] and "no http(s) link" in skipped["e"]
    assert to_fetch(items, 0)[0] == ()
    assert over_limit(skipped["c"]) and not over_limit(skipped["d"]) and not over_limit(None)


@given(st.lists(st.tuples(st.booleans(), st.integers(-48, 48) | st.none(), st.booleans()),
                max_size=12), st.integers(0, 6))
def test_waiting_items_take_only_the_room_new_ones_leave(
        specs: list[tuple[bool, int | None, bool]], limit: int) -> None:
    """New and changed items come first, then the waiting ones, each newest first, at
    most ``limit`` in all; a waiting item left out gets no status (it keeps its own)."""
    made = [(_item(f"{'w' if wait else 'n'}{n}", f"https://x.example/{n}" if linked else None,
                   published=None if hours is None else T0 + timedelta(hours=hours)), wait)
            for n, (wait, hours, linked) in enumerate(specs)]
    items = [i for i, wait in made if not wait]
    waiting = [i for i, wait in made if wait]
    chosen, skipped = to_fetch(items, limit, waiting)
    first = to_fetch(items, limit)[0]
    assert chosen[:len(first)] == first and len(chosen) <= limit
    rest = chosen[len(first):]
    assert all(i in waiting and i.url for i in rest)
    linked = [i for i in waiting if i.url]
    assert len(rest) == min(len(linked), limit - len(first))
    oldest = datetime.min.replace(tzinfo=UTC)
    dates = [i.published_at or oldest for i in rest]
    assert dates == sorted(dates, reverse=True)
    assert all((i.published_at or oldest) <= dates[-1] for i in linked if i not in rest) \
        if rest else True
    assert set(skipped) == {i.guid for i in items if i not in first}


@pytest.mark.parametrize(("page", "status"), [
    (_page(TITLE, PARAGRAPHS), "extracted from https://x.example/a"),
    (SHELL, "teaser kept: no article text found on the page"),
    (_page(TITLE, [SHORT]), "teaser kept: the text found is too short"),
    (b"", "teaser kept: no article text found on the page"),
    (b"\x00\xff not html at all", "teaser kept:"),
])
def test_read_article(page: bytes, status: str) -> None:
    result = read_article(_item("a", "https://x.example/a"), page, {}, "https://x.example/a")
    assert result.status.startswith(status)
    assert (result.content_html is not None) == extracted(result.status)


def test_the_extracted_text_is_the_article_and_sanitized() -> None:
    hostile = [*PARAGRAPHS, '<script>alert(1)</script>']
    page = _page(TITLE, PARAGRAPHS).replace(
        b"</article>", b'<p onclick="x()">Last <a href="javascript:x()">line</a> of it, '
                       b'<img src="/pic.jpg"> with a relative picture.</p></article>')
    result = read_article(_item("a", "https://x.example/a"), page, {}, "https://x.example/a")
    assert result.content_html is not None and result.fingerprint is not None
    content = result.content_html
    assert all(html.escape(p, quote=False).replace("'", "&#x27;") in content
               or p in html.unescape(content) for p in PARAGRAPHS)
    assert COMMENT not in content and "Cycle lanes" not in content and "Gazette" not in content
    assert TITLE not in content  # the page's <h1> only repeated the item's title
    assert "onclick" not in content and "javascript:" not in content and "<script" not in content
    assert 'src="https://x.example/pic.jpg"' in content
    assert hostile[-1] not in content


@pytest.mark.parametrize(("fragment", "title", "kept"), [
    ("<div><h1>Fire at the Harbour</h1><p>Text.</p></div>", "fire at  the harbour", False),
    ("<div><h2>Пожар в порту</h2><p>Текст.</p></div>", "ПОЖАР В ПОРТУ", False),
    ("<div><h1>Another heading</h1><p>Text.</p></div>", "Fire at the harbour", True),
    ("<div><p>Fire at the harbour</p></div>", "Fire at the harbour", True),
    ("<div><h1>Intro</h1><h2>Fire at the harbour</h2></div>", "Fire at the harbour", True),
    ("<div><h1>Fire</h1><p>Text.</p></div>", "", True),
])
def test_a_heading_that_repeats_the_title_is_dropped(fragment: str, title: str,
                                                     kept: bool) -> None:
    from aggregator.ingest.extract import without_title

    result = without_title(fragment, title)
    assert (result == fragment) == kept
    if not kept:
        assert "<h" not in result and ("Text." in result or "Текст." in result)


def test_a_page_in_a_declared_charset_is_read_in_it() -> None:
    russian = ["Спасатели эвакуировали жителей из подтопленных домов в пятнадцати регионах "
               "страны, сообщили в МЧС в понедельник, развернуты пункты размещения."] * 6
    body = _page("Паводки", russian).replace(b'<meta charset="utf-8">', b"")
    page = body.decode().encode("windows-1251")
    result = read_article(_item("a", "https://x.example/a"), page,
                          {"Content-Type": "text/html; charset=windows-1251"},
                          "https://x.example/a")
    assert result.content_html is not None and "подтопленных" in result.content_html


def test_with_full_text_replaces_the_teaser_and_keeps_the_summary_and_hash() -> None:
    new, changed = _item("a", "https://x.example/a"), _item("b", "https://x.example/b")
    update = SourceUpdate(outcome=Outcome.OK, now=T0, next_fetch_at=T0, new_items=(new,),
                          changed_items=(changed,), fingerprints={"a": None}, credits={})
    article = read_article(new, _page(TITLE, PARAGRAPHS), {}, "https://x.example/a")
    results = [article, replace(article, guid="b"), FullText("c", "teaser kept: HTTP 404")]
    done = with_full_text(update, results, {"d": "not fetched: the item has no http(s) link"})
    (item,) = done.new_items
    assert item.content_html == article.content_html != new.content_html
    assert (item.summary_text, item.content_hash) == (new.summary_text, new.content_hash)
    assert done.changed_items[0].content_html == article.content_html
    # a changed item's text, once read, is matched again as a new one's is
    assert done.fingerprints == {"a": article.fingerprint, "b": article.fingerprint}
    assert set(done.full_text) == {"a", "b", "c", "d"}
    unchanged = with_full_text(update, [FullText("a", "teaser kept: HTTP 500")], {})
    assert unchanged.new_items == update.new_items and unchanged.fingerprints == {"a": None}
    assert unchanged.full_text == {"a": "teaser kept: HTTP 500"}


def test_an_article_page_at_a_private_address_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.serve("/article.html", _page(TITLE, PARAGRAPHS), "text/html")

    async def get(allow: bool) -> Fetched | FetchError:
        limits = FetchLimits(timeout=5, allow_private_networks=allow)
        async with make_client(limits) as client:
            return await fetch_page(client, url, limits, utc_now())

    refused = asyncio.run(get(False))
    assert isinstance(refused, FetchError) and refused.kind == "blocked"
    fetched = asyncio.run(get(True))
    assert isinstance(fetched, Fetched) and fetched.body == _page(TITLE, PARAGRAPHS)
    assert feed_server.requests[-1].headers["Accept"].startswith("text/html")


# --- end to end ---------------------------------------------------------------------------


def _config(directory: Path, outlet_a: str, outlet_b: str, per_update: int = 10,
            workers: int = -1) -> Path:
    path = directory / "feeds.yaml"
    path.write_text(f"""settings:
  timeout: 5s
  allow_private_networks: true
  parse_workers: {workers}
  max_body_size: 100000
  full_text_per_update: {per_update}
sources:
  - name: outlet-a
    url: {outlet_a}
  - name: outlet-b
    url: {outlet_b}
    full_text: true
outputs:
  - name: all
    title: All stories
""", encoding="utf-8")
    return path


def _teasers(base: str, extra: list[tuple[str, str, str, datetime]] | None = None) -> bytes:
    return _rss("OutletB", [
        (TITLE, f"{base}/articles/fire.html", TEASER, T0 + timedelta(hours=1)),
        ("App shell", f"{base}/articles/shell.html", "Teaser of an app page.", T0),
        ("Short", f"{base}/articles/short.html", "Teaser of a short page.", T0),
        ("Gone", f"{base}/articles/missing.html", "Teaser of a missing page.", T0),
        ("Huge", f"{base}/articles/huge.html", "Teaser of a huge page.", T0),
        *(extra or [])])


def _article_requests(server: FeedServer) -> list[str]:
    return [r.path for r in server.requests if r.path.startswith("/articles/")]


@pytest.mark.parametrize("workers", [-1, 1])  # pages read on the ingest thread, in the pool
def test_a_teaser_only_relay_joins_its_story_through_the_full_text(
        tmp_path: Path, store: Store, feed_server: FeedServer, workers: int) -> None:
    base = feed_server.base_url
    feed_server.serve("/articles/fire.html", _page(TITLE, PARAGRAPHS), "text/html")
    feed_server.serve("/articles/shell.html", SHELL, "text/html")
    feed_server.serve("/articles/short.html", _page("Short", [SHORT]), "text/html")
    feed_server.serve("/articles/huge.html", b"<p>" + b"x" * 200_000 + b"</p>", "text/html")
    outlet_a = feed_server.serve("/a.xml", _rss("OutletA", [
        (TITLE, "https://a.example/fire", "".join(f"<p>{p}</p>" for p in PARAGRAPHS), T0)]))
    outlet_b = feed_server.serve("/b.xml", _teasers(base))
    config = load_config(_config(tmp_path, outlet_a, outlet_b, workers=workers))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())

    results = {r.source: r for r in update_sources(store, config)}

    assert results["outlet-b"].outcome is Outcome.OK and results["outlet-b"].error is None
    assert results["outlet-b"].new == 5
    (status,) = [s for s in store.source_statuses() if s.name == "outlet-b"]
    assert status.last_outcome == "ok" and status.last_error is None
    # one story for the full article and the teaser-only relay
    stories = {s.title: s for s in store.stories_for(None, 100)}
    fire = stories[TITLE]
    assert sorted([fire.representative.source_name, *(o.source_name for o in fire.others)]) \
        == ["outlet-a", "outlet-b"]
    # the relay's item carries the article's text, its summary is still the teaser
    (relay,) = store.explain_item(f"{base}/articles/fire.html")
    assert relay.full_text == f"extracted from {base}/articles/fire.html"
    assert relay.story_uid == fire.uid
    assert "brick building" in _content(store, "outlet-b", TITLE)
    assert COMMENT not in _content(store, "outlet-b", TITLE)
    assert _summary(store, "outlet-b", TITLE).startswith("Firefighters battled")
    # each failure is on its item, and the teaser stays
    expected = {"shell": "no article text", "short": "too short", "missing": "HTTP 404",
                "huge": "too large"}
    for page, why in expected.items():
        (item,) = store.explain_item(f"{base}/articles/{page}.html")
        assert item.full_text is not None and item.full_text.startswith("teaser kept:")
        assert why in item.full_text, item.full_text
    assert "Teaser of an app page." in _content(store, "outlet-b", "App shell")
    (original,) = store.explain_item("https://a.example/fire")
    assert original.full_text is None  # not a full_text source
    assert sorted(_article_requests(feed_server)) == sorted(
        f"/articles/{p}.html" for p in ("fire", *expected))

    # a new item: only its page is fetched; the others are never fetched again
    feed_server.requests.clear()
    feed_server.serve("/articles/new.html", _page("New", [p + " Again." for p in PARAGRAPHS]),
                      "text/html")
    feed_server.serve("/b.xml", _teasers(base, [
        ("New", f"{base}/articles/new.html", "Another teaser.", T0 + timedelta(hours=2))]))
    update_sources(store, config)
    assert _article_requests(feed_server) == ["/articles/new.html"]
    # an item whose entry changed is read again
    feed_server.requests.clear()
    feed_server.serve("/b.xml", _teasers(base).replace(b"Read more on the site.",
                                                       b"Read the rest on the site."))
    update_sources(store, config)
    assert _article_requests(feed_server) == ["/articles/fire.html"]
    (relay,) = store.explain_item(f"{base}/articles/fire.html")
    assert relay.full_text == f"extracted from {base}/articles/fire.html"
    assert "brick building" in _content(store, "outlet-b", TITLE)


def test_the_article_fetches_per_update_are_bounded(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    base = feed_server.base_url
    outlet_a = feed_server.serve("/a.xml", _rss("OutletA", [
        ("Other", "https://a.example/other", "Something else entirely.", T0)]))
    outlet_b = feed_server.serve("/b.xml", _teasers(base))
    config = load_config(_config(tmp_path, outlet_a, outlet_b, per_update=1))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config)
    assert _article_requests(feed_server) == ["/articles/fire.html"]  # the newest
    (item,) = store.explain_item(f"{base}/articles/shell.html")
    assert item.full_text is not None and "full_text_per_update" in item.full_text


@pytest.mark.parametrize("workers", [-1, 1])  # prepared in-process (every item), in the pool
def test_pages_left_out_by_the_limit_are_read_by_later_updates(
        tmp_path: Path, store: Store, feed_server: FeedServer, workers: int) -> None:
    """An item the per-update limit left out is read by the next update, newest first,
    in the room its new items leave, even when the feed did not change (it is fetched
    without validators while a page waits); a page that then fails is not tried again,
    and its item and story do not count as updated; once none waits, the feed is
    fetched with its validators again and no page is read."""
    base = feed_server.base_url
    for name in ("a", "b", "c", "d", "g", "h"):
        feed_server.serve(f"/articles/{name}.html",
                          _page(name, [f"{p} Article {name}." for p in PARAGRAPHS]), "text/html")
    outlet_a = feed_server.serve("/a.xml", _rss("OutletA", [
        ("Other", "https://a.example/other", "Something else entirely.", T0)]))
    entries = [(f"Story {n}", f"{base}/articles/{n}.html", f"Teaser {n}, {credit}",
                T0 + timedelta(hours=h))  # e: a 404
               for n, h, credit in (("a", 1, ""), ("b", 0, ""), ("c", -1, "передает ТАСС."),
                                    ("e", -2, "передает ТАСС."))]
    outlet_b = feed_server.serve("/b.xml", _rss("OutletB", entries))
    config = load_config(_config(tmp_path, outlet_a, outlet_b, per_update=2, workers=workers))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())

    def update(*added: str) -> list[str]:
        feed_server.requests.clear()
        if added:
            entries[:0] = [(f"Story {n}", f"{base}/articles/{n}.html", f"Teaser {n}.",
                            T0 + timedelta(hours=2 + len(entries) + i))
                           for i, n in enumerate(added)]
            feed_server.serve("/b.xml", _rss("OutletB", entries))
        update_sources(store, config)
        return sorted(_article_requests(feed_server))

    def status(name: str) -> str | None:
        (item,) = store.explain_item(f"{base}/articles/{name}.html")
        return item.full_text

    def credited(name: str) -> str | None:
        (item,) = store.explain_item(f"{base}/articles/{name}.html")
        return item.relayed_by

    def validated() -> bool:
        (feed,) = [r for r in feed_server.requests if r.path == "/b.xml"]
        return "If-None-Match" in feed.headers or "If-Modified-Since" in feed.headers

    assert update() == ["/articles/a.html", "/articles/b.html"]
    assert credited("c") == credited("e") == "ТАСС"  # from their teasers
    assert "full_text_per_update" in (status("c") or "") and "full_text_per_update" in (
        status("e") or "")
    before = _changed(store, "Story e")
    assert update() == ["/articles/c.html", "/articles/e.html"]  # the same feed: caught up
    assert not validated()
    assert status("c") == f"extracted from {base}/articles/c.html"
    assert "Article c." in _content(store, "outlet-b", "Story c")
    assert _summary(store, "outlet-b", "Story c") == "Teaser c, передает ТАСС."
    assert credited("c") == "ТАСС"  # the page names none: the teaser's stays
    assert (status("e") or "").startswith("teaser kept: HTTP 404")
    assert "Teaser e," in _content(store, "outlet-b", "Story e")
    assert _changed(store, "Story e") == before  # neither the item nor its story updated
    assert credited("e") == "ТАСС"
    assert update() == [] and validated()  # none waits: e is not tried again
    assert update("d", "g", "h") == ["/articles/g.html", "/articles/h.html"]  # the newest
    assert "full_text_per_update" in (status("d") or "")
    assert update() == ["/articles/d.html"] and not validated()
    assert update() == [] and validated()


def test_a_page_waits_for_a_catch_up_only_so_long(tmp_path: Path, store: Store,
                                                   feed_server: FeedServer) -> None:
    """An item left out by the limit keeps its unchanged feed fetched without validators
    only within ``fulltext.CATCH_UP`` of its first sight: one that left the feed unread
    does not cost a whole fetch at every poll for good."""
    from aggregator.ingest.fulltext import CATCH_UP, OVER_LIMIT

    base = feed_server.base_url
    outlet_a = feed_server.serve("/a.xml", _rss("OutletA", [
        ("Other", "https://a.example/other", "Something else entirely.", T0)]))
    outlet_b = feed_server.serve("/b.xml", _rss("OutletB", [
        (f"Story {n}", f"{base}/articles/{n}.html", f"Teaser {n}.", T0 + timedelta(hours=n))
        for n in range(3)]))
    config = load_config(_config(tmp_path, outlet_a, outlet_b, per_update=1))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config)
    (source,) = store.claim_sources(utc_now(), names=["outlet-b"], due_only=False)
    now = utc_now()
    assert store.has_full_text_status(source.id, OVER_LIMIT, seen_since=now - CATCH_UP)
    assert not store.has_full_text_status(source.id, OVER_LIMIT,
                                          seen_since=now + timedelta(minutes=1))
    assert not store.has_full_text_status(source.id, "no such status",
                                          seen_since=now - CATCH_UP)


def _changed(store: Store, title: str) -> tuple[datetime, datetime]:
    """An item's last_changed_at and its story's updated_at."""
    from sqlmodel import Session, select

    from aggregator.store.models import ItemRow, StoryRow

    with Session(store.engine) as session:
        changed, updated = session.exec(
            select(ItemRow.last_changed_at, StoryRow.updated_at)
            .join(StoryRow, StoryRow.id == ItemRow.story_id)  # type: ignore[arg-type]
            .where(ItemRow.title == title)).one()
    return changed, updated


def _row(store: Store, source: str, title: str) -> tuple[str, str]:
    from sqlmodel import Session, select

    from aggregator.store.models import ItemRow, SourceRow

    with Session(store.engine) as session:
        content, summary = session.exec(
            select(ItemRow.content_html, ItemRow.summary_text)
            .join(SourceRow, SourceRow.id == ItemRow.source_id)  # type: ignore[arg-type]
            .where(SourceRow.name == source, ItemRow.title == title)).one()
    return content, summary


def _content(store: Store, source: str, title: str) -> str:
    return _row(store, source, title)[0]


def _summary(store: Store, source: str, title: str) -> str:
    return _row(store, source, title)[1]


@pytest.mark.parametrize("count", [MIN_WORDS - 1, MIN_WORDS])
def test_min_words_is_the_threshold(count: int) -> None:
    page = f"<html><body><article><p>{' '.join(['word'] * count)}</p></article></body></html>"
    result = read_article(_item("a", "https://x.example/a"), page.encode(), {},
                          "https://x.example/a")
    assert (result.content_html is not None) == (count >= MIN_WORDS), result.status
