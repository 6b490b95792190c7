from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from re import _constants, _parser  # type: ignore[attr-defined]
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.stories import similarity
from aggregator.stories.similarity import (
    _AMBIGUOUS,
    _BOILERPLATE,
    _BOILERPLATE_LINE,
    _BOILERPLATE_PHRASES,
    _CAPITALISED,
    _DASHES,
    _DATE_PREFIXES,
    _INVISIBLE,
    _PHRASE_FIRST,
    _QUOTES,
    _SENTENCE_END,
    _UNIFY,
    BANDS,
    DEFAULT,
    LEAD_BANDS,
    NUM_PERM,
    WINDOW,
    Fingerprint,
    Tuning,
    _date_key,
    _datelike,
    _line_starts,
    _mask,
    _names,
    _one_by_one,
    _positions,
    _removed,
    _unify,
    _words,
    _words_of,
    comparable_text,
    compare,
    fingerprint,
    fingerprints,
)
from aggregator.text import fold

SEED = (Path(__file__).parent / "data" / "seed-article.ru.txt").read_text(encoding="utf-8")
SEED_TITLE, SEED_BODY = SEED.split("\n", 1)
PARAGRAPHS = [p for p in SEED_BODY.split("\n") if p.strip()]

# Another article on Kazakhstan-Russia relations: the same people and places, other news.
OTHER_ARTICLE = """\
Путин прибыл в Астану с государственным визитом

Президент России Владимир Путин прибыл в Астану с государственным визитом. В аэропорту \
его встретил Президент Казахстана Касым-Жомарт Токаев, сообщает пресс-служба Акорды.

В ходе переговоров в узком и расширенном составах главы государств обсудят торгово-\
экономическое сотрудничество, энергетику, транспорт и гуманитарные связи. Ожидается, что \
по итогам визита будет подписан пакет межправительственных соглашений.

Особое внимание стороны уделят поставкам российского газа в северные и восточные регионы \
Казахстана, а также строительству новых угольных электростанций в Кокшетау, Семее и \
Усть-Каменогорске с участием российских компаний.

Кроме того, лидеры обсудят использование космодрома Байконур, сотрудничество в сфере \
образования и открытие филиалов российских университетов в казахстанских городах.

В программе визита также значатся встреча с представителями деловых кругов двух стран и \
посещение выставки совместных промышленных проектов. Завершится визит неформальным ужином \
в резиденции Президента Казахстана.
"""
OTHER_TITLE, OTHER_BODY = OTHER_ARTICLE.split("\n", 1)


def _fp(title: str, text: str) -> Fingerprint:
    result = fingerprint(title, text)
    assert result is not None
    return result


def _edited_copy(text: str) -> str:
    """The seed article as another outlet republishes it."""
    text = text.replace("«", '"').replace("»", '"').replace("ё", "е").replace("—", "-")
    text = text.replace('передает Turantimes.kz со ссылкой на газету "Известия"',
                        "сообщает Kazinform")
    return text + "\n\nПодписывайтесь на наш Telegram-канал, чтобы быть в курсе событий."


# --- comparable text --------------------------------------------------------------------


@pytest.mark.parametrize(("title", "text", "expected"), [
    ("Заголовок", "Текст", "заголовок текст"),
    ("", "«Ёлка» — „праздник“", '"елка" - "праздник"'),
    ("", "<p>One &amp; <b>two</b></p><p>three</p>", "one & two three"),
    ("", "Read https://example.com/a?utm_source=x now", "read now"),
    ("", "ＦＵＬＬ　ｗｉｄｔｈ ﬁne", "full width fine"),
    ("", "Сделка закрыта, передает Zakon.kz со ссылкой на газету «Известия».",
     "сделка закрыта."),
    ("", "Текст.\nПодписывайтесь на наш Telegram-канал, чтобы быть в курсе.\nКонец.",
     "текст. конец."),
    ("", "Text.\nRead more: Another story about 3 things\nEnd.", "text. end."),
    ("", "Text. Follow us on X and Facebook. End.", "text. end."),
    ("", "Текст. Реклама. 18+", "текст."),
    ("", "Нашли ошибку? Выделите ее и нажмите Ctrl+Enter.", ""),
])
def test_comparable_text(title: str, text: str, expected: str) -> None:
    assert comparable_text(title, text) == expected


