"""The command line through its runner: exit codes, output, files written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from aggregator.cli import app
from tests.conftest import ATOM_RNG, write_config
from tests.feedserver import FeedServer

ATOM = "{http://www.w3.org/2005/Atom}"
runner = CliRunner()


@pytest.fixture
def feeds(tmp_path: Path, feed_server: FeedServer) -> Path:
    return write_config(tmp_path, {
        "news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "wire": feed_server.serve_file("/atom.xml", "atom.xml", "application/atom+xml"),
    })


def _run(*args: str, db_url: str | None = None) -> tuple[int, str, str]:
    extra = ["--db", db_url] if db_url else []
    result = runner.invoke(app, [*args, *extra])
    return result.exit_code, result.stdout, result.stderr


def test_fetch_exits_0_and_prints_one_summary_line_when_piped(feeds: Path, db_url: str) -> None:
    code, out, err = _run("fetch", "--config", str(feeds), db_url=db_url)
    assert code == 0, err
    assert out == "sources: 2 ok, 0 unchanged, 0 failed; items: 5 new, 0 updated\n"
    assert err == ""
    code, out, _ = _run("fetch", "--config", str(feeds), db_url=db_url)
    assert (code, out) == (0, "sources: 0 ok, 2 unchanged, 0 failed; items: 0 new, 0 updated\n")


def test_fetch_exits_1_and_names_each_failure(tmp_path: Path, feed_server: FeedServer,
                                              db_url: str) -> None:
    config = write_config(tmp_path, {
        "news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "broken": feed_server.url("/missing.xml"),
    })
    code, out, err = _run("fetch", "-c", str(config), db_url=db_url)
    assert code == 1
    assert err == "broken: HTTP 404 Not Found\n"
    assert out == "sources: 1 ok, 0 unchanged, 1 failed; items: 3 new, 0 updated\n"


def test_fetch_only_the_named_sources(feeds: Path, feed_server: FeedServer,
                                      tmp_path: Path) -> None:
    code, out, _ = _run("fetch", "wire", "--config", str(feeds),
                        db_url=f"sqlite:///{tmp_path / 'a.db'}")
    assert code == 0 and "1 ok" in out
    assert feed_server.hits("/rss2.xml") == []


def test_usage_and_config_errors_exit_2(feeds: Path, tmp_path: Path) -> None:
    code, _, err = _run("fetch", "nosuch", "--config", str(feeds))
    assert code == 2 and "unknown source(s): nosuch" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - name: x\n    url: http://e.com/\n    tgas: [a]\n")
    code, _, err = _run("fetch", "--config", str(bad))
    assert code == 2
    assert err == f"aggregator: {bad}:4: sources[0].tgas: unknown key (check the spelling; " \
                  "see the feeds.yaml reference in docs/configuration.md)\n"
    code, _, err = _run("fetch", "--config", str(tmp_path / "none.yaml"))
    assert code == 2 and "file not found" in err
    assert "Traceback" not in err


def test_check(feeds: Path, tmp_path: Path) -> None:
    code, out, _ = _run("check", "--config", str(feeds))
    assert code == 0 and out == f"{feeds}: OK (2 sources, 1 outputs)\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text("outputs:\n  - name: all\n    title: All\n    limit: many\n")
    code, _, err = _run("check", "--config", str(bad))
    assert code == 2 and f"{bad}:4: outputs[0].limit:" in err


def test_config_comes_from_the_environment(feeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGGREGATOR_CONFIG", str(feeds))
    code, out, _ = _run("check")
    assert code == 0 and str(feeds) in out


def test_publish_writes_valid_atom_atomically(feeds: Path, tmp_path: Path, db_url: str) -> None:
    assert _run("fetch", "-c", str(feeds), db_url=db_url)[0] == 0
    out_dir = tmp_path / "public"
    code, _, err = _run("publish", "--out", str(out_dir), "-c", str(feeds), db_url=db_url)
    assert code == 0, err
    body = (out_dir / "feeds/all.atom").read_bytes()
    root = etree.fromstring(body)
    assert etree.RelaxNG(etree.parse(str(ATOM_RNG))).validate(etree.ElementTree(root))
    assert len(root.findall(f"{ATOM}entry")) == 4
    # the same paths `aggregator run` serves (a page per story each entry links to), and
    # no temporary file left behind
    stories = sorted(link.get("href").removeprefix("http://127.0.0.1:8080/")
                     for link in root.iter(f"{ATOM}link") if link.get("rel") == "describedby")
    assert len(stories) == 4
    assert sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*")) == [
        "404.html", "feeds", "feeds/all.atom", "feeds/all.html", "feeds/all.json",
        "feeds/all.rss", "index.html", "sources.opml", "stories", *stories]
    before = (out_dir / "feeds/all.atom").stat().st_mtime_ns
    assert _run("publish", "--out", str(out_dir), "-c", str(feeds), db_url=db_url)[0] == 0
    assert (out_dir / "feeds/all.atom").stat().st_mtime_ns == before  # unchanged: not rewritten
    assert (out_dir / "feeds/all.atom").read_bytes() == body


def test_publish_into_an_unwritable_place_fails_cleanly(feeds: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _run("publish", "--out", str(blocker / "sub"), "-c", str(feeds),
                        db_url=f"sqlite:///{tmp_path / 'p.db'}")
    assert code == 1 and "aggregator: cannot write" in err and "Traceback" not in err


def test_sources_json(feeds: Path, db_url: str) -> None:
    _run("fetch", "-c", str(feeds), db_url=db_url)
    code, out, _ = _run("sources", "--json", "-c", str(feeds), db_url=db_url)
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["news"]["items"] == 3 and rows["news"]["last_outcome"] == "ok"
    assert rows["wire"]["error_count"] == 0 and rows["wire"]["next_fetch_at"]


def test_a_database_that_cannot_be_opened_is_a_clear_error(feeds: Path, tmp_path: Path) -> None:
    code, _, err = _run("fetch", "-c", str(feeds), db_url="postgresql://nobody@127.0.0.1:1/x")
    assert code == 1 and err.startswith("aggregator: cannot open the database") and \
        "Traceback" not in err
    code, _, err = _run("fetch", "-c", str(feeds), db_url="nonsense")
    assert code == 1 and "invalid database URL" in err


def test_preview_shows_stories_reasons_and_silent_rules(tmp_path: Path, feed_server: FeedServer,
                                                        db_url: str) -> None:
    config = write_config(tmp_path, {
        "news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "wire": feed_server.serve_file("/atom.xml", "atom.xml", "application/atom+xml"),
    }, outputs="""outputs:
  - name: rates
    title: Rates
    include:
      - field: title
        keywords: [rates]
      - field: title
        keywords: [bitcoin]""")
    assert _run("fetch", "-c", str(config), db_url=db_url)[0] == 0
    code, out, err = _run("preview", "rates", "-c", str(config), db_url=db_url)
    assert code == 0
    assert "Rates unchanged again" in out
    assert "outlets: Wire Service, Example News" in out
    assert "why: include title: keywords 'rates'" in out
    assert "1 stories in rates" in out and "left out: 3 (matched no include rule)" in out
    assert err == "warning: the rule title: keywords 'bitcoin' matched no story\n"
    code, out, _ = _run("preview", "rates", "--json", "-c", str(config), db_url=db_url)
    data = json.loads(out)
    assert [s["outlets"] for s in data["stories"]] == [["wire", "news"]]
    assert data["rules_matching_nothing"] == ["title: keywords 'bitcoin'"]
    code, _, err = _run("preview", "nope", "-c", str(config), db_url=db_url)
    assert code == 2 and "unknown output 'nope'; outputs: rates" in err


def test_sources_add_discovers_checks_and_keeps_the_file(tmp_path: Path,
                                                         feed_server: FeedServer) -> None:
    config = write_config(tmp_path, {"news": feed_server.serve_file("/rss2.xml", "rss2.xml")})
    config.write_text("# my sources\n" + config.read_text())
    before = config.read_text()
    feed_server.serve_file("/atom.xml", "atom.xml", "application/atom+xml")
    feed_server.serve("/blog/", b'<html><head><link rel="alternate" '
                      b'type="application/atom+xml" href="/atom.xml"></head></html>', "text/html")
    code, out, err = _run("sources", "add", feed_server.url("/blog/"), "--tag", "wire",
                          "-c", str(config))
    assert code == 0, err
    assert out == (f"added wire-service: {feed_server.url('/atom.xml')} (Wire Service, "
                   f"2 entries) to {config}\n")
    after = config.read_text()
    assert after.startswith(before.split("outputs:")[0])  # comments and order kept
    assert "  - name: wire-service\n" in after and "tags: [wire]" in after
    # a page without any feed, and a feed already there, are clear errors
    feed_server.serve("/plain", b"<html><body>nothing</body></html>", "text/html")
    code, _, err = _run("sources", "add", feed_server.url("/plain"), "-c", str(config))
    assert code == 1 and "the page announces no feed" in err
    code, _, err = _run("sources", "add", feed_server.url("/atom.xml"), "-c", str(config))
    assert code == 2 and "wire-service" in err
    code, out, _ = _run("sources", "remove", "wire-service", "-c", str(config))
    assert code == 0 and config.read_text() == before


def test_opml_export_then_import_round_trips(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(tmp_path, {
        "news": feed_server.serve_file("/rss2.xml", "rss2.xml"),
        "wire": feed_server.serve_file("/atom.xml", "atom.xml")}, tags={"wire": ["en"]})
    db = f"sqlite:///{tmp_path / 'o.db'}"
    code, out, _ = _run("opml", "export", "-c", str(config), db_url=db)
    assert code == 0 and 'xmlUrl="' + feed_server.url("/atom.xml") + '"' in out
    exported = tmp_path / "sources.opml"
    assert _run("opml", "export", "--out", str(exported), "-c", str(config), db_url=db)[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    fresh = other / "feeds.yaml"
    fresh.write_text("sources: []\noutputs:\n  - name: all\n    title: All\n")
    code, out, _ = _run("opml", "import", str(exported), "-c", str(fresh))
    assert code == 0 and out == f"added 2 of 2 feeds to {fresh}: news, wire\n"
    code, out, _ = _run("opml", "import", str(exported), "-c", str(fresh))
    assert code == 0 and out == f"added 0 of 2 feeds to {fresh}\n"
    code, _, err = _run("opml", "import", str(config), "-c", str(fresh))
    assert code == 2 and "OPML" in err


def test_publish_removes_the_sources_list_once_it_is_private(
        feeds: Path, tmp_path: Path, db_url: str) -> None:
    out_dir = tmp_path / "public"
    assert _run("publish", "--out", str(out_dir), "-c", str(feeds), db_url=db_url)[0] == 0
    assert (out_dir / "sources.opml").exists()
    feeds.write_text(feeds.read_text().replace("settings:\n",
                                               "settings:\n  publish_sources: false\n"))
    code, _, err = _run("publish", "--out", str(out_dir), "-c", str(feeds), db_url=db_url)
    assert code == 0, err
    assert not (out_dir / "sources.opml").exists()
    assert "sources.opml" not in (out_dir / "index.html").read_text()
