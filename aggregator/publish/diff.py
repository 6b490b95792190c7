"""How one copy of a story differs from another, sentence by sentence and word by word:
pure, over plain text (difflib).

``diff_text(a, b)`` cuts both texts into sentences (a sentence keeps the white space
after it, so the pieces join back to the text), matches equal sentences, pairs the
sentences left between matches by their words' likeness (at least ``PAIR_RATIO`` of
their words in common: "changed"; otherwise "removed" and "added"), and diffs each pair
word by word. Nothing is lost on the way: :func:`before` gives back ``a`` and
:func:`after` gives ``b``, so :func:`apply` of the diff to ``a`` is ``b``. A change of
white space alone is not a change (``TextDiff.is_empty``): a page shows what a reader
would notice.

The page escapes the text it prints (jinja2 autoescape): a diff holds text, never HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum

PAIR_RATIO = 0.5  # sentences with at least this share of words in common are one changed
MAX_PAIRING = 2_500  # sentence pairs weighed in one stretch; beyond, none are paired

# A sentence ends after . ! ? … (and closing quotes or brackets) before white space, or at
# a line break; the white space after it belongs to it.
_SENTENCE_END = re.compile("[.!?\u2026]+[\"'\u00bb\u201d\u2019)\\]]*\\s+|\\n\\s*")
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")  # white space, a word, a punctuation mark


class Kind(StrEnum):
    SAME = "same"
    ADDED = "added"  # in the copy, not in the representative
    REMOVED = "removed"  # in the representative, not in the copy
    CHANGED = "changed"  # a sentence with some words changed (sentences only)


@dataclass(frozen=True, slots=True)
class Words:
    """A run of text that is the same, added or removed."""

    kind: Kind
    text: str


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the diff: the same, added, removed, or changed word by word."""

    kind: Kind
    words: tuple[Words, ...]


