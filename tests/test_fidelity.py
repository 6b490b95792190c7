"""What we store and publish is what the outlet published, in the right characters
(issue 11 §2): feeds in Latin-1 and windows-1252, declared or not; a UTF-8 feed with
one broken byte; an RSS item with other title elements beside its own.

The feeds are in tests/data/fidelity/, fetched from a local server with each kind of
Content-Type a server sends, and read back from the published Atom feed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.clock import utc_now
from aggregator.config import load_config
from aggregator.site import render_output
from aggregator.store import Store
from aggregator.update import update_sources
from tests.conftest import write_config
from tests.feedserver import FeedServer

FIDELITY = Path(__file__).parent / "data" / "fidelity"
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_TYPES = ["text/xml", "application/rss+xml", "application/rss+xml; charset=ISO-8859-1"]
EXPECTED = {
    "fr-latin1-declared.xml": {
        "Un très bon café à Paris": "Le café est très bon, à côté de la gare.",
        "Noël approche": "Les fêtes de fin d'année : où aller ? Voilà l'été indien."},
    "pt-latin1-undeclared.xml": {
        "A liderança de Chávez": "A liderança política e a situação econômica do país",
        "Informação e ação": "Coração, pão e limões: a promoção começa amanhã."},
    "fr-cp1252-declared.xml": {
        "Un très bon café à Paris": "Le café est très bon",
        "L’œuvre « complète »":
            "Guillemets « français » et apostrophe ’ typographique — tiret, 2 €."},
    "ru-utf8-one-bad-byte.xml": {
        "Новости дня": "Правительство утвердило \ufffdбюджет на следующий год.",
        "Погода": "Завтра в Москве снег и ветер."},
    "nested-title.xml": {
        "The item's own title": "Text one", "Second own title": "Text two",
        "Third own title": "Text three"},
}


def _published(tmp_path: Path, store: Store, url: str) -> dict[str, str]:
    config = load_config(write_config(tmp_path, {"feed": url}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    (result,) = update_sources(store, config)
    assert result.error is None
    feed = etree.fromstring(render_output(store, config, config.outputs[0], utc_now()).body)
    return {entry.findtext(f"{ATOM}title"): entry.findtext(f"{ATOM}content") or ""
            for entry in feed.iter(f"{ATOM}entry")}


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_titles_and_text_come_out_as_the_outlet_wrote_them(
        tmp_path: Path, store: Store, feed_server: FeedServer, name: str,
        content_type: str) -> None:
    url = feed_server.serve(f"/{name}", (FIDELITY / name).read_bytes(), content_type)
    published = _published(tmp_path, store, url)
    assert sorted(published) == sorted(EXPECTED[name])
    for title, text in EXPECTED[name].items():
        assert text in published[title], (title, published[title][:200])


WESTERN = ["très", "café", "à", "Noël", "liderança", "Chávez", "situação", "coração", "été",
           "où", "garçon", "über", "Straße", "año", "niño", "the", "news", "de", "la", "et"]
CYRILLIC = ["Новости", "дня", "Правительство", "утвердило", "бюджет", "Москве", "снег", "и"]


def _feed(title: str, encoding: str, declared: str | None) -> bytes:
    prolog = f'<?xml version="1.0" encoding="{declared}"?>' if declared else '<?xml version="1.0"?>'
    return (f'{prolog}<rss version="2.0"><channel><title>t</title><item><title>{title}</title>'
            f"<guid>g</guid><description>d</description></item></channel></rss>"
            ).encode(encoding)


@settings(max_examples=60)
@given(words=st.lists(st.sampled_from(WESTERN), min_size=1, max_size=12),
       encoding=st.sampled_from(["latin-1", "cp1252"]),
       declared=st.sampled_from([None, "ISO-8859-1", "windows-1252"]))
def test_western_text_in_a_single_byte_charset_reads_as_written(
        words: list[str], encoding: str, declared: str | None) -> None:
    from aggregator.ingest.parse import parse_feed

    title = " ".join(words)
    (entry,) = parse_feed(_feed(title, encoding, declared), {"content-type": "text/xml"}).entries
    assert entry.title == title


@settings(max_examples=60)
@example(words=["Новости", "Новости", "Новости", "дня", "дня", "дня", "и", "и"],
         encoding="koi8-r")  # charset-normalizer alone read this as Hebrew
@given(words=st.lists(st.sampled_from(CYRILLIC), min_size=2, max_size=20).filter(
    lambda words: any(len(w) > 1 for w in words)),  # "и и" could as well be "è è"
       encoding=st.sampled_from(["cp1251", "koi8-r"]))
def test_russian_mislabelled_as_latin_1_still_reads_as_russian(
        words: list[str], encoding: str) -> None:
    from aggregator.ingest.parse import parse_feed

    title = " ".join(words)
    body = _feed(title, encoding, "ISO-8859-1")
    (entry,) = parse_feed(body, {"content-type": "text/xml; charset=ISO-8859-1"}).entries
    assert entry.title == title


HOSTILE_LINKS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>Hostile outlet</title><link>javascript:alert(document.domain)</link>
<description>d</description>
<item><title>An item</title><link>data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;</link>
<guid isPermaLink="false">hostile-1</guid><pubDate>Tue, 24 Nov 2026 09:00:00 GMT</pubDate>
<description>Some text of the item, long enough to be an article.</description></item>
</channel></rss>"""


def test_no_republished_url_is_anything_but_http(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    from sqlalchemy import text

    from aggregator.site import render_site

    url = feed_server.serve("/hostile.xml", HOSTILE_LINKS)
    config = load_config(write_config(tmp_path, {"hostile": url}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config)
    site = render_site(store, config, utc_now())
    # and a home page stored before the rule existed is not republished either
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE source SET site_url = 'javascript:alert(2)'"))
    site_again = render_site(store, config, utc_now())
    for files in (site, site_again):
        bodies = b"".join(f.body for f in files.values()).lower()
        assert b"javascript:" not in bodies and b"data:text" not in bodies
        assert b"An item" in files["feeds/all.atom"].body


@pytest.mark.parametrize("kind", ["rss", "atom", "rdf"])
def test_a_document_with_more_entries_than_the_cap_is_read_up_to_the_cap(kind: str) -> None:
    import time
    import tracemalloc

    from aggregator.ingest.parse import MAX_ENTRIES, parse_feed

    count = 20_000
    if kind == "rss":
        entries = "".join(f"<item><title>Item {i}</title><guid>g{i}</guid></item>"
                          for i in range(count))
        doc = f'<rss version="2.0"><channel><title>Big</title>{entries}</channel></rss>'
    elif kind == "atom":
        entries = "".join(f"<entry><title>Item {i}</title><id>urn:x:{i}</id>"
                          f"<updated>2026-11-24T09:00:00Z</updated></entry>" for i in range(count))
        doc = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>Big</title>{entries}</feed>'
    else:
        entries = "".join(f'<item rdf:about="http://e/{i}"><title>Item {i}</title>'
                          f"<link>http://e/{i}</link></item>" for i in range(count))
        doc = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
               'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://e/">'
               f"<title>Big</title></channel>{entries}</rdf:RDF>")
    tracemalloc.start()
    started = time.perf_counter()
    parsed = parse_feed(('<?xml version="1.0" encoding="utf-8"?>' + doc).encode(), {})
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(parsed.entries) == MAX_ENTRIES
    assert (parsed.entries[0].title, parsed.entries[-1].title) == (
        "Item 0", f"Item {MAX_ENTRIES - 1}")
    assert parsed.title == "Big"
    assert peak < 100 * 1024 * 1024 and elapsed < 30  # bounded by the cap, not the document
