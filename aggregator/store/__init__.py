"""The store: SQLModel tables (models.py), the class that queries them (store.py), the
writing of items into stories (stories.py) and the rendered site (published.py)."""

from aggregator.store.published import PublishedOutput
from aggregator.store.retention import PruneReport
from aggregator.store.store import ItemExplanation, SourceStatus, Store

__all__ = ["ItemExplanation", "PruneReport", "PublishedOutput", "SourceStatus", "Store"]