@dataclass(frozen=True, slots=True)
class TextDiff:
    sentences: tuple[Sentence, ...]

    def count(self, kind: Kind) -> int:
        return sum(1 for s in self.sentences if s.kind is kind)

    @property
    def changes(self) -> tuple[Sentence, ...]:
        return tuple(s for s in self.sentences if s.kind is not Kind.SAME)

    @property
    def is_empty(self) -> bool:
        """No sentence added, removed or changed (white space aside)."""
        return not self.changes


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence and line break; ``"".join`` gives it back."""
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            pieces.append(text[start:match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _words(text: str) -> list[str]:
    return text.split()


def _merge(runs: Sequence[Words]) -> tuple[Words, ...]:
    """Adjacent runs of one kind joined; inside each stretch of changes the removed text
    comes first, then the added (a word replaced reads as struck out, then new); a space
    alone between two changes joins them, so a rewritten phrase is one change."""
    runs = [r for r in runs if r.text]
    spread: list[Words] = []
    for index, run in enumerate(runs):
        between = (run.kind is Kind.SAME and not run.text.strip() and 0 < index < len(runs) - 1
                   and runs[index - 1].kind is not Kind.SAME
                   and runs[index + 1].kind is not Kind.SAME)
        if between:
            spread += [Words(Kind.REMOVED, run.text), Words(Kind.ADDED, run.text)]
        else:
            spread.append(run)
    merged: list[Words] = []
    stretch: list[Words] = []

    def flush() -> None:
        for kind in (Kind.REMOVED, Kind.ADDED):
            text = "".join(w.text for w in stretch if w.kind is kind)
            if text:
                merged.append(Words(kind, text))
        stretch.clear()

    for run in spread:
        if run.kind is Kind.SAME:
            flush()
            if merged and merged[-1].kind is Kind.SAME:
                merged[-1] = Words(Kind.SAME, merged[-1].text + run.text)
            else:
                merged.append(run)
        else:
            stretch.append(run)
    flush()
    return tuple(merged)


def diff_words(a: str, b: str) -> tuple[Words, ...]:
    """``a`` -> ``b`` as runs of same, removed and added text (words and white space)."""
    old, new = _TOKEN.findall(a), _TOKEN.findall(b)
    runs: list[Words] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            runs.append(Words(Kind.SAME, "".join(old[i1:i2])))
        else:
            runs.append(Words(Kind.REMOVED, "".join(old[i1:i2])))
            runs.append(Words(Kind.ADDED, "".join(new[j1:j2])))
    return _merge(runs)


def _visible(runs: Sequence[Words]) -> bool:
    return any(r.kind is not Kind.SAME and r.text.strip() for r in runs)


def _sentence(a: str, b: str) -> Sentence:
    """A pair of sentences: the same (white space aside) or changed."""
    if a == b:
        return Sentence(Kind.SAME, (Words(Kind.SAME, a),))
    runs = diff_words(a, b)
    return Sentence(Kind.CHANGED if _visible(runs) else Kind.SAME, runs)


def _likeness(a: list[str], b: list[str]) -> float:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < PAIR_RATIO or matcher.quick_ratio() < PAIR_RATIO:
        return 0.0
    return matcher.ratio()


def _pairs(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Which sentences of a replaced stretch are one sentence changed: the in-order
    pairing with the most likeness, among pairs at least PAIR_RATIO alike."""
    if len(old) * len(new) > MAX_PAIRING:
        return []
    old_words, new_words = [_words(s) for s in old], [_words(s) for s in new]
    score = [[0.0] * (len(new) + 1) for _ in range(len(old) + 1)]
    paired = [[False] * (len(new) + 1) for _ in range(len(old) + 1)]
    for i in range(1, len(old) + 1):
        for j in range(1, len(new) + 1):
            best, pair = max(score[i - 1][j], score[i][j - 1]), False
            if old_words[i - 1] or new_words[j - 1]:
                ratio = _likeness(old_words[i - 1], new_words[j - 1])
                if ratio >= PAIR_RATIO and score[i - 1][j - 1] + ratio > best:
                    best, pair = score[i - 1][j - 1] + ratio, True
            score[i][j], paired[i][j] = best, pair
    found = []
    i, j = len(old), len(new)
    while i and j:
        if paired[i][j]:
            found.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif score[i - 1][j] >= score[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return found[::-1]


def _alone(kind: Kind, text: str) -> Sentence:
    """A sentence only one side has (white space alone: no change a reader sees)."""
    return Sentence(kind if text.strip() else Kind.SAME, (Words(kind, text),))


def _replaced(old: Sequence[str], new: Sequence[str]) -> Iterator[Sentence]:
    i = j = 0
    for pi, pj in [*_pairs(old, new), (len(old), len(new))]:
        yield from (_alone(Kind.REMOVED, s) for s in old[i:pi])
        yield from (_alone(Kind.ADDED, s) for s in new[j:pj])
        if pi < len(old):
            yield _sentence(old[pi], new[pj])
        i, j = pi + 1, pj + 1


def diff_text(a: str, b: str) -> TextDiff:
    """How ``b`` (a copy) differs from ``a`` (the representative), sentence by sentence."""
    old, new = sentences(a), sentences(b)
    matcher = SequenceMatcher(None, [" ".join(_words(s)) for s in old],
                              [" ".join(_words(s)) for s in new], autojunk=False)
    result: list[Sentence] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result += map(_sentence, old[i1:i2], new[j1:j2])
        else:
            result += _replaced(old[i1:i2], new[j1:j2])
    return TextDiff(tuple(result))


def before(diff: TextDiff) -> str:
    """The older text (the representative's) the diff was made from."""
    return "".join(w.text for s in diff.sentences for w in s.words if w.kind is not Kind.ADDED)


def after(diff: TextDiff) -> str:
    """The newer text (the copy's) the diff was made to."""
    return "".join(w.text for s in diff.sentences for w in s.words if w.kind is not Kind.REMOVED)


def apply(text: str, diff: TextDiff) -> str:
    """The diff applied to ``text``: the copy's text; ValueError if the diff was not made
    from ``text``."""
    if before(diff) != text:
        raise ValueError("the diff was made from another text")
    return after(diff)
