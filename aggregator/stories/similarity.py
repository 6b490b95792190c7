"""Pure near-duplicate detection: comparable text, MinHash fingerprints, LSH band keys and
the verdict on two fingerprints.

The path of one item::

    comparable_text(title, text)   NFKC, casefold, ё -> е, quotes/dashes unified, markup,
                                   credit lines and boilerplate removed, white space folded
    fingerprint(title, text)       5-word shingles -> MinHash signatures of the whole text, of
                                   its lead (first 60 words of the body) and of its opening
                                   (first 20) -> LSH band keys of the whole text and of the
                                   opening (an equal key makes a candidate); the slots a
                                   template fills (numbers, dates, names) and a skeleton hash
    compare(a, b)                  estimated Jaccard and containment (of the smaller in the
                                   larger), template guards -> Match with a reason

The store keeps the band keys in an index and the rest of the fingerprint beside the item;
``compare`` reads only the signature, counts, slots and skeleton (never ``bands``), so a
fingerprint loaded from the store may carry ``bands=()``.

False positives are worse than misses (lemon24/reader's rule for entry_dedupe): texts
that differ only in numbers, dates or names (a daily exchange rate, the weather per
weekday, match reports, a power cut per district) stay apart, short texts need
near-identity, and an excerpt joins a longer copy only when it is contained in it from its
beginning (the second item of a digest is not an excerpt of the digest).

Every tuned constant below comes from ``python -m bench.dedupe.quality`` (figures in
``bench/dedupe/README.md``); :class:`Tuning` carries them so the benchmark can try others.
"""

from __future__ import annotations

import hashlib
import html
import re
import sys
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, cast

from aggregator.stories.attribution import strip_credits
from aggregator.stories.numerals import spelled_numbers
from aggregator.text import contains_any, fold
from aggregator.types import Fingerprint

# The integrator's time window: a candidate older than this is not the same story.
WINDOW: Final = timedelta(days=7)

# --- tuned constants ----------------------------------------------------------------------
# From `python -m bench.dedupe.quality` on a labeled corpus of 5,201 items (figures and the
# choice rule in bench/dedupe/README.md): the highest recall at precision >= 0.995 whose
# thresholds alone (guards off) keep different articles apart; near-ties go to the strictest.
NUM_PERM: Final = 128  # MinHash permutations per signature (whole text, lead, opening)
SHINGLE: Final = 5  # words per shingle (3: no eligible thresholds; 4: recall 0.918; 5: 0.930)
BANDS: Final = 28  # LSH bands over the whole-text signature ...
ROWS: Final = 2  # ... of this many rows each: candidate at Jaccard ~ (1/28)^(1/2) = 0.19
LEAD_BANDS: Final = 4  # LSH bands over the opening's signature ...
LEAD_ROWS: Final = 8  # ... candidate at opening Jaccard ~ (1/4)^(1/8) = 0.84
# (32 keys an item, clustering recall 0.9584; before, 42 x 3 and 16 x 8: 58 keys, 0.9505.
# Changing any of these four changes every band key: the store then needs a migration
# that makes the stored items' keys again, as 0016 did for these, and 0018 for the
# derivation of a band's key: store/migrations/rekey.py)
OPENING_WORDS: Final = 20  # the opening: the body's first words (excerpt candidates, above)
LEAD_WORDS: Final = 60  # the lead: the body's first words, that a short excerpt lies in
OPENING_JACCARD: Final = 0.9  # ... and whose opening it shares this much
MIN_LEAD_SHINGLES: Final = 8  # ... with this many shingles ("Подробности позже." under two
# titles is no evidence)
MIN_WORDS: Final = 8  # below this there is nothing to fingerprint
TITLE_WORDS: Final[int | None] = None  # the title joins the signature when the body has fewer
# words than this; None: always (no difference in the benchmark, and then the signature is
# exactly that of comparable_text)
SHORT_WORDS: Final = 40  # a text shorter than this is "short": it merges on near-identity only
JACCARD: Final = 0.7  # same when the estimated Jaccard similarity reaches this ...
CONTAINMENT: Final = 0.7  # ... or the smaller is contained in the larger this much ...
MIN_SHARED: Final = 6  # ... on at least this many equal signature slots (4-8 tie; 6 lets the
# issue's case, the seed article's first two paragraphs, join it) ...
LEAD_ANCHOR: Final = 0.3  # ... with its lead this much contained in the longer's lead
SHORT_JACCARD: Final = 0.95  # a short text needs this much Jaccard, or to be the lead of
SHORT_CONTAINMENT: Final = 0.95  # the longer text this much (lead signatures)
NUMBERS_MISSING: Final = 0.2  # a template: this share of the shorter text's numbers missing
SLOT_SLACK: Final = 1  # from the longer (one odd number is tolerated when it has more than 3;
# no slack for names: a templated series may differ in one street name)
NAMES_MISSING: Final = 0.1  # a template: this share of the shorter text's names missing (a
# power cut per district, road works per town); 0.2 lets such series merge
SEED: Final = 1  # MinHash permutation seed: changing it invalidates every stored signature


