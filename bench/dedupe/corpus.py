"""A deterministic labeled corpus of news items for the near-duplicate benchmark.

Every item carries its true ``cluster`` (items of one cluster are the same story):

- base articles in Russian and English, built from topic pools (bench/dedupe/vocab.py) and
  the real seed article (tests/data/seed-article.ru.txt);
- syndicated copies of them with the edits seen in the wild: a new title, a trimmed or
  rewritten lead, « » -> " ", ё -> е, dashes, boilerplate ("Подписывайтесь на наш
  Telegram-канал", "Read more: ..."), an excerpt, another credit line or dateline, a
  dropped paragraph, a few words changed, HTML markup, a background paragraph added;
- hard negatives: other articles on the same topic, rewrites of the same event (same
  people, places and figures, other sentences), articles quoting a paragraph of another,
  short flashes on the same subject, and templated series that differ only in numbers,
  dates or names (exchange rates per day, weather per weekday, match reports, power cuts
  per district, road closures per town), each with its own syndicated copies.

``generate(seed)`` always returns the same corpus for the same arguments.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.dedupe import vocab
from bench.dedupe.vocab import Topic

SEED_ARTICLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "seed-article.ru.txt"


@dataclass(frozen=True, slots=True)
class Doc:
    """One item of the corpus."""

    id: int
    cluster: int  # the truth: same cluster = same story
    title: str
    text: str
    lang: str
    kind: str  # "base", "copy", "series", "flash", ...
    group: str  # topic or series: hard negatives share it
    edits: tuple[str, ...] = ()  # what was done to a copy


@dataclass(slots=True)
class Article:
    title: str
    paragraphs: list[str]
    lang: str
    topic: Topic | None = None
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


# --- sentences ---------------------------------------------------------------------------


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _figure(rng: random.Random) -> str:
    whole = rng.randint(2, 980)
    return f"{whole},{rng.randint(1, 9)}" if rng.random() < 0.4 else str(whole)


class Writer:
    """Sentences on one topic in one language."""

    def __init__(self, rng: random.Random, topic: Topic, facts: dict[str, str]) -> None:
        self.rng = rng
        self.topic = topic
        self.facts = facts
        self.ru = topic.lang == "ru"

    def pick(self, items: tuple[str, ...]) -> str:
        return self.rng.choice(items)

    def clause(self) -> str:
        adverbials = vocab.RU_ADVERBIALS if self.ru else vocab.EN_ADVERBIALS
        parts = [self.pick(self.topic.subjects), self.pick(self.topic.verbs),
                 self.pick(self.topic.objects)]
        if self.rng.random() < 0.7:
            parts.append(self.pick(adverbials))
        return " ".join(parts)

    def said(self) -> str:
        return self.pick(vocab.RU_SAID if self.ru else vocab.EN_SAID)

    def actor(self) -> str:
        if self.rng.random() < 0.5:
            return self.facts["actor"]
        return self.pick(self.topic.actors)

    def opener(self) -> str:
        return self.pick(vocab.RU_OPENERS if self.ru else vocab.EN_OPENERS)

    def sentence(self) -> str:
        kind = self.rng.randrange(7)
        r = self.rng
        if self.ru:
            if kind == 0:
                return f"{_cap(self.actor())} {self.said()}, что {self.clause()}."
            if kind == 1:
                return f"{self.opener()} {self.clause()}."
            if kind == 2:
                direction = r.choice(("больше", "меньше"))
                return (f"В {self.facts['year']} году {self.pick(self.topic.metrics)} составил "
                        f"{_figure(r)} {self.pick(vocab.RU_UNITS)}, что на {r.randint(2, 40)}% "
                        f"{direction}, чем годом ранее.")
            if kind == 3:
                return f"{_cap(self.pick(self.topic.places))} {self.clause()}."
            if kind == 4:
                return (f"«{_cap(self.clause())}. {_cap(self.clause())}», — {self.said()} "
                        f"{self.actor()}.")
            if kind == 5:
                return f"Ранее {self.actor()} {self.said()}, что {self.clause()}."
            return (f"{self.opener()} {self.clause()} на сумму {_figure(r)} "
                    f"{self.pick(vocab.RU_UNITS)}.")
        if kind == 0:
            return f"{_cap(self.clause())}, {self.actor()} {self.said()}."
        if kind == 1:
            return f"{self.opener()} {self.clause()}."
        if kind == 2:
            direction = r.choice(("up", "down"))
            return (f"In {self.facts['year']}, {self.pick(self.topic.metrics)} reached "
                    f"{_figure(r)} {self.pick(vocab.EN_UNITS)}, {direction} {r.randint(2, 40)}% "
                    "from a year earlier.")
        if kind == 3:
            return f"{_cap(self.pick(self.topic.places))}, {self.clause()}."
        if kind == 4:
            return (f"\"{_cap(self.clause())}. {_cap(self.clause())},\" {self.actor()} "
                    f"{self.said()}.")
        if kind == 5:
            return f"Earlier, {self.actor()} {self.said()} that {self.clause()}."
        return (f"{self.opener()} {self.clause()}, a deal worth {_figure(r)} "
                f"{self.pick(vocab.EN_UNITS)}.")

    def lead(self) -> str:
        f = self.facts
        f.setdefault("clause", self.clause())
        if self.ru:
            return (f"{_cap(f['place'])} {f['actor']} {self.said()}, что {f['clause']}. "
                    f"Речь идет о сумме {f['amount']} {f['unit']}.")
        return (f"{_cap(f['place'])}, {f['actor']} {self.said()} that {f['clause']}. "
                f"The plan is worth {f['amount']} {f['unit']}.")

    def reworded_lead(self) -> str:
        """The lead's first sentence said another way: the same facts, other words."""
        f = self.facts
        if self.ru:
            return f"{_cap(f['actor'])} {self.said()} {f['place']}: {f['clause']}."
        return f"{_cap(f['clause'])}, {f['actor']} {self.said()} {f['place']}."

    def title(self) -> str:
        template = self.pick(self.topic.titles)
        place = self.facts["place"]
        return _cap(template.format(
            actor=(self.facts["actor"].split()[-1] if self.rng.random() < 0.5
                   else self.facts["actor"]),
            object=self.pick(self.topic.objects), object_gen=self.pick(self.topic.objects),
            object_prep=self.pick(self.topic.objects),
            place_bare=place.split(" ", 1)[1] if " " in place else place))


