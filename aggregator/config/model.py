"""The shape of feeds.yaml: pydantic models of settings, sources and outputs.

Unknown keys are errors: a typo must not be ignored. Reading the file and turning
validation errors into file:line messages is load.py's job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from aggregator.text import SLUG_PATTERN, compile_regex, url_problem

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
MAX_DURATION = timedelta(days=365)  # any duration in feeds.yaml: far inside datetime's range
MAX_TIMEOUT = timedelta(minutes=5)  # a fetch's deadline: the lease a fetch holds its source by
MIN_RETENTION = timedelta(days=1)  # settings.retention: less is a mistake (90 is seconds)


def show_duration(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    unit, size = next((u, n) for u, n in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
                      if seconds % n == 0)
    return f"{seconds // size}{unit}"


def parse_duration(value: object, limit: timedelta = timedelta(days=999_999_999)) -> timedelta:
    """``90``, ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"`` -> timedelta, > 0 and <= ``limit``
    (by default the largest timedelta); else ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 30m, 2h or 1d")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an integer beyond the range of a float
            seconds = math.inf if value > 0 else -math.inf
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError("expected a duration such as 90s, 30m, 2h or 1d")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if math.isnan(seconds):
        raise ValueError("expected a duration such as 90s, 30m, 2h or 1d")
    if seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    if seconds > limit.total_seconds():
        raise ValueError(f"a duration must be at most {show_duration(limit)}")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(lambda v: parse_duration(v, MAX_DURATION))]
Timeout = Annotated[timedelta, BeforeValidator(lambda v: parse_duration(v, MAX_TIMEOUT))]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_HTTP_URL = re.compile(r"https?://[^/\s]+", re.IGNORECASE)


def _check_http_url(value: str) -> str:
    if not _HTTP_URL.match(value):
        raise ValueError("expected an http:// or https:// URL")
    problem = url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


