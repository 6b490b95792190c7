"""Pure recognition of syndication credits in Russian and English (stdlib only).

A copy of a story usually says where it came from: "передает Turantimes.kz со ссылкой
на газету «Известия»", "(Reuters) -", "МОСКВА, 24 ноября. /ТАСС/.", "according to
Bloomberg", "Source: BBC". :func:`find_credits` reads those lines into a :class:`Credit`
(who relayed the text, whom it credits as the origin), :func:`strip_credits` removes them
so copies with different credit lines compare equal, and :func:`outlet_key` makes outlet
names comparable with source names.

Letters follow the issue: X relays (``relayed_by``), Y is credited (``cites``)::

    передает X со ссылкой на Y · передает/сообщает/пишет X · via X
    как сообщает Y · по данным Y · со ссылкой на Y · as reported by Y · according to Y
    (Y) - / CITY (Y) - / ГОРОД, 24 ноября. /Y/. datelines · Source: Y · Источник: Y

Precision before recall: a name is taken only when it looks like an outlet. Weak phrases
("по данным", "according to", "со ссылкой на", "via") need a quoted name, an outlet word
("газета", "agency"), a domain, an acronym or a well-known outlet; "according to the
ministry", "по данным Минздрава" and "via Telegram" credit nobody. Only the head of a
text (its first paragraphs) and its tail (the last lines) are searched: a citation deep
in the body credits a fact, not the article.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from aggregator.text import fold
from aggregator.types import Credit

# Where credits are looked for: the first characters and the last ones.
HEAD_CHARS: Final = 800
TAIL_CHARS: Final = 300

# --- names ------------------------------------------------------------------------------

_QUOTED = r"«[^»\n]{1,60}»|\"[^\"\n]{1,60}\"|“[^”\n]{1,60}”|„[^“”\n]{1,60}[“”]"
# A capitalised word, possibly with a domain suffix ("Turantimes.kz", "Газета.Ru").
_CAP = r"[A-ZА-ЯЁ][\w&'’+-]*(?:\.[^\W\d_]{2,6}(?!\w)(?!\.\w))*"
_NAME_WORDS = rf"{_CAP}(?:[ ](?:(?:of|de|la|du|&)[ ])?{_CAP}){{0,4}}"
_DOMAIN = (
    r"(?:www\.)?[a-zа-я0-9][a-zа-я0-9-]*(?:\.[a-zа-я0-9-]+)*"
    r"\.(?:kz|ru|com|net|org|uz|kg|by|ua|az|am|ge|tj|tm|info|media|news|io|co\.uk|рф)(?!\w)(?!\.\w)"
)
_DESC_RU = (
    r"(?:(?:информационн\w+[ ])?агентств\w*|(?:интернет-)?издани\w+|газет\w+|журнал\w*"
    r"|портал\w*|сайт\w*|телеканал\w*|радиостанци\w+|(?:telegram|телеграм)-канал\w*"
    r"|(?:собственн\w+[ ]|специальн\w+[ ])?корреспондент\w*"
    r"(?:[ ](?:агентства|портала|газеты|издания|сайта|телеканала))?)"
)
_DESC_EN = (
    r"(?:news[ ]agency|agency|newspaper|news[ ]outlet|outlet|magazine|website|broadcaster"
    r"|daily|news[ ]site|wire[ ]service)"
)
_DESC = rf"(?i:(?:the[ ])?(?:{_DESC_RU}|{_DESC_EN}))"
_NAME = rf"(?:{_DESC}[ ]+)?(?:(?i:the)[ ]+)?(?:{_QUOTED}|{_DOMAIN}|{_NAME_WORDS})"
_NAMES = rf"{_NAME}(?:[ ]*(?:,|[ ]и|[ ]and)[ ]+{_NAME}){{0,3}}"
_ONE_NAME = re.compile(_NAME)

# Outlets known well enough to be taken from a weak phrase (compared by outlet_key).
_KNOWN_OUTLETS: Final = (
    "ТАСС", "РИА Новости", "Интерфакс", "Interfax", "Известия", "Коммерсантъ", "Ведомости",
    "РБК", "Российская газета", "Газета.Ru", "Лента.ру", "Kazinform", "Казинформ",
    "Tengrinews", "Sputnik", "Спутник", "Азаттык", "Azattyq", "КазТАГ", "Zakon.kz",
    "Turantimes", "Kursiv", "Forbes", "Медуза", "Фонтанка", "Reuters", "Bloomberg",
    "Associated Press", "AP", "AFP", "Agence France-Presse", "BBC", "CNN", "Guardian",
    "New York Times", "Washington Post", "Wall Street Journal", "Financial Times",
    "Politico", "Axios", "Al Jazeera", "Xinhua", "Синьхуа", "Kyodo", "Yonhap", "dpa",
    "EFE", "ANSA", "UNIAN", "Укринформ", "БелТА", "Trend", "Report.az", "Хабар", "Khabar",
    "Euronews", "Deutsche Welle", "DW", "NPR", "CNBC", "Fox News", "Sky News", "Times",
)
# Capitalised names that are not outlets: authorities, bodies, platforms.
_NOT_OUTLETS: Final = (
    "Минздрав", "Минобороны", "Минфин", "МИД", "МВД", "МЧС", "ФСБ", "Росстат", "Кремль",
    "Акорда", "Белый дом", "Пентагон", "Госдеп", "Правительство", "ЦБ", "Центробанк",
    "Нацбанк", "Минэнерго", "Минтранс", "Генпрокуратура", "ООН", "ВОЗ", "НАТО", "ЕС",
    "ЕАЭС", "СНГ", "ОДКБ", "МВФ", "США", "РФ", "РК", "UN", "WHO", "NATO", "EU", "IMF",
    "FBI", "CIA", "NASA", "USA", "UK", "US", "Kremlin", "Pentagon", "White House",
    "Telegram", "Twitter", "X", "Facebook", "Instagram", "WhatsApp", "YouTube", "Zoom",
    "Skype", "TikTok", "VK", "ВКонтакте", "Google", "Apple", "Email", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "He", "She", "They", "It",
    "This", "That", "We", "I", "Он", "Она", "Они", "Это",
)
# Words that make a capitalised phrase an authority rather than an outlet.
_AUTHORITY_WORDS = re.compile(
    r"(?i)\b(?:ministry|department|office|police|government|court|council|committee"
    r"|commission|bureau|university|institute|army|navy|president|minister|spokes\w*"
    r"|министерств\w*|ведомств\w*|управлени\w*|департамент\w*|правительств\w*|полици\w*"
    r"|суд\w*|комитет\w*|служб\w*|президент\w*|министр\w*|акимат\w*|мэри\w*)\b"
)
_HAS_DESCRIPTOR = re.compile(rf"(?i:^(?:the[ ]+)?(?:{_DESC_RU}|{_DESC_EN})[ ]+)")
# Outlet words and a lowercase "the" go ("the BBC"); "The Guardian" keeps its article.
_DESCRIPTOR_WORDS = re.compile(rf"{_HAS_DESCRIPTOR.pattern}|^the[ ]+")
_QUOTE_CHARS = "«»\"“”„‘’'‹›"
_LATIN = re.compile(r"[A-Za-z]")
# In windows-1251, [А-Яа-яЁё] are the bytes A8, B8 and C0-FF, no other character encodes
# to them, and [A-Za-z] are themselves: what is left of an encoded text counts the letters
_NOT_CYRILLIC_BYTES: Final = bytes(set(range(256)) - {0xA8, 0xB8, *range(0xC0, 0x100)})
_NOT_LATIN_BYTES: Final = bytes(set(range(256)) - {*range(0x41, 0x5B), *range(0x61, 0x7B)})
_ACRONYM = re.compile(r"^[A-ZА-ЯЁ]{2,6}$")

# --- outlet keys ---------------------------------------------------------------------------

_DOMAIN_SUFFIX = re.compile(
    r"(?:\.(?:co\.uk|kz|ru|com|net|org|uz|kg|by|ua|az|am|ge|tj|tm|info|media|news|io|рф|ру))+$")
_KEY_DROP_WORDS = re.compile(
    rf"(?i)(?<!\w)(?:the|{_DESC_RU}|{_DESC_EN})(?!\w)")
_NON_WORD = re.compile(r"[\W_]+")
# Light Russian case endings, so «Известий» meets «Известия» and «Коммерсанта» «Коммерсантъ».
_RU_ENDING = re.compile(r"(?<=[а-я]{4})(?:ами|ями|ого|ему|ому|ий|ия|ии|ие|ию|ей|ой|ом|ем"
                        r"|ах|ях|ам|ям|ы|а|я|у|ю|е|и|ъ|ь)$")


def outlet_key(name: str) -> str:
    """A comparable key for an outlet name: casefolded, ё -> е, quotes and outlet words
    ("газета", "the", "agency") dropped, domain suffixes (.kz, .ru, .com) dropped,
    punctuation and spaces removed, a Russian case ending trimmed.

    ``outlet_key("газета «Известия»") == outlet_key("Известия")`` and
    ``outlet_key("Turantimes.kz") == outlet_key("TuranTimes")``.
    """
    text = fold(name).strip()
    text = re.sub(r"^https?://", "", text).removeprefix("www.")
    text = text.split("/", 1)[0] if "/" in text and "." in text.split("/", 1)[0] else text
    text = text.translate({ord(c): " " for c in _QUOTE_CHARS})
    text = _DOMAIN_SUFFIX.sub("", text.strip())
    text = _KEY_DROP_WORDS.sub(" ", text)
    words = [_RU_ENDING.sub("", w) for w in text.split()]
    return _NON_WORD.sub("", "".join(words))


_KNOWN_KEYS: Final = frozenset(outlet_key(n) for n in _KNOWN_OUTLETS)
_NOT_OUTLET_KEYS: Final = frozenset(outlet_key(n) for n in _NOT_OUTLETS)


def _clean_name(raw: str) -> str:
    """The outlet's own name: outlet words, "the" and quotes dropped."""
    name = raw.strip()
    while True:
        stripped = _DESCRIPTOR_WORDS.sub("", name, count=1)
        if stripped == name:
            break
        name = stripped
    return name.strip(_QUOTE_CHARS + " ").strip()


