from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.config import (
    DEFAULT_DATABASE_URL,
    database_url,
    load_config,
    parse_config,
    parse_duration,
)
from aggregator.exceptions import ConfigError

VALID = """\
settings:
  database: sqlite:///x.db
  poll_interval: 15m
sources:
  - name: izvestia
    url: https://iz.ru/xml/rss/all.xml
    title: Известия
    tags: [ru, news]
  - name: wire
    url: http://wire.example.org/feed
outputs:
  - name: all
    title: All stories
  - name: ru
    title: Russian
    tags: [ru]
    limit: 10
"""


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "feeds.yaml")
    return caught.value


def test_a_valid_config_loads_with_defaults() -> None:
    config = parse_config(VALID)
    assert config.settings.poll_interval == timedelta(minutes=15)
    assert config.settings.timeout == timedelta(seconds=30)
    assert [s.name for s in config.sources] == ["izvestia", "wire"]
    assert config.sources[0].title == "Известия"
    assert [s.name for s in config.sources_of(config.outputs[0])] == ["izvestia", "wire"]
    assert [s.name for s in config.sources_of(config.outputs[1])] == ["izvestia"]
    assert config.outputs[1].limit == 10 and config.outputs[0].limit == 50


@pytest.mark.parametrize(("text", "line", "field", "problem"), [
    (VALID.replace("    title: Известия", "    titel: Известия"), 7, "sources[0].titel",
     "unknown key"),
    (VALID.replace("https://iz.ru/xml/rss/all.xml", "ftp://iz.ru/x"), 6, "sources[0].url",
     "http:// or https://"),
    (VALID.replace("poll_interval: 15m", "poll_interval: soon"), 3, "settings.poll_interval",
     "duration such as 90s"),
    (VALID.replace("name: wire", "name: Wire Service"), 9, "sources[1].name", "slug"),
    (VALID.replace("name: wire", "name: izvestia"), 9, "sources[1].name", "used twice"),
    (VALID.replace("tags: [ru]", "tags: [kz]"), 16, "outputs[1].tags", "no source has the tag"),
    (VALID.replace("    limit: 10", "    limit: 0"), 17, "outputs[1].limit",
     "greater than or equal to 1"),
    (VALID.replace("    url: http://wire.example.org/feed\n", ""), 9, "sources[1].url", "required"),
    (VALID + "extra: 1\n", 18, "extra", "unknown key"),
])
def test_every_mistake_names_the_file_line_and_field(text: str, line: int, field: str,
                                                     problem: str) -> None:
    error = _error(text)
    assert (error.path, error.line, error.field) == ("feeds.yaml", line, field)
    assert problem in error.problem
    assert str(error).startswith(f"feeds.yaml:{line}: {field}: ")


def test_an_output_naming_an_unknown_source_is_an_error() -> None:
    error = _error(VALID.replace("    tags: [ru]\n    limit", "    sources: [tass]\n    limit"))
    assert error.field == "outputs[1].sources"
    assert "unknown source 'tass'" in error.problem and "izvestia" in error.problem


def test_broken_yaml_reports_its_line() -> None:
    error = _error("sources:\n  - name: a\n    url: [unclosed\n")
    assert error.line is not None and error.line >= 3
    assert "not valid YAML" in str(error)


def test_the_top_level_must_be_a_mapping() -> None:
    assert "top level must be a mapping" in str(_error("- a\n- b\n"))


def test_an_empty_file_is_a_valid_empty_config() -> None:
    config = parse_config("")
    assert config.sources == () and config.outputs == ()


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("value", "seconds"), [
    (90, 90), ("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400),
    (" 1.5h ", 5400),
])
def test_durations(value: object, seconds: int) -> None:
    assert parse_duration(value) == timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["", "0", "-5m", "5x", "m", True, "1w"])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@given(st.integers(min_value=1, max_value=10**7), st.sampled_from(["s", "m", "h", "d"]))
def test_duration_units_multiply(amount: int, unit: str) -> None:
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert parse_duration(f"{amount}{unit}").total_seconds() == amount * factor


def test_database_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(VALID)
    monkeypatch.setenv("AGGREGATOR_DATABASE_URL", "sqlite:///env.db")
    assert database_url("sqlite:///flag.db", config) == "sqlite:///flag.db"
    assert database_url(None, config) == "sqlite:///x.db"
    assert database_url(None, parse_config("")) == "sqlite:///env.db"
    monkeypatch.delenv("AGGREGATOR_DATABASE_URL")
    assert database_url(None, parse_config("")) == DEFAULT_DATABASE_URL


def test_a_feeds_yaml_is_read_from_the_cache_when_its_text_has_not_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ruamel.yaml import YAML

    monkeypatch.setenv("AGGREGATOR_CACHE_DIR", str(tmp_path / "cache"))
    sources = "".join(f"  - name: s{i}\n    url: https://example.org/{i}.xml\n"
                      for i in range(600))
    text = f"sources:\n{sources}outputs:\n  - name: all\n    title: All\n"
    first = parse_config(text)
    assert len(list((tmp_path / "cache" / "config").glob("*.json"))) == 1

    def no_yaml(*args: object, **kwargs: object) -> None:
        raise AssertionError("ruamel.yaml was used although the text is cached")

    small = parse_config(VALID)  # any size: importing ruamel.yaml alone takes 10 ms
    monkeypatch.setattr(YAML, "load", no_yaml)
    assert parse_config(text) == first
    assert parse_config(VALID) == small
    # an edit is a different text: read again (and an error is never cached)
    with pytest.raises(AssertionError, match=r"ruamel\.yaml was used"):
        parse_config(text.replace("s599", "s600"))
    monkeypatch.undo()
    monkeypatch.setenv("AGGREGATOR_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match=r"sources\[1\]\.name"):
        parse_config(text.replace("name: s1\n", "name: s0\n"))
    assert len(list((tmp_path / "cache" / "config").glob("*.json"))) == 2  # text, VALID
    # a cache file that is not JSON is ignored
    for cached in (tmp_path / "cache" / "config").glob("*.json"):
        cached.write_text("{not json")
    assert parse_config(text) == first
