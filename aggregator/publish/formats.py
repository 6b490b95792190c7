"""Where the site's files live and in which formats an output is published: the one
home of the paths (``feeds/<name>[.pageN].<ext>``, ``stories/<id>.html``), the formats
and the absolute URLs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aggregator.publish.render import render_atom, render_json, render_rss
from aggregator.types import OutputFeed, StoryView

OPML_PATH = "sources.opml"
NOT_FOUND_PATH = "404.html"
_PAGE_NAMESPACE = uuid.UUID("0b8f5d0e-3c52-5e0a-9d6c-7f1a2e4b9c31")  # for ids not urn:uuid:


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


def story_path(uid: str) -> str:
    """A story's page, relative to the site root: ``stories/<uuid>.html``.

    A story's id (its Atom entry id) never changes, so neither does its page: the page is
    named by the UUID of a ``urn:uuid:`` id (lowercase, as the store writes it), and by a
    UUID derived from the id otherwise, so no character of an id reaches a path.
    """
    value = uid.removeprefix("urn:uuid:")
    try:
        name = str(uuid.UUID(value)) if value != uid and len(value) == 36 else None
    except ValueError:
        name = None
    return f"stories/{name or uuid.uuid5(_PAGE_NAMESPACE, uid)}.html"
