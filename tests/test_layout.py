"""The shape of the package: stages that import only downwards, the adapter rule, and
the public names.

Layers, lowest first (docs/architecture.md):

    0  version, types, exceptions, clock, text,    shared by every stage
       files, packing, metrics, logs
    1  config, stories, publish                    the model, the story logic, rendering
    2  ingest                                      fetch, parse, normalize, plan the poll
    3  store                                       the one place that queries
    4  update, site                                the two use cases
    5  service, web, websub, cli, __main__         the shell
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import aggregator
import aggregator.config

PACKAGE = Path(aggregator.__file__).parent
LAYERS = {
    "version": 0, "types": 0, "exceptions": 0, "clock": 0, "text": 0, "files": 0,
    "packing": 0, "metrics": 0, "logs": 0,
    "config": 1, "stories": 1, "publish": 1,
    "ingest": 2,
    "store": 3,
    "update": 4, "site": 4,
    "service": 5, "web": 5, "websub": 5, "cli": 5, "__main__": 5,
}


def _unit(module: str) -> str:
    """``aggregator.ingest.fetch`` -> ``ingest``; the package root is ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    """Every aggregator module ``path`` imports, lazily inside a function or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "aggregator":
                found |= {f"aggregator.{alias.name}" for alias in node.names}
            elif node.module.startswith("aggregator."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("aggregator.")}
    return found


def _modules() -> dict[str, Path]:
    return {".".join(("aggregator", *p.relative_to(PACKAGE).with_suffix("").parts)): p
            for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def test_every_module_belongs_to_a_layer() -> None:
    units = {_unit(m) for m in _modules()} - {"__init__"}
    assert units == set(LAYERS)


def test_no_import_points_up_or_sideways_into_another_stage() -> None:
    wrong = []
    for module, path in _modules().items():
        unit = _unit(module)
        if unit == "__init__":
            continue
        for target in _imports(path):
            other = _unit(target)
            if other == unit:
                continue
            if LAYERS[other] > LAYERS[unit] or (
                    LAYERS[other] == LAYERS[unit] and LAYERS[unit] in (1, 4)):
                wrong.append(f"{module} imports {target}")
    assert not wrong


def test_publish_is_pure_no_store_no_config() -> None:
    for module, path in _modules().items():
        if _unit(module) == "publish":
            assert not {_unit(t) for t in _imports(path)} & {"store", "config", "ingest"}


def test_each_third_party_library_has_one_home() -> None:
    homes = {"feedparser": {"ingest/parse.py", "ingest/feedrules.py"},
             "feedgen": set(), "httpx": {"ingest/fetch.py"},
             "apscheduler": {"service.py"},
             "nh3": {"text.py"}, "re2": {"text.py"},
             # numpy: MinHash, the band filter, and the sort of a commit's band rows
             "numpy": {"stories/minhash.py", "store/bandfilter.py", "store/bands.py"},
             "ruamel": {"config/load.py", "config/edit.py"}, "jinja2": {"publish/pages.py"},
             "readability": {"ingest/extract.py"}, "trafilatura": set(),
             "prometheus_client": {"metrics.py"}}
    for library, allowed in homes.items():
        users = set()
        for path in PACKAGE.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                if any(n == library or n.startswith(f"{library}.") for n in names):
                    users.add(str(path.relative_to(PACKAGE)))
        assert users == allowed, library


def test_the_public_names_are_pinned() -> None:
    assert sorted(aggregator.__all__) == [
        "AggregatorError", "Config", "ConfigError", "FetchError", "ParseError",
        "PublishError", "StorageError", "UpdateError", "__version__", "load_config"]
    assert sorted(aggregator.config.__all__) == [
        "Config", "DEFAULT_CONFIG_PATH", "DEFAULT_DATABASE_URL", "OutputConfig",
        "RuleConfig", "Settings", "SourceConfig", "config_path", "database_url",
        "load_config", "parse_config", "parse_duration"]
    for package in (aggregator, aggregator.config):
        for name in package.__all__:
            assert getattr(package, name) is not None
    assert aggregator.__version__ == "0.1.0"


def test_the_command_line_starts_without_loading_any_stage() -> None:
    """``--version`` and ``--help`` import the CLI module only: no stage and none of the
    heavy libraries (each command imports what it needs)."""
    heavy = ["alembic", "datasketch", "feedparser", "httpx", "lxml", "nh3", "numpy",
             "prometheus_client", "pydantic", "re2", "ruamel", "scipy", "sqlalchemy",
             "sqlmodel", "uvicorn"]
    code = ("import sys, aggregator.cli; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"
