from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aggregator.stories.attribution import (
    _PATTERNS,
    _TRIGGERS,
    _find_all,
    _Found,
    _leftmost_longest,
    _line_starts,
    _read,
    _script,
    _windows,
    _zones,
    find_credits,
    outlet_key,
    strip_credits,
)
from aggregator.types import Credit

SEED = (Path(__file__).parent / "data" / "seed-article.ru.txt").read_text(encoding="utf-8")


def test_the_seed_article_is_relayed_by_turantimes_citing_izvestia() -> None:
    credit = find_credits(SEED)
    assert credit == Credit(
        relayed_by="Turantimes.kz", cites=("Известия",),
        line="передает Turantimes.kz со ссылкой на газету «Известия»")


def test_stripping_the_seed_article_keeps_its_sentence() -> None:
    stripped = strip_credits(SEED)
    assert "Turantimes" not in stripped
    assert "стратегического партнёрства Казахстана и России.\n" in stripped
    # the article's own mention of the newspaper is content, not a credit
    assert "опубликована в российской газете «Известия»" in stripped


@pytest.mark.parametrize(("text", "relayed_by", "cites"), [
    # Russian
    ("Сделка закрыта, передает Zakon.kz со ссылкой на газету «Известия» и агентство ТАСС.",
     "Zakon.kz", ("Известия", "ТАСС")),
    ("Сделка закрыта, сообщает Kazinform.", "Kazinform", ()),
    ("Сделка закрыта, передает корреспондент Tengrinews.kz.", "Tengrinews.kz", ()),
    ("Сделка закрыта, сообщает агентство Bloomberg со ссылкой на источники.", "Bloomberg", ()),
    ("Сделка закрыта, пишет Bloomberg.", "Bloomberg", ()),
    ("Как сообщает ТАСС, сделка закрыта.", None, ("ТАСС",)),
    ("По данным РБК, сделка закрыта.", None, ("РБК",)),
    ("По данным «Известий», сделка закрыта.", None, ("Известий",)),
    ("Сделка закрыта, со ссылкой на «Коммерсантъ».", None, ("Коммерсантъ",)),
    ("МОСКВА, 24 ноября. /ТАСС/. Президент России провел совещание.", None, ("ТАСС",)),
    ("МОСКВА, 24 ноя — РИА Новости. Президент России провел совещание.", None,
     ("РИА Новости",)),
    ("АСТАНА. KAZINFORM – Глава государства провел совещание.", None, ("KAZINFORM",)),
    ("Глава государства провел совещание.\nИсточник: Известия", None, ("Известия",)),
    # English
    ("MOSCOW (Reuters) - Russia said on Monday it would.", None, ("Reuters",)),
    ("WASHINGTON, Nov 24 (Reuters) - The U.S. said.", None, ("Reuters",)),
    ("(AP) — A storm hit the coast.", None, ("AP",)),
    ("Revenue rose 5%, according to Reuters.", None, ("Reuters",)),
    ("According to The Guardian, the plan was dropped.", None, ("The Guardian",)),
    ("The plan was dropped, according to the newspaper Le Monde.", None, ("Le Monde",)),
    ("Shares fell, as reported by the BBC.", None, ("BBC",)),
    ("The story first ran in French (via AFP).", "AFP", ()),
    ("Text.\nSource: https://www.reuters.com/world/abc", None, ("reuters.com",)),
])
def test_credit_lines(text: str, relayed_by: str | None, cites: tuple[str, ...]) -> None:
    credit = find_credits(text)
    assert credit is not None
    assert (credit.relayed_by, credit.cites) == (relayed_by, cites)


@pytest.mark.parametrize("text", [
    "Revenue rose 5%, according to the ministry.",
    "According to John Smith, the plan was dropped.",
    "По данным Минздрава, число случаев выросло.",
    "По данным Росстата, инфляция замедлилась.",
    "Сделка закрыта, пишет Токаев.",
    "Как сообщил Токаев, сделка закрыта.",
    "Сделка закрыта, сообщает пресс-служба министерства.",
    "Сделка закрыта, сообщает Минздрав.",
    "The files were sent via Telegram.",
    "Source: company data",
    "Курс доллара на 3 июля: 89,5 рубля.",
    "",
])
def test_no_outlet_no_credit(text: str) -> None:
    assert find_credits(text) is None
    assert strip_credits(text) == text


