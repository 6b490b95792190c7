"""Article pages for the full-text extraction benchmark: known article texts, in English and
Russian, laid out the ways news sites and blogs lay them out, with what a reader does not
want in the republished text around them: menus, a cookie banner, share buttons, "read
also" links inside the article, related stories, most-read lists, ads, comments, a footer.

Deterministic: ``pages()`` returns the same pages every time. ``python -m
bench.fulltext.pages DIR`` writes them as files (``NAME.html`` and ``NAME.txt``, the
article text the extraction should find).
"""

from __future__ import annotations

import html
import sys
from dataclasses import dataclass
from pathlib import Path

SEED = Path(__file__).resolve().parents[2] / "tests" / "data" / "seed-article.ru.txt"


@dataclass(frozen=True)
class Article:
    name: str
    lang: str
    title: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class Page:
    name: str
    lang: str
    layout: str
    html: str
    expected: str  # the article's paragraphs (the feed gives the title)


ARTICLES = (
    Article("harbour-fire", "en", "Warehouse fire near the harbour sends four to hospital", (
        "Firefighters battled a large blaze at a disused warehouse near the harbour early on "
        "Sunday, and four people were taken to hospital with minor injuries, the city's fire "
        "service said.",
        "The fire broke out shortly after midnight in the two-storey brick building on Dock "
        "Road and took crews from six stations almost five hours to bring under control. "
        "At its height, flames could be seen from the other side of the bay.",
        "Residents of the surrounding streets were asked to keep their windows and doors "
        "closed because of the heavy smoke, and a section of the coastal road was closed to "
        "traffic until the morning. Bus services were diverted.",
        "\u201cOur crews worked through the night in very difficult conditions,\u201d said "
        "deputy chief fire officer Margaret Ellis. \u201cThe building was full of old timber "
        "and packaging, which made it hard to reach the seat of the fire.\u201d",
        "The warehouse had been empty for several years and was due to be demolished to make "
        "way for new housing. The owners said they would cooperate fully with the "
        "investigation into the cause of the fire, which is being treated as suspicious.",
        "Anyone who saw people near the building on Saturday evening is asked to contact "
        "the police.",
    )),
    Article("library-reopens", "en", "City library reopens after a two-year renovation", (
        "The central city library reopened its doors on Monday after a renovation that took "
        "two years and cost more than 12 million pounds, with a new children's wing, a "
        "rooftop reading garden and longer opening hours.",
        "Hundreds of people queued outside before the doors opened at nine o'clock. The first "
        "visitor, a retired teacher who said she had used the library every week for forty "
        "years, was handed a commemorative library card by the mayor.",
        "The Victorian building had been closed since the roof was found to be unsafe. "
        "Engineers replaced the roof, restored the original glass dome above the main reading "
        "room and installed lifts, so that every floor can now be reached without stairs.",
        "The library will be open seven days a week, until eight in the evening on weekdays. "
        "It now lends laptops and musical instruments as well as books, and runs free "
        "coding clubs for teenagers on Saturday mornings.",
        "Council leaders said the project had come in on time and slightly under budget. "
        "Local historians welcomed the restoration, which uncovered painted ceilings hidden "
        "under plaster since the nineteen-fifties.",
    )),
    Article("floods", "ru", "Паводки затронули пятнадцать регионов", (
        "Весенние паводки затронули пятнадцать регионов страны, сообщили в МЧС в понедельник. "
        "Подтоплены более двух тысяч жилых домов и около четырехсот приусадебных участков.",
        "Спасатели эвакуировали жителей из подтопленных домов, в пострадавших районах "
        "развернуты пункты временного размещения. По данным ведомства, в них находятся более "
        "шестисот человек, в том числе сто двадцать детей.",
        "Уровень воды в реках продолжает расти, а синоптики прогнозируют новые дожди в "
        "ближайшие дни. Наиболее сложная обстановка сохраняется в низовьях, где вода "
        "поднялась выше опасной отметки.",
        "Власти призвали население следить за официальными сообщениями и не выезжать на "
        "затопленные участки дорог. Для пострадавших открыта горячая линия, по которой можно "
        "узнать о выплатах и помощи.",
        "Ущерб от стихии пока оценивается. Правительственная комиссия проведет выездное "
        "совещание и определит объем средств на восстановление дорог и мостов.",
    )),
    Article("seed", "ru", "", ()),  # filled from the seed article below
)

