"""Output rules as tables of cases (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.config import parse_config
from aggregator.exceptions import ConfigError
from aggregator.publish.curate import Curation, Rule, curate
from aggregator.site import curation
from aggregator.text import compile_regex, fold
from tests.test_render import IZ, KZ, STORY, T0, TT

NOW = T0 + timedelta(hours=1)
RU = replace(STORY, language="ru")
EN = replace(STORY, uid="urn:en", title="Kazakhstan and Russia sign a treaty",
             content_html="<p>The presidents met in Moscow.</p>", summary_text="Presidents met.",
             representative=replace(KZ, source_name="wire"), others=(), language="en-GB",
             categories=("Politics",), author="Jane Roe")
OLD = replace(STORY, uid="urn:old", title="Старая новость", published_at=T0 - timedelta(days=9),
              others=(), language="ru")
WEATHER = replace(STORY, uid="urn:w", title="Погода на понедельник", others=(TT,),
                  content_html="<p>Ясно, +5</p>", language="ru", categories=())
ALL = [RU, EN, OLD, WEATHER]


def _uids(rules: Curation, stories: list = ALL) -> list[str]:  # type: ignore[type-arg]
    return [s.story.uid for s in curate(rules, stories, NOW).selected]


@pytest.mark.parametrize(("rules", "expected"), [
    (Curation(), [RU.uid, EN.uid, OLD.uid, WEATHER.uid]),
    (Curation(languages=("ru",)), [RU.uid, OLD.uid, WEATHER.uid]),
    (Curation(languages=("en",)), [EN.uid]),  # en-GB is English
    (Curation(min_outlets=2), [RU.uid, WEATHER.uid]),
    (Curation(min_outlets=3), [RU.uid]),
    (Curation(max_age=timedelta(days=7)), [RU.uid, EN.uid, WEATHER.uid]),
    (Curation(include=(Rule("title", ("казахстан", "Kazakhstan")),)), [EN.uid]),
    (Curation(include=(Rule("title", ("токаева",)),)), [RU.uid]),
    (Curation(include=(Rule("title", ("токае",)),)), []),  # whole words only
    (Curation(include=(Rule("content", ("moscow",)),)), [EN.uid]),
    (Curation(include=(Rule("category", ("politics",)),)), [EN.uid]),
    (Curation(include=(Rule("author", ("jane roe",)),)), [EN.uid]),
    (Curation(exclude=(Rule("any", ("погода",)),)), [RU.uid, EN.uid, OLD.uid]),
    (Curation(include=(Rule("title", pattern=r"(?i)^погода на \pL+$"),)), [WEATHER.uid]),
    (Curation(per_source_limit=1), [RU.uid, EN.uid]),
])
def test_curate(rules: Curation, expected: list[str]) -> None:
    assert _uids(rules) == expected


def test_curation_explains_each_story_and_reports_silent_rules() -> None:
    rules = Curation(min_outlets=2, include=(Rule("any", ("газета",)),
                                             Rule("title", ("bitcoin",))))
    result = curate(rules, ALL, NOW)
    assert [s.story.uid for s in result.selected] == [RU.uid]
    assert result.selected[0].reasons == ("carried by 3 outlets", "include any: keywords 'газета'")
    assert result.silent_rules() == ["title: keywords 'bitcoin'"]
    assert ("fewer than 2 outlets", 2) in result.dropped


def test_yo_and_case_do_not_matter_for_keywords() -> None:
    story = replace(RU, title="Ёлки на площади")
    assert _uids(Curation(include=(Rule("title", ("ЕЛКИ",)),)), [story]) == [story.uid]
    assert fold("ЁЛКА") == "елка"


def test_a_catastrophic_backtracking_pattern_runs_in_linear_time() -> None:
    story = replace(RU, title="a" * 50_000 + "!")
    # (a+)+$ takes exponential time in a backtracking engine; RE2 answers at once
    assert _uids(Curation(include=(Rule("title", pattern="(a+)+$"),)), [story]) == []


def test_patterns_re2_cannot_run_are_config_errors_with_their_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("outputs:\n  - name: o\n    title: O\n    include:\n"
                     "      - regex: '(a)\\1'\n")
    assert caught.value.line == 5
    assert caught.value.field == "outputs[0].include[0]"
    assert "invalid regular expression (RE2 syntax)" in caught.value.problem
    with pytest.raises(ConfigError, match="exactly one of keywords or regex"):
        parse_config("outputs:\n  - name: o\n    title: O\n    exclude:\n      - field: title\n")


def test_rules_load_from_feeds_yaml() -> None:
    config = parse_config("""\
sources:
  - {name: a, url: "https://a.example/feed"}
outputs:
  - name: kz
    title: Kazakhstan
    languages: [ru]
    min_outlets: 2
    max_age: 3d
    per_source_limit: 5
    include:
      - field: title
        keywords: Казахстан
      - regex: '(?i)kazakh'
    exclude:
      - keywords: [реклама, sponsored]
""")
    rules = curation(config.outputs[0])
    assert rules.include == (Rule("title", ("Казахстан",)), Rule("any", (), "(?i)kazakh"))
    assert rules.exclude == (Rule("any", ("реклама", "sponsored")),)
    assert (rules.languages, rules.min_outlets, rules.per_source_limit) == (("ru",), 2, 5)
    assert rules.max_age == timedelta(days=3)


@given(st.text())
def test_keyword_rules_never_fail_on_any_text(text: str) -> None:
    story = replace(RU, title=text)
    curate(Curation(include=(Rule("title", (text or "x",)),)), [story], NOW)


@given(st.text(max_size=30))
def test_compile_regex_either_compiles_or_says_why(pattern: str) -> None:
    try:
        compile_regex(pattern)
    except ValueError as error:
        assert str(error).startswith("invalid regular expression")


def test_outlets_fixture_is_consistent() -> None:
    assert {o.source_name for o in RU.others} == {KZ.source_name, TT.source_name}
    assert RU.representative == IZ
