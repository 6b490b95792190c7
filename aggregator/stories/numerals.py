"""Pure: numbers written in words, in Russian and English, read as the numbers they are.

``spelled_numbers(["в", "пятнадцати", "регионах"])`` -> ``[15]``;
``["twenty", "five", "people"]`` -> ``[25]``. The near-duplicate template guard
(similarity.py) counts them as it counts digits, so a copy that writes "пятнадцати" and
another that writes "15" carry the same number, while a templated series written in
words ("пятнадцать" one day, "шестнадцать" the next) differs in its numbers as it would
in digits.

Cardinal numbers only, in every case form of Russian (0-20, the tens, the hundreds,
"тысяча" and its forms) and in English (zero-nineteen, the tens, hundred, thousand;
"and" after a hundred). Words that are often something else count only inside a longer
number: "один/одна/одно..." and "one" (a pronoun as often as a number), "семью" (also
"the family"). A multiplier needs a number before it unless it is singular ("тысяча",
"a hundred"): "тысячи людей" and "hundreds of people" are no numbers. "million" and
"миллион" are not read: digits write "15 million" as "15", and so does "fifteen
million" here. The tokens are folded words (text.fold: lowercase, ё -> е).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final


def _forms(stem_values: Iterable[tuple[int, Sequence[str]]]) -> dict[str, int]:
    return {form: value for value, forms in stem_values for form in forms}


def _russian() -> dict[str, int]:
    words: dict[str, int] = _forms([
        (0, ("ноль", "ноля", "нолю", "нолем", "ноле", "нуль", "нуля", "нулю", "нулем",
             "нуле")),
        (1, ("один", "одного", "одному", "одним", "одном", "одна", "одной", "одну", "одною",
             "одно")),
        (2, ("два", "две", "двух", "двум", "двумя")),
        (3, ("три", "трех", "трем", "тремя")),
        (4, ("четыре", "четырех", "четырем", "четырьмя")),
        (40, ("сорок", "сорока")),
        (90, ("девяносто", "девяноста")),
        (100, ("сто", "ста")),
        (200, ("двести", "двухсот", "двумстам", "двумястами", "двухстах")),
        (300, ("триста", "трехсот", "тремстам", "тремястами", "трехстах")),
        (400, ("четыреста", "четырехсот", "четыремстам", "четырьмястами", "четырехстах")),
    ])
    # 5-10, 20, 30 and the teens: nominative -ь, oblique -и, instrumental -ью
    simple = {5: ("пят", "пят"), 6: ("шест", "шест"), 7: ("сем", "сем"),
              8: ("восем", "восьм"), 9: ("девят", "девят"), 10: ("десят", "десят"),
              20: ("двадцат", "двадцат"), 30: ("тридцат", "тридцат")}
    teens = ("один", "две", "три", "четыр", "пят", "шест", "сем", "восем", "девят")
    simple |= {11 + i: (f"{t}надцат", f"{t}надцат") for i, t in enumerate(teens)}
    for value, (nominative, oblique) in simple.items():
        words.update({nominative + "ь": value, oblique + "и": value,
                      nominative + "ью": value, oblique + "ью": value})
    # 50-80 and 500-900: both halves decline ("пятьдесят", "пятидесяти", "пятьюдесятью")
    heads = {5: ("пять", "пяти", "пятью"), 6: ("шесть", "шести", "шестью"),
             7: ("семь", "семи", "семью"), 8: ("восемь", "восьми", "восемью"),
             9: ("девять", "девяти", "девятью")}
    for digit, (nominative, oblique, instrumental) in heads.items():
        if digit <= 8:
            tens = digit * 10
            words.update({nominative + "десят": tens, oblique + "десяти": tens,
                          instrumental + "десятью": tens})
            if digit == 8:
                words["восьмьюдесятью"] = tens
        hundreds = digit * 100
        words.update({nominative + "сот": hundreds, oblique + "сот": hundreds,
                      oblique + "стам": hundreds, instrumental + "стами": hundreds,
                      oblique + "стах": hundreds})
        if digit == 8:
            words["восьмьюстами"] = hundreds
    return words


def _english() -> dict[str, int]:
    units = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
             "seventeen", "eighteen", "nineteen")
    tens = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
    return {word: value for value, word in enumerate(units)} | {
        word: 20 + 10 * i for i, word in enumerate(tens)}


#: a number word -> its value (multipliers apart)
WORDS: Final = _russian() | _english()
#: words that multiply what precedes them; the singular ones stand alone too
_THOUSAND: Final = frozenset(("тысяча", "тысячи", "тысяче", "тысячу", "тысячей", "тысячею",
                              "тысяч", "тысячам", "тысячами", "тысячах", "thousand"))
_ALONE_THOUSAND: Final = frozenset(("тысяча", "тысячу", "тысячей", "тысячею", "thousand"))
_HUNDRED: Final = "hundred"
#: words that are as often something else: numbers only inside a longer number
_AMBIGUOUS: Final = frozenset(
    {form for form, value in WORDS.items() if value == 1} | {"семью"})
_AND: Final = "and"
#: the words a number can start with
_STARTS: Final = frozenset(WORDS) | _THOUSAND | {_HUNDRED}


def _fits(current: int, value: int) -> bool:
    """Whether ``value`` continues the number ``current`` (the part below the thousands):
    "двадцать" + "пять", "сто" + "двадцать", not "пять" + "шесть" or "десять" + "пять"."""
    if current == 0:
        return True
    if value >= 100:
        return False
    if value >= 10:
        return current % 100 == 0
    return current % 10 == 0 and current % 100 != 10


def spelled_numbers(tokens: Sequence[str]) -> list[int]:
    """The numbers written in words in ``tokens`` (folded words), in text order."""
    found: list[int] = []
    if _STARTS.isdisjoint(tokens):
        return found
    i, count = 0, len(tokens)
    for start in [k for k, word in enumerate(tokens) if word in _STARTS]:
        if start < i:  # inside the number read last
            continue
        i = start
        total = current = words = 0
        ambiguous_only = True
        j = i
        while j < count:
            word = tokens[j]
            if word in WORDS and _fits(current, WORDS[word]):
                current += WORDS[word]
            elif word == _HUNDRED and current % 100 == current and (current or words == 0):
                current = (current or 1) * 100
            elif word in _THOUSAND and total == 0 and (current or word in _ALONE_THOUSAND):
                total, current = (current or 1) * 1000, 0
            elif word == _AND and current >= 100 and current % 100 == 0 and j + 1 < count \
                    and tokens[j + 1] in WORDS:
                j += 1
                continue
            else:
                break
            ambiguous_only = ambiguous_only and word in _AMBIGUOUS
            words += 1
            j += 1
        if words and not (words == 1 and ambiguous_only):
            found.append(total + current)
        i = max(j, i + 1)
    return found
