"""A deterministic corpus of feeds: N feeds x M items, written to a directory.

The same (feeds, items, seed) always gives byte-identical files, so runs on
different days and machines parse the same input. What it contains:

- RSS 2.0 and Atom 1.0, in English and Russian; Russian feeds in UTF-8 and in
  windows-1251 (declared in the XML prolog and in Content-Type);
- HTML content with the usual cruft a sanitizer must handle (inline styles,
  onclick, script, iframe, relative and protocol-relative URLs);
- realistic identifiers: permalink guids, opaque guids, urn:uuid, tag: URIs, and
  items with no guid at all; links carrying utm_* and fbclid parameters;
- dates in several formats (RFC 822 with GMT, +0000, +0300, a named zone, no
  weekday; RFC 3339 with Z, an offset, fractions; dc:date);
- a share of syndicated copies: a wire story carried by several feeds, either
  with the same article link (other tracking parameters) or lightly edited text
  under the outlet's own link.

Layout: ``DIR/manifest.json`` and ``DIR/feeds/NNNN.xml`` (plus ``.xml.gz``, so the
server does not compress at start-up).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

CORPUS_VERSION = 1
BASE_TIME = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)  # fixed: output must not depend on today


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


EN_WORDS = _words(
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when if "
    "so no will more time about market government president minister city council report "
    "year people week said company share price energy policy election court police school "
    "health water budget project trade talks border security summit record season match "
    "team player result growth inflation bank rate investors climate storm weather river "
    "bridge road station airport flight passengers museum festival concert film director "
    "study scientists research university hospital doctors patients vaccine data software "
    "network phone launch satellite mission rocket space agency contract deal billion "
    "million percent quarter profit loss workers union strike protest statement official "
    "regional national local international agreement meeting visit delegation ministry"
)
RU_WORDS = _words(
    "и в не на что с по это как из к за от о для у же так но все мы вы он она они был была "
    "были будет может время год года году человек люди страна страны россии казахстана "
    "президент министр правительство глава государства сотрудничество партнерство проект "
    "проекты развитие экономика экономики инвестиции компании рынок цены рост снижение "
    "энергетика газ нефть транспорт логистика сельском хозяйстве регионов город области "
    "жители школа больница врачи пациенты погода снег дождь температура градусов матч "
    "команда сезон турнир победа счет фестиваль концерт фильм театр выставка музей "
    "университет студенты ученые исследование данные технологии спутник запуск ракета "
    "договор соглашение встреча визит делегация заявление ведомство парламент закон "
    "бюджет налоги банк ставка курс доллара рубля тенге процентов миллиардов миллионов"
)
EN_SECTIONS = ("world", "business", "politics", "science", "tech", "sport", "culture", "health")
RU_SECTIONS = ("politika", "ekonomika", "obshchestvo", "nauka", "sport", "kultura",
               "proisshestviya")
EN_CATEGORIES = ("World", "Business", "Politics", "Science", "Technology", "Sport", "Culture")
RU_CATEGORIES = ("Политика", "Экономика", "Общество", "Наука", "Спорт", "Культура", "Происшествия")
EN_WIRES = ("Reuters", "AP", "AFP")
RU_WIRES = ("ТАСС", "РИА Новости", "Интерфакс", "Kazinform")
RU_NAMES = ("Известия", "Вести", "Новости дня", "Городской портал", "Деловая газета",
            "Вечерний курьер", "Степной край", "Северная правда")
EN_NAMES = ("Daily Courier", "The Ledger", "Morning Post", "City Wire", "Tech Notes",
            "Harbor Times", "Valley News", "The Observer")
# kind: (format, language, encoding); weights sum to 100
KINDS = (
    (("rss", "en", "utf-8"), 35),
    (("atom", "en", "utf-8"), 20),
    (("rss", "ru", "utf-8"), 20),
    (("rss", "ru", "windows-1251"), 15),
    (("atom", "ru", "utf-8"), 10),
)


@dataclass(frozen=True)
class FeedFile:
    """One feed of the corpus, as the server needs it."""

    index: int
    path: str  # /feeds/NNNN.xml
    file: str  # relative to the corpus directory
    content_type: str
    last_modified: str
    format: str
    language: str
    encoding: str
    items: int
    bytes: int


@dataclass(frozen=True)
class Corpus:
    directory: Path
    feeds: int
    items: int
    seed: int
    syndicated_share: float
    total_items: int
    total_bytes: int
    files: tuple[FeedFile, ...]

    def describe(self) -> dict[str, object]:
        kinds: dict[str, int] = {}
        for f in self.files:
            key = f"{f.format}/{f.language}/{f.encoding}"
            kinds[key] = kinds.get(key, 0) + 1
        return {
            "feeds": self.feeds, "items_per_feed": self.items, "seed": self.seed,
            "total_items": self.total_items, "total_mb": round(self.total_bytes / 1e6, 1),
            "syndicated_share": self.syndicated_share, "kinds": kinds,
            "version": CORPUS_VERSION,
        }

    def body(self, feed: FeedFile) -> bytes:
        return (self.directory / feed.file).read_bytes()


# ---- text --------------------------------------------------------------------


def _sentence(rng: random.Random, words: tuple[str, ...] | list[str], lo: int = 8,
              hi: int = 22) -> str:
    chosen = [rng.choice(words) for _ in range(rng.randint(lo, hi))]
    text = " ".join(chosen)
    return text[0].upper() + text[1:] + rng.choice(".........!?")


def _title(rng: random.Random, words: list[str] | tuple[str, ...]) -> str:
    chosen = [rng.choice(words) for _ in range(rng.randint(5, 11))]
    text = " ".join(chosen)
    return text[0].upper() + text[1:]


def _slug(rng: random.Random, lang: str) -> str:
    if lang == "ru":  # transliterated slugs, as Russian sites do
        letters = "abvgdezhziklmnoprstufhcs"
        return "-".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))
                        for _ in range(rng.randint(3, 6)))
    return "-".join(rng.choice(EN_WORDS) for _ in range(rng.randint(3, 7)))


@dataclass(frozen=True)
class Story:
    """An article: what a wire sends, or what one outlet writes."""

    title: str
    paragraphs: tuple[str, ...]
    url: str  # canonical article URL, without tracking parameters
    section: str
    wire: str | None = None


def _paragraphs(rng: random.Random, words: tuple[str, ...], count: int) -> tuple[str, ...]:
    return tuple(" ".join(_sentence(rng, words) for _ in range(rng.randint(2, 5)))
                 for _ in range(count))


def _wire_pool(seed: int, lang: str, size: int, edition: int = 0) -> list[Story]:
    rng = random.Random(f"{seed}:wire:{lang}" + (f":{edition}" if edition else ""))
    words = RU_WORDS if lang == "ru" else EN_WORDS
    sections = RU_SECTIONS if lang == "ru" else EN_SECTIONS
    wires = RU_WIRES if lang == "ru" else EN_WIRES
    pool = []
    for n in range(size):
        wire = rng.choice(wires)
        host = "tass.example.ru" if lang == "ru" else "wire.example.com"
        section = rng.choice(sections)
        pool.append(Story(
            title=_title(rng, words), paragraphs=_paragraphs(rng, words, rng.randint(2, 5)),
            url=f"https://{host}/{section}/{2026_000_000 + edition * 10_000_000 + n}-"
                f"{_slug(rng, lang)}",
            section=section, wire=wire))
    return pool


def wire_pools(seed: int, feeds: int, items: int, syndicated: float,
               edition: int = 0) -> dict[str, list[Story]]:
    """The wire stories the feeds copy, by language: about one per 3 syndicated items,
    so each is carried by ~3 outlets. Another ``edition`` gives other stories (other URLs)."""
    size = max(1, int(feeds * items * syndicated / 3 / 2))
    return {lang: _wire_pool(seed, lang, size, edition) for lang in ("en", "ru")}


def _light_edit(rng: random.Random, story: Story, lang: str, own_url: str) -> Story:
    """The same article as another outlet republishes it: a new title ending, a credit line,
    a word or two changed, under the outlet's own URL."""
    words = RU_WORDS if lang == "ru" else EN_WORDS
    paragraphs = list(story.paragraphs)
    first = paragraphs[0].split(" ")
    for _ in range(2):
        first[rng.randrange(len(first))] = rng.choice(words)
    credit = (f", передает {story.wire}." if lang == "ru" else f", {story.wire} reported.")
    paragraphs[0] = " ".join(first).rstrip(".!?") + credit
    title = story.title + rng.choice(("", " — видео", ": подробности") if lang == "ru"
                                     else ("", " - live", ": what we know"))
    return Story(title=title, paragraphs=tuple(paragraphs), url=own_url, section=story.section,
                 wire=story.wire)