Strength = Literal["strong", "medium", "weak"]


def _looks_like_outlet(raw: str, strength: Strength, cyrillic_text: bool) -> bool:
    """Whether ``raw`` (a name as matched) names an outlet firmly enough for the phrase."""
    name = _clean_name(raw)
    key = outlet_key(name)
    if not key or key in _NOT_OUTLET_KEYS or _AUTHORITY_WORDS.search(name):
        return False
    if key in _KNOWN_KEYS:
        return True
    quoted = raw.strip()[-1:] in _QUOTE_CHARS
    described = _HAS_DESCRIPTOR.match(raw.strip()) is not None
    domain = re.fullmatch(_DOMAIN, name.lower()) is not None
    acronym = _ACRONYM.match(name) is not None
    if quoted or described or domain or acronym:
        return True
    if strength == "weak":
        # "according to The Guardian": an English title with its article.
        return raw.strip().startswith("The ") and " " in name
    if strength == "medium":
        # A Latin-script name in a Russian text is a foreign outlet, not a person.
        return cyrillic_text and _LATIN.match(name) is not None and name[:1].isupper()
    return name[:1].isupper() or name[:1].isdigit()


# --- the phrases ---------------------------------------------------------------------------

_RELAY_VERB = r"(?i:переда[её]т|передают|сообщает|сообщают|пишет|пишут)"
_END = r"(?=[ ]*(?:[.;!?)\n]|$))"
_JOIN = r"(?:,[ ]*|[ ]+[—–-][ ]*)"  # what ties a credit to the sentence before it
# "…, сообщает агентство X со ссылкой на источники": the relay stands, nobody is cited.
_VAGUE_CITE = r"(?:[ ]+(?i:со[ ]+ссылкой[ ]+на)[ ]+[^.;!?\n]{1,80}?)?"


