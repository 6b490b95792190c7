"""The word diff of two copies of a story (publish/diff.py): tables, and properties that
hold for any two texts (nothing is lost, a text against itself has no change)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.publish.diff import (
    Kind,
    Sentence,
    Words,
    after,
    apply,
    before,
    diff_text,
    diff_words,
    sentences,
)

S, A, R, C = Kind.SAME, Kind.ADDED, Kind.REMOVED, Kind.CHANGED


@pytest.mark.parametrize(("text", "expected"), [
    ("", []),
    ("One sentence", ["One sentence"]),
    ("One. Two! Three? Four", ["One. ", "Two! ", "Three? ", "Four"]),
    ("He said «yes.» Then left.", ["He said «yes.» ", "Then left."]),
    ("Первое… Второе.\nТретье", ["Первое… ", "Второе.\n", "Третье"]),
    ("Line one\n\nLine two", ["Line one\n\n", "Line two"]),
    ("3.5 percent", ["3.5 percent"]),  # no space after the point: one sentence
    ("  leading", ["  leading"]),
])
def test_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("same words", "same words", [(S, "same words")]),
    ("a b c", "a x c", [(S, "a "), (R, "b"), (A, "x"), (S, " c")]),
    ("about the reform.", "about the police reform.",
     [(S, "about the "), (A, "police "), (S, "reform.")]),
    ("in «Izvestia».", 'in "Izvestia".',
     [(S, "in "), (R, "«"), (A, '"'), (S, "Izvestia"), (R, "»"), (A, '"'), (S, ".")]),
    # a phrase rewritten is one change, not word, space, word
    ("the old red car", "the new blue car",
     [(S, "the "), (R, "old red"), (A, "new blue"), (S, " car")]),
    ("", "new", [(A, "new")]),
    ("gone", "", [(R, "gone")]),
])
def test_diff_words(a: str, b: str, expected: list[tuple[Kind, str]]) -> None:
    assert diff_words(a, b) == tuple(Words(k, t) for k, t in expected)


def _kinds(a: str, b: str) -> list[Kind]:
    return [s.kind for s in diff_text(a, b).sentences]


REP = "Tokayev wrote an article. It is about the police. Russia is an ally. The end."


@pytest.mark.parametrize(("copy", "kinds"), [
    (REP, [S, S, S, S]),
    ("Tokayev wrote an article. It is about the police. Russia is an ally. The end. "
     "Subscribe to our channel.", [S, S, S, S, A]),  # "The end." gains a space: same
    ("Tokayev wrote an article. Russia is an ally. The end.", [S, R, S, S]),
    ("Tokayev wrote an article. It is about the new police. Russia is an ally. The end.",
     [S, C, S, S]),
    # nothing alike: the sentence is removed and another added, not "changed"
    ("Tokayev wrote an article. Weather is fine today. Russia is an ally. The end.",
     [S, R, A, S, S]),
    # a credit line added to the first sentence, two sentences swapped
    ("Tokayev wrote an article, Turantimes reports. Russia is an ally. "
     "It is about the police. The end.", [C, A, S, R, S]),
    # white space alone is no change
    ("Tokayev wrote an article.\nIt is about the police.  Russia is an ally. The end.",
     [S, S, S, S]),
])
def test_diff_text(copy: str, kinds: list[Kind]) -> None:
    diff = diff_text(REP, copy)
    assert [s.kind for s in diff.sentences] == kinds
    assert diff.is_empty == (C not in kinds and A not in kinds and R not in kinds)
    assert apply(REP, diff) == copy


def test_a_changed_sentence_shows_its_words() -> None:
    diff = diff_text(REP, REP.replace("the police", "the new police"))
    assert diff.changes == (Sentence(C, (Words(S, "It is about the "), Words(A, "new "),
                                         Words(S, "police. "))),)
    assert (diff.count(C), diff.count(A), diff.count(R)) == (1, 0, 0)


def test_the_pairing_stops_at_a_bound() -> None:
    """Two long texts with nothing in common: every sentence removed or added, quickly."""
    old = " ".join(f"Old sentence number {i} here." for i in range(80))
    new = " ".join(f"New line {i} there." for i in range(80))
    diff = diff_text(old, new)
    assert (diff.count(R), diff.count(A), diff.count(C)) == (80, 80, 0)
    assert after(diff) == new


def test_apply_refuses_another_text() -> None:
    with pytest.raises(ValueError, match="another text"):
        apply("something else", diff_text("a", "b"))


_texts = st.lists(st.sampled_from(
    ["Tokayev", "wrote", "an", "article", "«Izvestia»", "15", "police", ".", ". ", "!", "\n",
     " ", "  ", ",", "Россия", "союзник", "…", "\t"]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(_texts, _texts)
def test_nothing_is_lost(a: str, b: str) -> None:
    diff = diff_text(a, b)
    assert before(diff) == a
    assert after(diff) == b
    assert apply(a, diff) == b
    # every sentence says what it is: a same one has no visible change
    for sentence in diff.sentences:
        visible = any(w.kind is not S and w.text.strip() for w in sentence.words)
        assert visible == (sentence.kind is not S)


@settings(max_examples=200, deadline=None)
@given(_texts | st.text(max_size=200))
def test_a_text_against_itself_is_empty(a: str) -> None:
    diff = diff_text(a, a)
    assert diff.is_empty
    assert diff.changes == ()
    assert after(diff) == a


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120), st.text(max_size=120))
def test_any_unicode_round_trips(a: str, b: str) -> None:
    diff = diff_text(a, b)
    assert (before(diff), after(diff)) == (a, b)
