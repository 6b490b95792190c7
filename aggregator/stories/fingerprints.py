"""Fingerprints of stored items: read back from their compact print, else made again
from the text their rows hold, with a cache.

The store keeps a compact print of each item within the time window (``item_print``,
``pack``): the whole text's signature, the lead's shingle hashes (the lead's and the
opening's signatures are made again from them, exactly: 224 bytes against 1,024), the
counts, slots and skeleton; about 0.8 KB an item against the fingerprint's 1.6. A print
holds a stamp of the item's ``content_hash``: one whose item no longer matches it is
not used. Without a usable print (an item written before migration 0017, a text too
short), a candidate's fingerprint is ``similarity.fingerprint`` of its title and the
text of its content, as before. Used by the writer (store/stories.py) and, ahead of it,
by the parse worker that reads a feed's candidates (store/lookahead.py).
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from aggregator.stories.similarity import DEFAULT, SEED, fingerprints
from aggregator.text import html_to_text
from aggregator.types import Fingerprint


def text_key(title: str, content_html: str) -> bytes:
    """What a fingerprint is made of, as a digest: the title and content an item row
    holds (the content is what the fingerprint's text is derived from)."""
    digest = hashlib.blake2b(title.encode("utf-8", "surrogatepass"), digest_size=16)
    digest.update(b"\x1f")
    digest.update(content_html.encode("utf-8", "surrogatepass"))
    return digest.digest()


#: rows made in one numpy pass: its arrays (every permutation of every shingle, 512
#: bytes a shingle) take ~1.5 MB for 8 stored items of the bench's length; a feed's ~20
#: candidates at once put 5 MB more on the writing process's peak (cold 1000-feed run:
#: 124 against 119 MB)
BATCH: Final = 8


class Fingerprints:
    """The fingerprints of stored items without a usable print, made again from their
    title and content.

    The last ``size`` made are kept (without band keys, which ``compare`` does not
    read: about 1.8 KB each), keyed by a digest of that text, so a candidate compared
    lately costs no second computation (a story's copies arrive within hours of each
    other). New items are not kept: their prints are read back (before migration 0017
    the writer kept the last 1,024 it wrote and a parse worker 2,048, 4-5 MB of a cold
    run's peak)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._recent: OrderedDict[bytes, Fingerprint | None] = OrderedDict()
        self._lock = threading.Lock()  # a store may be written from several threads

    def _keep(self, key: bytes, fp: Fingerprint | None) -> Fingerprint | None:
        with self._lock:
            self._recent[key] = fp
            self._recent.move_to_end(key)
            while len(self._recent) > self.size:
                self._recent.popitem(last=False)
        return fp

    def of_many(self, rows: Sequence[tuple[str, str]]) -> list[Fingerprint | None]:
        """The fingerprint of each item row (title, content_html), without band keys
        (None: too little text to compare): those not kept are made together
        (``similarity.fingerprints``: one numpy pass, no band keys), a quarter less
        CPU than one by one for a feed's ~20 stored candidates."""
        keys = [text_key(title, content_html) for title, content_html in rows]
        found: dict[bytes, Fingerprint | None] = {}
        with self._lock:
            for key in keys:
                if key in self._recent:
                    self._recent.move_to_end(key)
                    found[key] = self._recent[key]
        missing = {key: row for key, row in zip(keys, rows, strict=True) if key not in found}
        # none to make (a writer given its candidates read ahead): no numpy pass
        if not missing:
            return [found[key] for key in keys]
        texts = [(title, html_to_text(content_html)) for title, content_html in missing.values()]
        made = [fp for start in range(0, len(texts), BATCH)
                for fp in fingerprints(texts[start:start + BATCH], with_bands=False)]
        for key, fp in zip(missing, made, strict=True):
            found[key] = self._keep(key, fp)
        return [found[key] for key in keys]


# --- prints: a fingerprint as the store keeps it (item_print) -----------------------------

#: the print's layout: version, stamp of the item's content_hash, words, distinct
#: shingles, skeleton (8 bytes), number of lead hashes; then the whole text's signature
#: (NUM_PERM uint32), the lead's hashes (uint32 each), the slots (UTF-8, space-separated)
_HEAD: Final = struct.Struct("<B8sII8sH")
#: changes with the layout, or with a tuning the print depends on (NUM_PERM, SHINGLE,
#: LEAD_WORDS, OPENING_WORDS, SEED): a print of another version is not used
VERSION: Final = 1
_SIGNATURE: Final = 4 * DEFAULT.num_perm
_OPENING_END: Final = max(DEFAULT.opening_words - DEFAULT.shingle + 1, 1)
_LEAD_END: Final = max(DEFAULT.lead_words - DEFAULT.shingle + 1, 1)  # hashes at most
_EMPTY: Final = b"\xff" * _SIGNATURE  # a signature of no hash (minhash._EMPTY)
#: leads made again in one numpy pass: every permutation of each of their hashes, ~28 KB
#: a lead (10,000 at once took 83 us an item, against 10 by 32)
PRINT_BATCH: Final = 32


def stamp(content_hash: str) -> bytes:
    """8 bytes that tell whether a print is of the item's present text."""
    return hashlib.blake2b(content_hash.encode(), digest_size=8).digest()


def pack(fp: Fingerprint, content_hash: str) -> bytes | None:
    """The print of ``fp`` (made with the default tuning) for an item whose
    ``content_hash`` is this; None when ``fp`` has no lead hashes (made again, or read
    back) or is not of the default tuning."""
    if fp.lead is None or len(fp.signature) != 3 * _SIGNATURE or len(fp.lead) % 4 \
            or len(fp.lead) > 4 * _LEAD_END or len(fp.skeleton_hash) != 16:
        return None
    try:
        skeleton = bytes.fromhex(fp.skeleton_hash)
    except ValueError:
        return None
    return b"".join((_HEAD.pack(VERSION, stamp(content_hash), fp.words, fp.shingles,
                                skeleton, len(fp.lead) // 4),
                     fp.signature[:_SIGNATURE], fp.lead,
                     " ".join(fp.numbers).encode("utf-8", "surrogatepass")))


def unpack_many(rows: Sequence[tuple[bytes | None, str]]) -> list[Fingerprint | None]:
    """The fingerprint (without band keys) of each (print, the item's content_hash);
    None for a print that is missing, of another version, or of another text (its
    stamp): the fingerprint is then made from the text. The lead's and the opening's
    signatures are made again from the lead's hashes, ``PRINT_BATCH`` prints a numpy
    pass."""
    usable: list[tuple[int, tuple[int, int, bytes, int], bytes]] = []
    for n, (data, content_hash) in enumerate(rows):
        if data is None or len(data) < _HEAD.size + _SIGNATURE or data[0] != VERSION:
            continue
        _, stamped, words, shingles, skeleton, count = _HEAD.unpack_from(data)
        if stamped == stamp(content_hash) and len(data) >= _HEAD.size + _SIGNATURE + 4 * count:
            usable.append((n, (words, shingles, skeleton, count), bytes(data)))
    leads = _lead_signatures([data[_HEAD.size + _SIGNATURE:_HEAD.size + _SIGNATURE + 4 * count]
                              for _, (*_, count), data in usable])
    found: list[Fingerprint | None] = [None] * len(rows)
    for (n, (words, shingles, skeleton, count), data), lead_and_opening in zip(
            usable, leads, strict=True):
        slots = data[_HEAD.size + _SIGNATURE + 4 * count:].decode("utf-8", "surrogatepass")
        found[n] = Fingerprint(words, shingles,
                               data[_HEAD.size:_HEAD.size + _SIGNATURE] + lead_and_opening,
                               (), tuple(slots.split(" ")) if slots else (), skeleton.hex())
    return found


def _lead_signatures(leads: Sequence[bytes]) -> list[bytes]:
    """The lead's and the opening's signatures (packed, one after the other) of each run
    of lead hashes (``minhash.lead_signatures``), ``PRINT_BATCH`` runs a numpy pass."""
    filled = [lead for lead in leads if lead]
    made: list[bytes] = []
    if filled:  # numpy: only where prints are read
        from aggregator.stories import minhash

        for first in range(0, len(filled), PRINT_BATCH):
            made += minhash.lead_signatures(filled[first:first + PRINT_BATCH], seed=SEED,
                                            num_perm=DEFAULT.num_perm,
                                            opening_end=_OPENING_END)
    made.reverse()
    return [made.pop() if lead else _EMPTY + _EMPTY for lead in leads]
