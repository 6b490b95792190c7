"""HTML pages tested on the DOM they produce (parsed back with lxml.html)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from html import escape as escape_html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html

from aggregator.ingest.discover import discover_feeds
from aggregator.publish.formats import feed_path, site_url, story_path
from aggregator.publish.pages import (
    OutputSummary,
    SiteInfo,
    render_index,
    render_not_found,
    render_output_page,
    render_story_page,
)
from aggregator.types import Copy, Outlet, StoryView

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:8080/"
SITE = SiteInfo(title="Aggregator news", base_url=BASE)

IZVESTIA = Outlet("izvestia", "Известия", "https://iz.ru/xml/rss/all.xml", "https://iz.ru/",
                  "https://iz.ru/", T0, "https://iz.ru/1789012/tokaev-statya")
TURANTIMES = Outlet("turantimes", "Turantimes.kz", "https://turantimes.kz/rss", None,
                    "https://turantimes.kz/rss", T0, "https://turantimes.kz/news/45012")
KAZINFORM = Outlet("kazinform", "Kazinform", "https://www.inform.kz/rss/rus.xml",
                   "https://www.inform.kz/", "tag:inform.kz,2026:feed", T0,
                   "https://www.inform.kz/ru/statya-tokaeva-a4321")
BBC = Outlet("bbc-world", "BBC News World", "https://feeds.bbci.co.uk/news/world/rss.xml",
             "https://www.bbc.co.uk/news", "https://www.bbc.co.uk/news", T0,
             "https://www.bbc.co.uk/news/articles/c0kz1")

TOKAEV = StoryView(
    uid="urn:uuid:11111111-2222-3333-4444-555555555555",
    title="Статью Токаева «Закон и порядок – основа безопасности и развития страны» "
          "опубликовала российская газета «Известия»",
    url="https://iz.ru/1789012/tokaev-statya",
    content_html="<p>FULL-CONTENT-MARKER Президент Казахстана опубликовал статью.</p>",
    summary_text="Президент Казахстана Касым-Жомарт Токаев опубликовал статью о реформе "
                 "правоохранительной системы, борьбе с коррупцией и безопасности граждан.",
    author="Иван Петров", published_at=T0, updated_at=T0, representative=IZVESTIA,
    others=(KAZINFORM, TURANTIMES), categories=("Политика", "Казахстан"), language="ru")
CASPIAN = StoryView(
    uid="urn:uuid:22222222-2222-3333-4444-555555555555",
    title="Kazakhstan and Russia sign agreement on the Caspian transit corridor",
    url="https://www.bbc.co.uk/news/articles/c0kz1", content_html="<p>The agreement…</p>",
    summary_text="The agreement covers rail and sea freight through the ports of Aktau "
                 "and Kuryk, officials said on Monday.",
    author=None, published_at=T0 - timedelta(days=1), updated_at=T0 - timedelta(days=1),
    representative=BBC, others=(TURANTIMES,))
GRAIN = StoryView(
    uid="urn:uuid:33333333-2222-3333-4444-555555555555",
    title="Казахстан увеличил экспорт зерна в Центральную Азию",
    url="https://www.inform.kz/ru/eksport-zerna-a4400", content_html="<p>Экспорт</p>",
    summary_text="По данным министерства сельского хозяйства, экспорт вырос на 12%.",
    author=None, published_at=T0 - timedelta(hours=3), updated_at=T0 - timedelta(hours=3),
    representative=KAZINFORM)
STORIES = (TOKAEV, GRAIN, CASPIAN)

ALL = OutputSummary("all", "All stories",
                    "Everything from every source, each story once with every outlet", 3, T0)
RU_NEWS = OutputSummary("ru-news", "Новости",
                        "Новости на русском языке со всеми изданиями, которые их опубликовали",
                        2, T0)
TECH = OutputSummary("tech", "Tech", None, 0, None)
OUTPUTS = (ALL, RU_NEWS, TECH)


def _dom(page: str) -> html.HtmlElement:
    return html.document_fromstring(page.encode("utf-8"),
                                    parser=html.HTMLParser(encoding="utf-8"))


def _alternates(root: html.HtmlElement) -> list[tuple[str, str, str]]:
    return [(link.get("type") or "", link.get("href") or "", link.get("title") or "")
            for link in root.xpath("//head/link[@rel='alternate']")]


def _text(element: html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


# ---- the index -------------------------------------------------------------------


def test_the_index_lists_every_output_with_counts_updates_and_subscribe_links() -> None:
    root = _dom(render_index(SITE, OUTPUTS))
    cards = root.xpath("//li[contains(@class, 'output')]")
    assert [c.get("id") for c in cards] == ["all", "ru-news", "tech"]
    all_card, ru_card, tech_card = cards
    assert _text(all_card.xpath(".//h2")[0]) == "All stories"
    assert all_card.xpath(".//h2/a/@href") == [BASE + "feeds/all.html"]
    assert "Everything from every source" in _text(all_card)
    assert "3 stories" in _text(all_card)
    assert all_card.xpath(".//time/@datetime") == ["2026-11-24T09:00:00Z"]
    assert "24 Nov 2026, 09:00 UTC" in _text(all_card)
    assert "Новости на русском языке" in _text(ru_card)
    assert "2 stories" in _text(ru_card)
    assert "0 stories" in _text(tech_card) and "nothing published yet" in _text(tech_card)
    assert not tech_card.xpath(".//p[@class='description']")
    subscribe = [(a.text, a.get("href"), a.get("type"))
                 for a in ru_card.xpath(".//ul[@class='subscribe']//a")]
    assert subscribe == [
        ("Atom", BASE + "feeds/ru-news.atom", "application/atom+xml"),
        ("RSS", BASE + "feeds/ru-news.rss", "application/rss+xml"),
        ("JSON Feed", BASE + "feeds/ru-news.json", "application/feed+json"),
    ]
    assert BASE + "sources.opml" in root.xpath("//a/@href")


def test_the_index_announces_every_feed_atom_first() -> None:
    root = _dom(render_index(SITE, OUTPUTS))
    alternates = _alternates(root)
    assert [(kind, href) for kind, href, _ in alternates] == [
        (kind, f"{BASE}feeds/{name}.{ext}")
        for kind, ext in (("application/atom+xml", "atom"), ("application/rss+xml", "rss"),
                          ("application/feed+json", "json"))
        for name in ("all", "ru-news", "tech")]
    assert ("application/atom+xml", BASE + "feeds/ru-news.atom", "Новости (Atom)") in alternates


def test_a_reader_given_the_site_address_finds_the_feeds() -> None:
    found = discover_feeds(render_index(SITE, OUTPUTS).encode("utf-8"), BASE)
    assert found[0].url == BASE + "feeds/all.atom"
    assert [f.url for f in found][:3] == [BASE + f"feeds/{o.name}.atom" for o in OUTPUTS]
    assert len(found) == 9


def test_an_index_without_outputs_says_so() -> None:
    root = _dom(render_index(SITE, []))
    assert "No feeds are published yet" in _text(root)
    assert _alternates(root) == []


@pytest.mark.parametrize(("base_url", "expected"), [
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/feeds/all.atom"),
    ("https://news.example.org", "https://news.example.org/feeds/all.atom"),
    ("https://example.org/news", "https://example.org/news/feeds/all.atom"),
    ("https://example.org/news/", "https://example.org/news/feeds/all.atom"),
])
def test_links_are_absolute_under_the_base_url(base_url: str, expected: str) -> None:
    site = SiteInfo("Feeds", base_url)
    assert site_url(site.base_url, feed_path("all", "atom")) == expected
    root = _dom(render_index(site, [ALL]))
    assert _alternates(root)[0][1] == expected


# ---- the output page ---------------------------------------------------------------


def test_the_output_page_shows_each_story_with_every_outlet() -> None:
    root = _dom(render_output_page(SITE, ALL, STORIES))
    articles = root.xpath("//article")
    assert [_text(a.xpath(".//h2")[0]) for a in articles] == [s.title for s in STORIES]
    first = articles[0]
    assert first.xpath(".//h2/a/@href") == [TOKAEV.url]
    assert first.get("lang") == "ru" and articles[2].get("lang") is None  # for hyphenation
    assert first.xpath(".//time/@datetime") == ["2026-11-24T09:00:00Z"]
    assert "Иван Петров" in _text(first) and "Политика, Казахстан" in _text(first)
    assert _text(first.xpath(".//p[@class='summary']")[0]) == TOKAEV.summary_text
    outlets = first.xpath(".//p[@class='outlets']")[0]
    assert _text(outlets) == "Published by Известия · also carried by Kazinform, Turantimes.kz"
    assert [(a.text, a.get("href")) for a in outlets.xpath(".//a")] == [
        ("Известия", IZVESTIA.item_url), ("Kazinform", KAZINFORM.item_url),
        ("Turantimes.kz", TURANTIMES.item_url)]
    assert _text(articles[1].xpath(".//p[@class='outlets']")[0]) == "Published by Kazinform"
    assert "23 Nov 2026, 09:00 UTC" in _text(articles[2])


def test_the_output_page_announces_only_its_own_feeds() -> None:
    root = _dom(render_output_page(SITE, RU_NEWS, [TOKAEV, GRAIN]))
    assert [(kind, href) for kind, href, _ in _alternates(root)] == [
        ("application/atom+xml", BASE + "feeds/ru-news.atom"),
        ("application/rss+xml", BASE + "feeds/ru-news.rss"),
        ("application/feed+json", BASE + "feeds/ru-news.json")]
    assert root.xpath("//p[@class='crumb']/a/@href") == [BASE]
    assert root.findtext(".//title") == "Новости · Aggregator news"
    assert "2 stories" in _text(root.xpath("//header")[0])


def test_the_page_shows_summaries_never_the_full_content() -> None:
    page = render_output_page(SITE, ALL, STORIES) + render_index(SITE, OUTPUTS)
    assert "FULL-CONTENT-MARKER" not in page


def test_an_empty_output_says_so() -> None:
    assert "No stories yet." in _text(_dom(render_output_page(SITE, TECH, [])))


def test_links_only_for_http_urls_and_outlets_without_any_are_plain_text() -> None:
    story = replace(
        TOKAEV, url="javascript:alert(document.cookie)",
        representative=replace(IZVESTIA, item_url=None, site_url=None),
        others=(replace(KAZINFORM, item_url="data:text/html,<script>alert(1)</script>",
                        site_url=" https://www.inform.kz/ "),))
    root = _dom(render_output_page(SITE, RU_NEWS, [story]))
    article = root.xpath("//article")[0]
    assert not article.xpath(".//h2/a")
    assert [(a.text, a.get("href")) for a in article.xpath(".//p[@class='outlets']//a")] == [
        ("Kazinform", "https://www.inform.kz/")]
    assert "Published by Известия" in _text(article)
    hrefs = root.xpath("//@href")
    assert not [h for h in hrefs if h.startswith(("javascript:", "data:text"))]


def test_dates_are_shown_in_utc_whatever_zone_they_come_in() -> None:
    almaty = timezone(timedelta(hours=5))
    story = replace(GRAIN, published_at=datetime(2026, 11, 24, 14, 30, tzinfo=almaty))
    root = _dom(render_output_page(SITE, RU_NEWS, [story]))
    assert root.xpath("//article//time/@datetime") == ["2026-11-24T09:30:00Z"]
    assert "24 Nov 2026, 09:30 UTC" in _text(root.xpath("//article")[0])


def test_control_characters_are_dropped() -> None:
    story = replace(GRAIN, title="Экспорт\x00 зерна\x1b[31m", summary_text="a\x07b\tc")
    page = render_output_page(SITE, RU_NEWS, [story])
    assert "Экспорт зерна[31m" in page and "a\x07b" not in page and "ab\tc" in page


def test_rendering_is_deterministic() -> None:
    assert render_output_page(SITE, ALL, STORIES) == render_output_page(SITE, ALL,
                                                                            STORIES)
    assert render_index(SITE, OUTPUTS) == render_index(SITE, OUTPUTS)


def test_pages_are_self_contained_and_have_no_scripts() -> None:
    for page in (render_index(SITE, OUTPUTS), render_output_page(SITE, ALL, STORIES)):
        root = _dom(page)
        assert not root.xpath("//script")
        assert root.xpath("//meta[@name='viewport']")
        assert "prefers-color-scheme: dark" in page
        csp = root.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
        assert "default-src 'none'" in csp and "script-src" not in csp
        # nothing is loaded from elsewhere: no stylesheet links, no images, no fonts
        assert not root.xpath("//link[@rel='stylesheet'] | //img | //iframe")


_hostile = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80) | \
    st.sampled_from(['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>',
                     "</title><script>x</script>", "{{ 7*7 }}", "&amp;&lt;", "</textarea>"])


@settings(max_examples=60, deadline=None)
@given(title=_hostile, summary=_hostile, outlet=_hostile, author=_hostile)
def test_untrusted_text_never_becomes_markup(title: str, summary: str, outlet: str,
                                             author: str) -> None:
    story = replace(TOKAEV, title=title or "x", summary_text=summary, author=author or None,
                    representative=replace(IZVESTIA, source_title=outlet or "x"),
                    others=(), categories=())
    output = replace(RU_NEWS, title=title or "x", description=summary or None)
    for page in (render_output_page(SITE, output, [story]), render_index(SITE, [output])):
        root = _dom(page)
        assert not root.xpath("//script | //img | //textarea")
        assert len(root.xpath("//head/link[@rel='alternate']")) == 3
    article = _dom(render_output_page(SITE, output, [story])).xpath("//article")[0]
    assert len(article.xpath(".//h2/*")) == 1  # the one link, nothing injected
    assert len(article.xpath(".//p[@class='outlets']/*")) == 1


def test_the_output_page_says_originally_published_and_names_a_credited_origin() -> None:
    from dataclasses import replace as _replace

    from aggregator.publish.pages import OutputSummary as _Summary
    from aggregator.publish.pages import SiteInfo as _Site
    from aggregator.publish.pages import render_output_page as _render
    from tests.test_render import STORY as _STORY

    page = _render(_Site("t", "http://x/"), _Summary("all", "All", None, 1, None),
                   [_replace(_STORY, representative_is_original=True, credited_origin="Reuters")])
    assert 'Originally published by <a href="https://iz.ru/1/tokaev">Известия</a>' in page
    assert "· credited to Reuters</p>" in page


# ---- the story page ----------------------------------------------------------------

ORIGINAL_TEXT = ("<p>Президент Казахстана опубликовал статью в «Известиях». "
                 "Он пишет о реформе полиции.</p><p>Статья вышла в четверг. Конец статьи.</p>")
REP_COPY = Copy(IZVESTIA, TOKAEV.title, ORIGINAL_TEXT, T0, T0 + timedelta(minutes=20),
                is_representative=True)
RELAY_COPY = Copy(
    TURANTIMES, "Статью Токаева опубликовала газета",
    "<p>Президент Казахстана опубликовал статью в «Известиях», передает Turantimes.kz со "
    "ссылкой на газету «Известия». Он пишет о реформе полиции.</p><p>Статья вышла в четверг. "
    "Подписывайтесь на наш канал. Конец статьи.</p>",
    T0 - timedelta(hours=2), T0, relayed_by="Turantimes.kz", cites=("Известия",),
    credit_line="передает Turantimes.kz со ссылкой на газету «Известия»")
EDITED_COPY = Copy(
    KAZINFORM, TOKAEV.title,
    "<p>Президент Казахстана опубликовал статью в \"Известиях\". Он пишет о реформе.</p>"
    "<p>Конец статьи.</p>", None, T0 + timedelta(hours=1), relayed_by="Turantimes.kz",
    cites=("Известия",))
TOKAEV_PAGE = replace(TOKAEV, representative_is_original=True,
                      copies=(RELAY_COPY, REP_COPY, EDITED_COPY),
                      page_url=BASE + story_path(TOKAEV.uid))


def test_the_story_page_lists_every_outlet_the_original_first() -> None:
    root = _dom(render_story_page(SITE, TOKAEV_PAGE))
    assert _text(root.xpath("//h1")[0]) == TOKAEV.title
    assert root.xpath("//h1/a/@href") == [TOKAEV.url]
    assert "Originally published by Известия" in _text(root.xpath("//header")[0])
    assert "3 outlets" in _text(root.xpath("//header")[0])
    copies = root.xpath("//li[@class='copy']")
    assert [_text(c.xpath(".//h3")[0]) for c in copies] == ["Известия", "Turantimes.kz",
                                                             "Kazinform"]
    assert [c.xpath(".//h3/a/@href")[0] for c in copies] == [
        IZVESTIA.item_url, TURANTIMES.item_url, KAZINFORM.item_url]
    roles = [[_text(r) for r in c.xpath(".//span[@class='role']")] for c in copies]
    assert roles == [["credited original"], ["credits Известия"],
                     ["credits Известия", "relayed by Turantimes.kz"]]
    # when each dated it and when it was first carried, in UTC
    assert [c.xpath(".//time/@datetime") for c in copies] == [
        ["2026-11-24T09:00:00Z", "2026-11-24T09:20:00Z"],
        ["2026-11-24T07:00:00Z", "2026-11-24T09:00:00Z"],
        ["2026-11-24T10:00:00Z"]]
    assert "undated" in _text(copies[2])
    assert _text(copies[1].xpath(".//p[@class='credit']")[0]) == \
        "“передает Turantimes.kz со ссылкой на газету «Известия»”"


def test_the_story_page_shows_how_each_copy_differs() -> None:
    root = _dom(render_story_page(SITE, TOKAEV_PAGE))
    original, relay, edited = root.xpath("//li[@class='copy']")
    assert not original.xpath(".//div[@class='diff']")  # the one compared with
    assert "1 sentence added, 1 changed" in _text(relay)
    assert [_text(i) for i in relay.xpath(".//div[@class='diff']//ins")] == [
        ", передает Turantimes.kz со ссылкой на газету «Известия»",
        "Подписывайтесь на наш канал."]
    assert relay.xpath(".//div[@class='diff']/p/@class") == [
        "changed", "unchanged", "added", "unchanged"]
    title = relay.xpath(".//p[@class='difference']")[0]
    assert title.xpath("del")  # words of the original title the relay left out
    for gone, shown in (("ins", TOKAEV.title), ("del", RELAY_COPY.title)):
        copy = html.fromstring(html.tostring(title, encoding="unicode"))
        for element in copy.xpath(gone):
            element.drop_tree()
        assert _text(copy) == "Title: " + shown
    assert "1 sentence removed, 2 changed" in _text(edited)
    assert [_text(d) for d in edited.xpath(".//div[@class='diff']//del")] == [
        "«", "»", "полиции", "Статья вышла в четверг."]
    assert not edited.xpath(".//p[@class='difference']/del")  # the same title


def test_a_copy_with_the_same_text_says_so() -> None:
    same = replace(EDITED_COPY, content_html=ORIGINAL_TEXT.replace("</p><p>", "<br>"))
    root = _dom(render_story_page(SITE, replace(TOKAEV_PAGE, copies=(REP_COPY, same))))
    copy = root.xpath("//li[@class='copy']")[1]
    assert "Compared with Известия: the same text." in _text(copy)
    assert not copy.xpath(".//div[@class='diff']")


def test_a_story_credited_to_an_outlet_we_do_not_carry_names_it() -> None:
    story = replace(TOKAEV_PAGE, representative_is_original=False, credited_origin="Reuters",
                    copies=(replace(REP_COPY, cites=("Reuters",)),))
    root = _dom(render_story_page(SITE, story))
    assert "Its outlets credit Reuters, which none of the sources carries." in _text(root)
    assert "Published by Известия" in _text(root.xpath("//header")[0])
    assert [_text(r) for r in root.xpath("//span[@class='role']")] == [
        "shown in the feeds", "credits Reuters"]


def test_a_story_without_copies_still_names_its_outlets() -> None:
    root = _dom(render_story_page(SITE, TOKAEV))
    assert _text(root.xpath("//main//p[@class='outlets']")[0]) == \
        "Известия, Kazinform, Turantimes.kz"


def test_the_output_page_links_each_story_to_its_page() -> None:
    root = _dom(render_output_page(SITE, ALL, [TOKAEV_PAGE, replace(GRAIN, page_url=BASE +
                                                                    story_path(GRAIN.uid))]))
    links = [(_text(a), a.get("href")) for a in root.xpath("//p[@class='compare']/a")]
    assert links == [
        ("Compare the 3 copies", BASE + "stories/11111111-2222-3333-4444-555555555555.html"),
        ("When it was carried", BASE + "stories/33333333-2222-3333-4444-555555555555.html")]


@pytest.mark.parametrize(("uid", "path"), [
    ("urn:uuid:11111111-2222-3333-4444-555555555555",
     "stories/11111111-2222-3333-4444-555555555555.html"),
    ("urn:uuid:ABCDEF00-2222-3333-4444-555555555555",
     "stories/abcdef00-2222-3333-4444-555555555555.html"),
    # anything else is named by a UUID of it: no character of the id reaches the path
    ("tag:example.org,2026:../../etc/passwd", "stories/ce607940-1462-5e4c-9149-d0399a03040b.html"),
    ("urn:uuid:not-a-uuid/../../x", None),
    ("11111111-2222-3333-4444-555555555555", None),
])
def test_a_story_page_path_is_stable_and_safe(uid: str, path: str | None) -> None:
    found = story_path(uid)
    assert found == story_path(uid)
    assert re.fullmatch(r"stories/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                        r"[0-9a-f]{12}\.html", found)
    if path is not None:
        assert found == path


def test_the_not_found_page() -> None:
    root = _dom(render_not_found(SITE))
    assert _text(root.xpath("//h1")[0]) == "Not found"
    assert root.xpath("//main//a/@href") == [BASE]


_plain = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(text=_hostile, title=_hostile, credit=_hostile, cited=_hostile | _plain)
def test_no_outlet_text_becomes_markup_on_the_story_page(text: str, title: str, credit: str,
                                                         cited: str) -> None:
    """A copy's text reaches the page only as escaped plain text: whatever it holds (an
    entity that decodes to a tag included), no element is made of it."""
    hostile = Copy(TURANTIMES, title or "x", escape_html(text) + "<p>" + text + "</p>", T0, T0,
                   relayed_by=credit or None, cites=(cited,) if cited else (),
                   credit_line=credit or None)
    story = replace(TOKAEV_PAGE, copies=(REP_COPY, hostile), credited_origin=cited or None)
    root = _dom(render_story_page(SITE, story))
    assert not root.xpath("//script | //img | //textarea | //iframe | //*[@onerror]")
    diff = root.xpath("//div[@class='diff']")
    for element in diff[0].iter() if diff else ():
        assert element.tag in ("div", "p", "ins", "del")
