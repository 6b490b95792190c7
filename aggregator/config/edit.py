"""Add and remove sources in feeds.yaml, keeping its comments, order and formatting.

ruamel.yaml (round-trip mode) reads the file and says where each entry starts;
in the usual block-style ``sources:`` list the edit is made on those lines, so
every other byte of the file stays as it was, and the new entry is written by
ruamel with the indentation the file already uses. An empty, missing or
flow-style ``sources:`` is edited through ruamel's round-trip tree instead.

Every edit is validated with :func:`aggregator.config.parse_config` before
anything is written, and written atomically (a temporary file in the same
directory, then ``os.replace``), so a running ``aggregator run`` that reloads the
file never sees half of it or an invalid one.

Removal policy: a source that an output names in its ``sources:`` list is not
removed; the ConfigError says which output (and line) uses it, so the user
decides what that output should select instead. Removing a source whose tag an
output selects, when no other source has that tag, is refused the same way (the
result would not validate). Comment lines around a removed entry are kept.

A new entry's title and tags are put on one line each; an entry that would not
read back exactly as given (YAML folds a few odd characters) is refused. The
``*_text`` functions are the pure part: text in, text out.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from aggregator.config import Config, parse_config
from aggregator.exceptions import ConfigError
from aggregator.files import replace_file
from aggregator.text import canonical_url

_BOM = "\ufeff"
_PLAIN_TAG = re.compile(r"[^\W_][\w.+-]*(?: [\w.+-]+)*")
# a top-level `sources:` with no entries yet: `sources:`, `sources: []`, `sources: ~`
_EMPTY_SOURCES = re.compile(
    r"^sources[ \t]*:[ \t]*(?:\[[ \t]*\]|~|null|Null|NULL)?[ \t]*(?P<comment>#.*)?$")

#: what ``add_sources`` writes when the file does not exist yet
NEW_FILE = """\
# aggregator configuration. Every key is documented in docs/configuration.md.
# Edit while `aggregator run` is running: the change takes effect within seconds.

sources: []

outputs:
  - name: all
    title: All stories
"""


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source to add to feeds.yaml."""

    name: str
    url: str
    title: str | None = None
    tags: tuple[str, ...] = ()


# ---- the file --------------------------------------------------------------------


def _read(path: Path) -> tuple[str, bool]:
    """The file's text and whether it started with a byte order mark."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read: {error}", path=str(path)) from error
    return text.removeprefix(_BOM), text.startswith(_BOM)


def _write_atomic(path: Path, text: str, original: str | None) -> None:
    """Replace ``path`` with ``text`` unless someone else changed it since we read it."""
    target = path.resolve() if path.is_symlink() else path
    try:
        current = target.read_bytes().decode("utf-8", "replace").removeprefix(_BOM)
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        current, mode = None, 0o644
    if current != original:
        raise ConfigError("the file changed while it was being edited; nothing was written, "
                          "try again", path=str(path))
    try:
        replace_file(target, text.encode("utf-8"), mode)
    except OSError as error:
        raise ConfigError(f"cannot write: {error.strerror or error}", path=str(path)) from error


def add_sources(path: str | os.PathLike[str], sources: Sequence[NewSource], *,
                skip_existing: bool = False) -> list[str]:
    """Append ``sources`` to feeds.yaml (created if missing); return the names added.

    A name or URL that is already configured is a ConfigError naming the existing
    entry, and nothing is written. With ``skip_existing``, a source whose URL is
    already configured is skipped instead (a re-imported OPML adds only what is
    new); a name clash is still an error.
    """
    file = Path(path)
    try:
        text, bom = _read(file)
        original: str | None = text
    except ConfigError:
        if file.exists():
            raise
        text, bom, original = NEW_FILE, False, None
    edited, added = add_sources_text(text, sources, str(file), skip_existing=skip_existing)
    if added:
        _write_atomic(file, (_BOM if bom else "") + edited, original)
    return added


def remove_source(path: str | os.PathLike[str], name: str) -> None:
    """Remove the source ``name`` from feeds.yaml (see the module's removal policy)."""
    file = Path(path)
    text, bom = _read(file)
    _write_atomic(file, (_BOM if bom else "") + remove_source_text(text, name, str(file)), text)


# ---- the text (pure) -------------------------------------------------------------


def _yaml(mapping: int = 2, sequence: int = 4, offset: int = 2) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long title or URL onto two lines
    yaml.allow_unicode = True
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, tree: Any) -> str:
    stream = io.StringIO()
    yaml.dump(tree, stream)
    return stream.getvalue()


