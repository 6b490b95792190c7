"""Numbers written in words (stories/numerals.py) and the template guard that counts them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.stories.numerals import WORDS, spelled_numbers
from aggregator.stories.similarity import Fingerprint, compare, fingerprint
from aggregator.text import fold


def _read(text: str) -> list[int]:
    return spelled_numbers(re.findall(r"\w+", fold(text)))


@pytest.mark.parametrize(("text", "expected"), [
    ("в пятнадцати регионах", [15]),
    ("пятнадцать, пятнадцати, пятнадцатью", [15, 15, 15]),
    ("двадцать пять человек", [25]),
    ("сто двадцать пять", [125]),
    ("двумястами пятьюдесятью", [250]),
    ("восьмьюдесятью восемью", [88]),
    ("девятьсот девяносто девять", [999]),
    ("две тысячи двадцать четыре", [2024]),
    ("тысяча человек", [1000]),
    ("сорок тысяч", [40000]),
    ("Ноль градусов", [0]),
    ("ЧЕТЫРЁХ", [4]),  # folded: ё -> е, upper case
    ("twenty-five people", [25]),
    ("fifteen", [15]),
    ("four of them", [4]),
    ("one hundred and five", [105]),
    ("a hundred men", [100]),
    ("three thousand two hundred", [3200]),
    ("twenty one", [21]),
    ("двадцать один", [21]),
    ("fifteen million", [15]),  # as "15 million" gives 15
    # words that are not numbers here
    ("one of the best", []),
    ("один из лучших", []),
    ("всю семью", []),
    ("двадцатью семью", [27]),  # inside a number, it is seven
    ("тысячи людей", []),
    ("hundreds of people", []),
    ("thousands", []),
    ("and", []),
    # sequences that are not one number
    ("пять шесть", [5, 6]),
    ("десять пять", [10, 5]),
    ("twenty thirty", [20, 30]),
    ("two and three", [2, 3]),
])
def test_spelled_numbers(text: str, expected: list[int]) -> None:
    assert _read(text) == expected


# --- a reference writer, to read back what it wrote -----------------------------------

_EN_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
             "seventeen", "eighteen", "nineteen")
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _english(n: int) -> str:
    def below_thousand(n: int) -> list[str]:
        words: list[str] = []
        if n >= 100:
            words += [_EN_UNITS[n // 100], "hundred"] + (["and"] if n % 100 else [])
            n %= 100
        if n >= 20:
            words.append(_EN_TENS[n // 10 - 2] + (f"-{_EN_UNITS[n % 10]}" if n % 10 else ""))
        elif n or not words:
            words.append(_EN_UNITS[n])
        return words

    if n >= 1000:
        rest = below_thousand(n % 1000) if n % 1000 else []
        return " ".join([*below_thousand(n // 1000), "thousand", *rest])
    return " ".join(below_thousand(n))


# Russian: nominative and genitive ("пятнадцать", "пятнадцати"), by part
_RU = {
    "nom": {0: "ноль", 1: "один", 2: "два", 3: "три", 4: "четыре", 5: "пять", 6: "шесть",
            7: "семь", 8: "восемь", 9: "девять", 10: "десять", 11: "одиннадцать",
            12: "двенадцать", 13: "тринадцать", 14: "четырнадцать", 15: "пятнадцать",
            16: "шестнадцать", 17: "семнадцать", 18: "восемнадцать", 19: "девятнадцать",
            20: "двадцать", 30: "тридцать", 40: "сорок", 50: "пятьдесят", 60: "шестьдесят",
            70: "семьдесят", 80: "восемьдесят", 90: "девяносто", 100: "сто", 200: "двести",
            300: "триста", 400: "четыреста", 500: "пятьсот", 600: "шестьсот",
            700: "семьсот", 800: "восемьсот", 900: "девятьсот"},
    "gen": {0: "ноля", 1: "одного", 2: "двух", 3: "трех", 4: "четырех", 5: "пяти",
            6: "шести", 7: "семи", 8: "восьми", 9: "девяти", 10: "десяти",
            11: "одиннадцати", 12: "двенадцати", 13: "тринадцати", 14: "четырнадцати",
            15: "пятнадцати", 16: "шестнадцати", 17: "семнадцати", 18: "восемнадцати",
            19: "девятнадцати", 20: "двадцати", 30: "тридцати", 40: "сорока",
            50: "пятидесяти", 60: "шестидесяти", 70: "семидесяти", 80: "восьмидесяти",
            90: "девяноста", 100: "ста", 200: "двухсот", 300: "трехсот", 400: "четырехсот",
            500: "пятисот", 600: "шестисот", 700: "семисот", 800: "восьмисот",
            900: "девятисот"},
}
_RU_THOUSAND = {"nom": {1: "тысяча", 2: "тысячи", 5: "тысяч"}, "gen": {1: "тысячи", 2: "тысяч"}}


def _russian(n: int, case: str) -> str:
    forms = _RU[case]

    def below_thousand(n: int, female: bool = False) -> list[str]:
        words = []
        for part in (n // 100 * 100, n % 100 if n % 100 < 20 else n % 100 // 10 * 10,
                     0 if n % 100 < 20 else n % 10):
            if part:
                words.append(forms[part])
        if female and words and case == "nom":
            words[-1] = {"один": "одна", "два": "две"}.get(words[-1], words[-1])
        return words or [forms[0]]

    if n < 1000:
        return " ".join(below_thousand(n))
    thousands, rest = divmod(n, 1000)
    last = thousands % 10 if thousands % 100 not in range(11, 20) else 5
    noun = _RU_THOUSAND[case]
    word = noun[1] if last == 1 else noun[2] if 2 <= last <= 4 or case == "gen" else noun[5]
    return " ".join([*below_thousand(thousands, female=True), word,
                     *(below_thousand(rest) if rest else [])])


@given(st.integers(0, 999_999))
def test_english_numbers_read_back(n: int) -> None:
    text = _english(n)
    expected = [] if text == "one" else [n]  # "one" alone is a pronoun as often
    assert _read(text) == expected, text


@given(st.integers(0, 999_999), st.sampled_from(["nom", "gen"]))
def test_russian_numbers_read_back(n: int, case: str) -> None:
    text = _russian(n, case)
    expected = [] if text in ("один", "одного") else [n]
    assert _read(text) == expected, text


@given(st.lists(st.sampled_from([*sorted(WORDS), "and", "hundred", "тысяч", "слово", "word"]),
                max_size=12))
def test_reading_any_words_is_total(words: list[str]) -> None:
    found = spelled_numbers(words)
    assert len(found) <= len(words)
    assert all(0 <= n < 1_000_000 for n in found)


NUMBER_OR_NOT = st.sampled_from([*sorted(WORDS), "and", "hundred", "тысяч", "тысяча", "слово",
                                 "word"])


@given(st.lists(NUMBER_OR_NOT, max_size=12), st.lists(NUMBER_OR_NOT, max_size=12),
       st.integers(0, 3))
def test_a_word_that_is_no_number_parts_the_numbers(before: list[str], after: list[str],
                                                     padding: int) -> None:
    words = ["слово"] * padding
    assert spelled_numbers([*words, *before, "слово", *after, *words]) == \
        spelled_numbers(before) + spelled_numbers(after)


# --- the template guard ---------------------------------------------------------------

RU = ("Паводки затронули {n} регионов страны, сообщили в МЧС. Спасатели эвакуировали "
      "жителей из подтопленных домов, развернуты пункты временного размещения. По данным "
      "ведомства, уровень воды в реках продолжает расти, а синоптики прогнозируют новые дожди "
      "в ближайшие дни. Власти призвали население следить за официальными сообщениями и не "
      "выезжать на затопленные участки дорог. Ущерб от стихии пока оценивается.")
EN = ("Firefighters battled a blaze at a warehouse near the harbour on Sunday, and {n} people "
      "were taken to hospital with minor injuries, officials said. The fire broke out shortly "
      "after midnight and took several hours to bring under control. Residents of nearby "
      "streets were asked to keep their windows closed because of the smoke. The cause of "
      "the fire is under investigation, the fire service said in a statement.")


def _fp(title: str, text: str) -> Fingerprint:
    result = fingerprint(title, text)
    assert result is not None
    return result


@pytest.mark.parametrize(("template", "digits", "words"), [
    (RU, "15", "пятнадцати"),
    (RU, "25", "двадцати пяти"),
    (EN, "4", "four"),
    (EN, "25", "twenty-five"),
    (EN, "15", "fifteen"),
])
def test_a_copy_with_the_number_in_words_joins(template: str, digits: str, words: str) -> None:
    match = compare(_fp("Title", template.format(n=digits)), _fp("Title", template.format(n=words)))
    assert match.same, match.reason


@pytest.mark.parametrize(("template", "one", "other"), [
    (RU, "пятнадцати", "шестнадцати"),  # merged before numbers in words counted
    (RU, "пятнадцати", "16"),
    (EN, "four", "five"),
    (EN, "twenty-five", "26"),
])
def test_a_series_that_differs_in_a_number_in_words_stays_apart(template: str, one: str,
                                                                  other: str) -> None:
    match = compare(_fp("Title", template.format(n=one)), _fp("Title", template.format(n=other)))
    assert not match.same
    assert "templated series" in match.reason


def _rate(day: str, dollar: str, euro: str) -> str:
    return (f"Официальный курс доллара на {day} июля составил {dollar} рубля, евро - {euro} "
            "рубля, сообщил Центробанк. Курс устанавливается по итогам торгов на бирже и "
            "действует со следующего дня; коммерческие банки устанавливают свои курсы "
            "покупки и продажи валюты самостоятельно.")


def test_a_daily_rate_written_in_words_stays_apart() -> None:
    third = _rate("3", "восемьдесят девять", "девяносто шесть")
    fourth = _rate("4", "девяносто", "девяносто семь")
    match = compare(_fp("Курс валют", third), _fp("Курс валют", fourth))
    assert not match.same, match.reason


@given(st.integers(2, 999), st.integers(2, 999))
def test_a_number_in_words_is_that_number_for_the_guard(n: int, m: int) -> None:
    digits, words = _fp("Title", EN.format(n=n)), _fp("Title", EN.format(n=_english(m)))
    assert compare(digits, words).same == (n == m)