HttpUrl = Annotated[str, BeforeValidator(lambda v: _check_http_url(str(v).strip()))]
MAX_BODY_SIZE = 1024 ** 3  # a feed's body is held in memory: 1 GiB is far beyond any feed
_LISTEN = re.compile(r"([^\s:]+):(\d{1,5})")


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port), the port from 1 to 65535; else ValueError."""
    match = _LISTEN.fullmatch(value)
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError("expected HOST:PORT with a port from 1 to 65535 (the host "
                         "cannot contain ':')")
    return match.group(1), int(match.group(2))


def _check_listen(value: str) -> str:
    parse_listen(value)
    return value


class Settings(_Strict):
    """The optional ``settings:`` block."""

    database: str | None = None
    auto_migrate: bool = True  # false: a schema older than the code is refused, not migrated
    poll_interval: Duration = timedelta(minutes=30)
    base_url: HttpUrl = "http://127.0.0.1:8080/"
    listen: Annotated[str, AfterValidator(_check_listen)] = "127.0.0.1:8080"
    timeout: Timeout = timedelta(seconds=30)
    max_body_size: int = Field(15 * 1024 * 1024, ge=1024, le=MAX_BODY_SIZE)
    concurrency: int = Field(16, ge=1, le=256)
    per_host_concurrency: int = Field(2, ge=1, le=64)
    # processes that parse feeds: 0 = auto (one per core but one), -1 = none
    parse_workers: int = Field(0, ge=-1, le=64)
    adaptive_polling: bool = True
    min_interval: Duration = timedelta(minutes=5)
    max_interval: Duration = timedelta(hours=24)
    max_error_interval: Duration = timedelta(hours=24)
    allow_private_networks: bool = False
    user_agent: str | None = None
    publisher: str = "aggregator"
    title: str = "aggregator"  # the site's name on its HTML pages
    # the HTML pages show stories' pictures, loaded from the outlets' https hosts (which
    # then see who reads the page); false: a link to each picture, nothing loaded
    remote_images: bool = False
    cache_max_age: Duration = timedelta(minutes=5)  # Cache-Control max-age of served feeds
    websub_hub: HttpUrl | None = None  # a WebSub hub to ping when an output changes
    # article pages fetched per full_text source and update (the newest items first)
    full_text_per_update: int = Field(10, ge=0, le=1000)
    # the public address hubs reach this service at (usually base_url): subscribe to the
    # hubs our sources announce, callbacks at <websub_callback>websub/<token>
    websub_callback: HttpUrl | None = None
    # stories none of whose items was stored or changed for this long are pruned (off: None)
    retention: Duration | None = None
    publish_sources: bool = True  # publish /sources.opml and link to it from the pages

    @model_validator(mode="after")
    def _intervals_in_order(self) -> Settings:
        if self.min_interval > self.max_interval:
            raise _RefError(("min_interval",), "min_interval must not exceed max_interval")
        if self.retention is not None and self.retention < MIN_RETENTION:
            # a bare number is seconds: `retention: 90` must not empty the database
            raise _RefError(("retention",), f"retention must be at least "
                            f"{show_duration(MIN_RETENTION)} (write days as 90d)")
        return self


class SourceConfig(_Strict):
    """One entry of ``sources:``."""

    name: Slug
    url: HttpUrl
    title: str | None = None
    tags: tuple[str, ...] = ()
    poll_interval: Duration | None = None
    language: str | None = Field(None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
    full_text: bool = False  # fetch each new item's article page and publish its text


def _as_tuple(value: object) -> object:
    return (value,) if isinstance(value, str) else value


class RuleConfig(_Strict):
    """One include/exclude rule: ``keywords`` (any of them, whole words, case- and
    ё-insensitive) or ``regex`` (RE2 syntax), on one field."""

    field: Literal["any", "title", "content", "author", "category"] = "any"
    keywords: Annotated[tuple[str, ...], BeforeValidator(_as_tuple)] = ()
    regex: str | None = None

    @model_validator(mode="after")
    def _one_matcher(self) -> RuleConfig:
        if bool(self.keywords) == (self.regex is not None):
            raise ValueError("a rule needs exactly one of keywords or regex")
        if self.regex is not None:
            compile_regex(self.regex)
        return self


class OutputConfig(_Strict):
    """One entry of ``outputs:``: a curated feed we publish as ``<name>.atom``."""

    name: Slug
    title: str
    description: str | None = None
    sources: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    languages: tuple[str, ...] = ()
    include: tuple[RuleConfig, ...] = ()
    exclude: tuple[RuleConfig, ...] = ()
    min_outlets: int = Field(1, ge=1, le=100)
    max_age: Duration | None = None
    per_source_limit: int | None = Field(None, ge=1, le=1000)
    limit: int = Field(50, ge=1, le=1000)


class Config(_Strict):
    """The whole of feeds.yaml."""

    settings: Settings = Settings()
    sources: tuple[SourceConfig, ...] = ()
    outputs: tuple[OutputConfig, ...] = ()

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: tuple[SourceConfig, ...]) -> tuple[SourceConfig, ...]:
        _require_unique([s.name for s in sources], "source")
        return sources

    @field_validator("outputs")
    @classmethod
    def _unique_outputs(cls, outputs: tuple[OutputConfig, ...]) -> tuple[OutputConfig, ...]:
        _require_unique([o.name for o in outputs], "output")
        return outputs

    @model_validator(mode="after")
    def _references_exist(self) -> Config:
        names = {s.name for s in self.sources}
        tags = {t for s in self.sources for t in s.tags}
        for index, output in enumerate(self.outputs):
            for ref in output.sources or ():
                if ref not in names:
                    raise _RefError(("outputs", index, "sources"),
                                    f"unknown source {ref!r}; defined sources: "
                                    f"{', '.join(sorted(names)) or 'none'}")
            for tag in output.tags or ():
                if tag not in tags:
                    raise _RefError(("outputs", index, "tags"),
                                    f"no source has the tag {tag!r}; tags in use: "
                                    f"{', '.join(sorted(tags)) or 'none'}")
        return self

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)

    def output(self, name: str) -> OutputConfig | None:
        return next((o for o in self.outputs if o.name == name), None)

    def sources_of(self, output: OutputConfig) -> list[SourceConfig]:
        """The sources an output draws from: by name, by tag, or all when neither is given."""
        if output.sources is None and output.tags is None:
            return list(self.sources)
        wanted = set(output.sources or ())
        tags = set(output.tags or ())
        return [s for s in self.sources if s.name in wanted or tags.intersection(s.tags)]


class _RefError(ValueError):
    """A cross-reference problem, with the location to report."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _require_unique(names: Sequence[str], what: str) -> None:
    """Raise at the second entry that repeats a name, so the error points at its line."""
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise _RefError((index, "name"), f"the {what} name {name!r} is used twice "
                            f"(first by entry {seen[name] + 1}); names must be unique")
        seen[name] = index
