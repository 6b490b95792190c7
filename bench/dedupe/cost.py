"""Cost of near-duplicate lookup per ingested item with 10k, 100k (and 1M) stories stored.

    python -m bench.dedupe.cost [--sizes 10000,100000] [--queries 1000] [--workers 1]
                                [--per-day 5000]

For each size N: N items of a synthetic news stream (news_item: distinct stories with
news-like word statistics, the daily posts of the templated series) are fingerprinted and
their band keys put in an index; then new items (half of them edited copies of stories of
the last 7 days, half new items of the stream) are ingested one by one as the store will:

    fingerprint(title, text) -> look up every band key -> compare with each candidate of
    the last 7 days (fingerprint rebuilt from stored columns) -> keep the best match ->
    add the item's keys

The index is what a database index is: band keys as 64-bit integers in a sorted array
(binary search, O(log N)) plus a dict for the items ingested during the run. Pure Python
apart from numpy's searchsorted. Reported: ms per item and its parts, candidates per item,
and two baselines measured in the same run: fingerprinting alone, and a naive linear scan
that compares each new item with 10,000 stored stories.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from aggregator.stories.similarity import DEFAULT, WINDOW, compare, fingerprint
from aggregator.types import Fingerprint
from bench.dedupe.corpus import SERIES, Article, syndicate

CHUNK = 5_000
WINDOW_DAYS = WINDOW.days


def key_int(key: int) -> int:
    """A band key as the signed 64-bit integer the store keeps (fingerprints make them
    so since migration 0003)."""
    return key


@dataclass(slots=True)
class Stored:
    """Fingerprint columns of the stored stories, as arrays."""

    words: np.ndarray
    shingles: np.ndarray
    signatures: np.ndarray  # N x (3 * NUM_PERM) uint32
    numbers: list[str]
    skeletons: list[str]

    def fingerprint(self, i: int) -> Fingerprint:
        numbers = self.numbers[i]
        return Fingerprint(int(self.words[i]), int(self.shingles[i]),
                           self.signatures[i].tobytes(), (),
                           tuple(numbers.split("\x1f")) if numbers else (), self.skeletons[i])


# --- a synthetic news stream ----------------------------------------------------------------

_SYLLABLES = {
    "ru": ("ка", "ре", "ми", "но", "ста", "ли", "про", "ва", "те", "ко", "ра", "ни", "до", "ло",
           "ве", "за", "пе", "то", "ры", "ны", "ма", "на", "ду", "бо", "ги", "жи", "ше", "ча",
           "ще", "ю", "ля", "мо", "со", "по", "ту", "хи", "фе", "цы"),
    "en": ("ta", "re", "mi", "no", "st", "li", "pro", "va", "te", "co", "ra", "ni", "do", "lo",
           "ve", "sa", "pe", "to", "ry", "ny", "ma", "na", "du", "bo", "gi", "ex", "in", "com",
           "pre", "ment", "tion", "al", "er", "ing", "ly"),
}
_VOCABULARY: dict[str, tuple[list[str], list[float], list[str]]] = {}


def _vocabulary(lang: str) -> tuple[list[str], list[float], list[str]]:
    """40,000 words with Zipf weights (cumulative) and 3,000 names, made once per language."""
    if lang not in _VOCABULARY:
        rng = random.Random(lang)
        syllables = _SYLLABLES[lang]
        words = list(dict.fromkeys(
            "".join(rng.choices(syllables, k=rng.choice((1, 2, 2, 3, 3, 4))))
            for _ in range(60_000)))[:40_000]
        weights = np.cumsum(1 / np.arange(1, len(words) + 1) ** 1.05).tolist()
        names = [w.capitalize() for w in rng.sample(words[2_000:], 3_000)]
        _VOCABULARY[lang] = (words, weights, names)
    return _VOCABULARY[lang]


def _sentence(rng: random.Random, lang: str) -> str:
    words, weights, names = _vocabulary(lang)
    sentence = rng.choices(words, cum_weights=weights, k=rng.randint(8, 20))
    if rng.random() < 0.5:
        sentence.insert(rng.randrange(1, len(sentence)), rng.choice(names))
    if rng.random() < 0.3:
        sentence.insert(rng.randrange(1, len(sentence)), str(rng.randint(2, 5000)))
    return " ".join(sentence).capitalize() + "."


def news_item(rng: random.Random, position: int, per_day: int) -> tuple[str, str]:
    """Item ``position`` of a stream of ``per_day`` items a day: mostly distinct stories
    (Zipf-distributed words, names, figures: the statistics of news, not its sense), one
    post a day of each templated series, and short flashes."""
    day, slot = divmod(position, per_day)
    if slot < len(SERIES):  # the daily posts of the templated series
        post = SERIES[slot][1](rng, day % 400 + 1)
        return post.title, post.text
    lang = "ru" if rng.random() < 0.6 else "en"
    title = " ".join(_sentence(rng, lang).split()[:rng.randint(5, 10)]).rstrip(".")
    if rng.random() < 0.1:
        return title, _sentence(rng, lang)
    paragraphs = [" ".join(_sentence(rng, lang) for _ in range(rng.randint(1, 4)))
                  for _ in range(rng.randint(1, 6))]
    return title, "\n\n".join(paragraphs)


def _fill_chunk(seed: int, start: int, count: int, per_day: int) -> tuple[np.ndarray, ...]:
    """Fingerprint items start..start+count of the stream (in a worker process)."""
    rng = random.Random(seed * 1_000_003 + start)
    rows: list[Fingerprint | None] = [fingerprint(*news_item(rng, start + n, per_day))
                                      for n in range(count)]
    # an item without a fingerprint keeps its place (ids are positions in time)
    empty = Fingerprint(0, 0, bytes(12 * DEFAULT.num_perm), (), (), "")
    fps = [fp or empty for fp in rows]
    width = DEFAULT.bands + DEFAULT.lead_bands
    keys = np.array([[key_int(k) for k in fp.bands] if fp.bands else  # unique dummy keys
                     [-1 - (start + n) * width - b for b in range(width)]
                     for n, fp in enumerate(fps)], dtype=np.int64)
    sigs = np.stack([np.frombuffer(fp.signature, dtype=np.uint32) for fp in fps])
    words = np.array([fp.words for fp in fps], dtype=np.int32)
    shingles = np.array([fp.shingles for fp in fps], dtype=np.int32)
    numbers = np.array(["\x1f".join(fp.numbers) for fp in fps], dtype=object)
    skeletons = np.array([fp.skeleton_hash for fp in fps], dtype=object)
    return keys, sigs, words, shingles, numbers, skeletons


@dataclass(slots=True)
class Index:
    keys: np.ndarray  # sorted int64 band keys
    ids: np.ndarray  # story of each key (stories are numbered in time order)
    stored: Stored
    recent: dict[int, list[int]]  # keys of items ingested during the run
    recent_fps: dict[int, Fingerprint]

    def fingerprint(self, i: int) -> Fingerprint:
        return self.recent_fps[i] if i in self.recent_fps else self.stored.fingerprint(i)

    def candidates(self, keys: Sequence[int]) -> set[int]:
        query = np.array(keys, dtype=np.int64)
        left = np.searchsorted(self.keys, query, side="left")
        right = np.searchsorted(self.keys, query, side="right")
        found: set[int] = set()
        for lo, hi in zip(left.tolist(), right.tolist(), strict=True):
            if hi > lo:
                found.update(self.ids[lo:hi].tolist())
        for key in keys:
            found.update(self.recent.get(key, ()))
        return found


def build(size: int, seed: int, workers: int, per_day: int) -> tuple[Index, float]:
    started = time.perf_counter()
    chunks = [(seed, start, min(CHUNK, size - start), per_day)
              for start in range(0, size, CHUNK)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_fill_chunk, *zip(*chunks, strict=True)))
    else:
        parts = [_fill_chunk(*c) for c in chunks]
    keys = np.concatenate([p[0] for p in parts])
    stored = Stored(
        words=np.concatenate([p[2] for p in parts]),
        shingles=np.concatenate([p[3] for p in parts]),
        signatures=np.concatenate([p[1] for p in parts]),
        numbers=[n for p in parts for n in p[4].tolist()],
        skeletons=[s for p in parts for s in p[5].tolist()],
    )
    del parts
    ids = np.repeat(np.arange(keys.shape[0], dtype=np.int32), keys.shape[1])
    flat = keys.reshape(-1)
    order = np.argsort(flat, kind="stable")
    index = Index(flat[order], ids[order], stored, defaultdict(list), {})
    return index, time.perf_counter() - started


def stream(seed: int, size: int, count: int, per_day: int) -> Iterator[tuple[str, str]]:
    """New items arriving after the ``size`` stored ones: edited copies of recent stored
    stories (syndication happens within days) and new items of the stream, alternately."""
    rng = random.Random(seed)
    recent = min(size, WINDOW_DAYS * per_day)
    for n in range(count):
        if n % 2:
            position = size - 1 - rng.randrange(recent)
            start = position - position % CHUNK
            chunk_rng = random.Random(seed * 1_000_003 + start)
            for p in range(start, position + 1):
                title, text = news_item(chunk_rng, p, per_day)
            article = Article(title, text.split("\n\n"), "en")
            copy, _ = syndicate(rng, article, [], frozenset({
                "credit", "new_title", "quotes", "yo", "dashes", "boilerplate", "markup",
                "excerpt", "flatten"}))
            yield copy.title, copy.text
        else:
            yield news_item(rng, size + n, per_day)


@dataclass(slots=True)
class Timing:
    fingerprint: float = 0.0
    lookup: float = 0.0
    compare: float = 0.0
    bucketed: int = 0
    candidates: int = 0
    matched: int = 0
    items: int = 0

    def ms(self, value: float) -> float:
        return value / self.items * 1000


def ingest(index: Index, items: Sequence[tuple[str, str]], first_id: int,
           oldest: int) -> Timing:
    """Ingest ``items``; stories older than ``oldest`` (outside the window) are skipped,
    as the store's query does with its time condition."""
    timing = Timing()
    for n, (title, text) in enumerate(items):
        t0 = time.perf_counter()
        fp = fingerprint(title, text)
        t1 = time.perf_counter()
        if fp is None:
            timing.fingerprint += t1 - t0
            continue
        keys = [key_int(k) for k in fp.bands]
        bucketed = index.candidates(keys)
        found = [i for i in bucketed if i >= oldest]
        t2 = time.perf_counter()
        best = None
        for other in found:
            match = compare(fp, index.fingerprint(other))
            if match.same and (best is None or match.jaccard > best[0]):
                best = (match.jaccard, other)
        for key in keys:
            index.recent[key].append(first_id + n)
        index.recent_fps[first_id + n] = fp
        t3 = time.perf_counter()
        timing.fingerprint += t1 - t0
        timing.lookup += t2 - t1
        timing.compare += t3 - t2
        timing.bucketed += len(bucketed)
        timing.candidates += len(found)
        timing.matched += best is not None
        timing.items += 1
    return timing