@dataclass(frozen=True, slots=True)
class _Pattern:
    regex: re.Pattern[str]
    relay: Strength | None  # validation of the "relay" group, if the pattern has one
    cite: Strength | None  # validation of the "cite" group(s)
    triggers: tuple[str, ...]  # lowercase words one of which must be in the text (speed)
    # characters every match holds, one of each group: without them, no line is tried (speed)
    needs: tuple[str, ...] = ()


def _p(pattern: str, relay: Strength | None, cite: Strength | None,
       triggers: tuple[str, ...] = (), needs: tuple[str, ...] = ()) -> _Pattern:
    return _Pattern(re.compile(pattern, re.MULTILINE), relay, cite, triggers, needs)


_DASH_CHARS: Final = "—–-"


_PATTERNS: Final = (
    # "…, передает Turantimes.kz со ссылкой на газету «Известия»."
    _p(rf"(?:,[ ]*|[ ]+[—–-][ ]*)?{_RELAY_VERB}[ ]+(?P<relay>{_NAME})[ ]+(?i:со[ ]+ссылкой[ ]+на)"
       rf"[ ]+(?P<cite>{_NAMES})", "strong", "weak", ("переда", "сообща", "пишет", "пишут")),
    # "Как сообщает ТАСС, …" / "как пишет «Коммерсантъ» со ссылкой на …"
    _p(rf"(?i:как[ ]+(?:переда[её]т|передают|сообщает|сообщают|пишет|пишут))[ ]+"
       rf"(?P<cite>{_NAMES})(?:[ ]+(?i:со[ ]+ссылкой[ ]+на)[ ]+(?P<cite2>{_NAMES}))?[ ]*,?[ ]*",
       None, "medium", ("как",)),
    # "…, передает Turantimes.kz." / "…, сообщает Kazinform." (a relay ending a sentence;
    # "сообщает"/"пишет" also follow people, so they need an outlet-looking name)
    _p(rf"{_JOIN}(?i:переда[её]т|передают)[ ]+(?P<relay>{_NAME}){_VAGUE_CITE}{_END}",
       "strong", None, ("переда",)),
    _p(rf"{_JOIN}(?i:сообщает|сообщают|пишет|пишут)[ ]+(?P<relay>{_NAME}){_VAGUE_CITE}{_END}",
       "medium", None, ("сообща", "пишет", "пишут")),
    # "…, со ссылкой на «Известия»." / "по данным РБК, …"
    _p(rf"(?:,[ ]*)?(?i:со[ ]+ссылкой[ ]+на|по[ ]+(?:данным|информации|сообщению|сведениям))"
       rf"[ ]+(?P<cite>{_NAMES}){_END}", None, "weak", ("ссылкой", "по ")),
    _p(rf"(?i:по[ ]+(?:данным|информации|сообщению|сведениям))[ ]+(?P<cite>{_NAMES})[ ]*,[ ]*",
       None, "weak", ("по ",)),
    # "…, as reported by the BBC." / "As reported by Reuters, …"
    _p(rf"(?:,[ ]*)?(?i:as[ ]+(?:first[ ]+)?reported[ ]+by)[ ]+(?P<cite>{_NAMES})[ ]*,?",
       None, "medium", ("reported",)),
    # "…, according to Bloomberg." / "According to The Guardian, …"
    _p(rf"(?:,[ ]*)?(?i:according[ ]+to)[ ]+(?P<cite>{_NAMES}){_END}", None, "weak",
       ("according",)),
    _p(rf"(?i:according[ ]+to)[ ]+(?P<cite>{_NAMES})[ ]*,[ ]*", None, "weak", ("according",)),
    # "… (via Reuters)" / "…, via AP."
    _p(rf"[ ]*\([ ]*(?i:via)[ ]+(?P<relay>{_NAME})[ ]*\)", "weak", None, ("via",)),
    _p(rf"(?:,[ ]*|[ ]+)(?i:via)[ ]+(?P<relay>{_NAME}){_END}", "weak", None, ("via",)),
    # "Source: Reuters" / "Источник: iz.ru" on a line of its own
    _p(r"^[ \t]*(?i:sources?|источники?)[ \t]*:[ \t]*(?P<source>[^\n]{1,120}?)[ \t]*$",
       None, "medium", ("source", "источник")),
    # "WASHINGTON, Nov 24 (Reuters) - " / "(AP) — "
    _p(r"^[ \t]*(?:[A-Z][A-Z.'-]*(?:[ ][A-Z][A-Z.'-]*){0,3}(?:,[ ]*[A-Z][a-z]{2,8}\.?[ ]+\d{1,2})?"
       r"[ ]*)?\((?P<cite>[A-Z][\w&.' -]{0,40}?)\)[ ]*[—–-]+[ ]*", None, "strong",
       needs=("(", ")", _DASH_CHARS)),
    # "МОСКВА, 24 ноября. /ТАСС/. "
    _p(r"^[ \t]*[А-ЯЁA-Z][А-ЯЁA-Z -]{1,40},[ ]*\d{1,2}[ ]+[а-яё]+\.?[ ]*/(?P<cite>[^/\n]{2,40})/"
       r"\.?[ ]*", None, "strong", needs=(",", "/")),
    # "МОСКВА, 24 ноя — РИА Новости. "
    _p(rf"^[ \t]*[А-ЯЁ][А-ЯЁ -]{{1,40}},[ ]*\d{{1,2}}[ ]+[а-яё]{{3,9}}\.?[ ]*[—–-][ ]*"
       rf"(?P<cite>{_NAME_WORDS})\.[ ]*", None, "strong", needs=(",", _DASH_CHARS)),
    # "АСТАНА. KAZINFORM – " / "Астана. 24 ноября. INTERFAX-KAZAKHSTAN - "
    _p(r"^[ \t]*[А-ЯЁA-Z][А-ЯЁA-Zа-яё -]{1,40}[.,][ ]*(?:\d{1,2}[ ]+[а-яё]+\.?[ ]*)?"
       r"(?P<cite>[A-ZА-ЯЁ][A-ZА-ЯЁ-]{2,}(?:[ ][A-ZА-ЯЁ-]{2,})?)[ ]*[—–-][ ]*", None, "strong",
       needs=(".,", _DASH_CHARS)),
)
# Every trigger word, looked for once per zone.
_TRIGGERS: Final = frozenset(t for pattern in _PATTERNS for t in pattern.triggers)
_URL = re.compile(r"^(?:https?://)?(?:www\.)?([^/\s]+\.[^/\s]+)(?:/\S*)?$")


