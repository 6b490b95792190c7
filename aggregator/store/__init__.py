"""The store: SQLModel tables (models.py) and the one class that queries them (store.py)."""

from aggregator.store.store import ItemExplanation, SourceStatus, Store

__all__ = ["ItemExplanation", "SourceStatus", "Store"]