_NAV = {
    "en": ("Home", "World", "Business", "Sport", "Culture", "Opinion", "Weather", "Subscribe"),
    "ru": ("Главная", "Политика", "Экономика", "Общество", "Спорт", "Культура", "Мнения",
           "Подписка"),
}
_RELATED = {
    "en": ("Council approves new cycle lanes on the ring road",
           "Harbour redevelopment plan goes out to consultation",
           "Five things to do in the city this weekend",
           "Rail strike: what you need to know"),
    "ru": ("Правительство утвердило план развития дорог до 2030 года",
           "В столице открылся новый парк", "Синоптики рассказали о погоде на выходные",
           "Курс рубля: что ждать на следующей неделе"),
}
_COMMENTS = {
    "en": ("Terrible news, I hope everyone recovers quickly. That building has been an "
           "eyesore for years and everyone knew something like this would happen.",
           "Why was it left empty for so long? The council should have acted years ago, "
           "this is what happens when nobody takes responsibility.",
           "Thanks to the firefighters, they do an amazing job with very little money."),
    "ru": ("Ужас, надеюсь, все живы и здоровы. Каждый год одно и то же, а выводов никто не "
           "делает, дамбы так и не построили.",
           "А где были власти раньше? Об этом писали еще прошлой весной, но никто ничего не "
           "сделал, как всегда.",
           "Спасибо спасателям, работают круглые сутки без выходных."),
}
_WORDS = {
    "en": {"read_also": "Read also", "related": "Related stories", "comments": "Comments",
           "most_read": "Most read", "ad": "Advertisement", "share": "Share this article",
           "cookies": "We use cookies to improve your experience. Accept all cookies",
           "footer": "\u00a9 2026 City Gazette. All rights reserved. Privacy policy. "
                     "Contact us.", "by": "By Staff Reporter", "reply": "Reply"},
    "ru": {"read_also": "Читайте также", "related": "Новости по теме",
           "comments": "Комментарии", "most_read": "Самое читаемое", "ad": "Реклама",
           "share": "Поделиться", "cookies": "Мы используем файлы cookie. Принять",
           "footer": "\u00a9 2026 Городские вести. Все права защищены. При использовании "
                     "материалов ссылка обязательна.", "by": "Автор: корреспондент",
           "reply": "Ответить"},
}


def _seed() -> Article:
    title, body = SEED.read_text(encoding="utf-8").split("\n", 1)
    return Article("seed", "ru", title.strip(),
                   tuple(p.strip() for p in body.split("\n") if p.strip()))


def _articles() -> tuple[Article, ...]:
    return tuple(_seed() if a.name == "seed" else a for a in ARTICLES)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _links(titles: tuple[str, ...], prefix: str) -> str:
    return "".join(f'<li><a href="/{prefix}/{i}">{_e(t)}</a></li>' for i, t in enumerate(titles))


def _paragraphs(article: Article, words: dict[str, str], related: tuple[str, ...]) -> str:
    """The article's paragraphs with a "read also" link and an ad slot after the second."""
    parts = []
    for i, paragraph in enumerate(article.paragraphs):
        parts.append(f"<p>{_e(paragraph)}</p>")
        if i == 1:
            parts.append(f'<p class="read-also"><strong>{words["read_also"]}:</strong> '
                         f'<a href="/news/1">{_e(related[0])}</a></p>')
            parts.append(f'<div class="ad-slot"><span>{words["ad"]}</span>'
                         '<img src="/ads/banner.gif" alt=""></div>')
    return "\n".join(parts)


def _comments(lang: str, words: dict[str, str], tag: str = "div") -> str:
    return "".join(
        f'<{tag} class="comment"><div class="comment-author">user{i}</div>'
        f'<div class="comment-body"><p>{_e(c)}</p></div>'
        f'<a class="reply" href="#">{words["reply"]}</a></{tag}>'
        for i, c in enumerate(_COMMENTS[lang] * 4))  # a thread of 12


def _modern(article: Article) -> str:
    """A current news site: semantic tags, a cookie banner, an aside, comments."""
    w, lang = _WORDS[article.lang], article.lang
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{_e(article.title)} | Gazette</title>
<meta property="og:title" content="{_e(article.title)}">
<script>window.dataLayer=[];function gtag(){{dataLayer.push(arguments)}}</script>
<style>.ad-slot{{height:90px}}</style></head>
<body>
<div class="cookie-banner">{w["cookies"]}</div>
<header><a class="logo" href="/">Gazette</a>
<nav><ul>{_links(_NAV[lang], "section")}</ul></nav></header>
<main>
<article>
<h1>{_e(article.title)}</h1>
<div class="byline">{w["by"]} <time datetime="2026-05-03T08:00:00Z">03.05.2026</time></div>
<div class="share"><a href="#">Facebook</a> <a href="#">X</a> <a href="#">Telegram</a>
{w["share"]}</div>
{_paragraphs(article, w, _RELATED[lang])}
</article>
<aside class="related"><h2>{w["related"]}</h2><ul>{_links(_RELATED[lang], "news")}</ul></aside>
<section id="comments"><h2>{w["comments"]} (3)</h2>{_comments(lang, w)}</section>
</main>
<footer><p>{w["footer"]}</p><ul>{_links(_NAV[lang], "footer")}</ul></footer>
</body></html>"""


def _legacy(article: Article) -> str:
    """An older site: div soup and tables, a most-read sidebar, no semantic tags."""
    w, lang = _WORDS[article.lang], article.lang
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{_e(article.title)}</title></head>
<body><table width="100%"><tr><td colspan="2"><div id="top-menu">{" | ".join(
        f'<a href="/s/{i}">{_e(n)}</a>' for i, n in enumerate(_NAV[lang]))}</div></td></tr>
<tr><td valign="top" width="70%">
<div class="news-item">
<div class="news-title"><b>{_e(article.title)}</b></div>
<div class="news-date">03.05.2026 11:00</div>
<div class="news-text">
{_paragraphs(article, w, _RELATED[lang])}
</div>
<div class="news-share">{w["share"]}: <a href="#">VK</a> <a href="#">OK</a></div>
<div class="news-related"><b>{w["related"]}</b><br>{"<br>".join(
        f'<a href="/n/{i}">{_e(t)}</a>' for i, t in enumerate(_RELATED[lang]))}</div>
<div class="news-comments"><b>{w["comments"]}</b>{_comments(lang, w)}</div>
</div></td>
<td valign="top"><div class="sidebar"><b>{w["most_read"]}</b>
<ol>{_links(_RELATED[lang][::-1], "top")}</ol>
<div class="banner">{w["ad"]}<br><a href="/promo">{_e(_RELATED[lang][2])}</a></div></div></td></tr>
<tr><td colspan="2"><div class="bottom">{w["footer"]}</div></td></tr></table></body></html>"""


