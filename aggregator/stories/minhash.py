"""MinHash with numpy: shingle hashes, signatures and LSH band keys of a text's tokens.

The numeric half of a fingerprint (stories/similarity.py holds the rest), apart so that
only the processes that make fingerprints (the parse workers) load numpy: comparing two
fingerprints needs none of it.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from typing import Final

import numpy as np

_PRIME: Final = np.uint64(0x100000001B3)
_SHIFT: Final = np.uint64(32)
_LOW32: Final = np.uint64(0xFFFFFFFF)
_EMPTY: Final = np.uint32(0xFFFFFFFF)
# MurmurHash3's 32-bit finalizer: an avalanching bijection that pre-mixes each shingle hash
_FMIX: Final = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))
_PERMUTATIONS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
_LEAD_BAND_BASE: Final = 127  # band numbers fit 7 bits: bands + lead_bands <= 128
_KEY_OFFSET: Final = np.int64(1 << 62)  # band keys as signed 64-bit integers
_BYTE: Final = np.uint64(8)
_BAND_HASH: Final = hashlib.blake2b(digest_size=8)  # each band's digest starts from a copy
_BAND_BITS: Final = np.uint64(7)


def _permutations(seed: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations h -> a * h + b (mod 2^32, ``a`` odd) drawn from ``seed``.

    The draw and the arithmetic are datasketch 2.0's "affine32" scheme, which made the
    stored signatures before this module computed them itself: the values are the same.
    """
    found = _PERMUTATIONS.get((seed, num_perm))
    if found is None:
        generator = np.random.RandomState(seed)
        a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + \
            np.uint32(1)
        b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        found = _PERMUTATIONS[seed, num_perm] = (a, b)
    return found


def _permuted(hashes: np.ndarray, permutations: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Every permutation of every hash (uint32, one row per hash)."""
    shift1, multiply1, shift2, multiply2 = _FMIX
    mixed = hashes ^ (hashes >> shift1)
    mixed *= multiply1
    mixed ^= mixed >> shift2
    mixed *= multiply2
    mixed ^= mixed >> shift1
    a, b = permutations
    permuted: np.ndarray = mixed.reshape(-1, 1) * a
    permuted += b
    return permuted


def _minimum(permuted: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``start`` lowered by the rows of ``permuted``: a MinHash update."""
    if not permuted.size:
        return start
    lowered: np.ndarray = np.minimum(start, permuted.min(axis=0))
    return lowered


def shingle_hashes(tokens: list[str], size: int) -> np.ndarray:
    """32-bit hashes of the word shingles of ``tokens``, in text order (uint32)."""
    words = np.fromiter(map(zlib.crc32, map(str.encode, tokens)), dtype=np.uint64,
                        count=len(tokens))
    count = max(len(tokens) - size + 1, 1)
    combined = words[:count].copy()
    for offset in range(1, min(size, len(tokens))):
        combined = combined * _PRIME + words[offset:offset + count]
    return ((combined ^ (combined >> _SHIFT)) & _LOW32).astype(np.uint32)


def signatures(hashes: np.ndarray, body_start: int, *, seed: int, num_perm: int,
               opening_end: int, lead_end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MinHash signatures of the body's opening (its first ``opening_end`` shingles), of
    its lead (the first ``lead_end``) and of the whole text, grown in one pass:
    ``hashes`` holds all of the text's shingle hashes, the body's from ``body_start``
    (``len(hashes)``: no body)."""
    permuted = _permuted(hashes, _permutations(seed, num_perm))
    body = permuted[body_start:]
    opening = _minimum(body[:opening_end], np.full(num_perm, _EMPTY, dtype=np.uint32))
    lead = _minimum(body[opening_end:lead_end], opening)
    whole = _minimum(permuted, lead)
    return whole, lead, opening


@functools.lru_cache(maxsize=8)
def _band_numbers(bands: int, lead: bool) -> np.ndarray:
    """The bands' numbers: whole-text bands count up from 0, opening bands down from 127."""
    if lead:
        return np.arange(_LEAD_BAND_BASE, _LEAD_BAND_BASE - bands, -1, dtype=np.uint64)
    return np.arange(bands, dtype=np.uint64)


def band_keys(signature: np.ndarray, bands: int, rows: int, lead: bool) -> list[int]:
    """One LSH key per band of ``signature``: 56 bits of the band's BLAKE2b digest and,
    below them, the band's number (whole-text bands count up from 0, opening bands
    down from 127), as a signed 64-bit integer an index keeps in 8 bytes."""
    data = signature.astype("<u4").tobytes()
    width = rows * 4
    copy = _BAND_HASH.copy  # (a copy is cheaper than a new hasher with its digest size)
    digests = []
    for start in range(0, bands * width, width):
        hasher = copy()
        hasher.update(data[start:start + width])
        digests.append(hasher.digest())
    numbers = _band_numbers(bands, lead)
    # a digest's first 7 bytes as a big-endian number, the band's number below them
    keys = (np.frombuffer(b"".join(digests), dtype=">u8") >> _BYTE) << _BAND_BITS | numbers
    listed: list[int] = (keys.astype(np.int64) - _KEY_OFFSET).tolist()
    return listed


def distinct(hashes: np.ndarray) -> int:
    """How many different shingle hashes."""
    return len(set(hashes.tolist()))  # (a set of a few hundred ints costs less than np.unique)


def packed(*signatures: np.ndarray) -> bytes:
    """Signatures as one little-endian uint32 string (Fingerprint.signature)."""
    return b"".join(part.astype("<u4").tobytes() for part in signatures)
