"""Pure curation: which stories an output publishes, and why.

Rules come from feeds.yaml (see OutputConfig). Regular expressions run in RE2, a
linear-time engine, so a hostile pattern cannot hang the publisher.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aggregator.text import compile_regex, fold, html_to_text
from aggregator.types import StoryView

Field = Literal["any", "title", "content", "author", "category"]


def _has_word(haystack: str, needle: str) -> bool:
    """``needle`` occurs in ``haystack`` not glued to other letters or digits."""
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        before = haystack[start - 1] if start else " "
        after = haystack[end] if end < len(haystack) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = haystack.find(needle, start + 1)
    return False


@dataclass(frozen=True, slots=True)
class Rule:
    """One include/exclude rule: keywords (any of them) or an RE2 pattern, on one field."""

    field: Field
    keywords: tuple[str, ...] = ()
    pattern: str | None = None

    def describe(self) -> str:
        what = f"regex /{self.pattern}/" if self.pattern else \
            "keywords " + ", ".join(repr(k) for k in self.keywords)
        return f"{self.field}: {what}"

    def matches(self, story: StoryView) -> bool:
        texts = _field_texts(story, self.field)
        if self.pattern is not None:
            regex = compile_regex(self.pattern)
            return any(regex.search(t) is not None for t in texts)
        folded = [fold(t) for t in texts]
        return any(_has_word(t, fold(k)) for k in self.keywords for t in folded if k)


def _field_texts(story: StoryView, field: Field) -> list[str]:
    parts: dict[str, list[str]] = {
        "title": [story.title],
        "content": [html_to_text(story.content_html) or story.summary_text],
        "author": [story.author or ""],
        "category": list(story.categories),
    }
    if field == "any":
        return [t for key in ("title", "content", "author", "category") for t in parts[key]]
    return parts[field]


@dataclass(frozen=True, slots=True)
class Curation:
    """What an output's rules select from candidate stories, in order, and why."""

    include: tuple[Rule, ...] = ()
    exclude: tuple[Rule, ...] = ()
    languages: tuple[str, ...] = ()
    min_outlets: int = 1
    max_age: timedelta | None = None
    per_source_limit: int | None = None


@dataclass(frozen=True, slots=True)
class Selected:
    story: StoryView
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CurationResult:
    selected: tuple[Selected, ...]
    rule_hits: tuple[tuple[str, int], ...]  # (rule description, stories it matched)
    dropped: tuple[tuple[str, int], ...]  # (reason, how many stories it removed)

    @property
    def stories(self) -> list[StoryView]:
        return [s.story for s in self.selected]

    def silent_rules(self) -> list[str]:
        """Rules that matched no candidate story at all: likely a mistake."""
        return [rule for rule, hits in self.rule_hits if hits == 0]


def _language_matches(story: StoryView, languages: tuple[str, ...]) -> bool:
    language = (story.language or "").lower()
    return any(language == want or language.startswith(want + "-") for want in languages)


def curate(rules: Curation, candidates: Sequence[StoryView], now: datetime) -> CurationResult:
    """Apply an output's rules to candidate stories (newest first); keeps their order."""
    hits: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    per_source: Counter[str] = Counter()
    selected: list[Selected] = []
    for story in candidates:
        reasons: list[str] = []
        if rules.max_age is not None and now - story.published_at > rules.max_age:
            dropped["older than max_age"] += 1
            continue
        if rules.languages and not _language_matches(story, rules.languages):
            dropped["language not in languages"] += 1
            continue
        outlets = 1 + len(story.others)
        if outlets < rules.min_outlets:
            dropped[f"fewer than {rules.min_outlets} outlets"] += 1
            continue
        if rules.min_outlets > 1:
            reasons.append(f"carried by {outlets} outlets")
        matched_include = [r for r in rules.include if r.matches(story)]
        for rule in matched_include:
            hits[rule.describe()] += 1
        if rules.include and not matched_include:
            dropped["matched no include rule"] += 1
            continue
        reasons += [f"include {r.describe()}" for r in matched_include]
        matched_exclude = [r for r in rules.exclude if r.matches(story)]
        for rule in matched_exclude:
            hits[rule.describe()] += 1
        if matched_exclude:
            dropped[f"exclude {matched_exclude[0].describe()}"] += 1
            continue
        source = story.representative.source_name
        if rules.per_source_limit is not None and per_source[source] >= rules.per_source_limit:
            dropped[f"per_source_limit reached for {source}"] += 1
            continue
        per_source[source] += 1
        selected.append(Selected(story, tuple(reasons) or ("selected by sources/tags",)))
    rule_hits = tuple((r.describe(), hits[r.describe()]) for r in (*rules.include, *rules.exclude))
    return CurationResult(tuple(selected), rule_hits, tuple(sorted(dropped.items())))
