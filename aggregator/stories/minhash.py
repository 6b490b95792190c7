"""MinHash with numpy: shingle hashes, signatures and LSH band keys of a text's tokens.

The numeric half of a fingerprint (stories/similarity.py holds the rest), apart so that
only the processes that make fingerprints (the parse workers) load numpy: comparing two
fingerprints needs none of it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import zlib
from collections.abc import Sequence
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
# the band keys' mix (band_keys_of_many): MurmurHash3's fmix64 constants, the golden ratio
_MIX1: Final = np.uint64(0xFF51AFD7ED558CCD)
_MIX2: Final = np.uint64(0xC4CEB9FE1A85EC53)
_S33: Final = np.uint64(33)
_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)


#: the permutations of seed 1, 128 of them (SEED and NUM_PERM in similarity.py), as
#: _draw makes them, big-endian: kept here so that a parse worker does not load
#: numpy.random (2.8 MB resident) to draw them (tests/test_minhash.py draws them again)
_SEED1_A: Final = bytes.fromhex(
    "d583e84bfe8f01d770ce5f19dd782891000efdff419987139acb5597ff823d0b4b23969f78e0a7812f470121"
    "cb0ca1035f5d7f99c69c3c8fb0ed55db56e8f3f9cb251b0ddefefa3313dfc965b14faa29d6a0a9fda06562cb"
    "5ed517250c9193a968adf717e30c41f9c1989bd5758b25390e05bf3b119eb31d57478465d3f2d489d5a8f9af"
    "ea16bfaf1e0c97d3dc8485e347e0cbefe0d55bbd656d8ec18e8908ad99fb311b6e93afd3efbffb139b03080f"
    "a079227f2f83967b62781c2d094b4a73c0b61403bae3ef01ca09e279a885f1a32b8aea11a8c1c5b113fefd1b"
    "8bcd34e756f4035f1e551fd5c19be4f3574f7391325a843d2fa6488fd79b6b0757e30b8dea707f2bd2d5dc63"
    "10fb0a7365256407623db789944a5631a18b43e348c3f8575f7d0c99910e9835ab540e69d3384aa1095d14db"
    "117ee6e78012ea533f80dba5fa4c001f523ed8817f0f918998d460338f965adfe46bbdc5941c6baf71ba4f0f"
    "34da0a35258ffd33e5524cd1f040082dd1336e13313d7d87965497cfce8688fd93574a2f3d2ddafb42931ac9"
    "0cb2813709ea774b2ad0a2735b9054a7d56ed94d6c5a8511d2264a4187f5bb45990d5e15fbaf7a2f2b350d1f"
    "1b5255df21bf38af25f2be333a561f8f4b2001e7e9bf0ab92db97495859f097d6646ba5d7647a74134652db1"
    "1120292fd3ff256fe65e4a8363886ae3fc724e9bd40f4e0714c99701")
_SEED1_B: Final = bytes.fromhex(
    "0cc9bff8c3f6d4fd893081cd0b9bc706a9ee723423d4d1d583cfc5c6cadaf602f1d0f64c07a10fdb96287895"
    "e21482cbe74559078a71184d23318ac872aed44b23a79d4ce463042bceb1321460a95e1e65ce262489d63367"
    "2a54a707a6fd0f2ded7133c45c7b9a3959072ef0922d9dfcc03538d2a3494060b9db010d20562c0ae2205917"
    "b0b13f7c9fa8fb51a5d2e787c03dc3795a9bc098595166cac3633ddc4519fe945b45a9a0e558cc8cc0b6bcc1"
    "6d97625ee19f9e3cf6ffc1e902fcc098a9d74d527f8413739f27736112e408821d5ffdecc975a6dcf311ba67"
    "1066b762732d710a5af59eb694115760f11c39e9687ba752613ac9d63cadccc6c34ebac2e743e147c5873fe7"
    "92dca8b04d25f63600bc1c0fc5d23b859dfd3591272668aa539f001494215a7686ed47b0024e5916e2cd19e5"
    "b583cf8d5b7607f1787bea72e895c261c3bc56b59f94875477a70c0a040cdc6044dd40b7edef993dd4e9ce38"
    "b0de9ed98d23a195ff508ce711f0dc602c1e81f978f41fd3231b5419be25d5f1eebe938e3124088db262acd4"
    "76dd1e7410e5632b3af90e86c16606cd821c82b8c0fe07bb3564bb8fec4b56180c9f33fbb6267c8984d421c2"
    "1fd038c72c1a6f350516dd456574c9a406b5c3651b7c4af8073f18158282ed283f07b04d1a2588dbdc2acab1"
    "49e9697189f0d52f3b5485cd8d85bda8f7b915ced78f562d473fe757")


def _draw(seed: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations h -> a * h + b (mod 2^32, ``a`` odd) drawn from ``seed``.

    The draw and the arithmetic are datasketch 2.0's "affine32" scheme, which made the
    stored signatures before this module computed them itself: the values are the same.
    """
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _permutations(seed: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_draw`'s permutations, drawn once (those of seed 1 read from _SEED1_*)."""
    found = _PERMUTATIONS.get((seed, num_perm))
    if found is None:
        if (seed, num_perm) == (1, len(_SEED1_A) // 4):
            found = (np.frombuffer(_SEED1_A, dtype=">u4").astype(np.uint32),
                     np.frombuffer(_SEED1_B, dtype=">u4").astype(np.uint32))
        else:
            found = _draw(seed, num_perm)
        _PERMUTATIONS[seed, num_perm] = found
    return found


def _permuted(hashes: np.ndarray, permutations: tuple[np.ndarray, np.ndarray], *,
              by_hash: bool = True) -> np.ndarray:
    """Every permutation of every hash (uint32, one row per hash, or per permutation)."""
    shift1, multiply1, shift2, multiply2 = _FMIX
    mixed = hashes ^ (hashes >> shift1)
    mixed *= multiply1
    mixed ^= mixed >> shift2
    mixed *= multiply2
    mixed ^= mixed >> shift1
    a, b = permutations
    if by_hash:
        permuted: np.ndarray = mixed.reshape(-1, 1) * a
        permuted += b
    else:
        permuted = a.reshape(-1, 1) * mixed
        permuted += b.reshape(-1, 1)
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
    """One LSH key per band of ``signature`` (:func:`band_keys_of_many` of it alone)."""
    return band_keys_of_many(signature.reshape(1, -1), bands, rows, lead)[0]


def shingle_hashes_of_many(texts: list[list[str]], size: int) -> tuple[np.ndarray, list[int]]:
    """:func:`shingle_hashes` of each of ``texts`` (each of at least ``size`` tokens), in one
    array, and where each text's hashes start (one more: the end). Each distinct word is
    hashed once."""
    every = list(itertools.chain.from_iterable(texts))
    codes = dict(zip(unique := list(dict.fromkeys(every)),
                     map(zlib.crc32, map(str.encode, unique)), strict=True))
    total = len(every)
    words = np.array(list(map(codes.__getitem__, every)), dtype=np.uint64)
    count = total - size + 1
    combined = words[:count].copy()
    for offset in range(1, size):
        combined = combined * _PRIME + words[offset:offset + count]
    keep = np.ones(total, dtype=bool)  # a shingle starts in a text and ends in it
    starts, end = [0], 0
    for tokens in texts:
        end += len(tokens)
        keep[end - size + 1:end] = False
        starts.append(starts[-1] + len(tokens) - size + 1)
    return ((combined[keep[:count]] ^ (combined[keep[:count]] >> _SHIFT)) & _LOW32).astype(
        np.uint32), starts


def signatures_of_many(hashes: np.ndarray, starts: list[int], body_starts: list[int], *,
                       seed: int, num_perm: int, opening_end: int,
                       lead_end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`signatures` of many texts in one pass: text ``k`` holds the hashes
    ``hashes[starts[k]:starts[k + 1]]`` (at least one), its body from ``body_starts[k]``.
    The whole texts', leads' and openings' signatures, one row per text."""
    # one row per permutation, a column per hash: a reduction along rows runs fastest
    permuted = _permuted(hashes, _permutations(seed, num_perm), by_hash=False)
    # each text: four runs of rows, the title, the opening, the rest of the lead, the rest
    bounds = []
    for k, body_start in enumerate(body_starts):
        first, end = starts[k], starts[k + 1]
        body = min(first + body_start, end)
        opening = min(body + opening_end, end)
        lead = max(opening, min(body + lead_end, end))
        bounds.append((first, body, opening, lead))
    runs = np.array(bounds, dtype=np.intp).reshape(-1)
    ends = np.append(runs[1:], len(hashes))
    filled = ends > runs
    minima = np.full((len(runs), num_perm), _EMPTY, dtype=np.uint32)
    minima[filled] = np.minimum.reduceat(permuted, runs[filled], axis=1).T
    title, opening_sig, rest_of_lead, rest = (minima[part::4] for part in range(4))
    lead_sig = np.minimum(opening_sig, rest_of_lead)
    whole = np.minimum(lead_sig, np.minimum(title, rest))
    return whole, lead_sig, opening_sig


def lead_signatures(leads: Sequence[bytes], *, seed: int, num_perm: int,
                    opening_end: int) -> list[bytes]:
    """The signatures of each lead (its shingle hashes, little-endian uint32, at least
    one) and of its opening (its first ``opening_end`` hashes), packed one after the
    other: as :func:`signatures` makes them from a whole text's hashes (a stored print's
    lead, stories/fingerprints.py)."""
    hashes = np.frombuffer(b"".join(leads), dtype="<u4").astype(np.uint32)
    starts = [0]
    for lead in leads:
        starts.append(starts[-1] + len(lead) // 4)
    _, lead_sig, opening_sig = signatures_of_many(
        hashes, starts, [0] * len(leads), seed=seed, num_perm=num_perm,
        opening_end=opening_end, lead_end=len(hashes))
    return packed_rows(lead_sig, opening_sig)


def band_keys_of_many(signatures: np.ndarray, bands: int, rows: int,
                      lead: bool) -> list[list[int]]:
    """One LSH key per band of each row of ``signatures``: its rows' values mixed into 64
    bits (each value XORed in and mixed by MurmurHash3's 64-bit finalizer steps, from
    a start of the band's number), the top 56 bits of that and, below them, the band's
    number (whole-text bands count up from 0, opening bands down from 127), as a signed
    64-bit integer an index keeps in 8 bytes. In numpy, a sixth of the time of a
    BLAKE2b digest a band (the keys before migration 0018: ``blake2b_band_keys_of_many``)."""
    values = np.ascontiguousarray(signatures[:, :bands * rows], dtype=np.uint64).reshape(
        len(signatures), bands, rows)
    numbers = _band_numbers(bands, lead)
    mixed = np.repeat((numbers * _GOLDEN).reshape(1, -1), len(signatures), axis=0)
    for row in range(rows):
        mixed ^= values[:, :, row]
        mixed *= _MIX1
        mixed ^= mixed >> _S33
    mixed *= _MIX2
    mixed ^= mixed >> _S33
    keys = (mixed >> _BYTE) << _BAND_BITS | numbers
    listed: list[int] = (keys.astype(np.int64) - _KEY_OFFSET).reshape(-1).tolist()
    return [listed[start:start + bands] for start in range(0, len(listed), bands)]


def blake2b_band_keys_of_many(signatures: np.ndarray, bands: int, rows: int,
                              lead: bool) -> list[list[int]]:
    """The band keys of revisions 0003 to 0017 of the store, frozen for migrations 0016
    and 0018 (which make the stored keys again, either way): 56 bits of each band's
    BLAKE2b digest (8 bytes) over the band's number, as :func:`band_keys_of_many`."""
    data = np.ascontiguousarray(signatures[:, :bands * rows], dtype="<u4").tobytes()
    width = rows * 4
    copy = _BAND_HASH.copy  # (a copy is cheaper than a new hasher with its digest size)
    digests = []
    for start in range(0, len(data), width):
        hasher = copy()
        hasher.update(data[start:start + width])
        digests.append(hasher.digest())
    numbers = np.tile(_band_numbers(bands, lead), len(signatures))
    keys = (np.frombuffer(b"".join(digests), dtype=">u8") >> _BYTE) << _BAND_BITS | numbers
    listed: list[int] = (keys.astype(np.int64) - _KEY_OFFSET).tolist()
    return [listed[start:start + bands] for start in range(0, len(listed), bands)]


def keys_of_signatures(signatures: Sequence[bytes], *, bands: int, rows: int,
                       lead_bands: int, lead_rows: int, blake2b: bool = False
                       ) -> list[list[int]]:
    """The band keys (the whole text's, then the opening's) of packed fingerprint
    signatures (``Fingerprint.signature``: the whole text's, the lead's and the
    opening's, little-endian uint32 each), with :func:`band_keys_of_many` or, ``blake2b``,
    the keys before migration 0018: what the migrations that make the stored keys again
    store."""
    if not signatures:
        return []
    packed_all = np.frombuffer(b"".join(signatures), dtype="<u4").astype(np.uint32)
    matrix = packed_all.reshape(len(signatures), -1)
    third = matrix.shape[1] // 3
    derive = blake2b_band_keys_of_many if blake2b else band_keys_of_many
    whole = derive(matrix[:, :third], bands, rows, lead=False)
    opening = derive(np.ascontiguousarray(matrix[:, 2 * third:]), lead_bands, lead_rows,
                     lead=True)
    return [w + o for w, o in zip(whole, opening, strict=True)]


def distinct(hashes: np.ndarray) -> int:
    """How many different shingle hashes."""
    return len(set(hashes.tolist()))  # (a set of a few hundred ints costs less than np.unique)


def distinct_of_many(hashes: np.ndarray, starts: list[int]) -> list[int]:
    """:func:`distinct` of each text's hashes (text ``k``: ``hashes[starts[k]:starts[k + 1]]``,
    at least one), from one sort of the (text, hash) pairs."""
    sizes = [end - start for start, end in itertools.pairwise(starts)]
    keys = np.repeat(np.arange(len(sizes), dtype=np.uint64), sizes) << _SHIFT
    keys |= hashes
    keys.sort()
    new = np.empty(len(keys), dtype=np.intp)  # 1 where a text's next different hash starts
    new[0] = 1
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    counts: list[int] = np.add.reduceat(new, starts[:-1]).tolist()
    return counts


def packed(*signatures: np.ndarray) -> bytes:
    """Signatures as one little-endian uint32 string (Fingerprint.signature)."""
    return b"".join(part.astype("<u4").tobytes() for part in signatures)


def packed_rows(*signatures: np.ndarray) -> list[bytes]:
    """:func:`packed` of each row of the signatures: row ``k`` of each, in order."""
    joined = np.ascontiguousarray(np.concatenate(signatures, axis=1), dtype="<u4").tobytes()
    width = len(joined) // len(signatures[0]) if len(signatures[0]) else 0
    return [joined[start:start + width] for start in range(0, len(joined), width)]