def _facts(rng: random.Random, topic: Topic) -> dict[str, str]:
    ru = topic.lang == "ru"
    return {
        "actor": rng.choice(topic.actors),
        "place": rng.choice(topic.places),
        "year": str(rng.choice((2022, 2023, 2024, 2025))),
        "amount": _figure(rng),
        "unit": rng.choice(vocab.RU_UNITS if ru else vocab.EN_UNITS),
    }


def article(rng: random.Random, topic: Topic, facts: dict[str, str] | None = None,
            paragraphs: int | None = None) -> Article:
    facts = facts or _facts(rng, topic)
    writer = Writer(rng, topic, facts)
    count = paragraphs if paragraphs is not None else rng.choice((2, 3, 4, 5, 6, 7, 8, 10, 12))
    body = [writer.lead()]
    for _ in range(count - 1):
        body.append(" ".join(writer.sentence() for _ in range(rng.randint(2, 4))))
    return Article(writer.title(), body, topic.lang, topic, facts)


def flash(rng: random.Random, topic: Topic, facts: dict[str, str] | None = None) -> Article:
    """A title and a line or two."""
    facts = facts or _facts(rng, topic)
    writer = Writer(rng, topic, facts)
    lines = [writer.lead().split(". ")[0] + "."]
    if rng.random() < 0.5:
        lines.append(writer.sentence())
    return Article(writer.title(), [" ".join(lines)], topic.lang, topic, facts)


def seed_article() -> Article:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    title, body = text.split("\n", 1)
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    return Article(title.strip(), paragraphs, "ru", vocab.RU_TOPICS[0], {})


# --- edits of syndicated copies ----------------------------------------------------------


