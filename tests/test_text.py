"""text.fold: the one comparison form of keyword rules, fingerprints and outlet names."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aggregator.text import fold


@given(st.text())
def test_fold_is_idempotent_and_caseless(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert folded.casefold() == folded
    assert "ё" not in folded


def test_fold_joins_what_readers_see_as_the_same_word() -> None:
    assert fold("ЁЛКИ") == fold("елки") == "елки"
    assert fold("Straße") == fold("STRASSE")
    assert fold("ᴬ") == "a"  # a modifier letter: NFKC first, then casefold
    assert fold("ﬁnance") == "finance"