@given(st.text(max_size=300), st.text(max_size=60))
def test_comparable_text_is_idempotent(text: str, title: str) -> None:
    once = comparable_text(title, text)
    assert comparable_text("", once) == once


# --- fingerprints -------------------------------------------------------------------------


def test_fingerprint_shape() -> None:
    fp = _fp(SEED_TITLE, SEED_BODY)
    assert len(fp.signature) == 3 * 4 * NUM_PERM
    assert len(fp.bands) == BANDS + LEAD_BANDS == len(set(fp.bands))
    assert all(-(1 << 63) <= key < (1 << 63) for key in fp.bands)  # fits a BIGINT
    numbers = [(key + (1 << 62)) & 0x7F for key in fp.bands]  # each key's band number
    assert numbers == list(range(BANDS)) + [127 - b for b in range(LEAD_BANDS)]
    assert fp.words > 600 and 0 < fp.shingles <= fp.words
    assert {"2023", "23", "49"} <= set(fp.numbers)
    assert "@токаев" in fp.numbers  # names are slots too
    assert len(fp.skeleton_hash) == 16
    assert WINDOW.days == 7


@pytest.mark.parametrize("text", ["", "Коротко.", "Слишком мало слов для отпечатка"])
def test_too_little_text_has_no_fingerprint(text: str) -> None:
    assert fingerprint("", text) is None


def test_fingerprints_are_deterministic() -> None:
    assert _fp(SEED_TITLE, SEED_BODY) == _fp(SEED_TITLE, SEED_BODY)


def test_nfkc_and_yo_variants_have_one_fingerprint() -> None:
    variants = [
        SEED_BODY,
        unicodedata.normalize("NFD", SEED_BODY),
        SEED_BODY.replace("ё", "е").replace("Ё", "Е"),
        SEED_BODY.replace(" ", "\u00a0").replace("2023", "２０２３"),
    ]
    assert len({_fp(SEED_TITLE, v) for v in variants}) == 1


WORDS = st.sampled_from((
    "the", "a", "of", "and", "to", "in", "storm", "city", "council", "vote", "budget", "river",
    "bridge", "road", "port", "министр", "город", "мост", "река", "школа", "бюджет", "порт",
    "дорога", "совет", "решение", "план", "3", "2024", "Москва", "Reuters",
))


@settings(max_examples=40, deadline=None)
@given(st.lists(WORDS, min_size=8, max_size=200), st.lists(WORDS, min_size=0, max_size=200))
def test_compare_is_symmetric(a: list[str], b: list[str]) -> None:
    fa, fb = fingerprint("", " ".join(a)), fingerprint("", " ".join(b))
    if fa is not None and fb is not None:
        assert compare(fa, fb).same == compare(fb, fa).same
        assert compare(fa, fb).jaccard == compare(fb, fa).jaccard


@settings(max_examples=40, deadline=None)
@given(st.lists(WORDS, min_size=8, max_size=300))
def test_a_text_is_the_same_as_itself(words: list[str]) -> None:
    fp = _fp("", " ".join(words))
    match = compare(fp, fp)
    assert match.same and match.jaccard == 1.0


@given(st.lists(st.sampled_from("abcd"), max_size=30), st.sets(st.sampled_from("abcd")))
def test_positions_are_those_of_the_wanted_words(words: list[str], wanted: set[str]) -> None:
    wanted &= set(words)
    assert _positions(words, wanted) == [i for i, w in enumerate(words) if w in wanted]


TEXT = st.lists(WORDS, max_size=80).map(" ".join)
TUNINGS = st.sampled_from([Tuning(), Tuning(title_words=20), Tuning(shingle=3, min_words=2),
                           Tuning(lead_words=10, opening_words=12)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT), max_size=8), TUNINGS)
def test_fingerprints_together_are_those_made_one_by_one(items: list[tuple[str, str]],
                                                         tuning: Tuning) -> None:
    """fingerprints batches the MinHash arithmetic of many items: each fingerprint must be
    the one the item alone makes (_one_by_one: the arithmetic item by item)."""
    alone = [w and _one_by_one(w, tuning) for w in (_words(t, x, tuning) for t, x in items)]
    assert fingerprints(items, tuning) == alone
    assert [fingerprint(t, x, tuning) for t, x in items] == alone
    # a stored candidate's, made again: the same but for the band keys
    assert fingerprints(items, tuning, with_bands=False) == [
        fp and Fingerprint(fp.words, fp.shingles, fp.signature, (), fp.numbers,
                           fp.skeleton_hash) for fp in alone]