def _lines(text: str) -> list[str]:
    """Lines with their ends, split on ``\\n`` only (as YAML and ruamel count them)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _mapping_indent(tree: CommentedMap) -> int:
    """How far the file indents a nested mapping (``settings:`` keys), default 2."""
    for value in tree.values():
        if isinstance(value, CommentedMap) and value and not value.fa.flow_style():
            return int(value.lc.col) or 2
    return 2


def _tags_flow_style(sources: Any) -> bool:
    """Whether the file writes ``tags: [a, b]`` (the shipped style) or a block list."""
    for source in sources if isinstance(sources, list) else ():
        tags = source.get("tags") if isinstance(source, dict) else None
        if isinstance(tags, CommentedSeq):
            return bool(tags.fa.flow_style())
    return True


def _entry(source: NewSource, flow_tags: bool) -> CommentedMap:
    entry = CommentedMap()
    entry["name"] = source.name
    entry["url"] = source.url.strip()
    if source.title:
        entry["title"] = source.title
    if source.tags and flow_tags:
        # ruamel leaves e.g. "?x" bare inside [...], where it would read back as a mapping
        entry["tags"] = CommentedSeq(tag if _PLAIN_TAG.fullmatch(tag) else
                                     DoubleQuotedScalarString(tag) for tag in source.tags)
        entry["tags"].fa.set_flow_style()
    elif source.tags:
        entry["tags"] = CommentedSeq(source.tags)
        entry["tags"].fa.set_block_style()
    return entry


def _load(text: str, path: str) -> tuple[Config, CommentedMap]:
    """Validate the file as it is, then return its round-trip tree."""
    config = parse_config(text, path)
    tree = _yaml().load(text)
    return config, tree if isinstance(tree, CommentedMap) else CommentedMap()


def _validated(text: str, path: str, doing: str) -> Config:
    try:
        return parse_config(text, path)
    except ConfigError as error:
        raise ConfigError(f"{doing} would make the file invalid, so nothing was written: "
                          f"{error.problem}", path=path, field=error.field) from None


def _key(url: str) -> str:
    return canonical_url(url) or url.strip()


def _item_line(sources: CommentedSeq, index: int) -> int:
    return int(sources.lc.item(index)[0]) + 1


def _item_span(lines: list[str], start: int, dash_col: int) -> int:
    """The last line of the sequence item whose dash is on line ``start`` (0-based).

    The item goes on to the next line that is neither blank, a comment, nor indented
    past the dash; trailing blank lines and comments not indented past the dash
    belong to what follows, not to the item.
    """
    stop = start + 1
    while stop < len(lines):
        line = lines[stop]
        if not _is_comment_or_blank(line) and _indent_of(line) <= dash_col:
            break
        stop += 1
    end = stop - 1
    while end > start and _is_comment_or_blank(lines[end]) and (
            not lines[end].strip() or _indent_of(lines[end]) <= dash_col):
        end -= 1
    return end


def _dash_line(lines: list[str], sources: CommentedSeq, index: int) -> int:
    line = int(sources.lc.item(index)[0])
    dash_col = int(sources.lc.col)
    while line > 0 and not lines[line][dash_col:].startswith("-"):
        line -= 1  # "-" alone on the line above its mapping
    return line


def _block_sources(tree: CommentedMap) -> CommentedSeq | None:
    sources = tree.get("sources")
    if isinstance(sources, CommentedSeq) and sources and not sources.fa.flow_style():
        return sources
    return None


def _sequence_style(text: str) -> tuple[int, int]:
    """(content column, dash column) of the file's block lists; (4, 2) when it has none."""
    _, indent, dash = load_yaml_guess_indent(text)
    return (int(indent), int(dash)) if indent is not None and dash is not None else (4, 2)