@dataclass(frozen=True, slots=True)
class _Found:
    start: int
    end: int
    relay: str | None
    cites: tuple[str, ...]


def _names(group: str) -> list[str]:
    return [m.group(0) for m in _ONE_NAME.finditer(group)]


def _source_names(value: str) -> list[str]:
    """Names in a "Source:" line: outlets or links, separated by commas or semicolons."""
    names: list[str] = []
    for raw in re.split(r"[,;]|\s+и\s+|\s+and\s+", value):
        part = raw.strip().rstrip(".")
        url = _URL.match(part)
        if url and " " not in part and "." in part:
            names.append(url.group(1).removeprefix("www."))
        elif part:
            names.append(part)
    return names


def _read(match: re.Match[str], pattern: _Pattern, cyrillic: bool) -> _Found | None:
    groups = match.groupdict()
    relay: str | None = None
    if pattern.relay is not None:
        raw = groups["relay"]
        if not _looks_like_outlet(raw, pattern.relay, cyrillic):
            return None
        relay = _clean_name(raw)
    cites: list[str] = []
    if pattern.cite is not None:
        raws = [n for key in ("cite", "cite2") if groups.get(key) for n in _names(groups[key])]
        if groups.get("source"):
            raws = _source_names(groups["source"])
        good = [r for r in raws if _looks_like_outlet(r, pattern.cite, cyrillic)]
        if pattern.relay is None and not good:
            return None
        if len(good) < len(raws) and pattern.relay is None:
            return None  # a list with a non-outlet in it is not a credit line
        cites = [_clean_name(r) for r in good]
    return _Found(match.start(), match.end(), relay, tuple(cites))


