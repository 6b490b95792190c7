"""feeds.yaml -> a validated :class:`Config`.

Every problem is a :class:`ConfigError` naming the file, the line, the field and what
is allowed; ruamel's round-trip tree gives the line of each key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from aggregator.config.model import Config, _RefError
from aggregator.exceptions import ConfigError
from aggregator.files import replace_file

if TYPE_CHECKING:
    from ruamel.yaml import YAML

DEFAULT_CONFIG_PATH = "feeds.yaml"
DEFAULT_DATABASE_URL = "sqlite:///aggregator.db"
_CACHE_KEEP = 8  # versions of feeds.yaml kept
MAX_DEPTH = 32  # lists and mappings inside one another; feeds.yaml itself needs 7
MAX_ALIASED_NODES = 10_000  # the values that aliases (*name) may add to the document


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
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = tree
    line: int | None = 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            position = node.lc.data.get(part)  # (a key merged in by "<<" has none)
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            position = node.lc.data.get(part)
        else:
            break
        if position is not None:
            line = position[0] + 1
        node = node[part]
    return line


def _collection_key_line(yaml: YAML, text: str) -> int | None:
    """The line of the first mapping key in ``text`` that is a list or a mapping."""
    from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

    pending: list[Node] = [yaml.compose(text)]
    while pending:
        node = pending.pop()
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, MappingNode | SequenceNode):
                    return int(key.start_mark.line) + 1
                pending.append(value)
        elif isinstance(node, SequenceNode):
            pending.extend(reversed(node.value))
    return None


def _field_name(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _friendly(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return ("unknown key (check the spelling; see the feeds.yaml reference in "
                "docs/configuration.md)")
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


def _may_be_deep_or_aliased(text: str) -> bool:
    """False when ``text`` can hold neither an alias nor MAX_DEPTH levels: no ``*`` or
    ``&``, and per line its indentation and dashes, plus every bracket, stay under
    MAX_DEPTH. Saves a second pass over a big, plain feeds.yaml (a third of `check`)."""
    if "*" in text or "&" in text:
        return True
    brackets = text.count("[") + text.count("{")
    deepest = max((len(line) - len(line.lstrip(" ")) + line.count("-")
                   for line in text.splitlines()), default=0)
    return brackets + deepest >= MAX_DEPTH


def _check_shape(yaml: YAML, text: str, path: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, and aliases that would expand to more than
    MAX_ALIASED_NODES values (a "billion laughs"), or into themselves. This reads the
    event stream, which takes constant stack and memory per value, before the tree is
    built: building it recurses once per level, and expanding aliases copies their values.
    """
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        ScalarEvent,
    )

    sizes: dict[str, int] = {}  # anchor -> how many values it stands for
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, values so far) per level
    aliased = 0

    def add(count: int) -> None:
        if open_nodes:
            anchor, size = open_nodes[-1]
            open_nodes[-1] = (anchor, size + count)

    for event in yaml.parse(text):
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_nodes):
                raise ConfigError(f"the alias *{event.anchor} is inside its own anchor; "
                                  "a value cannot contain itself", path=path, line=line)
            size = sizes.get(str(event.anchor), 1)
            aliased += size
            if aliased > MAX_ALIASED_NODES:
                raise ConfigError(f"aliases (*name) expand to more than {MAX_ALIASED_NODES} "
                                  "values; write the values out instead", path=path, line=line)
            add(size)
        elif isinstance(event, CollectionStartEvent):
            if len(open_nodes) >= MAX_DEPTH:
                raise ConfigError(f"lists and mappings are nested more than {MAX_DEPTH} deep",
                                  path=path, line=line)
            open_nodes.append((event.anchor, 1))
        elif isinstance(event, CollectionEndEvent):
            anchor, size = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = size
            add(size)
        elif isinstance(event, ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            add(1)


def _cache_file(text: str) -> Path | None:
    """Where the plain data of this exact feeds.yaml text is kept between runs: reading
    a 1,000-source file with ruamel.yaml (pure Python) takes ~0.3 s of every `fetch`, and
    even the shipped 6-source one 28 ms (10 of them importing ruamel.yaml), a sixth of
    `check`; writing the data takes about 1 ms."""
    folder = os.environ.get("AGGREGATOR_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "aggregator")
    if not folder:
        return None
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return Path(folder) / "config" / f"{digest}.json"


def _cached_plain(text: str) -> Any | None:
    """The plain data of ``text`` as read before, or None."""
    cache = _cache_file(text)
    try:
        return json.loads(cache.read_bytes()) if cache is not None else None
    except (OSError, ValueError):
        return None


def _keep_plain(text: str, plain: Any) -> None:
    """Keep the plain data of a file that read cleanly (never of one with an error),
    and only the newest few; a cache that cannot be written is no error."""
    cache = _cache_file(text)
    if cache is None:
        return
    try:
        data = json.dumps(plain, ensure_ascii=False).encode()
        cache.parent.mkdir(parents=True, exist_ok=True)
        replace_file(cache, data)
        kept = sorted(cache.parent.glob("*.json"), key=lambda f: f.stat().st_mtime)
        for old in kept[:-_CACHE_KEEP]:
            old.unlink(missing_ok=True)
    except (OSError, TypeError, ValueError):  # a date or a set YAML made: not JSON
        return


def parse_config(text: str, path: str = DEFAULT_CONFIG_PATH) -> Config:
    """Validate the text of a feeds.yaml; ``path`` is only used in messages."""
    plain = _cached_plain(text)
    if plain is not None:
        try:
            return Config.model_validate({k: v for k, v in plain.items() if v is not None})
        except (ValidationError, AttributeError):  # read again, for the line numbers
            pass
    # ruamel.yaml (1.5 MB resident) loads only when the text is read, not on a cache hit
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    try:
        if _may_be_deep_or_aliased(text):
            _check_shape(yaml, text, path)
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
    except (ValueError, OverflowError) as error:  # a tagged or dated scalar out of range
        raise ConfigError(f"not valid YAML: a value cannot be read: {error}",
                          path=path) from None
    except TypeError:  # a key that is a list or mapping holding another one (unhashable)
        raise ConfigError("a key must be a name, not a list or mapping", path=path,
                          line=_collection_key_line(yaml, text)) from None
    if tree is None:
        tree = CommentedMap()
    if not isinstance(tree, dict):
        raise ConfigError("the top level must be a mapping with settings, sources and outputs",
                          path=path, line=1)
    try:
        plain = _plain(tree)
        # an empty `sources:` (or settings:, outputs:) means none, not "not a list"
        config = Config.model_validate({k: v for k, v in plain.items() if v is not None})
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
    _keep_plain(text, plain)
    return config


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
