"""`aggregator run` as a user runs it: a real process, a real port, a real feeds.yaml."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from lxml import etree, html

from tests.conftest import write_config
from tests.feedserver import FeedServer
from tests.test_web import free_port

ATOM = "{http://www.w3.org/2005/Atom}"


def _wait_for(check: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


@pytest.fixture
def running(tmp_path: Path, feed_server: FeedServer, db_url: str
            ) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    port = free_port()
    config = write_config(tmp_path, {"news": feed_server.serve_file("/rss2.xml", "rss2.xml")},
                          settings={"listen": f"127.0.0.1:{port}"})
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "run", "--config", str(config), "--db", db_url],
        stdout=log, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    yield process, f"http://127.0.0.1:{port}", config
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()


def _titles(base: str) -> list[str]:
    body = httpx.get(f"{base}/feeds/all.atom").content
    return [e.findtext(f"{ATOM}title") or "" for e in etree.fromstring(body).iter(f"{ATOM}entry")]


def test_run_serves_polls_reloads_and_stops_cleanly(
        running: tuple[subprocess.Popen[str], str, Path], feed_server: FeedServer,
        tmp_path: Path) -> None:
    process, base, config = running
    assert _wait_for(lambda: len(_titles(base)) == 3), (tmp_path / "run.log").read_text()

    first = httpx.get(f"{base}/feeds/all.atom")
    again = httpx.get(f"{base}/feeds/all.atom", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304

    # each entry's page is served at the path its link names; an unknown story is a 404 page
    for entry in etree.fromstring(first.content).iter(f"{ATOM}entry"):
        link = entry.find(f"{ATOM}link[@rel='describedby']")
        assert link is not None
        page = httpx.get(base + urlsplit(link.get("href")).path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert " ".join(html.fromstring(page.content).findtext(".//h1/a").split()) == \
            " ".join(entry.findtext(f"{ATOM}title").split())
    missing = httpx.get(f"{base}/stories/00000000-0000-0000-0000-000000000000.html")
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text

    # a new source in feeds.yaml is fetched within seconds, without a restart
    feed_server.serve_file("/atom.xml", "atom.xml", "application/atom+xml")
    text = config.read_text()
    config.write_text(text.replace("sources:\n", "sources:\n  - name: wire\n"
                                   f"    url: {feed_server.url('/atom.xml')}\n"))
    assert _wait_for(lambda: "Markets open higher" in _titles(base)), \
        (tmp_path / "run.log").read_text()

    # a broken edit is reported and the last good config stays in force
    config.write_text(config.read_text().replace("poll_interval: 30m", "poll_interval: often"))
    assert _wait_for(lambda: "not reloaded" in (tmp_path / "run.log").read_text(), 10)
    log = (tmp_path / "run.log").read_text()
    assert "settings.poll_interval: expected a duration" in log
    assert "Markets open higher" in _titles(base)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert "Traceback" not in (tmp_path / "run.log").read_text()
