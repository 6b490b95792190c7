"""The store: SQLModel tables (models.py), the class that queries them (store.py) and the
writing of items into stories (stories.py)."""

from aggregator.store.retention import PruneReport
from aggregator.store.store import ItemExplanation, SourceStatus, Store

__all__ = ["ItemExplanation", "PruneReport", "SourceStatus", "Store"]
