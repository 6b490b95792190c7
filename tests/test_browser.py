"""The HTML pages in a real browser: Debian's headless chromium loads them over HTTP.

``--dump-dom`` gives the DOM chromium built (the story titles, the autodiscovery
links); ``--screenshot`` writes PNGs to ``$AGGREGATOR_SCREENSHOTS`` (default
/tmp/aggregator-screens/) for a person to look at: desktop and dark mode for the
index, desktop and a phone-sized window for an output page with long Russian titles,
and the same three for a story's page (its outlets and word diffs).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lxml import html

from aggregator.publish.formats import story_path
from aggregator.publish.pages import (
    SiteInfo,
    render_index,
    render_output_page,
    render_story_page,
)
from tests.test_pages import ALL, OUTPUTS, STORIES, TOKAEV_PAGE

CHROMIUM = Path("/usr/bin/chromium")
SCREENS = Path(os.environ.get("AGGREGATOR_SCREENSHOTS", "/tmp/aggregator-screens"))
PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The index and one output page, rendered and served from 127.0.0.1."""
    root = tmp_path_factory.mktemp("site")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    info = SiteInfo("Aggregator news", base)
    (root / "feeds").mkdir()
    (root / "index.html").write_text(render_index(info, OUTPUTS), encoding="utf-8")
    (root / "feeds" / "all.html").write_text(render_output_page(info, ALL, STORIES),
                                             encoding="utf-8")
    (root / "stories").mkdir()
    (root / story_path(TOKAEV_PAGE.uid)).write_text(render_story_page(info, TOKAEV_PAGE),
                                                    encoding="utf-8")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


def _chromium(tmp_path: Path, *arguments: str, window: str = "1200,900") -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
               "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={window}",
               *arguments]
    try:
        done = subprocess.run(command, capture_output=True, timeout=90, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    return done.stdout.decode("utf-8")


def _dom(tmp_path: Path, url: str) -> html.HtmlElement:
    return html.document_fromstring(_chromium(tmp_path, "--dump-dom", url))


def _screenshot(tmp_path: Path, url: str, name: str, window: str = "1200,900",
                *extra: str) -> Path:
    target = tmp_path / name
    _chromium(tmp_path, f"--screenshot={target}", *extra, url, window=window)
    data = target.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000  # a page was drawn, not a blank
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target, SCREENS / name)
    return SCREENS / name


def test_the_index_in_chromium(site: str, tmp_path: Path) -> None:
    root = _dom(tmp_path, site)
    assert root.findtext(".//h1") == "Aggregator news"
    titles = [" ".join(h.text_content().split()) for h in root.xpath("//li[@id]//h2")]
    assert titles == [o.title for o in OUTPUTS]
    alternates = root.xpath("//head/link[@rel='alternate' and @type='application/atom+xml']")
    assert [a.get("href") for a in alternates] == [
        f"{site}feeds/{o.name}.atom" for o in OUTPUTS]
    assert f"{site}sources.opml" in root.xpath("//a/@href")
    _screenshot(tmp_path, site, "index.png")
    _screenshot(tmp_path, site, "index-dark.png", "1200,900", "--force-dark-mode")


def test_an_output_page_in_chromium(site: str, tmp_path: Path) -> None:
    url = f"{site}feeds/all.html"
    root = _dom(tmp_path, url)
    titles = [" ".join(h.text_content().split()) for h in root.xpath("//article//h2")]
    assert titles == [s.title for s in STORIES]
    outlets = " ".join(root.xpath("//article")[0].xpath(".//p[@class='outlets']")[0]
                       .text_content().split())
    assert outlets == "Published by Известия · also carried by Kazinform, Turantimes.kz"
    feeds = [(a.get("type"), a.get("href")) for a in root.xpath("//head/link[@rel='alternate']")]
    assert feeds == [("application/atom+xml", f"{site}feeds/all.atom"),
                     ("application/rss+xml", f"{site}feeds/all.rss"),
                     ("application/feed+json", f"{site}feeds/all.json")]
    _screenshot(tmp_path, url, "output.png")
    _screenshot(tmp_path, url, "output-phone.png", "390,1200")


def test_a_story_page_in_chromium(site: str, tmp_path: Path) -> None:
    url = site + story_path(TOKAEV_PAGE.uid)
    root = _dom(tmp_path, url)
    assert " ".join(root.findtext(".//h1/a").split()) == TOKAEV_PAGE.title
    copies = root.xpath("//li[@class='copy']")
    assert [" ".join(c.findtext(".//h3/a").split()) for c in copies] == [
        "Известия", "Turantimes.kz", "Kazinform"]
    assert [" ".join(i.text_content().split()) for i in copies[1].xpath(".//div//ins")] == [
        ", передает Turantimes.kz со ссылкой на газету «Известия»",
        "Подписывайтесь на наш канал."]
    assert copies[2].xpath(".//div[@class='diff']//del/text()") == [
        "«", "»", " полиции", "Статья вышла в четверг. "]
    assert not root.xpath("//script")
    _screenshot(tmp_path, url, "story.png", "1200,1400")
    _screenshot(tmp_path, url, "story-phone.png", "390,1600")
    _screenshot(tmp_path, url, "story-dark.png", "1200,1400", "--force-dark-mode")