# ---- markup ------------------------------------------------------------------


def _tracking(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return (f"?utm_source={rng.choice(('rss', 'feed', 'yandex', 'twitter'))}"
                f"&utm_medium={rng.choice(('rss', 'social', 'referral'))}"
                f"&utm_campaign={rng.choice(('main', 'daily', 'breaking'))}")
    if roll < 0.60:
        token = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl0123456789_-")
                        for _ in range(40))
        return f"?fbclid=IwAR{token}"
    if roll < 0.70:
        return f"?from=rss&utm_source=rss&id={rng.randint(1, 999)}"
    return ""


def _html(rng: random.Random, story: Story, site: str, cruft: bool) -> str:
    parts = []
    for n, paragraph in enumerate(story.paragraphs):
        text = escape(paragraph, quote=False)
        if n == 0 and rng.random() < 0.5:
            words = text.split(" ", 3)
            if len(words) == 4:
                text = f"<strong>{words[0]} {words[1]}</strong> {words[2]} {words[3]}"
        if rng.random() < 0.3:
            href = f"/{story.section}/{rng.randint(1000, 99999)}.html{_tracking(rng)}"
            text += (f' <a href="{escape(href)}">'
                     f'{escape(rng.choice(("more", "далее", "read")))}</a>')
        style = ' style="margin:0 0 1em"' if cruft and rng.random() < 0.3 else ""
        parts.append(f"<p{style}>{text}</p>")
        if n == 0 and rng.random() < 0.6:
            src = rng.choice((f"//cdn.{site}/img/{rng.randint(1, 10**6)}.jpg",
                              f"/images/{rng.randint(1, 10**6)}.png",
                              f"https://cdn.{site}/media/{rng.randint(1, 10**6)}.webp"))
            onclick = ' onclick="zoom(this)"' if cruft else ""
            parts.append(f'<figure><img src="{src}" alt="" width="640" height="360"{onclick}>'
                         f"<figcaption>{escape(story.title[:40])}</figcaption></figure>")
    if cruft and rng.random() < 0.25:
        parts.append('<script>window.dataLayer=window.dataLayer||[];</script>')
    if cruft and rng.random() < 0.15:
        parts.append(f'<iframe src="https://video.{site}/embed/{rng.randint(1, 9999)}" '
                     'width="560" height="315"></iframe>')
    if cruft and rng.random() < 0.2:
        parts.append('<div class="share"><a href="https://www.facebook.com/sharer.php" '
                     'target="_blank" rel="nofollow">Share</a></div>')
    return "\n".join(parts)