# --- the verdict ---------------------------------------------------------------------------


def test_an_edited_copy_of_the_seed_article_is_the_same_story() -> None:
    match = compare(_fp(SEED_TITLE, SEED_BODY),
                    _fp("Токаев написал статью для «Известий»", _edited_copy(SEED_BODY)))
    assert match.same, match.reason
    assert match.jaccard > 0.9


def test_the_first_two_paragraphs_join_the_full_article() -> None:
    excerpt = _fp(SEED_TITLE, "\n".join(PARAGRAPHS[:2]))
    match = compare(_fp(SEED_TITLE, SEED_BODY), excerpt)
    assert match.same, match.reason
    assert match.jaccard < 0.3 and match.containment > 0.9
    assert "contained" in match.reason or "lead" in match.reason


def test_the_lead_paragraph_of_an_edited_copy_joins_too() -> None:
    match = compare(_fp(SEED_TITLE, SEED_BODY),
                    _fp("Статья Токаева в «Известиях»", _edited_copy(PARAGRAPHS[0])))
    assert match.same, match.reason


def test_two_articles_on_kazakhstan_russia_relations_stay_apart() -> None:
    match = compare(_fp(SEED_TITLE, SEED_BODY), _fp(OTHER_TITLE, OTHER_BODY))
    assert not match.same, match.reason
    assert match.jaccard < 0.1


def test_a_digest_quoting_the_lead_is_not_the_story() -> None:
    digest = ("Главные новости к этому часу.\n\n" + OTHER_BODY.split("\n\n")[0] + "\n\n"
              + PARAGRAPHS[0] + "\n\nКурс доллара снизился на 3 тенге.")
    match = compare(_fp("Главное за день", digest), _fp(SEED_TITLE, PARAGRAPHS[0]))
    assert not match.same, match.reason


def _rate(day: int, rate: str, euro: str) -> tuple[str, str]:
    title = f"Курс доллара на {day} июля"
    text = (f"Курс доллара на {day} июля: {rate} рубля. Центральный банк России установил "
            f"официальный курс доллара США на {day} июля в размере {rate} рубля, евро - "
            f"{euro} рубля. На Московской бирже торги проходили спокойно, объем сделок "
            "остался на уровне прошлой недели. Аналитики ожидают, что в ближайшие дни курс "
            "будет колебаться в узком диапазоне. Напомним, официальный курс устанавливается "
            "по итогам торгов на бирже и действует со следующего дня, а коммерческие банки "
            "устанавливают свои курсы покупки и продажи валюты самостоятельно.")
    return title, text


def test_a_daily_exchange_rate_series_stays_apart() -> None:
    july3, july4 = _fp(*_rate(3, "89,5", "96,1")), _fp(*_rate(4, "89,7", "96,3"))
    match = compare(july3, july4)
    assert not match.same
    assert "templated series" in match.reason
    assert match.jaccard > 0.5  # similar text: only the guard keeps them apart


def test_a_copy_of_one_days_exchange_rate_joins_it() -> None:
    title, text = _rate(3, "89,5", "96,1")
    copy = "МОСКВА, 3 июля. /ТАСС/. " + text.replace(" - ", " — ") + "\nИсточник: ТАСС"
    match = compare(_fp(title, text), _fp("Доллар подешевел", copy))
    assert match.same, match.reason


def test_the_same_rate_on_another_day_stays_apart() -> None:
    match = compare(_fp(*_rate(3, "89,5", "96,1")), _fp(*_rate(4, "89,5", "96,1")))
    assert not match.same, match.reason


def _weather(day: str, high: int, low: int) -> tuple[str, str]:
    return (f"Weather for {day}", f"Weather for {day}: sunny skies over the city with highs "
            f"of {high} degrees and a light breeze from the west. Expect a mild evening with "
            f"temperatures falling to {low} degrees overnight. Forecasters advise residents "
            "to drink plenty of water and check on elderly neighbours.")