Edit = Callable[[random.Random, Article, list[Article]], Article]


def _sentences(paragraph: str) -> list[str]:
    parts = paragraph.replace("». ", "».\x00").replace(". ", ".\x00").split("\x00")
    return [p for p in parts if p]


def new_title(rng: random.Random, a: Article, others: list[Article]) -> Article:
    ru = a.lang == "ru"
    roll = rng.random()
    if roll < 0.3:
        prefix = rng.choice(("ВАЖНО: ", "Новости: ", "Главное: ") if ru
                            else ("Breaking: ", "Update: ", "Analysis: "))
        title = prefix + a.title
    elif roll < 0.55 and a.topic is not None:
        title = Writer(rng, a.topic, a.facts or _facts(rng, a.topic)).title()
    elif roll < 0.9:
        words = a.paragraphs[0].split()
        title = " ".join(words[: rng.randint(5, 10)]).rstrip(",.:;")
    else:  # a date the body does not carry (realistic, and it costs recall)
        day = rng.randint(1, 28)
        month = rng.choice(vocab.RU_MONTHS_GEN if ru else vocab.EN_MONTHS)
        title = f"{a.title}: {day} {month}" if ru else f"{a.title} ({month} {day})"
    return replace(a, title=title, paragraphs=list(a.paragraphs))


def trim_lead(rng: random.Random, a: Article, others: list[Article]) -> Article:
    first = _sentences(a.paragraphs[0])
    if len(first) > 1:
        paragraphs = [" ".join(first[1:]), *a.paragraphs[1:]]
    elif len(a.paragraphs) > 2:
        paragraphs = a.paragraphs[1:]
    else:
        return a
    return replace(a, paragraphs=paragraphs)


def rewrite_lead(rng: random.Random, a: Article, others: list[Article]) -> Article:
    """The first sentence reworded, keeping its facts (people, place, figures)."""
    if a.topic is None or "clause" not in a.facts:
        return a
    first = _sentences(a.paragraphs[0])
    writer = Writer(rng, a.topic, a.facts)
    return replace(a, paragraphs=[" ".join([writer.reworded_lead(), *first[1:]]),
                                  *a.paragraphs[1:]])


def quotes(rng: random.Random, a: Article, others: list[Article]) -> Article:
    left, right = rng.choice((('"', '"'), ("„", "“"), ("“", "”")))
    fix = str.maketrans({"«": left, "»": right})
    return replace(a, title=a.title.translate(fix),
                   paragraphs=[p.translate(fix) for p in a.paragraphs])


def yo(rng: random.Random, a: Article, others: list[Article]) -> Article:
    fix = str.maketrans({"ё": "е", "Ё": "Е"})
    return replace(a, title=a.title.translate(fix),
                   paragraphs=[p.translate(fix) for p in a.paragraphs])


def dashes(rng: random.Random, a: Article, others: list[Article]) -> Article:
    dash = rng.choice(("-", "–", "--"))
    return replace(a, paragraphs=[p.replace("—", dash) for p in a.paragraphs])


def boilerplate(rng: random.Random, a: Article, others: list[Article]) -> Article:
    ru = a.lang == "ru"
    pool = vocab.RU_BOILERPLATE if ru else vocab.EN_BOILERPLATE
    lines = list(rng.sample(pool, rng.randint(1, 2)))
    if rng.random() < 0.5 and others:
        lines.append((vocab.RU_RELATED if ru else vocab.EN_RELATED) + rng.choice(others).title)
    paragraphs = list(a.paragraphs)
    if rng.random() < 0.3:
        paragraphs.insert(rng.randint(1, max(1, len(paragraphs) - 1)), lines.pop())
    if rng.random() < 0.2 and lines:
        paragraphs.insert(0, lines.pop())
    return replace(a, paragraphs=paragraphs + lines)


