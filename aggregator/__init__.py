"""aggregator: polls RSS/Atom sources, merges the same story from several outlets,
and publishes curated Atom feeds.

The names below load their modules on first use, so ``aggregator --version`` does not
pay for pydantic and ruamel.yaml.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aggregator.exceptions import (
    AggregatorError,
    ConfigError,
    FetchError,
    ParseError,
    PublishError,
    StorageError,
    UpdateError,
)
from aggregator.version import __version__

if TYPE_CHECKING:
    from aggregator.config import Config, load_config

_LAZY = {"Config": "aggregator.config", "load_config": "aggregator.config"}

__all__ = [
    "AggregatorError",
    "Config",
    "ConfigError",
    "FetchError",
    "ParseError",
    "PublishError",
    "StorageError",
    "UpdateError",
    "__version__",
    "load_config",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aggregator' has no attribute {name!r}")