def test_a_citation_deep_in_the_body_is_not_an_origin_credit() -> None:
    body = "Первый абзац статьи. " * 60 + "Как сообщает ТАСС, это важно. " + "Еще текст. " * 60
    assert find_credits(body) is None


@pytest.mark.parametrize(("text", "stripped"), [
    ("Сделка закрыта, передает Zakon.kz со ссылкой на газету «Известия».", "Сделка закрыта."),
    ("Как сообщает ТАСС, сделка закрыта.", "сделка закрыта."),
    ("МОСКВА, 24 ноября. /ТАСС/. Президент провел совещание.", "Президент провел совещание."),
    ("MOSCOW (Reuters) - Russia said.", "Russia said."),
    ("Revenue rose 5%, according to Reuters.", "Revenue rose 5%."),
    ("Text.\nSource: Reuters", "Text.\n"),
])
def test_strip_credits(text: str, stripped: str) -> None:
    assert strip_credits(text) == stripped


@pytest.mark.parametrize(("a", "b"), [
    ("газета «Известия»", "Известия"),
    ("Известий", "Известия"),
    ("Turantimes.kz", "TuranTimes"),
    ("https://www.reuters.com/world/x", "Reuters"),
    ("The Guardian", "guardian"),
    ("Коммерсантъ", "Коммерсанта"),
    ("РИА «Новости»", "РИА Новости"),
    ("Ёлка.ру", "елка"),
    ("агентство ТАСС", "ТАСС"),
])
def test_outlet_keys_meet(a: str, b: str) -> None:
    assert outlet_key(a) == outlet_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("Известия", "Ведомости"),
    ("Kazinform", "Tengrinews.kz"),
    ("BBC", "CNN"),
])
def test_outlet_keys_differ(a: str, b: str) -> None:
    assert outlet_key(a) != outlet_key(b)


@given(st.text(max_size=400))
def test_found_credits_and_stripping_agree(text: str) -> None:
    credit = find_credits(text)
    stripped = strip_credits(text)
    assert (credit is None) == (stripped == text)
    assert len(stripped) <= len(text)


@given(st.text(max_size=60))
def test_outlet_key_is_stable(name: str) -> None:
    key = outlet_key(name)
    assert key == key.casefold()
    assert "ё" not in key


# Texts full of credit lines, datelines and line ends, long enough to have a head and a tail.
CREDITED = st.lists(st.sampled_from([
    "Сделка закрыта", ", передает Zakon.kz со ссылкой на газету «Известия»", ", пишет РБК",
    "Как сообщает ТАСС, ", "По данным «Известий», ", ". ", "\n", "\n\n", " ", "  ",
    "МОСКВА, 24 ноября. /ТАСС/. ", "МОСКВА, 24 ноя — РИА Новости. ", "АСТАНА. KAZINFORM – ",
    "WASHINGTON, Nov 24 (Reuters) - ", "(AP) — ", "\nSource: BBC\n", "\nИсточник: iz.ru\n",
    ", according to Reuters.", " (via AFP)", "İstanbul ", "Lorem ipsum dolor sit amet. " * 8,
]), max_size=60).map("".join)


@given(CREDITED)
def test_credits_do_not_depend_on_what_was_read_before(text: str) -> None:
    """find_credits and strip_credits share what they find in a text: found then
    stripped is what either gives alone."""
    _find_all.cache_clear()
    credit, stripped = find_credits(text), strip_credits(text)
    _find_all.cache_clear()
    assert strip_credits(text) == stripped
    _find_all.cache_clear()
    assert find_credits(text) == credit
    assert (credit is None) == (stripped == text)


