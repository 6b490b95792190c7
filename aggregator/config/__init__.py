"""Configuration: the feeds.yaml model (model.py), reading it with file:line errors
(load.py) and editing it in place, comments kept (edit.py)."""

from aggregator.config.load import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_DATABASE_URL,
    config_path,
    database_url,
    load_config,
    parse_config,
)
from aggregator.config.model import (
    Config,
    OutputConfig,
    RuleConfig,
    Settings,
    SourceConfig,
    parse_duration,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_DATABASE_URL",
    "Config",
    "OutputConfig",
    "RuleConfig",
    "Settings",
    "SourceConfig",
    "config_path",
    "database_url",
    "load_config",
    "parse_config",
    "parse_duration",
]
