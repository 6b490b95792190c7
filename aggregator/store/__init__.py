"""The store: SQLModel tables (models.py), the class that queries them (store.py), the
writing of items into stories (stories.py), the rendered site (published.py), and the
candidates a parse worker reads ahead of the writer (lookahead.py).

The names below load on first use (PEP 562), so that a parse worker can import
``aggregator.store.lookahead`` (the standard library's sqlite3 alone) without
SQLAlchemy and the models (about 40 MB resident).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aggregator.store.published import PublishedOutput
    from aggregator.store.retention import PruneReport
    from aggregator.store.store import ItemExplanation, SourceStatus, Store

__all__ = ["ItemExplanation", "PruneReport", "PublishedOutput", "SourceStatus", "Store"]

_HOMES = {"ItemExplanation": "store", "PruneReport": "retention",
          "PublishedOutput": "published", "SourceStatus": "store", "Store": "store"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
