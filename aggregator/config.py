"""feeds.yaml -> a validated :class:`Config`.

Every problem is a :class:`ConfigError` naming the file, the line, the field
and what is allowed. Unknown keys are errors: a typo must not be ignored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from aggregator.curate import Curation, Rule, compile_regex
from aggregator.exceptions import ConfigError
from aggregator.normalize import url_problem

DEFAULT_CONFIG_PATH = "feeds.yaml"
DEFAULT_DATABASE_URL = "sqlite:///aggregator.db"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"


def parse_duration(value: object) -> timedelta:
    """``90``, ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"`` -> timedelta (> 0)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 30m, 2h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError("expected a duration such as 90s, 30m, 2h or 1d")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Slug = Annotated[str, Field(pattern=_SLUG)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
        raise ValueError("expected an http:// or https:// URL")
    problem = url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


HttpUrl = Annotated[str, BeforeValidator(lambda v: _check_http_url(str(v).strip()))]


class Settings(_Strict):
    """The optional ``settings:`` block."""

    database: str | None = None
    poll_interval: Duration = timedelta(minutes=30)
    base_url: HttpUrl = "http://127.0.0.1:8080/"
    listen: str = Field("127.0.0.1:8080", pattern=r"^[^\s:]+:\d{1,5}$")
    timeout: Duration = timedelta(seconds=30)
    max_body_size: int = Field(15 * 1024 * 1024, ge=1024)
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
    cache_max_age: Duration = timedelta(minutes=5)  # Cache-Control max-age of served feeds
    websub_hub: HttpUrl | None = None  # a WebSub hub to ping when an output changes


    @model_validator(mode="after")
    def _intervals_in_order(self) -> Settings:
        if self.min_interval > self.max_interval:
            raise _RefError(("min_interval",), "min_interval must not exceed max_interval")
        return self


class SourceConfig(_Strict):
    """One entry of ``sources:``."""

    name: Slug
    url: HttpUrl
    title: str | None = None
    tags: tuple[str, ...] = ()
    poll_interval: Duration | None = None
    language: str | None = Field(None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


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

    def rule(self) -> Rule:
        return Rule(field=self.field, keywords=self.keywords, pattern=self.regex)


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
    per_source_limit: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=1000)

    def curation(self) -> Curation:
        return Curation(
            include=tuple(r.rule() for r in self.include),
            exclude=tuple(r.rule() for r in self.exclude),
            languages=tuple(lang.lower() for lang in self.languages),
            min_outlets=self.min_outlets, max_age=self.max_age,
            per_source_limit=self.per_source_limit)


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


def _yaml_hint(problem: str) -> str:
    """What a YAML parser's complaint usually means, in plain words."""
    if "expected <block end>" in problem or "mapping values are not allowed" in problem \
            or "could not find expected ':'" in problem:
        return (" (this usually means an indentation that does not line up with the "
                "lines above, or a missing ':' after a key)")
    if "found character '\\t'" in problem:
        return " (YAML does not allow tabs for indentation: use spaces)"
    return ""


def _line_of(tree: Any, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of ``loc`` in the ruamel tree, or of its nearest existing parent."""
    node = tree
    line: int | None = 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _field_name(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _friendly(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the feeds.yaml reference in README.md)"
    if kind == "missing":
        return "this key is required"
    if kind == "string_pattern_mismatch" and error["loc"][-1] == "name":
        return ("expected a slug: lowercase letters, digits, '-' or '_', starting with a "
                "letter or digit, at most 64 characters")
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _sources_in_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    # pydantic adds function names like 'function-before[...]' for annotated types
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p))


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate feeds.yaml; raise ConfigError with file:line on any problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "file not found; point at another one with --config FILE or "
            "$AGGREGATOR_CONFIG, or start one with `aggregator sources add URL` "
            "(it creates the file)", path=str(file)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read: {error}", path=str(file)) from error
    return parse_config(text, str(file))


def parse_config(text: str, path: str = DEFAULT_CONFIG_PATH) -> Config:
    """Validate the text of a feeds.yaml; ``path`` is only used in messages."""
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        column = f", column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML{column}: {error.problem or error.context}"
                          f"{_yaml_hint(str(error.problem or error.context))}",
                          path=path, line=line) from None
    except YAMLError as error:
        raise ConfigError(f"not valid YAML: {error}", path=path) from None
    if tree is None:
        tree = CommentedMap()
    if not isinstance(tree, dict):
        raise ConfigError("the top level must be a mapping with settings, sources and outputs",
                          path=path, line=1)
    try:
        plain = _plain(tree)
        # an empty `sources:` (or settings:, outputs:) means none, not "not a list"
        return Config.model_validate({k: v for k, v in plain.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        ctx_error = (first.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _RefError):
            loc: tuple[str | int, ...] = _sources_in_loc(tuple(first["loc"])) + ctx_error.loc
            message = str(ctx_error)
        else:
            loc = _sources_in_loc(tuple(first["loc"]))
            message = _friendly(first)
        raise ConfigError(message, path=path, line=_line_of(tree, loc),
                          field=_field_name(loc) or None) from None


def _plain(node: Any) -> Any:
    """ruamel's commented containers -> plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def config_path(explicit: str | None) -> str:
    """--config, else $AGGREGATOR_CONFIG, else feeds.yaml."""
    return explicit or os.environ.get("AGGREGATOR_CONFIG") or DEFAULT_CONFIG_PATH


def database_url(explicit: str | None, config: Config | None) -> str:
    """--db, else settings.database, else $AGGREGATOR_DATABASE_URL, else sqlite:///aggregator.db."""
    return (explicit or (config.settings.database if config else None)
            or os.environ.get("AGGREGATOR_DATABASE_URL") or DEFAULT_DATABASE_URL)