_RU_ZONES = ((timedelta(hours=3), "+0300"), (timedelta(hours=5), "+0500"),
             (timedelta(0), "+0000"))


def _rss_date(rng: random.Random, when: datetime, style: int) -> str:
    if style == 0:
        return format_datetime(when, usegmt=True)  # Wed, 01 Oct 2026 12:00:00 GMT
    if style == 1:
        return when.strftime("%a, %d %b %Y %H:%M:%S +0000")
    if style == 2:
        offset, name = rng.choice(_RU_ZONES)
        return (when + offset).strftime("%a, %d %b %Y %H:%M:%S ") + name
    if style == 3:
        return (when - timedelta(hours=5)).strftime("%d %b %Y %H:%M EST")  # no weekday
    return (when + timedelta(hours=3)).strftime("%a, %d %b %Y %H:%M:%S MSK")


def _iso_date(rng: random.Random, when: datetime, style: int) -> str:
    if style == 0:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return (when + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S+03:00")
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randint(0, 999999):06d}Z"


_IMG_END = re.compile(r"(<img [^>]*?)>")


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass(frozen=True)
class _Item:
    story: Story
    link: str  # as published: with tracking parameters
    guid: str | None
    guid_is_permalink: bool
    when: datetime
    updated: datetime | None
    author: str | None
    categories: tuple[str, ...]
    content: str
    summary: str