@dataclass(frozen=True, slots=True)
class Tuning:
    """The knobs of fingerprint and compare; the defaults are the chosen constants."""

    num_perm: int = NUM_PERM
    shingle: int = SHINGLE
    bands: int = BANDS
    rows: int = ROWS
    lead_words: int = LEAD_WORDS
    opening_words: int = OPENING_WORDS
    opening_jaccard: float = OPENING_JACCARD
    min_lead_shingles: int = MIN_LEAD_SHINGLES
    lead_bands: int = LEAD_BANDS
    lead_rows: int = LEAD_ROWS
    min_words: int = MIN_WORDS
    title_words: int | None = TITLE_WORDS
    short_words: int = SHORT_WORDS
    jaccard: float = JACCARD
    containment: float = CONTAINMENT
    min_shared: int = MIN_SHARED
    lead_anchor: float = LEAD_ANCHOR
    short_jaccard: float = SHORT_JACCARD
    short_containment: float = SHORT_CONTAINMENT
    numbers_missing: float = NUMBERS_MISSING
    names_missing: float = NAMES_MISSING
    slot_slack: int = SLOT_SLACK

    def __post_init__(self) -> None:
        if self.bands + self.lead_bands > 128:  # a band's number is 7 bits of its key
            raise ValueError("at most 128 LSH bands in all")


DEFAULT: Final = Tuning()

# --- comparable text -----------------------------------------------------------------------

_TAG = re.compile(r"<[^<>]*>")
_ENTITY_LEFT = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.-]+", re.IGNORECASE)
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
_QUOTES = "«»„“”‟‘’‚‛'‹›「」"
_DASHES = "‐‑‒–—―−⸺⸻"
# The three at once: invisible characters dropped, quotes and dashes unified.
_UNIFY: Final = str.maketrans({**dict.fromkeys(_INVISIBLE), **dict.fromkeys(_QUOTES, '"'),
                               **dict.fromkeys(_DASHES, "-")})
# ... as one str.replace per character the text holds (translating a whole text, or a
# regular expression over it, costs more); no replacement is itself replaced
_UNIFIED: Final = tuple((char, str(_UNIFY[ord(char)] or ""))
                        for char in _INVISIBLE + _QUOTES + _DASHES)
# Boilerplate: from the phrase to the end of its sentence or line (at most 300 characters).
_BOILERPLATE_PHRASES = (
    r"подпис(?:ывайтесь|аться|ывайся)\s+на\s+(?:наш|нас|наши|канал)"
    r"|(?:читайте|смотрите)\s+(?:также|еще|ещё|нас|по\s+теме)|новости\s+по\s+теме"
    r"|(?:больше|все)\s+(?:новостей|новости)\s+(?:в|на)\s+(?:нашем|наших)"
    r"|(?:присоединяйтесь|следите)\s+(?:к\s+нам|за\s+нами|за\s+новостями)"
    r"|наш\s+(?:telegram|телеграм)|(?:фото|видео|иллюстрация)\s*[:©-]"
    r"|нашли\s+ошибку|если\s+вы\s+нашли\s+ошибку|выделите\s+(?:ее|её|его|текст|фрагмент)\s+и"
    r"|все\s+права\s+защищены|реклама\b|erid\b"
    r"|при\s+(?:использовании|цитировании)\s+материалов|использование\s+материалов"
    r"|subscribe\s+to\s+our|sign\s+up\s+for\s+our|follow\s+us\s+on|join\s+(?:us|our)\s+on"
    r"|like\s+us\s+on|download\s+our\s+app|(?:read|see)\s+(?:more|also)\b|related\s*:"
    r"|click\s+here|share\s+this\s+(?:article|story|post)|(?:photo|image|video)\s*(?:credit)?\s*:"
    r"|advertisement\b|all\s+rights\s+reserved|copyright\b|©"
)
# Boilerplate: a line that starts with a phrase goes whole (at most 300 characters); a phrase
# inside a line goes to the end of its sentence.
_BOILERPLATE_LINE = re.compile(rf"(?im)^[ \t]*(?:{_BOILERPLATE_PHRASES})[^\n]{{0,300}}$")
_BOILERPLATE = re.compile(
    rf"(?im)(?<=[.!?…])[ \t]*(?:{_BOILERPLATE_PHRASES})[^\n]{{0,300}}?(?:[.!?…](?=\s|$)|$)")
