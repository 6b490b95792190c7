"""Precision and recall of near-duplicate merging on the labeled corpus.

    python -m bench.dedupe.quality [--seeds 7,11,23] [--quick] [--only settings|knobs|clustering]

The corpus joins the generated corpora of the seeds (bench/dedupe/corpus.py). Two measures,
both over pairs of items (a pair is positive when both items are one story):

- pairwise: ``compare`` on every pair of the corpus. Pairs whose signatures share too few
  slots for any rule under the loosest thresholds tried are "not same" without a call.
- clustering, as the store will do it: items arrive one by one in a shuffled order; each
  looks up the items that share a band key with it (an in-memory dict of buckets),
  compares itself with them, joins the story of its best match and merges the other
  stories it matches into that one (or, to compare, joins the best match only).

The grid: 1. shingle size and title policy, each with a grid of Jaccard x containment
thresholds; 2. the other knobs one at a time; 3. bands and permutations (clustering).
The rule: eligible settings have precision >= 0.995 and, for the thresholds, no false merge
of a non-templated negative with the number and name guards off; the highest recall wins,
recalls within TIE of it count as equal, and then the strictest setting wins.
aggregator/similarity.py holds the chosen values; bench/dedupe/README.md the figures.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np

from aggregator.stories.similarity import (
    DEFAULT,
    Fingerprint,
    Tuning,
    comparable_text,
    compare,
    fingerprint,
)
from bench.dedupe.corpus import SERIES, Doc, generate_many

PRECISION_FLOOR = 0.995
SERIES_GROUPS = frozenset(name for name, _ in SERIES)


@dataclass(frozen=True, slots=True)
class Score:
    tp: int
    fp: int
    positives: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.positives if self.positives else 1.0

    def __str__(self) -> str:
        return f"P {self.precision:.4f}  R {self.recall:.4f}  (tp {self.tp}, fp {self.fp})"


def positives(docs: Sequence[Doc]) -> int:
    sizes = Counter(d.cluster for d in docs)
    return sum(n * (n - 1) // 2 for n in sizes.values())


def fingerprints(docs: Sequence[Doc], tuning: Tuning) -> list[Fingerprint | None]:
    return [fingerprint(d.title, d.text, tuning) for d in docs]


def candidate_pairs(fps: Sequence[Fingerprint | None], jaccard: float = 0.3,
                    containment: float = 0.6, shared: int = 4) -> list[tuple[int, int]]:
    """Every pair that some rule of ``compare`` could call the same under the loosest
    thresholds of the grid (estimated Jaccard, containment of the smaller in the larger,
    of the whole text or of the lead); all other pairs are "not same" for any setting."""
    index = [i for i, f in enumerate(fps) if f is not None]
    present = [f for f in fps if f is not None]
    sigs = np.stack([np.frombuffer(f.signature, dtype="<u4") for f in present])
    size = np.array([f.shingles for f in present])
    half = sigs.shape[1] // 3
    whole, lead = sigs[:, :half], sigs[:, half:2 * half]
    pairs: list[tuple[int, int]] = []
    for row in range(len(index) - 1):
        rest = slice(row + 1, None)
        smaller = (size[rest] < size[row])[:, None]  # is the other one the smaller?
        keep = np.zeros(len(index) - row - 1, dtype=bool)
        for part in (whole, lead):
            equal = np.count_nonzero(part[rest] == part[row], axis=1)
            mine_lower = part[row] < part[rest]
            theirs_lower = part[rest] < part[row]
            lower = np.count_nonzero(np.where(smaller, theirs_lower, mine_lower), axis=1)
            ratio = equal / np.maximum(equal + lower, 1)
            keep |= (equal >= shared) & (ratio >= containment)
            if part is whole:
                keep |= equal >= jaccard * half
        for other in np.nonzero(keep)[0]:
            pairs.append((index[row], index[row + 1 + int(other)]))
    return pairs


def pairwise(docs: Sequence[Doc], fps: Sequence[Fingerprint | None],
             pairs: Iterable[tuple[int, int]], tuning: Tuning,
             errors: list[tuple[str, Doc, Doc, str]] | None = None) -> Score:
    tp = fp = 0
    total = positives(docs)
    for i, j in pairs:
        a, b = fps[i], fps[j]
        assert a is not None and b is not None
        match = compare(a, b, tuning)
        truth = docs[i].cluster == docs[j].cluster
        if match.same:
            tp += truth
            fp += not truth
            if not truth and errors is not None:
                errors.append(("false merge", docs[i], docs[j], match.reason))
        elif truth and errors is not None:
            errors.append(("miss", docs[i], docs[j], match.reason))
    return Score(tp, fp, total)


def cluster(docs: Sequence[Doc], fps: Sequence[Fingerprint | None], tuning: Tuning,
            order_seed: int = 1, merge: bool = True) -> tuple[Score, float]:
    """Greedy clustering through band buckets; the score of merged pairs, and the mean
    number of candidates compared per item. An item joins the story of its best match;
    with ``merge`` the other stories it matches are merged into that one."""
    order = list(range(len(docs)))
    random.Random(order_seed).shuffle(order)
    buckets: dict[str, list[int]] = defaultdict(list)
    parent = list(range(len(docs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    compared = 0
    for i in order:
        fp = fps[i]
        if fp is None:
            continue
        seen: set[int] = set()
        matched: list[tuple[float, int]] = []
        for key in fp.bands:
            for j in buckets.get(key, ()):
                if j in seen:
                    continue
                seen.add(j)
                other = fps[j]
                assert other is not None
                match = compare(fp, other, tuning)
                if match.same:
                    matched.append((match.jaccard, j))
        compared += len(seen)
        if matched:
            matched.sort(reverse=True)
            target = root(matched[0][1])
            parent[i] = target
            if merge:
                for _, j in matched[1:]:
                    parent[root(j)] = target
        for key in fp.bands:
            buckets[key].append(i)
    merged: dict[int, list[int]] = defaultdict(list)
    for i in range(len(docs)):
        merged[root(i)].append(i)
    tp = fp_count = 0
    for members in merged.values():
        for i, j in itertools.combinations(members, 2):
            if docs[i].cluster == docs[j].cluster:
                tp += 1
            else:
                fp_count += 1
    return Score(tp, fp_count, positives(docs)), compared / len(docs)


def _label(t: Tuning) -> str:
    title = "always" if t.title_words is None else f"body<{t.title_words}"
    return (f"k={t.shingle} title {title} J>={t.jaccard} C>={t.containment} "
            f"shared>={t.min_shared} anchor>={t.lead_anchor} shortJ>={t.short_jaccard} "
            f"shortC>={t.short_containment} numbers<{t.numbers_missing} "
            f"names<{t.names_missing} slack {t.slot_slack} lead {t.lead_words} "
            f"opening {t.opening_words}")


TIE = 0.005  # recalls this close count as equal; ties go to the strictest thresholds


def pick(scored: Sequence[tuple[Score, Tuning]]) -> tuple[Score, Tuning] | None:
    """The rule: the highest recall among eligible settings; within TIE of it, the
    strictest thresholds (false positives are worse than misses)."""
    if not scored:
        return None
    best = max(s.recall for s, _ in scored)
    return max((st for st in scored if st[0].recall >= best - TIE),
               key=lambda st: _strictness(st[1]))


def _strictness(t: Tuning) -> tuple[float, ...]:
    return (t.jaccard, t.containment, t.short_jaccard, t.short_containment, t.min_shared,
            t.lead_anchor,
            -t.numbers_missing, -t.names_missing)


def unguarded_false_merges(docs: Sequence[Doc], fps: Sequence[Fingerprint | None],
                           pairs: Iterable[tuple[int, int]], tuning: Tuning) -> int:
    """False merges of non-templated negatives with the number and name guards off: the
    thresholds alone must keep apart different articles (same topic, shared paragraphs,
    digests) - the guards are for templated series."""
    loose = replace(tuning, numbers_missing=2.0, names_missing=2.0)
    count = 0
    for i, j in pairs:
        if docs[i].cluster == docs[j].cluster or SERIES_GROUPS & {docs[i].group, docs[j].group}:
            continue
        a, b = fps[i], fps[j]
        assert a is not None and b is not None
        count += compare(a, b, loose).same
    return count


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="7,11,23", help="corpus seeds, comma-separated")
    parser.add_argument("--quick", action="store_true", help="the chosen settings only")
    parser.add_argument("--only", choices=("settings", "knobs", "clustering"),
                        help="run one part of the grid")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    docs = generate_many(tuple(int(x) for x in args.seeds.split(",")))
    kinds = Counter(d.kind for d in docs)
    same_text: dict[str, int] = {}
    for d in docs:  # a label check: one text, one story
        key = comparable_text(d.title, d.text)
        if same_text.setdefault(key, d.cluster) != d.cluster:
            print(f"warning: items {d.id} and another have one text and two stories")
    print(f"corpus: {len(docs)} items, {len({d.cluster for d in docs})} stories, "
          f"{positives(docs)} positive pairs; "
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))

    settings = [(DEFAULT.shingle, DEFAULT.title_words)]
    if not args.quick:
        settings = [(3, None), (4, None), (5, None), (5, 40)]
    if args.only in ("knobs", "clustering"):
        settings = []
    grid = list(itertools.product((0.3, 0.4, 0.5, 0.6, 0.7), (0.6, 0.7, 0.8, 0.9)))
    if args.quick:
        grid = [(DEFAULT.jaccard, DEFAULT.containment)]

    print(f"\n1. pairwise (every pair of the corpus) per shingle size k and title policy "
          f"(the title joins the text when the body has fewer than T words); J x C grid.\n"
          f"   Eligible: precision >= {PRECISION_FLOOR}, and no false merge of a non-templated "
          f"negative with the number/name guards off. Best: highest recall, then strictest.")
    eligible: list[tuple[Score, Tuning]] = []
    prepared: dict[tuple[int, int | None],
                   tuple[list[Fingerprint | None], list[tuple[int, int]]]] = {}
    for k, tw in settings:
        base = replace(DEFAULT, shingle=k, title_words=tw)
        fps = fingerprints(docs, base)
        pairs = candidate_pairs(fps)
        prepared[(k, tw)] = (fps, pairs)
        rows: list[tuple[Score, Tuning, int]] = []
        for j, c in grid:
            tuning = replace(base, jaccard=j, containment=c)
            rows.append((pairwise(docs, fps, pairs, tuning), tuning,
                         unguarded_false_merges(docs, fps, pairs, tuning)))
        ok = [(s, t) for s, t, unguarded in rows if s.precision >= PRECISION_FLOOR
              and unguarded == 0]
        best = pick(ok)
        if best:
            eligible.append(best)
        shown = f"{best[0]}  J>={best[1].jaccard} C>={best[1].containment}" if best \
            else "no eligible thresholds"
        title = "always" if tw is None else f"body<{tw}"
        print(f"  k={k} title {title:<8} {len(pairs):5d} pairs compared; by the rule {shown}")
        if (k, tw) == (DEFAULT.shingle, DEFAULT.title_words):
            for s, t, unguarded in rows:
                print(f"      J>={t.jaccard:.1f} C>={t.containment:.1f}: {s}; "
                      f"unguarded false merges {unguarded}")
    if eligible:
        top = max(eligible, key=lambda st: st[0].recall)
        print(f"  best setting: {top[0]}  {_label(top[1])}")

    if (DEFAULT.shingle, DEFAULT.title_words) in prepared:
        fps, pairs = prepared[(DEFAULT.shingle, DEFAULT.title_words)]
    else:
        fps = fingerprints(docs, DEFAULT)
        pairs = candidate_pairs(fps)
    print("\n2. the other settings one at a time around the chosen ones (pairwise):")
    one_at_a_time: dict[str, tuple[float, ...]] = {} if args.quick or args.only in (
            "settings", "clustering") else {
        "opening_words": (15, 20, 25),
        "opening_jaccard": (0.5, 0.7, 0.9),
        "min_lead_shingles": (0, 8, 12, 16),
        "lead_words": (40, 60, 80),
        "min_shared": (4, 6, 8),
        "lead_anchor": (0.0, 0.3, 0.5, 0.7),
        "short_jaccard": (0.7, 0.85, 0.95),
        "short_containment": (0.8, 0.9, 0.95),
        "numbers_missing": (0.0, 0.2, 0.3, 0.5),
        "names_missing": (0.0, 0.1, 0.2),
        "slot_slack": (0, 1, 2),
    }
    for name, values in one_at_a_time.items():
        row = []
        for value in values:
            tuning = replace(DEFAULT, **cast(dict[str, Any], {name: value}))
            if name in ("opening_words", "lead_words"):  # these change the fingerprints
                other = fingerprints(docs, tuning)
                score = pairwise(docs, other, candidate_pairs(other), tuning)
            else:
                score = pairwise(docs, fps, pairs, tuning)
            mark = "*" if value == getattr(DEFAULT, name) else ""
            row.append(f"{value}{mark}: P {score.precision:.4f} R {score.recall:.4f}")
        print(f"  {name}: " + " | ".join(row))
    chosen = pairwise(docs, fps, pairs, DEFAULT)
    print(f"  chosen (aggregator/similarity.py): {chosen}\n    {_label(DEFAULT)}")

    print("\n3. clustering through LSH buckets (items in shuffled order; 3 orders summed):")
    band_grid = [(DEFAULT.num_perm, DEFAULT.bands, DEFAULT.rows, DEFAULT.lead_bands,
                  DEFAULT.lead_rows)]
    if args.only in ("settings", "knobs"):
        band_grid = []
    elif not args.quick:
        band_grid += [(128, 16, 8, 16, 8), (128, 24, 5, 16, 8), (128, 32, 4, 16, 8),
                      (128, 32, 4, 32, 4), (128, 42, 3, 16, 8), (128, 42, 3, 32, 4),
                      (128, 42, 3, 0, 1), (128, 16, 2, 4, 8), (128, 21, 2, 4, 8),
                      (128, 21, 2, 0, 1), (128, 24, 2, 4, 8), (128, 24, 2, 16, 8),
                      (128, 28, 2, 16, 8), (128, 32, 2, 4, 8), (64, 21, 3, 16, 4),
                      (256, 85, 3, 32, 8)]
    for perms, bands, rows_, lead_bands, lead_rows in band_grid:
        tuning = replace(DEFAULT, num_perm=perms, bands=bands, rows=rows_,
                         lead_bands=lead_bands, lead_rows=lead_rows)
        other = fingerprints(docs, tuning)
        merges = (True, False) if (perms, bands, rows_, lead_bands, lead_rows) == \
            band_grid[0] else (True,)
        for merge in merges:
            scores = [cluster(docs, other, tuning, order, merge) for order in (1, 2, 3)]
            combined = Score(sum(s.tp for s, _ in scores), sum(s.fp for s, _ in scores),
                             sum(s.positives for s, _ in scores))
            per_item = sum(c for _, c in scores) / len(scores)
            print(f"  {perms:3d} perms, {bands:2d}x{rows_} whole + {lead_bands:2d}x{lead_rows:<2d} "
                  f"opening ({bands + lead_bands:2d} keys/item)"
                  f"{'' if merge else ', no story merging'}: {combined}  "
                  f"{per_item:.1f} compared/item")

    errors: list[tuple[str, Doc, Doc, str]] = []
    pairwise(docs, fps, pairs, DEFAULT, errors)
    misses = Counter(edit for kind, a, b, _ in errors if kind == "miss"
                     for edit in set(a.edits) | set(b.edits) or {"(none)"})
    merges_ = Counter(f"{a.kind}/{b.kind} in {a.group}" for kind, a, b, _ in errors
                      if kind == "false merge")
    reasons = Counter(r.split(":")[0].split("(")[0].strip() for kind, _, _, r in errors
                      if kind == "miss")
    print("\n4. chosen, pairwise misses by edit (an edit of either item):",
          ", ".join(f"{e} {n}" for e, n in misses.most_common()))
    print("   misses by reason:", ", ".join(f"{r} {n}" for r, n in reasons.most_common(6)))
    print("   false merges:", ", ".join(f"{k} {n}" for k, n in merges_.most_common()) or "none")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
