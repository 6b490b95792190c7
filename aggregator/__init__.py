"""aggregator: polls RSS/Atom sources, merges the same story from several outlets,
and publishes curated Atom feeds."""

from aggregator.config import Config, load_config
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