def _render(entries: list[CommentedMap], mapping: int, sequence: int, offset: int,
            newline: str) -> list[str]:
    """``entries`` as the lines of a top-level ``sources:`` list (without the key line)."""
    holder = CommentedMap()
    holder["sources"] = CommentedSeq(entries)
    lines = _lines(_dump(_yaml(mapping, sequence, offset), holder))[1:]
    return [line.rstrip("\n") + newline for line in lines]


def add_sources_text(text: str, sources: Sequence[NewSource], path: str = "feeds.yaml", *,
                     skip_existing: bool = False) -> tuple[str, list[str]]:
    """The pure part of :func:`add_sources`: (the edited text, the names added)."""
    config, tree = _load(text, path)
    wanted = _new_sources(config, tree, sources, path, skip_existing)
    if not wanted:
        return text, []
    entries = [_entry(s, _tags_flow_style(tree.get("sources"))) for s in wanted]
    block = _block_sources(tree)
    if block is not None:
        edited = _append_lines(text, tree, block, entries)
    else:
        edited = _append_first(text, tree, entries)
    doing = "adding " + ", ".join(repr(s.name) for s in wanted)
    _check_added(_validated(edited, path, doing), wanted, path)
    return edited, [s.name for s in wanted]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cleaned(source: NewSource) -> NewSource:
    """Title and tags on one line each (a newline or U+2028 in a title is never meant)."""
    tags = (_one_line(tag) for tag in source.tags)
    return NewSource(source.name.strip(), source.url.strip(),
                     _one_line(source.title or "") or None,
                     tuple(dict.fromkeys(tag for tag in tags if tag)))


def _new_sources(config: Config, tree: CommentedMap, sources: Sequence[NewSource], path: str,
                 skip_existing: bool) -> list[NewSource]:
    """``sources`` less those to skip; a ConfigError naming the entry for a clash."""
    seq = tree.get("sources")
    names = {s.name: i for i, s in enumerate(config.sources)}
    urls = {_key(s.url): i for i, s in enumerate(config.sources)}

    def line(index: int) -> int | None:
        return _item_line(seq, index) if isinstance(seq, CommentedSeq) and seq else None

    wanted: list[NewSource] = []
    for source in map(_cleaned, sources):
        key = _key(source.url)
        if skip_existing and (key in urls or any(_key(w.url) == key for w in wanted)):
            continue
        if source.name in names:
            index = names[source.name]
            raise ConfigError(
                f"cannot add {source.name!r}: a source with this name already exists "
                f"(url {config.sources[index].url})",
                path=path, line=line(index), field=f"sources[{index}].name")
        if key in urls:
            index = urls[key]
            raise ConfigError(
                f"cannot add {source.name!r}: {source.url} is already the source "
                f"{config.sources[index].name!r}",
                path=path, line=line(index), field=f"sources[{index}].url")
        if any(w.name == source.name for w in wanted):
            raise ConfigError(f"cannot add {source.name!r} twice", path=path)
        if any(_key(w.url) == key for w in wanted):
            raise ConfigError(f"cannot add {source.url} twice", path=path)
        wanted.append(source)
    return wanted


def _check_added(config: Config, wanted: Sequence[NewSource], path: str) -> None:
    """Every new entry reads back exactly as given (YAML folds a few odd characters)."""
    for source in wanted:
        written = config.source(source.name)
        if written is None or (written.url, written.title, written.tags) != (
                source.url, source.title, source.tags):
            raise ConfigError(f"cannot add {source.name!r}: its title or tags have characters "
                              "that YAML would not keep as they are", path=path)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _append_lines(text: str, tree: CommentedMap, sources: CommentedSeq,
                  entries: list[CommentedMap]) -> str:
    """Insert ``entries`` as lines right after the last item of a block ``sources:``."""
    lines = _lines(text)
    newline = _newline(text)
    key_col = int(tree.lc.key("sources")[1])
    dash_col = int(sources.lc.col)
    content_col = int(sources.lc.item(0)[1])
    rendered = _render(entries, _mapping_indent(tree), content_col - key_col,
                       dash_col - key_col, newline)
    rendered = [" " * key_col + line for line in rendered]
    end = _item_span(lines, _dash_line(lines, sources, len(sources) - 1), dash_col)
    if not lines[end].endswith("\n"):
        lines[end] += newline
    return "".join(lines[:end + 1] + rendered + lines[end + 1:])