def excerpt(rng: random.Random, a: Article, others: list[Article]) -> Article:
    if rng.random() < 0.5 and len(a.paragraphs) > 1:
        keep = rng.randint(1, min(3, len(a.paragraphs) - 1))
        return replace(a, paragraphs=a.paragraphs[:keep])
    words = " ".join(a.paragraphs).split()
    count = rng.randint(30, 120)
    if count >= len(words):
        return a
    return replace(a, paragraphs=[" ".join(words[:count]) + "…"])


def credit(rng: random.Random, a: Article, others: list[Article]) -> Article:
    ru = a.lang == "ru"
    paragraphs = list(a.paragraphs)
    style = rng.randrange(5)
    if ru:
        relay = rng.choice(vocab.RU_OUTLETS)
        desc, origin = rng.choice(vocab.RU_ORIGINS)
        desc_acc = {"газета": "газету", "агентство": "агентство", "издание": "издание",
                    "портал": "портал"}[desc]
        first = _sentences(paragraphs[0])
        if style == 0:
            first[0] = (first[0].rstrip(".")
                        + f", передает {relay} со ссылкой на {desc_acc} «{origin}».")
        elif style == 1:
            first[0] = first[0].rstrip(".") + f", сообщает {relay}."
        elif style == 2:
            first[0] = f"Как сообщает «{origin}», " + first[0][:1].lower() + first[0][1:]
        elif style == 3:
            day, month = rng.randint(1, 28), rng.choice(vocab.RU_MONTHS_GEN)
            city = rng.choice(vocab.RU_DATELINE_CITIES)
            first[0] = f"{city}, {day} {month}. /ТАСС/. {first[0]}"
        else:
            paragraphs.append(f"Источник: {origin}")
        paragraphs[0] = " ".join(first)
        return replace(a, paragraphs=paragraphs)
    relay = rng.choice(vocab.EN_OUTLETS)
    first = _sentences(paragraphs[0])
    if style == 0:
        first[0] = f"{rng.choice(vocab.EN_DATELINE_CITIES)} ({relay}) - {first[0]}"
    elif style == 1:
        first[0] = f"({relay}) — {first[0]}"
    elif style == 2:
        first[0] = first[0].rstrip(".") + f", according to {relay}."
    elif style == 3:
        paragraphs.append(f"Source: {relay}")
    else:
        paragraphs.append(f"(via {relay})")
    paragraphs[0] = " ".join(first)
    return replace(a, paragraphs=paragraphs)


def drop_paragraph(rng: random.Random, a: Article, others: list[Article]) -> Article:
    if len(a.paragraphs) < 4:
        return a
    paragraphs = list(a.paragraphs)
    del paragraphs[rng.randint(1, len(paragraphs) - 2)]
    return replace(a, paragraphs=paragraphs)


_SYNONYMS = {"заявил": "сказал", "отметил": "подчеркнул", "сообщил": "рассказал",
             "также": "кроме того", "намерены": "планируют", "said": "says", "noted": "said",
             "added": "said", "expected": "anticipated", "plan": "proposal", "deal": "agreement"}


def reword(rng: random.Random, a: Article, others: list[Article]) -> Article:
    paragraphs = list(a.paragraphs)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(paragraphs))
        words = paragraphs[i].split(" ")
        spots = [j for j, w in enumerate(words) if w.strip(",.") in _SYNONYMS]
        if spots:
            j = rng.choice(spots)
            bare = words[j].strip(",.")
            words[j] = words[j].replace(bare, _SYNONYMS[bare])
            paragraphs[i] = " ".join(words)
    return replace(a, paragraphs=paragraphs)


def markup(rng: random.Random, a: Article, others: list[Article]) -> Article:
    paragraphs = []
    for p in a.paragraphs:
        words = p.split(" ")
        if len(words) > 4 and rng.random() < 0.4:
            j = rng.randrange(len(words))
            words[j] = f'<a href="https://example.com/{rng.randrange(10**6)}?utm_source=x">{words[j]}</a>'
        paragraphs.append("<p>" + " ".join(words).replace("&", "&amp;") + "</p>")
    return replace(a, paragraphs=paragraphs)


def flatten(rng: random.Random, a: Article, others: list[Article]) -> Article:
    return replace(a, paragraphs=[" ".join(a.paragraphs)])


