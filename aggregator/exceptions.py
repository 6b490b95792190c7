"""The exception tree of aggregator.

::

    AggregatorError
    ├── ConfigError          bad feeds.yaml or settings: file, line, field, what is allowed
    ├── UpdateError          expected failure of one source; recorded on it, returned as a value
    │   ├── FetchError       network, TLS, timeout, HTTP >= 400, too large; .status, .retry_after
    │   └── ParseError       not a feed, or every entry unusable
    ├── StorageError         database errors that are not programming bugs
    │   └── SchemaError      the schema is older than the code (auto_migrate off) or newer
    └── PublishError         an output could not be rendered or written

Third-party errors are wrapped at the adapter that calls the library
(``raise ... from e``). A 304 is not an error; a single bad entry is skipped.
"""

from __future__ import annotations

from datetime import datetime


class AggregatorError(Exception):
    """Base of every error aggregator raises on purpose."""


class ConfigError(AggregatorError):
    """feeds.yaml is missing, unreadable or invalid.

    ``str()`` is the whole user-facing message: ``file:line: field: problem``.
    """

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.problem = message
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        prefix = f"{field}: " if field else ""
        super().__init__(f"{where}{prefix}{message}")


class UpdateError(AggregatorError):
    """One source could not be updated. Returned as a value, recorded on the source."""

    #: a short machine-readable kind, e.g. ``timeout``, ``http``, ``too_large``, ``not_a_feed``
    kind: str = "error"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind:
            self.kind = kind


class FetchError(UpdateError):
    """The HTTP part failed: network, TLS, timeout, status >= 400, body too large."""

    def __init__(
        self, message: str, *, kind: str = "network", status: int | None = None,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(message, kind=kind)
        self.status = status
        self.retry_after = retry_after


class ParseError(UpdateError):
    """The body is not a feed, or no entry in it could be used."""

    kind = "not_a_feed"


class StorageError(AggregatorError):
    """The database failed in a way that is not a programming bug (locked, gone, full)."""


class SchemaError(StorageError):
    """The database's schema is not the one this version uses, and will not be changed
    here: older with ``auto_migrate: false`` (run ``aggregator db upgrade``), or newer
    than the code (a rollback). ``str()`` says what to do."""


class PublishError(AggregatorError):
    """An output could not be rendered or written."""
