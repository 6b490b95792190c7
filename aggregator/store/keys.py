"""The hash under which an exact key is stored (a story's uid: stories.assign.story_uid)."""

from __future__ import annotations

import hashlib


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