_AGE_MARK = re.compile(r"(?<![\w+])(?:0|6|12|16|18)\+(?![\w+])")  # "18+" age ratings
# One of these is in every boilerplate phrase: the regular expression runs only then.
_BOILERPLATE_WORDS: Final = (
    "подпис", "читайте", "смотрите", "по теме", "новост", "присоединяйтесь", "следите",
    "telegram", "телеграм", "фото", "видео", "иллюстрац", "ошибк", "выделите", "права",
    "реклама", "erid",
    "материал", "subscribe", "sign up", "follow", "join", "like us", "download", "read",
    "see ", "related", "click", "share", "photo", "image", "video", "advertisement",
    "rights", "copyright", "©",
)
_HAS_BOILERPLATE_WORD: Final = contains_any(_BOILERPLATE_WORDS)


# Where a _BOILERPLATE match can start: right after one of these (its look-behind), and
# before the first letter of a phrase (tests/test_similarity.py reads them from the
# phrases): matched as the phrases' letters are, case-insensitively (6.3 -> 2.6 us an item)
_PHRASE_FIRST: Final = "пчснбвфиерesfjldrcpiva©"
_SENTENCE_END: Final = re.compile(rf"(?i)[.!?…][ \t]*(?=[{_PHRASE_FIRST}])")


def _line_starts(text: str) -> Iterator[int]:
    """Where ``^`` (MULTILINE) matches in ``text``."""
    at = 0
    while at >= 0:
        yield at
        at = text.find("\n", at) + 1 or -1


