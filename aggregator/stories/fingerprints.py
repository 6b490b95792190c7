"""Fingerprints of stored items, made again from the text their rows hold, with a cache.

The store keeps no fingerprint (1.6 KB an item, a quarter of the database): a stored
candidate's is ``similarity.fingerprint`` of its title and the text of its content.
Used by the writer (store/stories.py) and, ahead of it, by the parse worker that reads
a feed's candidates (store/lookahead.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from aggregator.stories.similarity import fingerprints
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
    """The fingerprints of stored items, made again from their title and content.

    The last ``size`` fingerprints made or remembered are kept (without their band
    keys, which ``compare`` does not read: about 1.8 KB each; 4,096 of them added 9 MB
    to a cold run's peak), keyed by a digest of that text, so a candidate added or
    compared lately costs no second computation (a story's copies arrive within hours
    of each other)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._recent: OrderedDict[bytes, Fingerprint | None] = OrderedDict()
        self._lock = threading.Lock()  # a store may be written from several threads

    def _keep(self, key: bytes, fp: Fingerprint | None) -> Fingerprint | None:
        kept = fp if fp is None or not fp.bands else without_bands(fp)
        with self._lock:
            self._recent[key] = kept
            self._recent.move_to_end(key)
            while len(self._recent) > self.size:
                self._recent.popitem(last=False)
        return kept

    def remember(self, title: str, content_html: str, fp: Fingerprint | None) -> None:
        self._keep(text_key(title, content_html), fp)

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


def without_bands(fp: Fingerprint) -> Fingerprint:
    """``fp`` without its band keys (all ``compare`` reads; dataclasses.replace, faster)."""
    return Fingerprint(fp.words, fp.shingles, fp.signature, (), fp.numbers, fp.skeleton_hash)