# How far past its trigger word a phrase may reach.
_WINDOW_CHARS: Final = 400
_SENTENCE_END = re.compile(r"[.!?…\n]")


def _zones(text: str) -> list[tuple[int, int]]:
    """The head and the tail of ``text``, each ending at a sentence or line end."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return [(0, len(text))]
    stop = _SENTENCE_END.search(text, HEAD_CHARS)
    head_end = stop.end() if stop else len(text)
    tail_start = len(text) - TAIL_CHARS
    stop = _SENTENCE_END.search(text, tail_start)
    tail_start = stop.end() if stop else tail_start
    if tail_start <= head_end:
        return [(0, len(text))]
    return [(0, head_end), (tail_start, len(text))]


def _windows(zone: str, offset: int, triggers: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where a pattern can match in a zone: around its trigger words."""
    spans: list[tuple[int, int]] = []
    for trigger in triggers:
        at = zone.find(trigger)
        while at >= 0:
            spans.append((max(at - 12, 0), min(at + _WINDOW_CHARS, len(zone))))
            at = zone.find(trigger, at + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for begin, stop in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((begin, stop))
    return [(offset + begin, offset + stop) for begin, stop in merged]


def _line_starts(text: str, start: int, end: int) -> list[int]:
    """Where ``^`` (MULTILINE) can match in ``text[start:end]``: at the start of the text
    and after each newline (a search from ``start`` does not count ``start`` itself)."""
    starts = [start] if start == 0 or text[start - 1] == "\n" else []
    at = text.find("\n", start, end)
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1, end)
    return starts


def _script(head: str) -> bool:
    """Whether ``head`` has more Cyrillic letters than Latin ones."""
    if head.isascii():
        return False
    data = head.encode("cp1251", "ignore")
    return len(data.translate(None, _NOT_CYRILLIC_BYTES)) > \
        len(data.translate(None, _NOT_LATIN_BYTES))