def _removed(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> str:
    """``pattern.sub(" ", text)`` for a pattern that can match only at ``starts`` (in
    order) and never matches nothing: tried there alone, not at every position."""
    pieces: list[str] = []
    last = 0
    for start in starts:
        if start >= last and (found := pattern.match(text, start)) is not None:
            pieces += (text[last:start], " ")
            last = found.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _unify(text: str) -> str:
    """``text.translate(_UNIFY)``."""
    for char, replacement in _UNIFIED:
        if char in text:
            text = text.replace(char, replacement)
    return text


def _prepare(text: str) -> str:
    """Clean ``text`` keeping its case: markup, URLs, credits and boilerplate removed,
    quotes and dashes unified, white space folded."""
    if "<" in text or "&" in text:  # (neither: no tag, no entity)
        text = html.unescape(_TAG.sub(" ", text))
        text = _ENTITY_LEFT.sub(" ", _TAG.sub(" ", text)).replace("<", " ")
    text = unicodedata.normalize("NFKC", text.replace(">", " "))
    text = _unify(text)
    if "@" in text or "//" in text or "www." in text:
        text = _URL.sub(" ", text)
    text = strip_credits(text)
    if _HAS_BOILERPLATE_WORD(text.lower()):
        text = _removed(_BOILERPLATE_LINE, text, _line_starts(text))
        text = _removed(_BOILERPLATE, text,
                        (end.start() + 1 for end in _SENTENCE_END.finditer(text)))
    if "+" in text:
        text = _AGE_MARK.sub(" ", text)
    return " ".join(text.split())


def comparable_text(title: str, text: str) -> str:
    """The form of an item that copies share: NFKC, casefold, ё -> е, quotes and dashes
    unified, markup and URLs removed, credit lines (attribution.strip_credits) and
    boilerplate ("Подписывайтесь на наш Telegram", "Read more: ...") removed, white space
    folded. The title comes first."""
    result = fold(" ".join(p for p in (_prepare(title), _prepare(text)) if p))
    for _ in range(3):  # joining title and body may make a credit or markup of the seam
        again = fold(_prepare(result))
        if again == result:
            break
        result = again
    return result


# --- tokens, numbers, skeleton ---------------------------------------------------------------

_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
_MONTHS: Final = (
    ("jan", r"январ[ьяею]|january"), ("feb", r"феврал[ьяею]|february"),
    ("mar", r"март[ауе]?"), ("apr", r"апрел[ьяею]|april"), ("may", r"ма[йяею]"),
    ("jun", r"июн[ьяею]|june"), ("jul", r"июл[ьяею]|july"), ("aug", r"август[ауе]?"),
    ("sep", r"сентябр[ьяею]|september"), ("oct", r"октябр[ьяею]|october"),
    ("nov", r"ноябр[ьяею]|november"), ("dec", r"декабр[ьяею]|december"),
)
_WEEKDAYS: Final = (
    ("mon", r"понедельник[аеу]?|monday"), ("tue", r"вторник[аеу]?|tuesday"),
    ("wed", r"wednesday"), ("thu", r"четверг[аеу]?|thursday"), ("fri", r"пятниц[аыуе]|friday"),
    ("sat", r"суббот[аыуе]|saturday"), ("sun", r"воскресень[еяю]|sunday"),
)
_DATE_RE = re.compile("|".join(f"(?P<{k}>{p})" for k, p in _MONTHS + _WEEKDAYS))
# Words that are dates only next to a number ("may 3", "3 march") or after a preposition
# ("в среду", "on wednesday" is unambiguous already): "may", "march", "среда" (environment).
_AMBIGUOUS: Final = {"may": "may", "march": "mar", "august": "aug",
                     "среда": "wed", "среду": "wed", "среды": "wed", "среде": "wed"}
_WEEKDAY_KEYS: Final = frozenset(key for key, _ in _WEEKDAYS)
_WEEKDAY_PREPOSITIONS: Final = frozenset({"в", "во", "на", "до", "к", "по", "с", "со"})


_DATE_PREFIXES: Final = frozenset((
    "янв", "фев", "мар", "апр", "май", "мая", "мае", "маю", "июн", "июл", "авг", "сен",
    "окт", "ноя", "дек", "пон", "вто", "чет", "пят", "суб", "вос", "jan", "feb", "apr",
    "jun", "jul", "sep", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
))


def _date_key(tokens: list[str], i: int) -> str | None:
    """The month or weekday key of ``tokens[i]`` ("jul", "mon"), or None."""
    word = tokens[i]
    if word in _AMBIGUOUS:
        before = tokens[i - 1] if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if word.startswith("сред"):
            return "wed" if before in _WEEKDAY_PREPOSITIONS else None
        return _AMBIGUOUS[word] if before[:1].isdigit() or after[:1].isdigit() else None
    if word[:3] not in _DATE_PREFIXES:
        return None
    match = _DATE_RE.fullmatch(word)
    return match.lastgroup if match else None


def _is_word_byte(byte: int) -> bool:
    try:
        return _WORD.fullmatch(bytes([byte]).decode("cp1251")) is not None
    except UnicodeDecodeError:  # (0x98: no character encodes to it)
        return False


# windows-1251 (ASCII, Cyrillic) bytes: word characters as they are, the others a space
_WORD_BYTES: Final = bytes(byte if _is_word_byte(byte) else 0x20 for byte in range(256))


def _words_of(folded: str) -> tuple[list[str], bool]:
    """``_WORD.findall(folded)``, and whether ``folded`` may hold a number (a digit).

    For a text windows-1251 can encode (ASCII and Russian, as most are): its encoding
    with each character that is not a word character made a space, split (a regular
    expression's scan costs more: 27 -> 20 us an item), and its only digits are 0-9."""
    try:
        data = folded.encode("cp1251")
    except UnicodeEncodeError:
        return _WORD.findall(folded), True
    return (data.translate(_WORD_BYTES).decode("cp1251").split(),
            len(data.translate(None, b"0123456789")) < len(data))


def _tokens(cased: str) -> tuple[list[str], str]:
    """The folded words of a prepared text, and the folded text ("" when it holds no
    digit: no number to look for)."""
    folded = fold(cased)
    words, digits = _words_of(folded)
    return words, folded if digits else ""


# r"\b[A-ZÀ-ÖØ-ÞА-ЯЁΑ-Ω]\w*", the boundary checked after the capital (the same matches): a
# pattern that starts with a set of characters skips to them at C speed
_CAPITALISED = re.compile(r"[A-ZÀ-ÖØ-ÞА-ЯЁΑ-Ω](?<=\b.)\w*")


def _names(cased: str) -> set[str]:
    """The names of a prepared text (capitalised words that do not start a sentence),
    folded."""
    names: set[str] = set()
    for match in _CAPITALISED.finditer(cased):
        before = cased[max(match.start() - 12, 0):match.start()].rstrip(" \"(-")
        if before and before[-1] not in ".!?…:":
            names.add(fold(match.group()))
    return names


def _positions(words: list[str], wanted: set[str]) -> list[int]:
    """Where ``words`` holds one of ``wanted``, in order (list.index scans faster than a
    loop over every word)."""
    found: list[int] = []
    for word in wanted:
        at = words.index(word)  # (each of wanted is in words)
        while True:
            found.append(at)
            try:
                at = words.index(word, at + 1)
            except ValueError:
                break
    found.sort()
    return found


# The words _datelike has read, and those of them that may be dates: a feed's items share
# most of their words, each is read once (bench: 12.7 -> 6.9 us an item). Forgotten all
# at once past _SEEN_MAX words (about 1.5 MB). Safe in threads: the sets are replaced,
# never emptied, and a word joins the dates before the words read.
_SEEN: Final[list[tuple[set[str], set[str]]]] = [(set(), set())]
_SEEN_MAX = 1 << 14


def _datelike(distinct: set[str]) -> set[str]:
    """The words of ``distinct`` that may be dates: ``{word for word in distinct if
    word[:3] in _DATE_PREFIXES or word in _AMBIGUOUS}``."""
    seen, dates = _SEEN[0]
    unknown = distinct - seen
    if unknown:
        if len(seen) + len(unknown) > _SEEN_MAX:
            seen, dates = _SEEN[0] = (set(), set())
            unknown = distinct
        dates.update([word for word in unknown
                      if word[:3] in _DATE_PREFIXES or word in _AMBIGUOUS])
        seen.update(unknown)
    return distinct & dates


def _mask(folded: list[str], names: set[str],
          digits: bool = True) -> tuple[list[str], dict[int, str]]:
    """The folded words with numbers, dates and names masked, and the date words found,
    by position ("jul", "mon"). ``digits``: False when no word has a digit."""
    masks = dict.fromkeys(names, "A")
    distinct = set(folded)  # each word once: a number, maybe a date, a name or itself
    if digits:
        masks.update(dict.fromkeys([word for word in distinct if word[0].isdigit()], "0"))
    # (a word that starts with a digit has no date prefix and is not ambiguous)
    datelike = _datelike(distinct)
    dates = {i: key for i in _positions(folded, datelike)
             if (key := _date_key(folded, i))} if datelike else {}
    masked = list(map(masks.get, folded, folded))
    for i in dates:  # a date word starts with a letter: no number is masked as a date
        masked[i] = "@"
    return masked, dates


def _dates(folded: list[str], dates: dict[int, str]) -> set[str]:
    """Date slots: months and weekdays ("jul", "mon") and days of months ("jul3")."""
    found = set(dates.values())
    for i, key in dates.items():
        for j in (i - 1, i + 1):
            if 0 <= j < len(folded) and folded[j].isdigit() and 0 < int(folded[j]) <= 31 \
                    and key not in _WEEKDAY_KEYS:
                found.add(f"{key}{int(folded[j])}")
    return found


def _slots(title: tuple[str, list[str], dict[int, str]],
           body: tuple[str, list[str], dict[int, str]]) -> set[str]:
    """The slots a template fills: numbers ("89.5", and "15" for "пятнадцати" or
    "fifteen": numerals.spelled_numbers) and dates ("jul3") of the body, those only the
    title has ("t:27", "t:aug27")."""
    def of(text: str, folded: list[str], dates: dict[int, str]) -> set[str]:
        return ({n.replace(",", ".") for n in _NUMBER.findall(text)}
                | {str(n) for n in spelled_numbers(folded)} | _dates(folded, dates))

    in_body = of(*body)
    return in_body | {f"t:{slot}" for slot in of(*title) - in_body}


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


# --- fingerprints ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Words:
    """What a fingerprint takes from an item's words, before MinHash."""

    signed: list[str]  # the words signed: the title's (unless tuning leaves it out), the body's
    body_tokens: list[str]
    slots: tuple[str, ...]
    skeleton_hash: str


def _words(title: str, text: str, tuning: Tuning) -> _Words | None:
    """The words, slots and skeleton of an item, or None when it has too little text."""
    cased_title, cased_body = _prepare(title), _prepare(text)
    title_tokens, title_text = _tokens(cased_title)
    body_tokens, body_text = _tokens(cased_body)
    with_title = tuning.title_words is None or len(body_tokens) < tuning.title_words
    signed = title_tokens + body_tokens if with_title else body_tokens
    if len(signed) < tuning.min_words:
        return None
    body_names = _names(cased_body)
    every = signed if with_title else title_tokens + body_tokens
    # (no digit in a text windows-1251 encodes without 0-9: _tokens gives it as "")
    masked, dates = _mask(every, body_names | _names(cased_title),
                          digits=bool(title_text or body_text))
    masked_signed = masked if with_title else masked[len(title_tokens):]
    cut = len(title_tokens)
    slots = _slots((title_text, title_tokens, {i: k for i, k in dates.items() if i < cut}),
                   (body_text, body_tokens, {i - cut: k for i, k in dates.items() if i >= cut}))
    slots.update("@" + name for name in body_names)
    return _Words(signed, body_tokens, tuple(sorted(slots)),
                  _digest(" ".join(masked_signed).encode()))


def fingerprint(title: str, text: str, tuning: Tuning = DEFAULT) -> Fingerprint | None:
    """The fingerprint of an item, or None when it has too little text (one item alone:
    :func:`fingerprints` costs less per item for many, more for one)."""
    words = _words(title, text, tuning)
    return None if words is None else _one_by_one(words, tuning)


def fingerprints(items: Sequence[tuple[str, str]], tuning: Tuning = DEFAULT, *,
                 with_bands: bool = True) -> list[Fingerprint | None]:
    """The fingerprints of items (title, text), as :func:`fingerprint` makes them one by
    one: the MinHash arithmetic of all of them runs in one numpy pass (a feed's items
    together cost less than each alone). ``with_bands=False``: without band keys
    (``bands=()``, all :func:`compare` reads; a stored candidate's, made again)."""
    words = [_words(title, text, tuning) for title, text in items]
    # numpy loads here, in the processes that make fingerprints, not where they are compared
    from aggregator.stories import minhash

    found: list[Fingerprint | None] = [None] * len(words)
    together = [i for i, w in enumerate(words) if w is not None and len(w.signed) >= tuning.shingle
                and (len(w.body_tokens) >= tuning.shingle or not w.body_tokens)]
    if together:
        signed = [cast(_Words, words[i]) for i in together]
        hashes, starts = minhash.shingle_hashes_of_many([w.signed for w in signed],
                                                        tuning.shingle)
        whole, lead, opening = minhash.signatures_of_many(
            hashes, starts,
            [len(w.signed) - len(w.body_tokens) if w.body_tokens else 0 for w in signed],
            seed=SEED, num_perm=tuning.num_perm,
            opening_end=max(tuning.opening_words - tuning.shingle + 1, 1),
            lead_end=max(tuning.lead_words - tuning.shingle + 1, 1))
        bands: list[list[int]] = [[]] * len(signed)
        lead_bands = bands
        if with_bands:
            bands = minhash.band_keys_of_many(whole, tuning.bands, tuning.rows, lead=False)
            lead_bands = minhash.band_keys_of_many(opening, tuning.lead_bands,
                                                   tuning.lead_rows, lead=True)
        packed = minhash.packed_rows(whole, lead, opening)
        shingles = minhash.distinct_of_many(hashes, starts)
        lead_end = max(tuning.lead_words - tuning.shingle + 1, 1)
        for n, (i, w) in enumerate(zip(together, signed, strict=True)):
            body = min(starts[n] + len(w.signed) - len(w.body_tokens) if w.body_tokens
                       else starts[n], starts[n + 1])
            found[i] = Fingerprint(
                words=len(w.signed),
                shingles=shingles[n],
                signature=packed[n],
                bands=tuple(bands[n] + lead_bands[n]),
                numbers=w.slots,
                skeleton_hash=w.skeleton_hash,
                lead=minhash.packed(hashes[body:min(body + lead_end, starts[n + 1])])
                if with_bands else None,
            )
    for i, alone in enumerate(words):
        if alone is not None and found[i] is None:
            found[i] = _one_by_one(alone, tuning, with_bands=with_bands)
    return found


def _one_by_one(w: _Words, tuning: Tuning, *, with_bands: bool = True) -> Fingerprint:
    """The fingerprint of one item, its MinHash arithmetic alone (also for the texts
    :func:`fingerprints` leaves out: a body shorter than a shingle, or a text)."""
    from aggregator.stories import minhash

    def signatures(hashes: Any, body_start: int) -> tuple[Any, Any, Any]:
        return minhash.signatures(
            hashes, body_start, seed=SEED, num_perm=tuning.num_perm,
            opening_end=max(tuning.opening_words - tuning.shingle + 1, 1),
            lead_end=max(tuning.lead_words - tuning.shingle + 1, 1))

    signed, body_tokens = w.signed, w.body_tokens
    hashes = minhash.shingle_hashes(signed, tuning.shingle)
    if len(body_tokens) >= tuning.shingle or not body_tokens:
        body_start = min(len(signed) - len(body_tokens) if body_tokens else 0, len(hashes))
        whole, lead, opening = signatures(hashes, body_start)
        lead_hashes = hashes[body_start:body_start + max(
            tuning.lead_words - tuning.shingle + 1, 1)]
    else:  # a body shorter than a shingle is one shingle of its own
        whole = signatures(hashes, len(hashes))[0]
        lead_hashes = minhash.shingle_hashes(body_tokens, tuning.shingle)
        lead = opening = signatures(lead_hashes, len(lead_hashes))[0]
    bands: list[int] = []
    if with_bands:
        bands = minhash.band_keys(whole, tuning.bands, tuning.rows, lead=False)
        bands += minhash.band_keys(opening, tuning.lead_bands, tuning.lead_rows, lead=True)
    return Fingerprint(
        words=len(signed),
        shingles=minhash.distinct(hashes),
        signature=minhash.packed(whole, lead, opening),
        bands=tuple(bands),
        numbers=w.slots,
        skeleton_hash=w.skeleton_hash,
        lead=minhash.packed(lead_hashes) if with_bands else None,
    )


# --- the verdict -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """Whether two fingerprints are the same story, with the figures that decided it."""

    same: bool
    jaccard: float  # estimated from the signatures
    containment: float  # estimated containment of the smaller text in the larger
    reason: str  # a sentence for `aggregator explain`


def _unpack(fp: Fingerprint) -> tuple[array[int], array[int], array[int]]:
    """The signatures of the whole text, its lead and its opening (little-endian uint32)."""
    values = array("I", fp.signature)
    if sys.byteorder == "big":
        values.byteswap()
    third = len(values) // 3
    return values[:third], values[third:2 * third], values[2 * third:]


def _containment(small: array[int], large: array[int]) -> tuple[int, float]:
    """Equal slots, and the share of the smaller set inside the larger.

    A slot's minimum over the union falls in the intersection (equal values), in the
    smaller set only (its value is lower) or in the larger only: equal / (equal + lower)
    estimates |S & L| / |S| directly, which stays sharp when the sizes differ a lot.
    """
    equal = sum(map(int.__eq__, small, large))
    lower = sum(map(int.__lt__, small, large))
    return equal, (equal / (equal + lower) if equal + lower else 0.0)


@dataclass(frozen=True, slots=True)
class _Slots:
    """A fingerprint's template slots by kind."""

    numbers: frozenset[str]
    dates: frozenset[str]
    title: frozenset[str]
    names: frozenset[str]

    @classmethod
    def of(cls, fp: Fingerprint) -> _Slots:
        groups: dict[str, set[str]] = {"n": set(), "d": set(), "t": set(), "@": set()}
        for slot in fp.numbers:
            if slot.startswith("t:"):
                groups["t"].add(slot[2:])
            elif slot.startswith("@"):
                groups["@"].add(slot[1:])
            else:
                groups["n" if slot[0].isdigit() else "d"].add(slot)
        return cls(*(frozenset(groups[k]) for k in ("n", "d", "t", "@")))

    @property
    def every(self) -> set[str]:
        return set(self.numbers | self.dates | self.title)

    def conflict(self, longer: _Slots, tuning: Tuning) -> str | None:
        """Why a template rather than a copy: the shorter text (self) has dates the longer
        lacks, or too many of its numbers or names are not in the longer, or both titles
        carry dates or numbers and they differ."""
        missing = self.dates - longer.dates
        if missing:
            return f"dates of the shorter text are not in the longer: {_listed(missing)}"
        missing = self.numbers - longer.numbers
        if _too_many(missing, self.numbers, tuning.numbers_missing, tuning.slot_slack):
            return f"numbers of the shorter text are not in the longer: {_listed(missing)}"
        if self.title and longer.title and not (self.title <= longer.title
                                                or longer.title <= self.title):
            return (f"the titles carry other numbers or dates: {_listed(set(self.title))} vs "
                    f"{_listed(set(longer.title))}")
        missing = self.names - longer.names
        if _too_many(missing, self.names, tuning.names_missing, 0):
            return f"names of the shorter text are not in the longer: {_listed(missing)}"
        return None


def _too_many(missing: frozenset[str], mine: frozenset[str], share: float, slack: int) -> bool:
    """Whether ``missing`` (of ``mine``) marks a template: at least ``share`` of them, and
    more than ``slack`` of them unless there are only a few (a copy may add a figure)."""
    if not missing or len(missing) < share * len(mine):
        return False
    return len(missing) > slack or len(mine) <= 3


def _size(signature: array[int]) -> float:
    """The number of distinct shingles a MinHash signature was made of, estimated from its
    minima (about 1 / (n + 1) of the hash range each): a body without its title."""
    # the sum of the minima as integers (< 2^40) and its scaling are exact in a float, as
    # the sum of the scaled minima was
    return len(signature) / (sum(signature) / 2.0**32) - 1


def _listed(values: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted(values)[:6]) + (" …" if len(values) > 6 else "")


def compare(a: Fingerprint, b: Fingerprint, tuning: Tuning = DEFAULT) -> Match:
    """Whether ``a`` and ``b`` are the same story."""
    if len(a.signature) != len(b.signature):
        raise ValueError("fingerprints made with different NUM_PERM cannot be compared")
    small, large = sorted((a, b), key=lambda f: (f.shingles, f.words, f.signature))
    (small_sig, small_lead, small_opening), (large_sig, large_lead, large_opening) = (
        _unpack(small), _unpack(large))
    perms = len(small_sig)
    equal, contained = _containment(small_sig, large_sig)
    jaccard = equal / perms

    def verdict(same: bool, reason: str) -> Match:
        return Match(same, round(jaccard, 4), round(contained, 4), reason)

    figures = f"Jaccard {jaccard:.2f}, containment {contained:.2f}"
    mine, theirs = _Slots.of(small), _Slots.of(large)
    conflict = mine.conflict(theirs, tuning)
    if equal == perms and not conflict:
        return verdict(True, f"same text after normalization ({figures})")
    if small.skeleton_hash == large.skeleton_hash:
        return verdict(False, "templated series: the same text with other numbers, dates or "
                              f"names ({_listed(mine.every ^ theirs.every) or 'names'} differ)")
    if conflict:
        return verdict(False, f"templated series? {conflict} ({figures})")
    short = small.words < tuning.short_words
    if jaccard >= (tuning.short_jaccard if short else tuning.jaccard):
        return verdict(True, f"{figures}: Jaccard >= "
                             f"{tuning.short_jaccard if short else tuning.jaccard}"
                             + (f" (short text, {small.words} words)" if short else ""))
    # An excerpt starts where the longer text starts (a digest that quotes it does not):
    # its lead lies in the longer's lead.
    lead_equal, lead_contained = _containment(small_lead, large_lead)
    if not short and equal >= tuning.min_shared and contained >= tuning.containment \
            and lead_contained >= tuning.lead_anchor:
        return verdict(True, f"{figures}: the shorter ({small.words} words) is contained in "
                             f"the longer ({large.words} words), from its lead "
                             f"(lead containment {lead_contained:.2f})")
    # A short excerpt lies inside the longer's lead and opens with the same words: the
    # second paragraph of a digest does not.
    needed = tuning.short_containment if short else tuning.containment
    opening = sum(map(int.__eq__, small_opening, large_opening)) / perms
    if small.words <= tuning.lead_words and lead_equal >= tuning.min_shared \
            and lead_contained >= needed and _size(small_lead) >= tuning.min_lead_shingles \
            and opening >= tuning.opening_jaccard:
        return verdict(True, f"{figures}: the shorter ({small.words} words) is the lead of the "
                             f"longer (lead containment {lead_contained:.2f} >= {needed})")
    if short:
        return verdict(False, f"{figures}: a short text ({small.words} words) needs Jaccard >= "
                              f"{tuning.short_jaccard} or to be the lead of the longer")
    return verdict(False, f"{figures}: below Jaccard {tuning.jaccard} and containment "
                          f"{tuning.containment}")


def band_threshold(bands: int, rows: int) -> float:
    """The Jaccard similarity at which two texts become candidates half the time."""
    return float((1 / bands) ** (1 / rows))


__all__ = [
    "BANDS",
    "CONTAINMENT",
    "DEFAULT",
    "JACCARD",
    "LEAD_ANCHOR",
    "LEAD_BANDS",
    "LEAD_ROWS",
    "LEAD_WORDS",
    "MIN_LEAD_SHINGLES",
    "MIN_SHARED",
    "MIN_WORDS",
    "NAMES_MISSING",
    "NUMBERS_MISSING",
    "NUM_PERM",
    "OPENING_JACCARD",
    "OPENING_WORDS",
    "ROWS",
    "SEED",
    "SHINGLE",
    "SHORT_CONTAINMENT",
    "SHORT_JACCARD",
    "SHORT_WORDS",
    "SLOT_SLACK",
    "TITLE_WORDS",
    "WINDOW",
    "Fingerprint",
    "Match",
    "Tuning",
    "band_threshold",
    "comparable_text",
    "compare",
    "fingerprint",
    "fingerprints",
]
