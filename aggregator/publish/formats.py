"""Where the site's files live and in which formats an output is published: the one
home of the paths (``feeds/<name>[.pageN].<ext>``), the formats and the absolute URLs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aggregator.publish.render import render_atom, render_json, render_rss
from aggregator.types import OutputFeed, StoryView

OPML_PATH = "sources.opml"


@dataclass(frozen=True, slots=True)
class Format:
    extension: str
    media_type: str  # without parameters, as <link type="..."> takes it
    label: str  # how pages name it
    render: Callable[[OutputFeed, Sequence[StoryView]], bytes]

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


#: every published feed format, in the order pages list them
FORMATS: dict[str, Format] = {
    "atom": Format("atom", "application/atom+xml", "Atom", render_atom),
    "rss": Format("rss", "application/rss+xml", "RSS", render_rss),
    "json": Format("json", "application/feed+json", "JSON Feed", render_json),
}


def feed_path(name: str, extension: str, page: int = 1) -> str:
    """An output's file, relative to the site root: ``feeds/<name>[.pageN].<ext>``."""
    return f"feeds/{name}.{extension}" if page == 1 else f"feeds/{name}.page{page}.{extension}"


def site_url(base_url: str, path: str = "") -> str:
    """``path`` made absolute against the base URL (which may live under a sub-path)."""
    return base_url.rstrip("/") + "/" + path