def background(rng: random.Random, a: Article, others: list[Article]) -> Article:
    if a.topic is None:
        return a
    writer = Writer(rng, a.topic, a.facts or _facts(rng, a.topic))
    lead = "Ранее сообщалось, что" if a.lang == "ru" else "Earlier this year,"
    extra = f"{lead} {writer.clause()}. {writer.sentence()}"
    return replace(a, paragraphs=[*a.paragraphs, extra])


# (edit, probability) for a syndicated copy; the order is the order of application.
EDITS: tuple[tuple[str, Edit, float], ...] = (
    ("reword", reword, 0.2),
    ("drop_paragraph", drop_paragraph, 0.12),
    ("trim_lead", trim_lead, 0.15),
    ("rewrite_lead", rewrite_lead, 0.1),
    ("background", background, 0.1),
    ("excerpt", excerpt, 0.3),
    ("credit", credit, 0.7),
    ("new_title", new_title, 0.6),
    ("quotes", quotes, 0.5),
    ("yo", yo, 0.5),
    ("dashes", dashes, 0.3),
    ("flatten", flatten, 0.15),
    ("boilerplate", boilerplate, 0.5),
    ("markup", markup, 0.25),
)


def syndicate(rng: random.Random, a: Article, others: list[Article],
              allowed: frozenset[str] | None = None) -> tuple[Article, tuple[str, ...]]:
    """A copy of ``a`` as another outlet publishes it, and the edits made."""
    done: list[str] = []
    for name, edit, probability in EDITS:
        if (allowed is None or name in allowed) and rng.random() < probability:
            a = edit(rng, a, others)
            done.append(name)
    return a, tuple(done)


# --- templated series ----------------------------------------------------------------------