def _every_pattern_tried(text: str) -> tuple[_Found, ...]:
    """_find_all as it was before it looked its patterns up: each tried in turn."""
    cyrillic = _script(text[:200])
    found: list[_Found] = []
    for start, end in _zones(text):
        zone = text[start:end].lower()
        present = {trigger for trigger in _TRIGGERS if trigger in zone}
        region = text[start:start + len(zone)]
        for pattern in _PATTERNS:
            if pattern.triggers:
                if present.isdisjoint(pattern.triggers):
                    continue
                matches = list(itertools.chain.from_iterable(
                    pattern.regex.finditer(text, *window)
                    for window in _windows(zone, start, pattern.triggers)))
            else:
                if not all(any(char in region for char in group) for group in pattern.needs):
                    continue
                matches = [m for at in _line_starts(text, start, start + len(zone))
                           if (m := pattern.regex.match(text, at, start + len(zone)))]
            found += [item for match in matches
                      if (item := _read(match, pattern, cyrillic)) is not None]
    return _leftmost_longest(found)


@settings(max_examples=500)
@given(CREDITED)
@example("")
@example("Lorem ipsum (via AFP). " * 60 + "МОСКВА, 24 ноября. /ТАСС/. по данным РБК, текст")
@example("According to Reuters, lorem ipsum. " * 40 + "Source: AP, via AFP")  # ASCII zones
def test_the_patterns_looked_up_find_what_each_tried_in_turn_finds(text: str) -> None:
    _find_all.cache_clear()
    assert _find_all(text) == _every_pattern_tried(text)


@given(CREDITED)
def test_a_credit_without_trigger_words_sits_on_one_line_from_its_start(text: str) -> None:
    """What lets those patterns be tried at line starts only."""
    for pattern in _PATTERNS:
        if not pattern.triggers:
            for match in pattern.regex.finditer(text):
                assert match.start() == 0 or text[match.start() - 1] == "\n"
                assert "\n" not in match.group()


@given(CREDITED, st.data())
def test_line_starts_are_where_a_multiline_caret_matches(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    caret = [m.start() for m in re.compile("^", re.MULTILINE).finditer(text, start, end)]
    assert _line_starts(text, start, end) == caret


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
       | st.text(alphabet="abzAZ@[`{ абяАЯЁёѐђ—«é€\u0400\u0450\u0452\ud800", max_size=60))
def test_the_script_is_told_by_counting_letters_as_the_regular_expressions_would(
        head: str) -> None:
    cyrillic = len(re.findall("[А-Яа-яЁё]", head))
    assert _script(head) == (cyrillic > len(re.findall("[A-Za-z]", head)))


def test_every_character_counts_as_the_regular_expressions_would() -> None:
    letters = [chr(c) for c in range(0x110000)
               if _script(chr(c)) != bool(re.fullmatch("[А-Яа-яЁё]", chr(c)))]
    assert letters == []



def _one_of(*options: str) -> st.SearchStrategy[str]:
    return st.sampled_from(options)


_DATELINES = st.tuples(
    _one_of("", " ", "\t", "x\n"), _one_of("МОСКВА", "WASHINGTON", "Астана", "NEW YORK", ""),
    _one_of(",", ".", "", ", Nov 24"), _one_of(" ", ""), _one_of("24", "3", "", "١"),
    _one_of(" ", ""), _one_of("ноября", "ноя", ""), _one_of(".", ""), _one_of(" ", ""),
    _one_of("/", "(", "—", "–", "-", ""), _one_of("ТАСС", "Reuters", "РИА Новости", "KAZINFORM",
                                                  "INTERFAX-KAZAKHSTAN"),
    _one_of("/", ")", ""), _one_of(".", " ", ""), _one_of("—", "-", " - ", ""),
    _one_of("", " текст", ".")).map("".join)


@settings(max_examples=1000)
@given(_DATELINES)
@example("WASHINGTON, Nov 24 (Reuters) - text")
@example("(AP) – text")
@example("МОСКВА, 24 ноября. /ТАСС/. текст")
@example("МОСКВА, 24 ноя - РИА Новости. текст")
@example("МОСКВА, 24 ноя – РИА Новости. текст")
@example("Астана, KAZINFORM - текст")
@example("АСТАНА. KAZINFORM – текст")
def test_a_line_pattern_matches_only_where_the_characters_it_needs_are(text: str) -> None:
    for pattern in _PATTERNS:
        for match in pattern.regex.finditer(text):
            assert all(any(char in match.group() for char in group) for group in pattern.needs)