def _append_first(text: str, tree: CommentedMap, entries: list[CommentedMap]) -> str:
    """The first sources: after ``sources: []`` (or ``sources:``), or as a new key."""
    lines = _lines(text)
    newline = _newline(text)
    sequence, offset = _sequence_style(text)
    rendered = _render(entries, _mapping_indent(tree), sequence, offset, newline)
    if "sources" not in tree:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        separator = [newline] if lines and lines[-1].strip() else []
        return "".join([*lines, *separator, "sources:" + newline, *rendered])
    line = int(tree.lc.key("sources")[0])
    match = _EMPTY_SOURCES.match(lines[line].rstrip("\r\n"))
    if match is None:  # flow style, or some form we do not edit line by line
        return _append_tree(tree, entries)
    comment = f"  {match.group('comment')}" if match.group("comment") else ""
    return "".join([*lines[:line], "sources:" + comment + newline, *rendered,
                    *lines[line + 1:]])


def _append_tree(tree: CommentedMap, entries: list[CommentedMap]) -> str:
    """Append to a flow-style ``sources: [...]`` through ruamel (it keeps the style)."""
    sources = tree["sources"]
    if not isinstance(sources, CommentedSeq):
        raise ConfigError("sources: expected a list")
    sources.extend(entries)
    return _dump(_yaml(mapping=_mapping_indent(tree)), tree)


def remove_source_text(text: str, name: str, path: str = "feeds.yaml") -> str:
    """The pure part of :func:`remove_source`: the edited text."""
    config, tree = _load(text, path)
    index = next((i for i, s in enumerate(config.sources) if s.name == name), None)
    if index is None:
        defined = ", ".join(s.name for s in config.sources) or "none"
        raise ConfigError(f"no source named {name!r}; defined sources: {defined}",
                          path=path, field="sources")
    outputs = tree.get("outputs")
    for number, output in enumerate(config.outputs):
        if name in (output.sources or ()):
            line = (int(outputs[number].lc.line) + 1
                    if isinstance(outputs, CommentedSeq) else None)
            raise ConfigError(
                f"cannot remove {name!r}: the output {output.name!r} lists it in its sources; "
                f"remove it from that list (or remove the output) first",
                path=path, line=line, field=f"outputs[{number}].sources")
    sources = tree["sources"]
    if _block_sources(tree) is None:
        del sources[index]
        edited = _dump(_yaml(mapping=_mapping_indent(tree)), tree)
    else:
        edited = _remove_lines(text, tree, sources, index)
    _validated(edited, path, f"removing {name!r}")
    return edited


def _remove_lines(text: str, tree: CommentedMap, sources: CommentedSeq, index: int) -> str:
    lines = _lines(text)
    dash_col = int(sources.lc.col)
    start = _dash_line(lines, sources, index)
    end = _item_span(lines, start, dash_col)
    if end + 1 < len(lines) and not lines[end + 1].strip() and start > 0 \
            and not lines[start - 1].strip():
        end += 1  # the entry stood between two blank lines: keep one of them
    kept = lines[:start] + lines[end + 1:]
    if len(sources) == 1:  # the list is now empty: say so, or `sources:` would be null
        key_line = int(tree.lc.key("sources")[0])
        match = _EMPTY_SOURCES.match(kept[key_line].rstrip("\r\n"))
        if match is None:
            del sources[index]
            return _dump(_yaml(mapping=_mapping_indent(tree)), tree)
        comment = f"  {match.group('comment')}" if match.group("comment") else ""
        kept[key_line] = "sources: []" + comment + _newline(text)
    return "".join(kept)
