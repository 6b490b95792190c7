"""Bad feeds.yaml, --listen and database paths: one line naming the file, line and field
(a ConfigError, exit 2) or the problem (exit 1), never a traceback, a hang or gigabytes."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.config import load_config, parse_config
from aggregator.exceptions import ConfigError, StorageError
from aggregator.store import Store

runner = CliRunner()


def _problem(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value


@pytest.mark.parametrize(("key", "value", "message"), [
    ("poll_interval", "99999999999d", "a duration must be at most 365d"),
    ("max_age", "99999999999d", "a duration must be at most 365d"),
    ("timeout", "1e308", "a duration must be at most 5m"),
    ("timeout", ".inf", "a duration must be at most 5m"),
    ("timeout", "9" * 400, "a duration must be at most 5m"),  # beyond a float
    ("timeout", ".nan", "expected a duration such as 90s, 30m, 2h or 1d"),
])
def test_out_of_range_durations_are_one_line(key: str, value: str, message: str) -> None:
    if key == "max_age":
        text = f"outputs:\n  - name: all\n    title: All\n    max_age: {value}\n"
        where = ("outputs[0].max_age", 4)
    else:
        text = f"settings:\n  publisher: me\n  {key}: {value}\n"
        where = (f"settings.{key}", 3)
    problem = _problem(text)
    assert (problem.field, problem.line, problem.problem) == (*where, message)
    assert str(problem) == f"feeds.yaml:{where[1]}: {where[0]}: {message}"


def test_settings_have_upper_bounds() -> None:
    assert _problem("settings:\n  timeout: 6m\n").problem == "a duration must be at most 5m"
    assert _problem("settings:\n  cache_max_age: 366d\n").problem == \
        "a duration must be at most 365d"
    assert _problem("settings:\n  max_body_size: 2147483648\n").field == \
        "settings.max_body_size"
    assert _problem("outputs:\n  - {name: a, title: A, per_source_limit: 5000}\n").field == \
        "outputs[0].per_source_limit"
    assert _problem("settings:\n  timeout: -5\n").problem == \
        "a duration must be greater than zero"
    config = parse_config("settings:\n  timeout: 5m\n  poll_interval: 365d\n")
    assert config.settings.timeout.total_seconds() == 300


def test_values_yaml_cannot_build_are_a_config_error() -> None:
    for text in ("settings:\n  timeout: " + "9" * 5000 + "\n",  # over the int digit limit
                 "settings:\n  title: 2001-99-99\n", "settings:\n  title: !!int abc\n"):
        assert str(_problem(text)).startswith("feeds.yaml: not valid YAML: a value cannot "
                                              "be read: ")


def test_deep_nesting_is_a_config_error(tmp_path: Path) -> None:
    problem = _problem("settings:\n  title: " + "[" * 5000 + "]" * 5000 + "\n")
    assert str(problem) == "feeds.yaml:2: lists and mappings are nested more than 32 deep"
    file = tmp_path / "feeds.yaml"
    file.write_text("sources:\n" + "  - " + "{a: " * 5000 + "1" + "}" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested more than 32 deep"):
        load_config(file)
    result = runner.invoke(app, ["check", "--config", str(file)])
    assert result.exit_code == 2
    assert result.stderr == f"aggregator: {file}:2: lists and mappings are nested more than " \
                            "32 deep\n"


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True))


def test_an_alias_bomb_is_refused_quickly_with_bounded_memory() -> None:
    # in a child process with a memory cap and a timeout: expanding it takes gigabytes
    code = textwrap.dedent(f"""
        import resource, time
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from aggregator.config import parse_config
        from aggregator.exceptions import ConfigError
        start = time.monotonic()
        try:
            parse_config({BILLION_LAUGHS!r})
        except ConfigError as error:
            print(f"{{time.monotonic() - start:.3f}}", error)
    """)
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, check=False)
    assert child.returncode == 0, child.stderr[-2000:]
    elapsed, message = child.stdout.strip().split(" ", 1)
    assert float(elapsed) < 1.0
    assert message == ("feeds.yaml:5: aliases (*name) expand to more than 10000 values; "
                       "write the values out instead")


def test_aliases_are_allowed_within_the_bound() -> None:
    shared = textwrap.dedent("""\
        sources:
          - {name: a, url: "http://a.example/feed"}
        outputs:
          - {name: one, title: One, include: &energy [{keywords: [oil, gas]}]}
          - {name: two, title: Two, include: *energy}
    """)
    config = parse_config(shared)
    assert config.outputs[0].include == config.outputs[1].include
    # 10,001 values through aliases: one over
    many = "settings:\n  title: &t x\nx: [" + ", ".join(["*t"] * 10_001) + "]\n"
    assert _problem(many).problem.startswith("aliases (*name) expand to more than 10000")


@pytest.mark.parametrize(("text", "line"), [
    ("? [[a]]\n: x\n", 1),
    ("? [{a: 1}]\n: x\n", 1),
    ("sources:\n  - name: a\n    url: http://a.example/feed\n    ? [[c]]\n    : 3\n", 4),
])
def test_a_key_holding_a_list_or_mapping_is_one_line(text: str, line: int) -> None:
    problem = _problem(text)  # (ruamel.yaml cannot build it: an unhashable key)
    assert (problem.problem, problem.line) == ("a key must be a name, not a list or mapping",
                                               line)


def test_a_problem_in_a_merged_key_is_placed_on_the_item_that_merges_it() -> None:
    base = "base: &b\n  url: {url}\nsources:\n  - <<: *b\n    name: a\n"
    problem = _problem(base.format(url="ftp://a.example/feed"))
    assert (problem.field, problem.line) == ("sources[0].url", 4)
    problem = _problem("sources:\n  - <<: [{url: 1}]\n    name: a\n")
    assert (problem.field, problem.line) == ("sources[0].url", 2)


@pytest.mark.parametrize("listen", ["127.0.0.1:99999", "127.0.0.1:0", "localhost:65536"])
def test_listen_needs_a_port_from_1_to_65535(listen: str, tmp_path: Path) -> None:
    problem = _problem(f"settings:\n  title: x\n  listen: {listen}\n")
    assert (problem.field, problem.line) == ("settings.listen", 3)
    assert problem.problem == ("expected HOST:PORT with a port from 1 to 65535 (the host "
                               "cannot contain ':')")
    file = tmp_path / "feeds.yaml"
    file.write_text(f"settings:\n  listen: {listen}\n")
    result = runner.invoke(app, ["check", "--config", str(file)])
    assert result.exit_code == 2 and "settings.listen" in result.stderr


def test_run_with_a_bad_listen_is_a_usage_error(tmp_path: Path) -> None:
    file = tmp_path / "feeds.yaml"
    file.write_text("settings:\n  title: x\n")
    result = runner.invoke(app, ["run", "--config", str(file), "--listen", "127.0.0.1:99999",
                                 "--db", f"sqlite:///{tmp_path / 'a.db'}"])
    assert result.exit_code == 2
    assert "Invalid value for '--listen': expected HOST:PORT with a port from 1 to 65535" \
        in result.stderr


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        (tmp_path / "feeds.yaml").write_text(f"settings:\n  listen: 127.0.0.1:{port}\n")
        child = subprocess.run(
            [sys.executable, "-m", "aggregator", command, "--db",
             f"sqlite:///{tmp_path / 'a.db'}"], cwd=tmp_path, capture_output=True, text=True,
            timeout=60, check=False)
    assert (child.returncode, child.stderr) == (
        2, f"aggregator: cannot listen on 127.0.0.1:{port}: Address already in use\n")
    assert not (tmp_path / "a.db").exists()  # refused before anything started


def test_a_sqlite_folder_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    url = f"sqlite:///{tmp_path / 'file' / 'sub' / 'a.db'}"
    with pytest.raises(StorageError, match=r"^cannot create the folder .*/file/sub for the "
                                           r"database sqlite:///.*: Not a directory$"):
        Store(url)
    (tmp_path / "feeds.yaml").write_text("settings:\n  title: x\n")
    result = runner.invoke(app, ["stories", "--config", str(tmp_path / "feeds.yaml"),
                                 "--db", url])
    assert result.exit_code == 1
    assert result.stderr.startswith("aggregator: cannot create the folder ")
    assert result.stderr.count("\n") == 1
