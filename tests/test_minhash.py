"""stories/minhash.py against the definitions its docstrings give, with plain integers."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from aggregator.stories.minhash import (
    _draw,
    _permutations,
    band_keys,
    band_keys_of_many,
    blake2b_band_keys_of_many,
    distinct,
    distinct_of_many,
    keys_of_signatures,
    packed,
    packed_rows,
    shingle_hashes,
    shingle_hashes_of_many,
    signatures,
    signatures_of_many,
)

HASHES = st.lists(st.integers(0, 2**32 - 1), max_size=40)
PERMS = 16
MASK = 2**32 - 1


def _fmix(h: int) -> int:
    """MurmurHash3's 32-bit finalizer."""
    h ^= h >> 16
    h = h * 0x85EBCA6B & MASK
    h ^= h >> 13
    h = h * 0xC2B2AE35 & MASK
    return h ^ h >> 16


def _signature(values: list[int]) -> list[int]:
    """Each slot: the least of a * fmix(h) + b (mod 2^32) over the hashes, else 2^32 - 1."""
    a, b = _permutations(1, PERMS)
    return [min((int(x) * _fmix(h) + int(y) & MASK for h in values), default=MASK)
            for x, y in zip(a, b, strict=True)]


@given(HASHES, st.data())
def test_signatures_of_the_whole_text_its_lead_and_its_opening(values: list[int],
                                                               data: st.DataObject) -> None:
    body_start = data.draw(st.integers(0, len(values)))
    opening_end = data.draw(st.integers(1, 8))
    lead_end = data.draw(st.integers(1, 20))
    whole, lead, opening = signatures(np.array(values, dtype=np.uint32), body_start, seed=1,
                                      num_perm=PERMS, opening_end=opening_end,
                                      lead_end=lead_end)
    body = values[body_start:]
    assert whole.tolist() == _signature(values)
    assert opening.tolist() == _signature(body[:opening_end])
    assert lead.tolist() == _signature(body[:max(lead_end, opening_end)])


@given(st.lists(st.integers(0, 2**32 - 1), min_size=24, max_size=24), st.booleans())
def test_band_keys_are_a_mix_of_the_band_over_its_number(values: list[int],
                                                          lead: bool) -> None:
    keys = band_keys(np.array(values, dtype=np.uint32), 8, 3, lead=lead)
    mask = (1 << 64) - 1
    for band, key in enumerate(keys):
        number = 127 - band if lead else band
        mixed = number * 0x9E3779B97F4A7C15 & mask
        for value in values[band * 3:band * 3 + 3]:
            mixed = (mixed ^ value) * 0xFF51AFD7ED558CCD & mask
            mixed ^= mixed >> 33
        mixed = mixed * 0xC4CEB9FE1A85EC53 & mask
        mixed ^= mixed >> 33
        assert key == ((mixed >> 8) << 7 | number) - (1 << 62)
        assert type(key) is int


@given(st.lists(st.integers(0, 2**32 - 1), min_size=24, max_size=24), st.booleans())
def test_the_keys_before_0018_are_a_digest_of_the_band_over_its_number(
        values: list[int], lead: bool) -> None:
    (keys,) = blake2b_band_keys_of_many(np.array([values], dtype=np.uint32), 8, 3, lead=lead)
    for band, key in enumerate(keys):
        rows = struct.pack("<3I", *values[band * 3:band * 3 + 3])
        digest = hashlib.blake2b(rows, digest_size=8).digest()
        number = 127 - band if lead else band
        assert key == (int.from_bytes(digest[:7], "big") << 7 | number) - (1 << 62)
        assert type(key) is int


@given(HASHES)
def test_distinct_counts_the_different_hashes(values: list[int]) -> None:
    assert distinct(np.array(values, dtype=np.uint32)) == np.unique(values).size


@given(st.lists(st.lists(st.sampled_from([0, 1, 7, 2**31, MASK]) | st.integers(0, MASK),
                         min_size=1, max_size=12), min_size=1, max_size=8))
