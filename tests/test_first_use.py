"""What a first-time user notices (issue 15): each small thing, with a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.config import load_config, parse_config
from aggregator.exceptions import ConfigError
from aggregator.site import render_site
from aggregator.store import Store
from tests.conftest import write_config

ATOM = "{http://www.w3.org/2005/Atom}"
runner = CliRunner()


def test_an_output_with_no_stories_is_dated_when_first_published_and_stays_so(
        tmp_path: Path, store: Store) -> None:
    config = load_config(write_config(tmp_path, {}))
    first = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    site = render_site(store, config, first)
    again = render_site(store, config, first + timedelta(hours=5))
    for files in (site, again):
        atom = etree.fromstring(files["feeds/all.atom"].body)
        assert atom.findtext(f"{ATOM}updated") == "2026-12-01T09:30:00+00:00"
        assert files["feeds/all.atom"].last_modified == first
        assert files["feeds/all.html"].last_modified == first
        assert files["index.html"].last_modified == first
    assert site["feeds/all.atom"].body == again["feeds/all.atom"].body


def test_the_rss_channel_link_is_the_outputs_page_not_the_feed(
        tmp_path: Path, store: Store) -> None:
    config = load_config(write_config(tmp_path, {}, settings={
        "base_url": "https://feeds.example.org/"}))
    rss = etree.fromstring(render_site(store, config, datetime.now(UTC))["feeds/all.rss"].body)
    assert rss.findtext("channel/link") == "https://feeds.example.org/feeds/all.html"
    self_link = rss.find("channel/{http://www.w3.org/2005/Atom}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "https://feeds.example.org/feeds/all.rss"


@pytest.mark.parametrize(("text", "line", "field"), [
    ("sources:\n  - name: a\n    url: http://e.org/1\n  - name: b\n    url: http://e.org/2\n"
     "  - name: a\n    url: http://e.org/3\n", 6, "sources[2].name"),
    ("outputs:\n  - name: x\n    title: X\n  - name: x\n    title: Y\n", 4, "outputs[1].name"),
])
def test_a_repeated_name_is_reported_at_the_entry_that_repeats_it(
        text: str, line: int, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "feeds.yaml")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"feeds.yaml:{line}: {field}: ")
    assert "used twice (first by entry 1)" in str(caught.value)


def test_bad_yaml_keeps_line_and_column_and_says_what_it_usually_means() -> None:
    text = "sources:\n  - name: a\n    url: http://e.org/\n   - name: b\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "feeds.yaml")
    message = str(caught.value)
    assert caught.value.line == 4
    assert message.startswith("feeds.yaml:4: not valid YAML, column 4: expected <block end>")
    assert "indentation" in message and "missing ':'" in message


def test_a_missing_feeds_yaml_says_how_to_point_at_one_or_start_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGGREGATOR_CONFIG", raising=False)
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert result.stderr.startswith("aggregator: feeds.yaml: file not found; ")
    for hint in ("--config", "$AGGREGATOR_CONFIG", "aggregator sources add URL"):
        assert hint in result.stderr


def test_sources_says_utc_and_fits_80_columns(tmp_path: Path, db_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    long = "https://very-long-host-name.example.org/" + "path/" * 12 + "feed.xml"
    config = write_config(tmp_path, {"long": long, "short": "https://e.org/f"})
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["sources", "-c", str(config), "--db", db_url])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "last fetch (UTC)" in lines[0] and "next fetch (UTC)" in lines[0]
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines[1:] if not line.startswith("  ")]
    assert [r.split()[0] for r in rows] == ["long", "short"]  # one line each, no fold
    assert "https://very-long" in rows[0] and rows[0].endswith("…")
    assert rows[1].endswith("https://e.org/f")
    assert lines[2] == "  never fetched"  # the status, on its own line