def _blog(article: Article) -> str:
    """A blog engine's post: entry-content, share plugin, related posts, a comment list."""
    w, lang = _WORDS[article.lang], article.lang
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>{_e(article.title)} - Blog</title></head>
<body class="single-post">
<div id="page"><div class="site-header"><div class="site-title">Notes</div>
<div class="menu"><ul>{_links(_NAV[lang], "category")}</ul></div></div>
<div id="content"><div class="post hentry">
<h2 class="entry-title">{_e(article.title)}</h2>
<div class="entry-meta">{w["by"]}</div>
<div class="entry-content">
{_paragraphs(article, w, _RELATED[lang])}
<div class="sharedaddy"><h3>{w["share"]}</h3><ul><li>Facebook</li><li>X</li></ul></div>
<div class="jp-relatedposts"><h3>{w["related"]}</h3>{"".join(
        f'<div class="jp-relatedposts-post"><a href="/p/{i}">{_e(t)}</a></div>'
        for i, t in enumerate(_RELATED[lang]))}</div>
</div></div>
<div id="comments"><h3>{w["comments"]}</h3><ol class="commentlist">{_comments(lang, w, "li")}</ol>
<form id="commentform"><textarea name="comment"></textarea>
<input type="submit" value="Post"></form></div>
</div>
<div id="sidebar"><h3>{w["most_read"]}</h3><ul>{_links(_RELATED[lang], "archive")}</ul></div>
<div id="footer">{w["footer"]}</div></div></body></html>"""


LAYOUTS = {"modern": _modern, "legacy": _legacy, "blog": _blog}


def _app_shell(lang: str) -> str:
    """A page whose article is drawn by JavaScript: nothing to extract."""
    w = _WORDS[lang]
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>Gazette</title>
<script src="/app.js" defer></script></head><body>
<header><nav><ul>{_links(_NAV[lang], "section")}</ul></nav></header>
<div id="root"><noscript>Please enable JavaScript to read this article.</noscript></div>
<aside><h2>{w["most_read"]}</h2><ul>{_links(_RELATED[lang], "top")}</ul></aside>
<footer><p>{w["footer"]}</p></footer></body></html>"""


def _section_index(lang: str) -> str:
    """A section front: headlines and one-line teasers, no article."""
    w = _WORDS[lang]
    items = "".join(
        f'<div class="card"><h3><a href="/news/{i}">{_e(t)}</a></h3>'
        f'<p>{_e(_COMMENTS[lang][i % 3][:60])}</p></div>'
        for i, t in enumerate(_RELATED[lang] * 3))
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>News</title>
</head><body><header><nav><ul>{_links(_NAV[lang], "section")}</ul></nav></header>
<main><h1>{_e(_NAV[lang][1])}</h1>{items}</main><footer>{w["footer"]}</footer></body></html>"""


#: pages with no article on them: an extractor should return nothing (or very little)
NON_ARTICLES = {f"{kind}-{lang}": render(lang) for lang in ("en", "ru")
                for kind, render in (("app-shell", _app_shell),
                                     ("section-front", _section_index))}


def pages() -> list[Page]:
    return [Page(f"{a.name}-{layout}", a.lang, layout, render(a), a.text)
            for a in _articles() for layout, render in LAYOUTS.items()]


def main(argv: list[str]) -> None:
    folder = Path(argv[0] if argv else "bench/results/fulltext-pages")
    folder.mkdir(parents=True, exist_ok=True)
    for page in pages():
        (folder / f"{page.name}.html").write_text(page.html, encoding="utf-8")
        (folder / f"{page.name}.txt").write_text(page.expected + "\n", encoding="utf-8")
    print(f"{len(pages())} pages in {folder}")


if __name__ == "__main__":
    main(sys.argv[1:])