def linear_scan(index: Index, items: Sequence[tuple[str, str]], scan: int) -> float:
    """ms per item to compare each new item with the first ``scan`` stored stories."""
    fps = [fp for fp in (fingerprint(t, x) for t, x in items) if fp is not None]
    stored = [index.stored.fingerprint(i) for i in range(min(scan, len(index.stored.words)))]
    started = time.perf_counter()
    for fp in fps:
        for other in stored:
            compare(fp, other)
    return (time.perf_counter() - started) / len(fps) * 1000


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(line.split(":", 1)[1].strip() for line in info
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="processes filling the index")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--per-day", type=int, default=5_000, help="items a day in the stream")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    print(f"settings: {DEFAULT.num_perm} permutations, {DEFAULT.bands}x{DEFAULT.rows} whole + "
          f"{DEFAULT.lead_bands}x{DEFAULT.lead_rows} opening = "
          f"{DEFAULT.bands + DEFAULT.lead_bands} band keys per item")
    print(f"stream: {args.per_day:,} items a day ({len(SERIES)} of them templated series posts); "
          f"candidates older than {WINDOW_DAYS} days ({WINDOW_DAYS * args.per_day:,} items) are "
          "skipped, as the store's query does")
    baseline_fp = baseline_scan = None
    for size in sizes:
        index, fill = build(size, args.seed, args.workers, args.per_day)
        items = list(stream(args.seed, size, args.queries + 20, args.per_day))
        oldest = size - WINDOW_DAYS * args.per_day
        ingest(index, items[:20], size + args.queries, oldest)  # warm up
        index.recent.clear()
        index.recent_fps.clear()
        timing = ingest(index, items[20:], size, oldest)
        total = timing.ms(timing.fingerprint + timing.lookup + timing.compare)
        fp_ms = timing.ms(timing.fingerprint)
        if baseline_fp is None:
            baseline_fp = fp_ms
            baseline_scan = linear_scan(index, items[20:70], 10_000)
            print(f"baselines: fingerprint alone {fp_ms:.3f} ms/item; naive linear scan "
                  f"comparing with 10,000 stored stories {baseline_scan:.1f} ms/item")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{size:>9,} stored ({len(index.keys):,} keys, filled in {fill:.0f} s, "
              f"peak RSS {rss:,.0f} MB): {total:.3f} ms/item = fingerprint {fp_ms:.3f} + "
              f"lookup {timing.ms(timing.lookup):.3f} + compare "
              f"{timing.ms(timing.compare):.3f}; {timing.bucketed / timing.items:.1f} in "
              f"buckets, {timing.candidates / timing.items:.1f} compared per item, "
              f"{timing.matched / timing.items:.0%} matched; {total / baseline_fp:.2f}x "
              f"fingerprinting, {total / (baseline_scan or 1):.4f}x a linear scan of 10k")
        del index

if __name__ == "__main__":
    main()