def _feed_items(seed: int, index: int, lang: str, *, site: str, count: int,
                wire_pool: list[Story], syndicated: float, edition: int = 0,
                base_time: datetime = BASE_TIME) -> list[_Item]:
    rng = random.Random(f"{seed}:feed:{index}" + (f":{edition}" if edition else ""))
    words = RU_WORDS if lang == "ru" else EN_WORDS
    sections = RU_SECTIONS if lang == "ru" else EN_SECTIONS
    categories = RU_CATEGORIES if lang == "ru" else EN_CATEGORIES
    guid_style = rng.randrange(5)  # each outlet has its own habit
    cruft = rng.random() < 0.6
    step = timedelta(minutes=rng.randint(10, 180))
    start = base_time - timedelta(minutes=rng.randint(0, 600))
    items = []
    for n in range(count):
        section = rng.choice(sections)
        article_id = 100000 + edition * 100_000_000 + index * 1000 + n
        own_url = f"https://www.{site}/{section}/{article_id}-{_slug(rng, lang)}"
        if wire_pool and rng.random() < syndicated:
            wire = wire_pool[rng.randrange(len(wire_pool))]
            # half keep the wire's own link (with other tracking parameters), half are
            # lightly edited under the outlet's own link
            story = wire if rng.random() < 0.5 else _light_edit(rng, wire, lang, own_url)
        else:
            story = Story(title=_title(rng, words),
                          paragraphs=_paragraphs(rng, words, rng.randint(1, 4)),
                          url=own_url, section=section)
        link = story.url + _tracking(rng)
        style = guid_style if rng.random() < 0.95 else rng.randrange(5)
        permalink = False
        if style == 0:
            guid, permalink = story.url, True
        elif style == 1:
            guid = f"{site.split('.', maxsplit=1)[0]}-{article_id}"
        elif style == 2:
            guid = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        elif style == 3:
            guid = f"tag:{site},2026:{article_id}"
        else:
            guid = None  # identity falls back to the link
        when = start - step * n
        updated = when + timedelta(minutes=rng.randint(1, 90)) if rng.random() < 0.2 else None
        author = None
        if rng.random() < 0.6:
            author = (rng.choice(("Иван Петров", "Анна Смирнова", "Редакция"))
                      if lang == "ru" else rng.choice(("Jane Doe", "John Smith", "Staff")))
        content = _html(rng, story, site, cruft)
        summary = escape(story.paragraphs[0][:200], quote=False)
        items.append(_Item(story, link, guid, permalink, when, updated, author,
                           tuple(rng.sample(categories, rng.randint(0, 3))), content, summary))
    return items