#: texts whose credit phrases stay cached: an item's title and text, for a batch of items
CACHED: Final = 128


#: the characters the line patterns need (_Pattern.needs)
_NEEDED: Final = "".join(sorted({c for p in _PATTERNS for group in p.needs for c in group}))
_TRIGGER_LIST: Final = tuple(sorted(_TRIGGERS))
#: ... those an ASCII zone can hold (half the bench's zones: 8 of 12 scans spared there)
_ASCII_TRIGGER_LIST: Final = tuple(t for t in _TRIGGER_LIST if t.isascii())


@functools.lru_cache(maxsize=1024)
def _to_try(present: frozenset[str], needed: frozenset[str]) -> tuple[_Pattern, ...]:
    """The patterns worth trying in a zone, in their order: those with one of their
    trigger words in it (``present``), and those without triggers whose needed characters
    are all in it (one of each group: ``needed`` holds the characters there)."""
    return tuple(pattern for pattern in _PATTERNS
                 if (not present.isdisjoint(pattern.triggers) if pattern.triggers
                     else all(not needed.isdisjoint(group) for group in pattern.needs)))


@functools.lru_cache(maxsize=CACHED)
def _find_all(text: str) -> tuple[_Found, ...]:
    """Credit phrases in the head and tail of ``text``, earliest first, not overlapping.

    Cached for the last texts: an item's plain text is often what its fingerprint
    strips the credits of (attribution runs on it twice, for find_credits and for
    similarity's comparable form). Which patterns a zone needs is looked up by the
    trigger words and characters in it: most zones (a title) need none (26 -> 18 us an
    item of the bench's corpus)."""
    cyrillic: bool | None = None  # (the script: only once a pattern matched)
    found: list[_Found] = []
    for start, end in _zones(text):
        zone = text[start:end].lower()
        # (the zone's length once lowercased, as windows count)
        region = text[start:start + len(zone)]  # what the line patterns read
        triggers = _ASCII_TRIGGER_LIST if zone.isascii() else _TRIGGER_LIST
        patterns = _to_try(frozenset(filter(zone.__contains__, triggers)),
                           frozenset(filter(region.__contains__, _NEEDED)))
        lines: list[int] | None = None
        for pattern in patterns:
            matches: Iterable[re.Match[str] | None]
            if pattern.triggers:  # around its trigger words only
                matches = itertools.chain.from_iterable(
                    pattern.regex.finditer(text, *window)
                    for window in _windows(zone, start, pattern.triggers))
            else:  # it starts with ^ and never crosses a line end: at line starts only
                if lines is None:
                    lines = _line_starts(text, start, start + len(zone))
                matches = map(pattern.regex.match, itertools.repeat(text), lines,
                              itertools.repeat(start + len(zone)))
            for match in matches:
                if match is None:
                    continue
                if cyrillic is None:
                    cyrillic = _script(text[:200])
                item = _read(match, pattern, cyrillic)
                if item is not None:
                    found.append(item)
    return _leftmost_longest(found)


def _leftmost_longest(found: list[_Found]) -> tuple[_Found, ...]:
    """The matches that do not overlap, each the longest of those starting first."""
    found.sort(key=lambda f: (f.start, -f.end))
    chosen: list[_Found] = []
    for item in found:
        if not chosen or item.start >= chosen[-1].end:
            chosen.append(item)
    return tuple(chosen)


def find_credits(text: str) -> Credit | None:
    """The syndication credits in ``text``, or None when it names no outlet."""
    found = _find_all(text)
    if not found:
        return None
    relayed_by = next((f.relay for f in found if f.relay), None)
    seen = {outlet_key(relayed_by)} if relayed_by else set()
    cites: list[str] = []
    for item in found:
        for name in item.cites:
            key = outlet_key(name)
            if key and key not in seen:
                seen.add(key)
                cites.append(name)
    if relayed_by is None and not cites:
        return None
    line = " … ".join(text[f.start:f.end].strip(" ,—–-\t\n") for f in found)
    return Credit(relayed_by=relayed_by, cites=tuple(cites), line=line)


def strip_credits(text: str) -> str:
    """``text`` without its credit phrases and datelines."""
    found = _find_all(text)
    if not found:
        return text
    parts: list[str] = []
    position = 0
    for item in found:
        parts.append(text[position:item.start])
        position = item.end
    parts.append(text[position:])
    return "".join(parts)