def _date(day: int) -> tuple[int, int]:
    """Day ``day`` of a series that starts on July 1: (day of month, month index)."""
    return (day - 1) % 28 + 1, (6 + (day - 1) // 28) % 12


def _rate_ru(rng: random.Random, day: int) -> Article:
    day, month_index = _date(day)
    month = vocab.RU_MONTHS_GEN[month_index]
    x = rng.randint(4700, 5200) / 10
    x0 = x + rng.choice((-1, 1)) * rng.randint(3, 40) / 10
    direction = "подорожал" if x > x0 else "подешевел"
    text = [
        f"Национальный банк Казахстана установил официальный курс доллара на {day} {month} "
        f"2024 года на уровне {x:.2f} тенге. Накануне курс составлял {x0:.2f} тенге, то есть "
        f"доллар {direction} на {abs(x - x0):.2f} тенге.",
        f"Официальный курс евро составит {x * 1.08:.2f} тенге, российского рубля — "
        f"{rng.randint(500, 560) / 100:.2f} тенге. На Казахстанской фондовой бирже по итогам "
        f"торгов средневзвешенный курс составил {x + 0.4:.2f} тенге за доллар, объем торгов — "
        f"{rng.randint(80, 250)} млн долларов.",
        f"Аналитики ожидают, что в ближайшие дни курс будет колебаться в диапазоне "
        f"{int(x) - 3}–{int(x) + 3} тенге за доллар. Напомним, курс доллара к тенге "
        "формируется на бирже, а Нацбанк фиксирует его официальное значение на следующий день.",
    ]
    return Article(f"Курс доллара на {day} {month}", text, "ru")


def _rate_en(rng: random.Random, day: int) -> Article:
    day, month_index = _date(day)
    month = vocab.EN_MONTHS[month_index]
    x = rng.randint(4700, 5200) / 10
    change = rng.randint(3, 40) / 10
    direction = rng.choice(("rose", "fell"))
    text = [
        f"The National Bank of Kazakhstan set the official dollar rate for {month} {day}, 2024 at "
        f"{x:.2f} tenge. The dollar {direction} by {change:.2f} tenge compared with the previous "
        "trading day.",
        f"The official euro rate will be {x * 1.08:.2f} tenge and the ruble rate "
        f"{rng.randint(500, 560) / 100:.2f} tenge. On the Kazakhstan Stock Exchange the "
        f"weighted average rate closed at {x + 0.4:.2f} tenge per dollar, with a trading volume "
        f"of {rng.randint(80, 250)} million dollars.",
        f"Analysts expect the rate to stay in a range of {int(x) - 3} to {int(x) + 3} tenge per "
        "dollar in the coming days. The exchange rate is set at the stock exchange, and the "
        "central bank fixes its official value for the next day.",
    ]
    return Article(f"Dollar to tenge exchange rate for {month} {day}", text, "en")


def _weather_ru(rng: random.Random, day: int) -> Article:
    weekday = vocab.RU_WEEKDAYS_ACC[day % 7]
    city = vocab.RU_CITIES[(day // 7) % len(vocab.RU_CITIES)]
    condition = rng.choice(("переменная облачность", "ясная погода", "облачная погода с "
                            "прояснениями"))
    t = rng.randint(18, 34)
    text = [
        f"В {weekday} в {city} ожидается {condition}, температура воздуха днем составит "
        f"+{t}…+{t + 3} градусов, ночью +{t - 12}…+{t - 9}. Ветер северо-западный, "
        f"{rng.randint(3, 6)}–{rng.randint(7, 12)} м/с, атмосферное давление "
        f"{rng.randint(700, 720)} мм рт. ст.",
        "Синоптики РГП «Казгидромет» рекомендуют жителям избегать длительного пребывания на "
        "солнце в дневные часы, пить больше воды и следить за официальными предупреждениями. "
        "Водителей просят быть внимательнее на дорогах.",
    ]
    return Article(f"Погода на {weekday}: в {city} до +{t + 3}", text, "ru")


def _weather_en(rng: random.Random, day: int) -> Article:
    weekday = vocab.EN_WEEKDAYS[day % 7]
    city = vocab.EN_CITIES[(day // 7) % len(vocab.EN_CITIES)]
    t = rng.randint(64, 95)
    condition = rng.choice(("sunny skies", "partly cloudy skies", "scattered showers"))
    text = [
        f"Weather for {weekday}: {city} can expect {condition} with highs of {t} degrees and "
        f"lows near {t - 18}. Winds will blow from the northwest at {rng.randint(5, 12)} to "
        f"{rng.randint(13, 20)} miles per hour, and humidity will stay around "
        f"{rng.randint(30, 70)} percent.",
        "Forecasters advise residents to limit time outdoors during the hottest part of the "
        "day, drink plenty of water and check on elderly neighbors. Drivers should allow extra "
        "time for the evening commute.",
    ]
    return Article(f"Weather for {weekday}: highs of {t} in {city}", text, "en")


def _match_ru(rng: random.Random, day: int) -> Article:
    home, away = rng.sample(vocab.RU_TEAMS, 2)
    scorer1, scorer2, scorer3 = rng.sample(vocab.RU_PLAYERS, 3)
    goals = rng.randint(1, 4)
    minutes = sorted(rng.sample(range(3, 90), 3))
    text = [
        f"«{home}» на своем поле принимал «{away}» в матче {day}-го тура чемпионата "
        f"Казахстана по футболу. Встреча завершилась со счетом {goals + 1}:{goals - 1}.",
        f"Первый гол забил {scorer1} на {minutes[0]}-й минуте, затем {scorer2} удвоил "
        f"преимущество хозяев на {minutes[1]}-й минуте. У гостей отличился {scorer3} "
        f"({minutes[2]}-я минута).",
        f"После этой победы «{home}» набрал {rng.randint(20, 50)} очков и поднялся на "
        f"{rng.randint(1, 8)}-е место в турнирной таблице. Следующий матч команда проведет на "
        "выезде.",
    ]
    return Article(f"«{home}» обыграл «{away}» в матче {day}-го тура", text, "ru")


def _match_en(rng: random.Random, day: int) -> Article:
    home, away = rng.sample(vocab.EN_TEAMS, 2)
    scorer1, scorer2, scorer3 = rng.sample(vocab.EN_PLAYERS, 3)
    goals = rng.randint(1, 4)
    minutes = sorted(rng.sample(range(3, 90), 3))
    text = [
        f"{home} beat {away} {goals + 1}-{goals - 1} in round {day} of the Premier League on "
        f"Saturday. {scorer1} opened the scoring in the {minutes[0]}th minute and {scorer2} "
        f"doubled the lead after {minutes[1]} minutes.",
        f"{away} pulled one back through {scorer3} in the {minutes[2]}th minute, but could not "
        f"find an equaliser. The win lifts {home} to {rng.randint(20, 50)} points and "
        f"{rng.randint(1, 8)}th place in the table.",
    ]
    return Article(f"{home} beat {away} {goals + 1}-{goals - 1}", text, "en")


def _pair(names: tuple[str, ...], day: int) -> tuple[str, str]:
    """Two names that no other day of a 40-day series gets together with the same place."""
    first = (day * 3) % len(names)
    return names[first], names[(first + 1 + day // len(names)) % len(names)]


def _power_cut_ru(rng: random.Random, day: int) -> Article:
    district = vocab.RU_DISTRICTS[day % len(vocab.RU_DISTRICTS)]
    street1, street2 = _pair(vocab.RU_STREETS, day)
    text = [
        f"15 июля в {district} районе Алматы с 10:00 до 17:00 будет отключена "
        f"электроэнергия в связи с плановыми ремонтными работами. Без света останутся дома "
        f"по улицам {street1} и {street2}.",
        "В АО «Алатау Жарык Компаниясы» просят жителей заранее позаботиться о зарядке "
        "телефонов и отключить бытовые приборы от сети. Справки по телефону 8-727-356-99-99.",
    ]
    return Article(f"Отключение электроэнергии в {district} районе", text, "ru")


def _road_en(rng: random.Random, day: int) -> Article:
    town = vocab.EN_TOWNS[day % len(vocab.EN_TOWNS)]
    road1, road2 = _pair(vocab.EN_ROADS, day)
    text = [
        f"Drivers in {town} should expect delays on {road1} between 9 a.m. and 5 p.m. on "
        f"Saturday as crews repave the road. Traffic will be detoured along {road2}.",
        "Officials ask residents to avoid the area if possible and to follow posted signs. "
        "Parking will be restricted along the work zone until the project is complete.",
    ]
    return Article(f"Road work closes {road1} in {town}", text, "en")


SERIES: tuple[tuple[str, Callable[[random.Random, int], Article]], ...] = (
    ("ru-rate", _rate_ru), ("en-rate", _rate_en), ("ru-weather", _weather_ru),
    ("en-weather", _weather_en), ("ru-match", _match_ru), ("en-match", _match_en),
    ("ru-power-cut", _power_cut_ru), ("en-road", _road_en),
)
# Copies of a templated post change its title, credit and boilerplate, not its body.
SERIES_EDITS = frozenset({"credit", "new_title", "quotes", "yo", "dashes", "boilerplate",
                          "markup", "flatten", "excerpt"})


# --- the corpus ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Builder:
    docs: list[Doc] = field(default_factory=list)
    clusters: int = 0

    def add(self, a: Article, kind: str, group: str, cluster: int | None = None,
            edits: tuple[str, ...] = ()) -> int:
        if cluster is None:
            cluster = self.clusters
            self.clusters += 1
        self.docs.append(Doc(len(self.docs), cluster, a.title, a.text, a.lang, kind, group, edits))
        return cluster

    def story(self, rng: random.Random, a: Article, kind: str, group: str, *,
              others: list[Article], copies: int,
              allowed: frozenset[str] | None = None) -> int:
        cluster = self.add(a, kind, group)
        for _ in range(copies):
            copy, edits = syndicate(rng, a, others, allowed)
            self.add(copy, "copy", group, cluster, edits)
        return cluster


def _copies(rng: random.Random) -> int:
    return rng.choices((0, 1, 2, 3, 4, 6), weights=(20, 25, 25, 15, 10, 5))[0]


def generate(seed: int = 7, *, per_topic: int = 30, series_length: int = 14,
             first_day: int = 1, with_seed_article: bool = True,
             out: _Builder | None = None) -> list[Doc]:
    """The labeled corpus (about 1,800 items with the defaults)."""
    rng = random.Random(seed)
    out = out or _Builder()
    topics = vocab.RU_TOPICS + vocab.EN_TOPICS
    bases: list[Article] = []
    for topic in topics:
        for _ in range(per_topic):
            bases.append(article(rng, topic))
    seed_base = seed_article()
    for a in [seed_base, *bases] if with_seed_article else bases:
        group = a.topic.name if a.topic else "seed"
        out.story(rng, a, "base", group, others=bases,
                  copies=_copies(rng) + (4 if a is seed_base else 0))
    # The same event written again: same people, place and figures, other sentences.
    for a in rng.sample(bases, 40):
        assert a.topic is not None
        facts = {k: v for k, v in a.facts.items() if k != "clause"}  # same facts, new words
        rewrite = article(rng, a.topic, facts)
        out.story(rng, rewrite, "rewrite", a.topic.name, others=bases, copies=_copies(rng))
    # An article that quotes one paragraph of another.
    for a in rng.sample(bases, 40):
        assert a.topic is not None
        other = article(rng, a.topic, paragraphs=rng.randint(2, 5))
        quoted = rng.choice(a.paragraphs)
        other.paragraphs.insert(rng.randint(1, len(other.paragraphs)), quoted)
        out.story(rng, other, "quoting", a.topic.name, others=bases, copies=_copies(rng))
    # A digest of several stories' first paragraphs: an excerpt of each, a story of its own.
    for _ in range(30):
        ru = rng.random() < 0.5
        picked = rng.sample([a for a in bases if (a.lang == "ru") == ru], rng.randint(3, 5))
        intro, title = (("Главные новости к этому часу.", "Главное за день") if ru
                        else ("Top stories this hour.", "The day in brief"))
        digest = Article(title, [intro, *(a.paragraphs[0] for a in picked)], picked[0].lang)
        out.story(rng, digest, "digest", "digest", others=bases, copies=rng.choice((0, 0, 1)),
                  allowed=frozenset({"credit", "quotes", "yo", "boilerplate", "markup"}))
    # Different articles that end with the same long paragraph about the company.
    # (A press release's "about us" and disclaimer paragraphs can be as long as its news.)
    for topic in topics:
        writer = Writer(rng, topic, _facts(rng, topic))
        about = [("О компании. " if topic.lang == "ru" else "About the company. ")
                 + " ".join(writer.sentence() for _ in range(4))]
        if rng.random() < 0.5:
            about.append(" ".join(writer.sentence() for _ in range(4)))
        for _ in range(4):
            a = article(rng, topic, paragraphs=rng.randint(2, 4))
            a.paragraphs.extend(about)
            out.story(rng, a, "shared-tail", topic.name + "-about", others=bases,
                      copies=_copies(rng))
    # Short flashes: several on one subject, each with copies.
    for topic in topics:
        facts = _facts(rng, topic)
        for _ in range(8):
            f = flash(rng, topic, dict(facts, amount=_figure(rng)) if rng.random() < 0.5 else None)
            out.story(rng, f, "flash", topic.name + "-flash", others=bases,
                      copies=_copies(rng), allowed=frozenset({
                          "credit", "quotes", "yo", "dashes", "boilerplate", "markup",
                          "new_title"}))
    # Templated series.
    for name, make in SERIES:
        for day in range(first_day, first_day + series_length):
            post = make(rng, day)
            out.story(rng, post, "series", name, others=bases,
                      copies=rng.choice((0, 1, 1, 2, 3)), allowed=SERIES_EDITS)
    return out.docs


def generate_many(seeds: tuple[int, ...]) -> list[Doc]:
    """One corpus from several seeds (the seed article once, series days not repeated)."""
    out = _Builder()
    for n, seed in enumerate(seeds):
        generate(seed, first_day=1 + 14 * n, with_seed_article=n == 0, out=out)
    return out.docs