def _rss(rng: random.Random, title: str, site: str, lang: str, *, encoding: str,
         items: list[_Item]) -> str:
    date_style = rng.choices(range(5), weights=(30, 30, 25, 10, 5))[0]
    dc_dates = rng.random() < 0.15
    full_content = rng.random() < 0.5
    out = [f'<?xml version="1.0" encoding="{encoding}"?>\n'
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
           f"<title>{escape(title)}</title>\n<link>https://www.{site}/</link>\n"
           f"<description>{escape(title)}: {'новости' if lang == 'ru' else 'news'}</description>\n"
           f"<language>{'ru-RU' if lang == 'ru' else 'en-us'}</language>\n"
           f"<lastBuildDate>{_rss_date(rng, items[0].when, 0)}</lastBuildDate>\n"
           f'<atom:link href="https://www.{site}/rss.xml" rel="self" '
           'type="application/rss+xml"/>\n']
    for item in items:
        out.append("<item>\n")
        out.append(f"<title>{escape(item.story.title, quote=False)}</title>\n")
        out.append(f"<link>{escape(item.link)}</link>\n")
        if item.guid is not None:
            attr = "" if item.guid_is_permalink else ' isPermaLink="false"'
            out.append(f"<guid{attr}>{escape(item.guid)}</guid>\n")
        if dc_dates:
            out.append(f"<dc:date>{_iso_date(rng, item.when, 1)}</dc:date>\n")
        else:
            out.append(f"<pubDate>{_rss_date(rng, item.when, date_style)}</pubDate>\n")
        if item.author:
            out.append(f"<dc:creator>{escape(item.author)}</dc:creator>\n")
        for category in item.categories:
            out.append(f"<category>{escape(category)}</category>\n")
        if full_content:
            out.append(f"<description>{item.summary}</description>\n")
            out.append(f"<content:encoded>{_cdata(item.content)}</content:encoded>\n")
        elif rng.random() < 0.5:
            out.append(f"<description>{_cdata(item.content)}</description>\n")
        else:
            out.append(f"<description>{escape(item.content, quote=False)}</description>\n")
        out.append("</item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def _atom(rng: random.Random, title: str, site: str, lang: str, items: list[_Item]) -> str:
    date_style = rng.randrange(3)
    xhtml = rng.random() < 0.2
    out = ['<?xml version="1.0" encoding="utf-8"?>\n'
           f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">\n'
           f'<title>{escape(title)}</title>\n<id>tag:{site},2026:feed</id>\n'
           f'<link rel="alternate" type="text/html" href="https://www.{site}/"/>\n'
           f'<link rel="self" href="https://www.{site}/atom.xml"/>\n'
           f"<updated>{_iso_date(rng, items[0].when, date_style)}</updated>\n"
           f"<author><name>{escape(title)}</name></author>\n"]
    for item in items:
        out.append("<entry>\n")
        out.append(f'<title type="html">{escape(escape(item.story.title, quote=False))}'
                   "</title>\n")
        out.append(f'<link rel="alternate" type="text/html" href="{escape(item.link)}"/>\n')
        out.append(f"<id>{escape(item.guid or item.story.url)}</id>\n")
        out.append(f"<published>{_iso_date(rng, item.when, date_style)}</published>\n")
        out.append(f"<updated>{_iso_date(rng, item.updated or item.when, date_style)}"
                   "</updated>\n")
        if item.author:
            out.append(f"<author><name>{escape(item.author)}</name></author>\n")
        for category in item.categories:
            out.append(f'<category term="{escape(category)}"/>\n')
        out.append(f'<summary type="html">{item.summary}</summary>\n')
        if xhtml:
            body = item.content.replace("<script>window.dataLayer=window.dataLayer||[];"
                                        "</script>", "")
            body = _IMG_END.sub(r"\1/>", body)
            body = body.replace('height="315"></iframe>', 'height="315"/>')
            out.append('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                       f"{body}</div></content>\n")
        else:
            out.append(f'<content type="html">{escape(item.content, quote=False)}</content>\n')
        out.append("</entry>\n")
    out.append("</feed>\n")
    return "".join(out)


def _pick_kind(rng: random.Random) -> tuple[str, str, str]:
    roll = rng.randrange(100)
    for kind, weight in KINDS:
        if roll < weight:
            return kind
        roll -= weight
    return KINDS[0][0]


def render_feed(seed: int, index: int, items_per_feed: int, pools: dict[str, list[Story]],
                syndicated: float, *, edition: int = 0,
                base_time: datetime = BASE_TIME) -> tuple[FeedFile, bytes]:
    """One feed's file, deterministic in (seed, index, items_per_feed, pools).

    ``edition`` N > 0 gives the same outlet (format, language, title, site) with other
    items (new guids, links and article numbers; ``index`` below 100,000), dated back from
    ``base_time``: the feed as it reads on another day (``bench/retention.py``)."""
    rng = random.Random(f"{seed}:meta:{index}")
    fmt, lang, encoding = _pick_kind(rng)
    site = f"site{index:04d}.example.{'ru' if lang == 'ru' else 'com'}"
    title = f"{rng.choice(RU_NAMES if lang == 'ru' else EN_NAMES)} {index}"
    items = _feed_items(seed, index, lang, site=site, count=items_per_feed,
                        wire_pool=pools[lang], syndicated=syndicated, edition=edition,
                        base_time=base_time)
    if fmt == "atom":
        text = _atom(rng, title, site, lang, items)
        media = "application/atom+xml"
    else:
        text = _rss(rng, title, site, lang, encoding=encoding, items=items)
        media = "application/rss+xml" if rng.random() < 0.7 else "text/xml"
    body = text.encode(encoding, errors="xmlcharrefreplace")
    # Most servers name the charset; a few leave it to the XML prolog.
    content_type = f"{media}; charset={encoding}" if rng.random() < 0.8 else media
    last_modified = format_datetime(items[0].when, usegmt=True)
    feed = FeedFile(index=index, path=f"/feeds/{index:04d}.xml",
                    file=f"feeds/{index:04d}.xml", content_type=content_type,
                    last_modified=last_modified, format=fmt, language=lang,
                    encoding=encoding, items=len(items), bytes=len(body))
    return feed, body


def generate(directory: Path, feeds: int, items: int, seed: int = 1,
             syndicated: float = 0.15, *, edition: int = 0,
             base_time: datetime = BASE_TIME) -> Corpus:
    """Write the corpus into ``directory`` (reused when it already holds the same one).
    ``edition`` and ``base_time``: the same outlets on another day (see ``render_feed``)."""
    directory = Path(directory)
    key: dict[str, object] = {"version": CORPUS_VERSION, "feeds": feeds, "items": items,
                              "seed": seed, "syndicated": syndicated}
    if edition or base_time != BASE_TIME:
        key |= {"edition": edition, "base_time": base_time.isoformat()}
    manifest_path = directory / "manifest.json"
    if manifest_path.exists():
        try:
            existing = json.loads(manifest_path.read_text())
            if existing.get("key") == key:
                return _load(directory, existing)
        except (OSError, ValueError):
            pass
    (directory / "feeds").mkdir(parents=True, exist_ok=True)
    pools = wire_pools(seed, feeds, items, syndicated, edition)
    files = []
    digest = hashlib.sha256()
    for index in range(feeds):
        feed, body = render_feed(seed, index, items, pools, syndicated, edition=edition,
                                 base_time=base_time)
        (directory / feed.file).write_bytes(body)
        (directory / (feed.file + ".gz")).write_bytes(gzip.compress(body, 6, mtime=0))
        digest.update(body)
        files.append(feed)
    manifest: dict[str, object] = {"key": key, "sha256": digest.hexdigest(),
                                   "files": [asdict(f) for f in files]}
    manifest_path.write_text(json.dumps(manifest, indent=0))
    return _load(directory, manifest)


def _load(directory: Path, manifest: dict[str, object]) -> Corpus:
    key = manifest["key"]
    assert isinstance(key, dict)
    raw_files = manifest["files"]
    assert isinstance(raw_files, list)
    files = tuple(FeedFile(**f) for f in raw_files)
    return Corpus(directory=directory, feeds=key["feeds"], items=key["items"], seed=key["seed"],
                  syndicated_share=key["syndicated"],
                  total_items=sum(f.items for f in files),
                  total_bytes=sum(f.bytes for f in files), files=files)


def main() -> None:  # python -m bench.ingest.corpus DIR [FEEDS ITEMS]
    import sys
    import time

    directory = Path(sys.argv[1])
    feeds = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    items = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    started = time.perf_counter()
    corpus = generate(directory, feeds, items)
    print(json.dumps(corpus.describe(), ensure_ascii=False),
          f"{time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