def test_weather_for_monday_and_tuesday_stay_apart() -> None:
    match = compare(_fp(*_weather("Monday", 25, 15)), _fp(*_weather("Tuesday", 27, 16)))
    assert not match.same
    assert "templated series" in match.reason


def test_weather_with_equal_figures_on_other_days_stays_apart() -> None:
    match = compare(_fp(*_weather("Monday", 25, 15)), _fp(*_weather("Tuesday", 25, 15)))
    assert not match.same, match.reason


def test_templated_posts_that_differ_in_a_name_stay_apart() -> None:
    template = ("Drivers in Springfield should expect delays on {} between 9 a.m. and 5 p.m. "
                "on Saturday as crews repave the road. Traffic will be detoured along Route 9. "
                "Officials ask residents to avoid the area and to follow posted signs.")
    match = compare(_fp("Road work", template.format("Main Street")),
                    _fp("Road work", template.format("Oak Avenue")))
    assert not match.same, match.reason


def test_short_texts_merge_only_when_nearly_identical() -> None:
    line = ("Президент Казахстана Касым-Жомарт Токаев опубликовал статью в российской газете "
            "«Известия».")
    copy = line.replace("«", '"').replace("»", '"').rstrip(".") + ", сообщает Kazinform."
    same_title = compare(_fp("Статья Токаева в «Известиях»", line),
                         _fp("Статья Токаева в \"Известиях\"", copy))
    other_title = compare(_fp("Статья Токаева в «Известиях»", line),
                          _fp("Глава государства выступил в российской прессе с программной "
                              "речью о союзничестве", line))
    placeholder = compare(_fp("Курс доллара вырос на 2 тенге", "Подробности позже."),
                          _fp("Курс евро вырос на 2 тенге", "Подробности позже."))
    assert same_title.same, same_title.reason
    assert not other_title.same, other_title.reason  # one 13-word line is not enough
    assert not placeholder.same, placeholder.reason


def test_compare_refuses_fingerprints_of_other_sizes() -> None:
    small = fingerprint(SEED_TITLE, SEED_BODY, Tuning(num_perm=64, bands=16, rows=4,
                                                      lead_bands=16, lead_rows=4))
    assert small is not None
    with pytest.raises(ValueError, match="NUM_PERM"):
        compare(small, _fp(SEED_TITLE, SEED_BODY))


def test_reasons_carry_the_figures() -> None:
    match = compare(_fp(SEED_TITLE, SEED_BODY), _fp(OTHER_TITLE, OTHER_BODY))
    assert f"{match.jaccard:.2f}" in match.reason
    assert f"{match.containment:.2f}" in match.reason


# The signatures of these texts as datasketch 2.0's MinHash ("affine32") made them before
# similarity.py computed them itself, and their band keys with the bands of the index up
# to migration 0016 (42 x 3, 16 x 8) as migration 0003 converts the text keys stored
# before it: stored fingerprints stay valid and matchable, and a downgrade of 0016 makes
# the keys a store had.
PINNED = {
    "seed": ("56894ab7e735dba56474a4cf465ab565b032c80d71b6ce4c03b91e0694c35a84",
             "8b8a7665a106c486959b5e1884970a16d04ca656cd35d1500f6db0cfc8bdc0b6"),
    "short": ("7b9030921252140b89ffd700e213a7a104afba406f22dae948308a2d90a866bf",
              "96880b05dbc188619584dfb5afd82acc00fcfb92160997ad181cb4fa11a3e571"),
    "short body": ("c550cdc1e6675bc099ec44b48cbdb717c5d380dac73c94cece217bb9a0062e13",
                   "94cb8169d2daefd7c8587dc4e12a5dadb1e4962b27251cca30f0a4f7ec7810b7"),
    "long random": ("697a9708759770640a75a6449afae9b55265a2ab82a8db761276032c8b4b85bc",
                    "4a406efbbbfa315935cb8f560d4fefb4c102c179bba0e89b6ca8689388cefec4"),
}


