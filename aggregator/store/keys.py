"""Stable identifiers: a story's uid and the hash of its exact keys."""

from __future__ import annotations

import hashlib
import uuid

STORY_NAMESPACE = uuid.UUID("6f1e7a52-5d0b-4c1e-9a57-2b1f3c7d9e10")


def story_uid(first_key: str) -> str:
    """A story's id, derived from the first key it was created under.

    Deterministic, so two workers creating the same story at once agree on it.
    """
    return f"urn:uuid:{uuid.uuid5(STORY_NAMESPACE, first_key)}"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
