"""The docs say what the code does: docs/cli.md has a section for every command and
every option that --help lists (and none that it does not), docs/configuration.md names
every feeds.yaml key, and the README is a short front door that links to them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.config import Config, OutputConfig, RuleConfig, Settings, SourceConfig

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CLI_MD = DOCS / "cli.md"
CONFIGURATION_MD = DOCS / "configuration.md"
README_MAX_LINES = 180
runner = CliRunner()

# docs/cli.md: one section per command, headed "### `aggregator sources add`"
_COMMAND_HEADING = re.compile(r"^### `(aggregator(?: [a-z][a-z0-9-]*)*)`\s*$")
_HEADING = re.compile(r"^(#{1,6}) (.*?)\s*$")
_LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _sections(text: str, *, nested: bool = True) -> dict[str, tuple[int, str]]:
    """Heading -> (level, the text under it up to the next heading of the same or a
    higher level, or with ``nested=False`` up to the next heading of any level). Lines
    inside fenced code blocks are never headings."""
    lines = text.splitlines()
    headings: list[tuple[int, int, str]] = []  # (line index, level, title)
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = _HEADING.match(line)
        if match and not fenced:
            headings.append((index, len(match.group(1)), match.group(2)))
    sections: dict[str, tuple[int, str]] = {}
    for position, (index, level, title) in enumerate(headings):
        end = next((i for i, lv, _ in headings[position + 1:] if lv <= level or not nested),
                   len(lines))
        sections[title] = (level, "\n".join(lines[index + 1:end]))
    return sections


def _documented_commands() -> dict[str, str]:
    """`aggregator sources add` -> its section in docs/cli.md."""
    found: dict[str, str] = {}
    for title, (level, body) in _sections(CLI_MD.read_text(encoding="utf-8")).items():
        match = _COMMAND_HEADING.match(f"{'#' * level} {title}")
        if match:
            found[match.group(1)] = body
    return found


def _click_commands() -> dict[str, Any]:
    """Every command of the app, nested groups included, by its full name. (typer ships
    its own copy of click, so commands and groups are told apart by their attributes.)"""
    found: dict[str, Any] = {}

    def walk(name: str, command: Any) -> None:
        found[name] = command
        for sub_name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                walk(f"{name} {sub_name}", sub)

    walk("aggregator", typer.main.get_command(app))
    return found


def _long_options(command: Any) -> set[str]:
    """The long option names a command takes, as --help shows them (--help itself aside)."""
    return {name for param in command.params if param.param_type_name == "option"
            and not getattr(param, "hidden", False)
            for name in (*param.opts, *param.secondary_opts) if name.startswith("--")}


def _help_listed_commands(path: tuple[str, ...] = ()) -> set[str]:
    """The commands that `aggregator [GROUP...] --help` lists under "Commands:", followed
    into every group: what a user sees."""
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    names: set[str] = set()
    listing = result.output.split("\nCommands:\n", 1)
    if len(listing) == 2:
        for line in listing[1].splitlines():
            match = re.match(r"^  ([a-z][a-z0-9-]*)(?:\s|$)", line)
            if match:
                names.add(match.group(1))
            elif line and not line.startswith(" "):
                break
    found = {" ".join(("aggregator", *path))}
    for name in names:
        found |= _help_listed_commands((*path, name))
    return found


def test_help_lists_the_commands_the_click_objects_have() -> None:
    # the rest of this file reads the click objects; they must be what --help shows
    listed = _help_listed_commands()
    assert listed == set(_click_commands()), (
        f"--help lists {sorted(listed)}, the app has {sorted(_click_commands())}")
    for name, command in _click_commands().items():
        shown = runner.invoke(app, [*name.split()[1:], "--help"]).output
        missing = sorted(o for o in _long_options(command) if o not in shown)
        assert not missing, f"`{name} --help` does not show {missing}"


def test_every_command_has_a_section_in_docs_cli_md_and_no_other() -> None:
    commands = set(_click_commands())
    documented = set(_documented_commands())
    missing = sorted(commands - documented)
    assert not missing, (f"docs/cli.md has no section for {missing}; add a heading such "
                         f"as \"### `{missing[0]}`\"")
    unknown = sorted(documented - commands)
    assert not unknown, f"docs/cli.md documents commands that do not exist: {unknown}"


@pytest.mark.parametrize("name", sorted(_click_commands()))
def test_every_option_is_documented_in_its_commands_section_and_no_other(name: str) -> None:
    sections = _documented_commands()
    assert name in sections, f"docs/cli.md has no section for `{name}`"
    options = _long_options(_click_commands()[name])
    mentioned = set(_LONG_OPTION.findall(sections[name]))
    missing = sorted(options - mentioned)
    assert not missing, f"the section of `{name}` in docs/cli.md does not mention {missing}"
    unknown = sorted(mentioned - options - {"--help"})
    assert not unknown, (f"the section of `{name}` in docs/cli.md mentions {unknown}, "
                         f"which `{name}` does not take (it takes {sorted(options)})")


def _table_keys(body: str) -> set[str]:
    """The keys in the first column of the tables in a section: | `key` | ..."""
    return set(re.findall(r"^\| `([a-z_]+)` \|", body, re.MULTILINE))


@pytest.mark.parametrize(("heading", "model"), [
    ("settings", Settings), ("sources", SourceConfig), ("outputs", OutputConfig),
    ("Rules", RuleConfig),
])
def test_docs_configuration_md_has_a_row_for_every_key(heading: str,
                                                       model: type[BaseModel]) -> None:
    text = CONFIGURATION_MD.read_text(encoding="utf-8")
    sections = _sections(text, nested=False)  # the outputs table, not that of its rules
    assert heading in sections, f"docs/configuration.md has no section {heading!r}"
    rows = _table_keys(sections[heading][1])
    fields = set(model.model_fields)
    missing = sorted(fields - rows)
    assert not missing, (f"the {heading!r} table of docs/configuration.md has no row for "
                         f"{model.__name__} keys {missing}")
    unknown = sorted(rows - fields)
    assert not unknown, (f"the {heading!r} table of docs/configuration.md documents keys "
                         f"{model.__name__} does not have: {unknown}")


def test_docs_configuration_md_names_the_top_level_keys() -> None:
    sections = _sections(CONFIGURATION_MD.read_text(encoding="utf-8"))
    missing = sorted(set(Config.model_fields) - set(sections))
    assert not missing, f"docs/configuration.md has no section for the top-level keys {missing}"


def test_the_readme_is_a_short_front_door_that_links_to_the_docs() -> None:
    text = README.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines, at most {README_MAX_LINES}: move reference to docs/")
    links = {target.split("#", 1)[0] for target in _LINK.findall(text)}
    for page in ("docs/configuration.md", "docs/cli.md", "docs/deduplication.md",
                 "docs/architecture.md"):
        assert page in links, f"README.md does not link to {page}"
        assert (ROOT / page).is_file(), f"README.md links to {page}, which does not exist"
    for command in ("make run", "make test"):
        assert f"```sh\n{command}\n```" in text, f"the quick start lost `{command}`"


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


@pytest.mark.parametrize("page", ["README.md", "docs/configuration.md", "docs/cli.md",
                                  "docs/deduplication.md"])
def test_relative_links_resolve(page: str) -> None:
    source = ROOT / page
    broken = []
    for target in _LINK.findall(source.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        linked = (source.parent / path).resolve() if path else source
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and linked.suffix == ".md":
            titles = _sections(linked.read_text(encoding="utf-8"))
            if fragment not in {_anchor(title) for title in titles}:
                broken.append(f"{target} (no such heading)")
    assert not broken, f"{page} has broken links: {broken}"