def _pinned_cases() -> dict[str, tuple[str, str]]:
    import random

    title, _, body = SEED.partition("\n\n")
    rng = random.Random(7)
    words = SEED.split()
    return {
        "seed": (title, body),
        "short": ("Short note", "one two three four five six seven eight nine"),
        "short body": ("Президент подписал закон о бюджете на следующий год и плановый "
                       "период", "Подробности позже"),
        "long random": (" ".join(rng.choice(words) for _ in range(9)),
                        " ".join(rng.choice(words) for _ in range(3000))),
    }


#: their band keys with the bands of migration 0016 on (28 x 2, 4 x 8), each a BLAKE2b
#: digest: what 0016 stores, and a downgrade of 0018 makes again
PINNED_BANDS = {
    "long random": "6b171ace9bf0565263a4890e7cb6c1ec56f6aff49964334a033b4c7478fa4edc",
    "seed": "7d142423de0683577f788f8e6b9028e3c540aa918a239a9f080a1ad09390c89c",
    "short": "75f8625bce7ea32abb876ef183edaa87a8590dcbfc9cc1771eaf6252c1262e65",
    "short body": "1b8fc2223434060118d5550d40df8baa584bfa238ca1a14727a7698a58d82f90",
}


#: ... and with the keys of migration 0018 on (each band's rows mixed): what new items get
PINNED_MIXED = {
    "long random": "1382db1928d7d12ab8f8afed145a38a07c30952df8a2c105fb51b10e536b6f96",
    "seed": "0efe1eff93098e1a94f9a5fc92b25c631d0e79a92c1158a5d3050d079d087069",
    "short": "40a0fa0bab58e76d0257eb8918ae230898818946865a1e3177f09fc3354ae314",
    "short body": "3d3bb15fc898c11eda6b60044bf18187091cf74cf89744dc6f4f85d177a0e60c",
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_signatures_and_bands_are_the_ones_already_stored(name: str) -> None:
    import hashlib
    from dataclasses import replace

    from aggregator.stories.minhash import keys_of_signatures

    def digest(keys: Sequence[int]) -> str:
        return hashlib.sha256(",".join(map(str, keys)).encode()).hexdigest()

    fp = fingerprint(*_pinned_cases()[name])
    before = fingerprint(*_pinned_cases()[name], replace(
        DEFAULT, bands=42, rows=3, lead_bands=16, lead_rows=8))
    assert fp is not None and before is not None
    (before_0016,) = keys_of_signatures([fp.signature], bands=42, rows=3, lead_bands=16,
                                        lead_rows=8, blake2b=True)
    assert (hashlib.sha256(fp.signature).hexdigest(), digest(before_0016)) == PINNED[name]
    assert before.signature == fp.signature
    (before_0018,) = keys_of_signatures([fp.signature], bands=28, rows=2, lead_bands=4,
                                        lead_rows=8, blake2b=True)
    assert digest(before_0018) == PINNED_BANDS[name]
    assert digest(fp.bands) == PINNED_MIXED[name]


# --- the parts, against their definitions ---------------------------------------------------


@given(st.text(alphabet=_INVISIBLE + _QUOTES + _DASHES + "aб \n", max_size=40))
def test_quotes_and_dashes_are_unified_as_one_translation_would(text: str) -> None:
    assert _unify(text) == text.translate(_UNIFY)


MASKABLE = st.sampled_from([
    "3", "2024", "12", "may", "march", "3", "в", "среду", "среда", "июля", "понедельник",
    "monday", "москва", "reuters", "иван", "слово", "word", "the", "мая", "august", "31",
])


@given(st.lists(MASKABLE, max_size=30), st.sets(MASKABLE, max_size=5))
def test_masked_words(words: list[str], names: set[str]) -> None:
    """Numbers first, then dates, then names."""
    masked, dates = _mask(words, names)
    assert dates == {i: key for i in range(len(words)) if (key := _date_key(words, i))}
    assert masked == ["0" if word[0].isdigit() else "@" if i in dates else
                      "A" if word in names else word for i, word in enumerate(words)]


@given(st.lists(st.sets(MASKABLE | st.text(alphabet="sepjanмайсенпят", min_size=1, max_size=6),
                        max_size=12), max_size=6), st.integers(min_value=0, max_value=20))
def test_the_words_that_may_be_dates_are_read_once_as_each_would_be(
        texts: list[set[str]], most: int) -> None:
    """_datelike against its definition, however many words it has seen and forgotten."""
    with mock.patch.object(similarity, "_SEEN_MAX", most):
        for distinct in texts:
            assert _datelike(set(distinct)) == {
                word for word in distinct if word[:3] in _DATE_PREFIXES or word in _AMBIGUOUS}


@given(st.sampled_from(["слово", "word", "Word", "12", "a,"]),
       st.sampled_from(["Иван", "London", "Ёлка", "Élan", "Ωmega"]),
       st.text(alphabet=' "(-', max_size=16), st.sampled_from([".", "!", "?", "…", ":", ""]))
def test_a_capitalised_word_is_a_name_unless_it_starts_a_sentence(
        before: str, name: str, between: str, end: str) -> None:
    """A name: the nearest character before it other than a space, a quote, a bracket or a
    dash is at most 12 characters back and ends no sentence."""
    spacing = f" {between}"
    names = _names(f"{before}{end}{spacing}{name}")
    assert (fold(name) in names) == (not end and len(spacing) < 12)


@given(st.text(alphabet="aZ_Ωя Ё\u03a2\u00c0.1-\n", max_size=30))
def test_capitalised_words_are_found_as_a_boundary_then_a_capital_would_find_them(
        text: str) -> None:
    expected = re.compile(r"\b[A-ZÀ-ÖØ-ÞА-ЯЁΑ-Ω]\w*").finditer(text)
    assert [m.span() for m in _CAPITALISED.finditer(text)] == [m.span() for m in expected]


_BOILERPLATE_PIECES = st.sampled_from([
    "Читайте также", "read more", "Подписывайтесь на наш канал", "© ", "Реклама", "Фото:",
    "слово", "Word", ".", "!", "?", "…", ". ", "\n", " ", "\t", "3.5", "x" * 290,
    "ᲃмотрите также", "ſubscribe to our list", "ВСЕ ПРАВА ЗАЩИЩЕНЫ"])


@settings(max_examples=500)
@given(st.lists(_BOILERPLATE_PIECES, max_size=16).map("".join))
def test_boilerplate_is_removed_where_it_can_start_as_a_substitution_would(text: str) -> None:
    lines = _removed(_BOILERPLATE_LINE, text, _line_starts(text))
    assert lines == _BOILERPLATE_LINE.sub(" ", text)
    sentences = (end.start() + 1 for end in _SENTENCE_END.finditer(lines))
    assert _removed(_BOILERPLATE, lines, sentences) == _BOILERPLATE.sub(" ", lines)


def _first_letters(pattern: Any) -> set[str]:
    """The characters the branches of a parsed pattern start with (literals all)."""
    op, value = pattern[0]
    if op is _constants.LITERAL:
        return {chr(value)}
    if op is _constants.BRANCH:
        return set().union(*map(_first_letters, value[1]))
    if op is _constants.SUBPATTERN:
        return _first_letters(value[3])
    if op is _constants.IN and all(kind is _constants.LITERAL for kind, _ in value):
        return {chr(code) for _, code in value}
    raise AssertionError(f"a phrase starts with {op}")


def test_the_sentence_ends_tried_are_before_the_first_letter_of_a_phrase() -> None:
    assert _first_letters(_parser.parse(_BOILERPLATE_PHRASES)) == set(_PHRASE_FIRST)


_CP1251 = bytes(b for b in range(256) if b != 0x98).decode("cp1251")


@settings(max_examples=1000)
@given(st.text(alphabet=_CP1251 + "_Ωé\u0301\u00a0\u2028١", max_size=60)
       | st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_the_words_of_a_text_are_what_the_regular_expression_finds(text: str) -> None:
    words, digits = _words_of(text)
    assert words == re.findall(r"\w+", text)
    assert digits or re.search(r"\d", text) is None


def test_every_windows_1251_character_is_a_word_character_or_a_space_as_it_should() -> None:
    assert _words_of(_CP1251)[0] == re.findall(r"\w+", _CP1251)
    for char in _CP1251:
        assert _words_of(char) == (re.findall(r"\w+", char), re.match(r"\d", char) is not None)


def test_the_only_digits_windows_1251_encodes_are_0_to_9() -> None:
    """What lets a text without them have no number and no word that starts with one."""
    assert [char for char in _CP1251 if char.isdigit() or re.match(r"\d", char)] == \
        list("0123456789")

