"""Issue 4 end to end: syndicated copies from several local feeds become one story,
every outlet attributed, the credited original publisher as representative; hard
negatives stay apart. On SQLite and PostgreSQL, across separate fetch runs."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import text
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.clock import utc_now
from aggregator.config import Config, load_config
from aggregator.publish.formats import story_path
from aggregator.site import render_output
from aggregator.store import Store
from aggregator.stories.similarity import BANDS, LEAD_BANDS
from aggregator.update import update_sources
from tests.conftest import ATOM_RNG, write_config
from tests.feedserver import FeedServer

ATOM = "{http://www.w3.org/2005/Atom}"
SEED = (Path(__file__).parent / "data" / "seed-article.ru.txt").read_text(encoding="utf-8")
TITLE, _, BODY = SEED.partition("\n\n")
PARAGRAPHS = [p for p in BODY.split("\n\n") if p.strip()]
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def _rss(channel: str, items: list[tuple[str, str, str, datetime]]) -> bytes:
    entries = "".join(
        f"<item><title>{html.escape(title)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>{html.escape(body)}</description></item>"
        for title, link, body, when in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{channel}</title><link>https://{channel.lower()}.example/</link>"
            f"<description>{channel}</description>{entries}</channel></rss>").encode()


def _paragraphs(texts: list[str]) -> str:
    return "".join(f"<p>{html.escape(t)}</p>" for t in texts)


# Izvestia's own text: no credit line. Its feed dates it *later* than a relay, so only
# the credit can make it the representative.
ORIGINAL = [PARAGRAPHS[0].replace(", передает Turantimes.kz со ссылкой на газету «Известия»",
                                  ""), *PARAGRAPHS[1:]]
RELAYED = PARAGRAPHS  # Turantimes: "передает Turantimes.kz со ссылкой на газету «Известия»"
CREDIT, NEW_CREDIT = ("передает Turantimes.kz со ссылкой на газету",
                      "сообщает Kazinform со ссылкой на")
EDITED = [p.replace("«", '"').replace("»", '"').replace("ё", "е").replace(CREDIT, NEW_CREDIT)
          for p in PARAGRAPHS] + ["Подписывайтесь на наш Telegram-канал, чтобы быть в курсе."]
EXCERPT = PARAGRAPHS[:3]
RATES = ("Курс доллара на {day} июля",
         "Официальный курс доллара США на {day} июля установлен Национальным банком "
         "Казахстана на уровне {rate} тенге. Курс евро составил {eur} тенге, курс рубля "
         "{rub} тенге. Биржевые торги на Казахстанской фондовой бирже завершились "
         "ростом основных индексов, сообщили в пресс-службе регулятора.")
OTHER = ("Казахстан и Россия обсудили транспортные коридоры",
         "Министры транспорта Казахстана и России провели переговоры о развитии "
         "транспортных коридоров Север — Юг и модернизации пограничных переходов. Стороны "
         "договорились увеличить пропускную способность железнодорожных станций, ускорить "
         "цифровизацию таможенных процедур и создать совместную рабочую группу по "
         "логистике. Следующее заседание группы пройдет в Астане осенью.")


def _serve(feed_server: FeedServer) -> dict[str, str]:
    rate = RATES[1]
    return {
        "izvestia": feed_server.serve("/iz.xml", _rss("Известия", [
            ("Касым-Жомарт Токаев: Казахстан и Россия — союзники",
             "https://iz.ru/1/tokaev-statya", _paragraphs(ORIGINAL), T0 + timedelta(hours=3))])),
        "turantimes": feed_server.serve("/tt.xml", _rss("Turantimes.kz", [
            (TITLE, "https://turantimes.kz/news/tokaev", _paragraphs(RELAYED), T0),
            (RATES[0].format(day=3), "https://turantimes.kz/news/rates-3",
             rate.format(day=3, rate="470,15", eur="510,20", rub="5,21"), T0)])),
        "kazinform": feed_server.serve("/kz.xml", _rss("Kazinform", [
            ("Токаев написал статью для «Известий»", "https://inform.kz/ru/tokaev",
             _paragraphs(EDITED), T0 + timedelta(hours=1)),
            (RATES[0].format(day=4), "https://inform.kz/ru/rates-4",
             rate.format(day=4, rate="471,02", eur="511,75", rub="5,23"), T0),
            (*OTHER[:1], "https://inform.kz/ru/corridors", OTHER[1], T0)])),
        "digest": feed_server.serve("/dg.xml", _rss("Digest", [
            ("Статья Токаева в «Известиях»", "https://digest.kz/a/77", _paragraphs(EXCERPT),
             T0 + timedelta(hours=2))])),
    }


def _stories(store: Store) -> dict[str, list[str]]:
    return {s.title: [s.representative.source_name, *(o.source_name for o in s.others)]
            for s in store.stories_for(None, 100)}


def test_syndicated_copies_in_any_order_and_across_runs_become_one_story(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    urls = _serve(feed_server)
    # first run: two relays and the excerpt, the original not yet among our sources
    first = {k: urls[k] for k in ("kazinform", "digest", "turantimes")}
    config = load_config(write_config(tmp_path, first))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config)
    stories = _stories(store)
    tokaev = [t for t, outlets in stories.items() if len(outlets) > 1]
    assert len(tokaev) == 1
    assert sorted(stories[tokaev[0]]) == ["digest", "kazinform", "turantimes"]
    (story,) = [s for s in store.stories_for(None, 100) if s.title == tokaev[0]]
    assert story.credited_origin == "Известия"  # credited, not (yet) one of ours
    assert not story.representative_is_original
    # second, separate run: the original publisher arrives and becomes representative
    config = load_config(write_config(tmp_path, urls))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config)
    stories = _stories(store)
    merged = {t: o for t, o in stories.items() if len(o) > 1}
    assert list(merged.values()) == [["izvestia", "digest", "kazinform", "turantimes"]]
    (story,) = [s for s in store.stories_for(None, 100) if len(s.others) == 3]
    assert story.representative_is_original and story.credited_origin is None
    assert story.title == "Касым-Жомарт Токаев: Казахстан и Россия — союзники"
    # hard negatives stay apart: two days of the rates template, another Kazakh-Russian story
    assert stories["Курс доллара на 3 июля"] == ["turantimes"]
    assert stories["Курс доллара на 4 июля"] == ["kazinform"]
    assert stories[OTHER[0]] == ["kazinform"]
    assert len(stories) == 4

    rendered = render_output(store, config, config.outputs[0], utc_now())
    root = etree.fromstring(rendered.body)
    assert etree.RelaxNG(etree.parse(str(ATOM_RNG))).validate(etree.ElementTree(root))
    entry = next(e for e in root.iter(f"{ATOM}entry")
                 if e.findtext(f"{ATOM}title") == story.title)
    assert entry.find(f"{ATOM}source").findtext(f"{ATOM}title") == "Известия"
    assert sorted(link.get("title") for link in entry.findall(f"{ATOM}link[@rel='related']")) \
        == ["Digest", "Kazinform", "Turantimes.kz"]
    content = entry.findtext(f"{ATOM}content")
    assert 'Originally published by <a href="https://iz.ru/1/tokaev-statya">Известия</a>' \
        in content
    assert "also carried by" in content
    # dated as the original it shows, not as the relay that came first and is dated earlier
    assert story.published_at == T0 + timedelta(hours=3)
    assert entry.findtext(f"{ATOM}published") == \
        (T0 + timedelta(hours=3)).isoformat()
    _check_the_story_page(store, config, story.uid)


def _check_the_story_page(store: Store, config: Config, uid: str) -> None:
    """The story's page: every outlet, the original first, each copy's differences."""
    from lxml import html as lxml_html

    from aggregator.site import render_site

    site = render_site(store, config, utc_now())
    path = story_path(uid)
    assert site == render_site(store, config, utc_now())  # same data, same bytes
    page = lxml_html.document_fromstring(site[path].body)
    copies = page.xpath("//li[@class='copy']")
    names = [" ".join(c.xpath(".//h3")[0].text_content().split()) for c in copies]
    assert names[0] == "Известия" and sorted(names[1:]) == ["Digest", "Kazinform",
                                                            "Turantimes.kz"]
    roles = {name: [r.text_content() for r in c.xpath(".//span[@class='role']")]
             for name, c in zip(names, copies, strict=True)}
    assert roles["Известия"] == ["credited original"]
    assert roles["Turantimes.kz"] == ["credits Известия"]
    assert "credits Известия" in roles["Kazinform"]
    by_name = dict(zip(names, copies, strict=True))
    relay = by_name["Turantimes.kz"]
    assert [" ".join(i.text_content().split()) for i in relay.xpath(".//div//ins")] == [
        ", передает Turantimes.kz со ссылкой на газету «Известия»"]
    edited = by_name["Kazinform"]
    assert "Подписывайтесь на наш Telegram-канал, чтобы быть в курсе." in [
        " ".join(i.text_content().split()) for i in edited.xpath(".//p[@class='added']")]
    excerpt = " ".join(by_name["Digest"].text_content().split())
    assert "sentences removed" in excerpt and "added" not in excerpt
    # linked from the output's page and its feeds, absolute under base_url
    url = config.settings.base_url + path
    assert f'href="{url}"'.encode() in site["feeds/all.html"].body
    assert f'rel="describedby" href="{url}"'.encode() in site["feeds/all.atom"].body


def test_explain_and_stories_commands(tmp_path: Path, feed_server: FeedServer,
                                      db_url: str) -> None:
    config = write_config(tmp_path, _serve(feed_server))
    runner = CliRunner()
    assert runner.invoke(app, ["fetch", "-c", str(config), "--db", db_url]).exit_code == 0
    listing = runner.invoke(app, ["stories", "-c", str(config), "--db", db_url])
    assert listing.exit_code == 0
    assert "Касым-Жомарт Токаев: Казахстан и Россия — союзники" in listing.stdout
    assert "Известия (original) · Digest, Kazinform, Turantimes.kz" in listing.stdout
    explained = runner.invoke(app, ["explain", "https://inform.kz/ru/tokaev", "-c", str(config),
                                    "--db", db_url])
    assert explained.exit_code == 0, explained.stderr
    assert "    why: near-duplicate of item #" in explained.stdout
    assert "(one of its outlets; outlets: izvestia, " in explained.stdout
    assert "credit: 'сообщает Kazinform со ссылкой на \"Известия\"' (relayed by Kazinform " \
           "citing Известия)" in explained.stdout
    reasons = []
    for url in ("https://inform.kz/ru/rates-4", "https://turantimes.kz/news/rates-3"):
        negative = runner.invoke(app, ["explain", url, "--json", "-c", str(config),
                                       "--db", db_url])
        assert negative.exit_code == 0
        reasons.append(json.loads(negative.stdout)[0]["join_reason"])
    # whichever arrived second was compared with the first and kept apart
    assert sorted(r.split(":")[0] for r in reasons) == ["new story", "new story"]
    assert any(r.startswith("new story: closest candidate item #") and "templated series" in r
               for r in reasons), reasons
    missing = runner.invoke(app, ["explain", "https://nowhere.example/x", "-c", str(config),
                                  "--db", db_url])
    assert missing.exit_code == 2 and "no item" in missing.stderr


def test_an_item_that_bridges_two_stories_makes_them_one(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    # Two excerpts of one article (its first two paragraphs; paragraphs two to five)
    # are too unlike each other to be one story. The full article contains both: it
    # joins the older one and folds the other into it.
    head = feed_server.serve("/head.xml", _rss("Head", [
        ("Статья Токаева: начало", "https://head.example/1", _paragraphs(PARAGRAPHS[:2]),
         T0)]))
    tail = feed_server.serve("/tail.xml", _rss("Tail", [
        ("Статья Токаева: подробности", "https://tail.example/1",
         _paragraphs(PARAGRAPHS[1:5]), T0 + timedelta(hours=1))]))
    for sources in ({"head": head}, {"head": head, "tail": tail}):  # head is seen first
        config = load_config(write_config(tmp_path, sources))
        store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
        update_sources(store, config)
    before = store.stories_for(None, 10)
    assert len(before) == 2
    oldest = next(s.uid for s in before if s.representative.source_name == "head")
    full = feed_server.serve("/full.xml", _rss("Full", [
        (TITLE, "https://full.example/1", _paragraphs(PARAGRAPHS), T0 + timedelta(hours=2))]))
    config = load_config(write_config(tmp_path, {"head": head, "tail": tail, "full": full}))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config)
    (story,) = store.stories_for(None, 10)
    assert story.uid == oldest  # the survivor keeps the id readers have had longest
    assert sorted([story.representative.source_name, *(o.source_name for o in story.others)]) \
        == ["full", "head", "tail"]


STUB = ("Токаев написал статью для «Известий»", "Подробности позже.")


@pytest.mark.parametrize("workers", [-1, 1])  # prepared in-process (every item), in the pool
@pytest.mark.parametrize("order", ["copy stub change", "stub copy change", "stub change copy"])
def test_an_item_whose_text_changes_is_matched_again(
        tmp_path: Path, store: Store, feed_server: FeedServer, workers: int,
        order: str) -> None:
    """An outlet publishes a stub, then the article's text under the same link: its item
    joins the story that text belongs to, whether a copy came before the change (the
    item alone in its story: the two stories become one, the older keeps its id) or
    after it (the copy finds the item by its new text); the original is recognised."""
    url = "https://iz.ru/1/tokaev-statya"
    stub = feed_server.serve("/iz.xml", _rss("Известия", [
        (STUB[0], url, STUB[1], T0 + timedelta(hours=3))]))
    relay = feed_server.serve("/tt.xml", _rss("Turantimes.kz", [
        (TITLE, "https://turantimes.kz/news/tokaev", _paragraphs(RELAYED), T0)]))
    sources = {"kazinform": feed_server.serve("/kz.xml", _rss("Kazinform", [
        (*OTHER[:1], "https://inform.kz/ru/corridors", OTHER[1], T0)]))}

    def update() -> None:
        config = load_config(write_config(tmp_path, sources,
                                          settings={"parse_workers": workers}))
        store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
        assert [r.error for r in update_sources(store, config)] == [None] * len(sources)

    uids: dict[str, str] = {}
    for step in order.split():
        if step == "copy":
            sources["turantimes"] = relay
        elif step == "stub":
            sources["izvestia"] = stub
        else:
            feed_server.serve("/iz.xml", _rss("Известия", [
                (STUB[0], url, _paragraphs(ORIGINAL), T0 + timedelta(hours=3))]))
        update()
        (item,) = store.explain_item(url if step != "copy" else
                                     "https://turantimes.kz/news/tokaev")
        uids.setdefault(step, item.story_uid)
    assert sorted(_stories(store).values()) == [["izvestia", "turantimes"], ["kazinform"]]
    (story,) = [s for s in store.stories_for(None, 10) if s.others]
    assert story.representative_is_original and story.representative.source_name == "izvestia"
    assert story.uid == uids[order.split(maxsplit=1)[0]]  # the first: readers had it longest
    (item,) = store.explain_item(url)
    if order.endswith("copy"):  # the copy found it; its own reason is its new text's
        assert item.join_reason == "new story: no earlier item shares its text"
    else:
        assert item.join_reason.startswith("near-duplicate of item #"), item.join_reason
    # a small edit: its new band rows are only those its last text did not have
    feed_server.serve("/iz.xml", _rss("Известия", [
        (STUB[0], url, _paragraphs([*ORIGINAL, "Обновлено."]), T0 + timedelta(hours=3))]))
    update()
    assert sorted(_stories(store).values()) == [["izvestia", "turantimes"], ["kazinform"]]
    with store.engine.connect() as connection:  # each key once, in either table
        keys = connection.execute(text(
            "SELECT band FROM item_band WHERE item_id = :id UNION ALL"
            " SELECT band FROM item_band_recent WHERE item_id = :id"), {"id": item.item_id}
        ).scalars().all()
    assert len(keys) == len(set(keys)) >= BANDS + LEAD_BANDS


def test_a_changed_item_never_splits_its_story(tmp_path: Path, store: Store,
                                               feed_server: FeedServer) -> None:
    """An item that shares its story with others stays in it when its text changes to
    another story's: stories are merged, never split."""
    relay = feed_server.serve("/tt.xml", _rss("Turantimes.kz", [
        (TITLE, "https://turantimes.kz/news/tokaev", _paragraphs(RELAYED), T0)]))
    edited = feed_server.serve("/kz.xml", _rss("Kazinform", [
        ("Токаев написал статью для «Известий»", "https://inform.kz/ru/tokaev",
         _paragraphs(EDITED), T0 + timedelta(hours=1))]))
    other = feed_server.serve("/ot.xml", _rss("Other", [
        (OTHER[0], "https://other.example/corridors", OTHER[1], T0)]))
    sources = {"turantimes": relay, "kazinform": edited, "other": other}
    config = load_config(write_config(tmp_path, sources))
    store.sync_sources(config.sources, config.settings.poll_interval, utc_now())
    update_sources(store, config)
    assert sorted(_stories(store).values()) == [["other"], ["turantimes", "kazinform"]]
    feed_server.serve("/tt.xml", _rss("Turantimes.kz", [
        (TITLE, "https://turantimes.kz/news/tokaev", OTHER[1], T0)]))
    assert {r.source: r.updated for r in update_sources(store, config)} == {
        "turantimes": 1, "kazinform": 0, "other": 0}
    assert sorted(_stories(store).values()) == [["other"], ["turantimes", "kazinform"]]