def test_distinct_of_many_counts_each_texts_different_hashes(texts: list[list[int]]) -> None:
    starts = [0]
    for text in texts:
        starts.append(starts[-1] + len(text))
    hashes = np.array([h for text in texts for h in text], dtype=np.uint32)
    counts = distinct_of_many(hashes, starts)
    assert counts == [len(set(text)) for text in texts]
    assert all(type(count) is int for count in counts)


def test_the_default_permutations_kept_are_those_drawn() -> None:
    """minhash keeps seed 1's 128 permutations so a parse worker need not load
    numpy.random; they must be the very ones it draws (stored signatures depend on them)."""
    kept = _permutations(1, 128)
    drawn = _draw(1, 128)
    assert [k.dtype for k in kept] == [np.dtype(np.uint32)] * 2
    assert kept[0].tolist() == drawn[0].tolist()
    assert kept[1].tolist() == drawn[1].tolist()
    assert _permutations(2, 128)[0].tolist() == _draw(2, 128)[0].tolist()


TOKENS = st.lists(st.sampled_from(["a", "b", "c", "ё", "дом", "1", "2024"]), min_size=5,
                  max_size=30)


@given(st.lists(TOKENS, min_size=1, max_size=6))
def test_shingle_hashes_of_many_texts_are_each_texts(texts: list[list[str]]) -> None:
    hashes, starts = shingle_hashes_of_many(texts, 5)
    assert starts[0] == 0 and starts[-1] == len(hashes)
    for k, tokens in enumerate(texts):
        assert hashes[starts[k]:starts[k + 1]].tolist() == shingle_hashes(tokens, 5).tolist()


@given(st.lists(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=30), min_size=1,
                max_size=6), st.data())
def test_signatures_of_many_texts_are_each_texts(texts: list[list[int]],
                                                 data: st.DataObject) -> None:
    body_starts = [data.draw(st.integers(0, len(t))) for t in texts]
    opening_end = data.draw(st.integers(1, 8))
    lead_end = data.draw(st.integers(1, 20))
    starts = [0]
    for values in texts:
        starts.append(starts[-1] + len(values))
    every = np.array([v for values in texts for v in values], dtype=np.uint32)
    together = signatures_of_many(every, starts, body_starts, seed=1, num_perm=PERMS,
                                  opening_end=opening_end, lead_end=lead_end)
    for k, values in enumerate(texts):
        alone = signatures(np.array(values, dtype=np.uint32), body_starts[k], seed=1,
                           num_perm=PERMS, opening_end=opening_end, lead_end=lead_end)
        assert [s[k].tolist() for s in together] == [s.tolist() for s in alone]
    assert packed_rows(*together) == [packed(*(s[k] for s in together))
                                      for k in range(len(texts))]


@given(st.lists(st.lists(st.integers(0, 2**32 - 1), min_size=24, max_size=24), min_size=1,
                max_size=5), st.booleans())
def test_band_keys_of_many_signatures_are_each_signatures(rows: list[list[int]],
                                                          lead: bool) -> None:
    together = band_keys_of_many(np.array(rows, dtype=np.uint32), 7, 3, lead=lead)
    assert together == [band_keys(np.array(r, dtype=np.uint32), 7, 3, lead=lead)
                        for r in rows]


@given(st.lists(st.lists(st.integers(0, 2**32 - 1), min_size=3 * PERMS, max_size=3 * PERMS),
                max_size=4), st.booleans())
def test_keys_of_packed_signatures_are_the_bands_of_the_whole_text_then_the_opening(
        rows: list[list[int]], blake2b: bool) -> None:
    derive = blake2b_band_keys_of_many if blake2b else band_keys_of_many
    signatures = [struct.pack(f"<{3 * PERMS}I", *row) for row in rows]
    expected = [derive(np.array([row[:PERMS]], dtype=np.uint32), 5, 2, lead=False)[0]
                + derive(np.array([row[2 * PERMS:]], dtype=np.uint32), 2, 4, lead=True)[0]
                for row in rows]
    assert keys_of_signatures(signatures, bands=5, rows=2, lead_bands=2, lead_rows=4,
                              blake2b=blake2b) == expected
