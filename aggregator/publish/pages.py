"""Pure HTML pages: the site index (every output and how to subscribe) and one page per output.

Jinja2 with autoescaping on: every string from a source (titles, summaries,
outlet names, URLs) is untrusted and is escaped; a URL becomes a link only when
it is http(s), so a ``javascript:`` link in a feed stays inert text. Stories
show ``summary_text``, never ``content_html``. Pages are self-contained: inline
CSS (system fonts, responsive, dark mode through ``prefers-color-scheme``), no
JavaScript, no external assets, and a Content-Security-Policy that allows
nothing else. Deterministic: dates are printed in UTC from the data, no clock.

Where things live, relative to ``SiteInfo.base_url`` (see formats.py)::

    /                     index          render_index
    /feeds/<name>.html    output page    render_output_page
    /feeds/<name>.atom    Atom 1.0       (render.py)
    /feeds/<name>.rss     RSS 2.0
    /feeds/<name>.json    JSON Feed 1.1
    /sources.opml         the sources    (opml.py)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup

from aggregator.publish.formats import FORMATS, OPML_PATH, feed_path, site_url
from aggregator.text import http_url
from aggregator.types import Outlet, StoryView
from aggregator.version import __version__

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """The site as a whole: its title and the URL every link is made absolute against."""

    title: str
    base_url: str
    sources_listed: bool = True  # /sources.opml is published: the pages link to it


@dataclass(frozen=True, slots=True)
class OutputSummary:
    """One output as the index lists it."""

    name: str
    title: str
    description: str | None
    story_count: int
    updated: datetime | None  # None: nothing published yet


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _human_date(value: datetime) -> str:
    """``24 Nov 2026, 09:00 UTC`` (English months whatever the locale)."""
    value = _utc(value)
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}, {value:%H:%M} UTC"


def _iso_date(value: datetime) -> str:
    return _utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")


def _stories(count: int) -> str:
    return f"{count} story" if count == 1 else f"{count} stories"


@dataclass(frozen=True, slots=True)
class _Link:
    href: str | None
    text: str


def _outlet(outlet: Outlet) -> _Link:
    return _Link(http_url(outlet.item_url) or http_url(outlet.site_url),
                 outlet.source_title.strip() or outlet.source_name)


def _printable(value: object) -> object:
    """Drop control characters (HTML forbids them) from every string a page prints."""
    if isinstance(value, Markup):  # already escaped: a macro's output
        return value
    return _CONTROL.sub("", value) if isinstance(value, str) else value


def _environment() -> Environment:
    environment = Environment(loader=DictLoader(_TEMPLATES), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, finalize=_printable)
    environment.filters.update(human_date=_human_date, iso_date=_iso_date, stories=_stories,
                               http_url=http_url, outlet=_outlet)
    return environment


def _feeds(site: SiteInfo, output: OutputSummary) -> list[dict[str, str]]:
    return [{"href": site_url(site.base_url, feed_path(output.name, fmt.extension)),
             "type": fmt.media_type, "label": fmt.label, "title": f"{output.title} ({fmt.label})"}
            for fmt in FORMATS.values()]


def _output(site: SiteInfo, output: OutputSummary) -> dict[str, object]:
    return {"summary": output, "page": site_url(site.base_url, feed_path(output.name, "html")),
            "feeds": _feeds(site, output)}


def render_index(site: SiteInfo, outputs: Sequence[OutputSummary]) -> str:
    """The site's front page: every output, its subscribe links, and feed autodiscovery.

    ``<head>`` lists every output's Atom feed first, then the RSS and JSON Feed
    ones, so a reader given the site's address finds Atom first.
    """
    listed = [_output(site, o) for o in outputs]
    feeds = [_feeds(site, o) for o in outputs]
    alternates = [each[kind] for kind in range(len(FORMATS)) for each in feeds]
    return _ENV.get_template("index.html").render(
        site=site, outputs=listed, alternates=alternates, home=site_url(site.base_url),
        opml=_opml(site), version=__version__)


def _opml(site: SiteInfo) -> str | None:
    return site_url(site.base_url, OPML_PATH) if site.sources_listed else None


def render_output_page(site: SiteInfo, output: OutputSummary,
                       stories: Sequence[StoryView]) -> str:
    """A readable page of one output's stories, each with every outlet that carried it."""
    current = _output(site, output)
    return _ENV.get_template("output.html").render(
        site=site, output=current, alternates=current["feeds"], stories=stories,
        home=site_url(site.base_url), opml=_opml(site), version=__version__)


_CSS = """
:root {
  color-scheme: light dark;
  --bg: #fbfbfa; --fg: #1d1d1f; --muted: #5c5f66; --rule: #e3e3e0; --card: #ffffff;
  --link: #0b57d0; --visited: #6b3fa0; --chip: #eef2fb; --chip-fg: #0b3d91;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #121316; --fg: #e6e6e9; --muted: #a2a5ad; --rule: #2c2e33; --card: #1a1b1f;
    --link: #8ab4f8; --visited: #c5a3f5; --chip: #23293a; --chip-fg: #c2d4fb;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 1.0625rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Ubuntu,
    Cantarell, "Helvetica Neue", Arial, sans-serif;
  overflow-wrap: break-word;
}
.wrap { max-width: 46rem; margin: 0 auto; padding: 0 1.25rem; }
a { color: var(--link); text-underline-offset: 0.15em; }
a:visited { color: var(--visited); }
a:focus-visible { outline: 2px solid var(--link); outline-offset: 2px; border-radius: 2px; }
header.site { border-bottom: 1px solid var(--rule); padding: 2.25rem 0 1.5rem; }
header.site .crumb { margin: 0 0 0.5rem; font-size: 0.9rem; }
h1 { font-size: clamp(1.6rem, 1.2rem + 2vw, 2.3rem); line-height: 1.2; margin: 0 0 0.5rem;
  letter-spacing: -0.01em; overflow-wrap: anywhere; hyphens: auto; }
h2 { font-size: 1.2rem; line-height: 1.3; margin: 0 0 0.35rem; overflow-wrap: anywhere;
  hyphens: auto; }
p { margin: 0 0 0.75rem; }
.lead { color: var(--muted); font-size: 1.05rem; margin: 0 0 0.75rem; max-width: 40rem; }
.meta { color: var(--muted); font-size: 0.9rem; margin: 0 0 0.6rem;
  font-variant-numeric: tabular-nums; }
.meta > * { display: inline-block; }  /* an item wraps as a whole, not mid-name */
.meta > * + *::before { content: "·"; margin: 0 0.45em; }
main.wrap { padding-top: 1.5rem; padding-bottom: 2rem; }
.outputs, .stories { list-style: none; margin: 0; padding: 0; }
.output { background: var(--card); border: 1px solid var(--rule); border-radius: 12px;
  padding: 1.1rem 1.25rem 1rem; margin: 0 0 1rem; }
.output h2 a, .story h2 a { color: inherit; text-decoration: none; }
.output h2 a:hover, .story h2 a:hover { text-decoration: underline; }
.subscribe { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin: 0.25rem 0 0;
  padding: 0; list-style: none; font-size: 0.9rem; }
.subscribe a { display: inline-block; padding: 0.2rem 0.75rem; border-radius: 999px;
  background: var(--chip); color: var(--chip-fg); text-decoration: none; font-weight: 600; }
.subscribe a:hover { text-decoration: underline; }
.subscribe .label { color: var(--muted); margin-right: 0.15rem; }
.feed-url { display: block; margin: 0.6rem 0 0; font-size: 0.8rem; color: var(--muted);
  overflow-wrap: anywhere; }
.feed-url code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  user-select: all; }
.story { padding: 1.25rem 0; border-bottom: 1px solid var(--rule); }
.story:first-child { padding-top: 0.25rem; }
.story .summary { margin: 0 0 0.6rem; }
.outlets { font-size: 0.9rem; color: var(--muted); margin: 0; }
.outlets a { font-weight: 600; }
.tags { display: inline; }
.empty { color: var(--muted); font-style: italic; }
footer { border-top: 1px solid var(--rule); color: var(--muted); font-size: 0.85rem;
  padding: 1.25rem 0 2.5rem; }
footer a { color: inherit; }
@media (max-width: 30rem) {
  body { font-size: 1rem; }
  .wrap { padding: 0 1rem; }
  .output { padding: 1rem; border-radius: 10px; }
}
@media print {
  .subscribe, .feed-url { display: none; }
  a { color: inherit; }
}
"""

#: what the pages may load: their own inline style and data: images, nothing else (no
#: script at all); web.py sends it as a header too, with what only a header can say
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                           "base-uri 'none'; form-action 'none'")

_BASE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="@CSP@">
<meta name="referrer" content="strict-origin-when-cross-origin">
<meta name="generator" content="aggregator {{ version }}">
<title>{% block title %}{% endblock %}</title>
<link rel="icon" href="data:,">
{% for feed in alternates %}
<link rel="alternate" type="{{ feed.type }}" title="{{ feed.title }}" href="{{ feed.href }}">
{% endfor %}
<style>""" + _CSS + """</style>
</head>
<body>
<header class="site">
<div class="wrap">
{% block header %}{% endblock %}
</div>
</header>
<main class="wrap">
{% block main %}{% endblock %}
</main>
<footer>
<div class="wrap">
<p>Published by <a href="{{ home }}">{{ site.title }}</a> with aggregator {{ version }}.
{% if opml %}
All sources as <a href="{{ opml }}" type="text/x-opml">OPML</a>.{% endif %}</p>
</div>
</footer>
</body>
</html>
"""

_SUBSCRIBE = """{% macro subscribe(feeds, title) %}
<ul class="subscribe" aria-label="Subscribe to {{ title }}">
<li class="label">Subscribe:</li>
{% for feed in feeds %}
<li><a href="{{ feed.href }}" type="{{ feed.type }}">{{ feed.label }}</a></li>
{% endfor %}
</ul>
<p class="feed-url">Feed address: <code>{{ feeds[0].href }}</code></p>
{% endmacro %}
{% macro updated(value) %}
{% if value is none %}<span>nothing published yet</span>{% else %}\
<span>updated <time datetime="{{ value | iso_date }}">{{ value | human_date }}</time></span>\
{% endif %}
{% endmacro %}
{% macro outlet_link(link) %}\
{% if link.href %}<a href="{{ link.href }}">{{ link.text }}</a>{% else %}{{ link.text }}{% endif %}\
{% endmacro %}
"""

_INDEX = """{% extends "base.html" %}
{% from "macros.html" import subscribe, updated %}
{% block title %}{{ site.title }}{% endblock %}
{% block header %}
<h1>{{ site.title }}</h1>
<p class="lead">{{ outputs | length }} {{ "feed" if outputs | length == 1 else "feeds" }} \
to follow in any feed reader: paste this page’s address into your reader, or pick a format \
below. Every story names each outlet that carried it.</p>
{% if opml %}
<p class="meta"><a href="{{ opml }}" type="text/x-opml">All sources as OPML</a></p>
{% endif %}
{% endblock %}
{% block main %}
{% if outputs %}
<ul class="outputs">
{% for output in outputs %}
{% set summary = output.summary %}
<li class="output" id="{{ summary.name }}">
<h2><a href="{{ output.page }}">{{ summary.title }}</a></h2>
{% if summary.description %}
<p class="description">{{ summary.description }}</p>
{% endif %}
<p class="meta"><span>{{ summary.story_count | stories }}</span>\
{{ updated(summary.updated) }}</p>
{{ subscribe(output.feeds, summary.title) }}
</li>
{% endfor %}
</ul>
{% else %}
<p class="empty">No feeds are published yet.</p>
{% endif %}
{% endblock %}
"""

_OUTPUT = """{% extends "base.html" %}
{% from "macros.html" import subscribe, updated, outlet_link %}
{% block title %}{{ output.summary.title }} · {{ site.title }}{% endblock %}
{% block header %}
{% set summary = output.summary %}
<p class="crumb"><a href="{{ home }}">← {{ site.title }}</a></p>
<h1>{{ summary.title }}</h1>
{% if summary.description %}
<p class="lead">{{ summary.description }}</p>
{% endif %}
<p class="meta"><span>{{ summary.story_count | stories }}</span>{{ updated(summary.updated) }}</p>
{{ subscribe(output.feeds, summary.title) }}
{% endblock %}
{% block main %}
{% if stories %}
<ol class="stories">
{% for story in stories %}
{% set href = story.url | http_url %}
<li class="story">
<article{% if story.language %} lang="{{ story.language }}"{% endif %}>
<h2>{% if href %}<a href="{{ href }}">{{ story.title }}</a>{% else %}{{ story.title }}\
{% endif %}</h2>
<p class="meta"><time datetime="{{ story.published_at | iso_date }}">\
{{ story.published_at | human_date }}</time>\
{% if story.author %}<span>{{ story.author }}</span>{% endif %}\
{% if story.categories %}<span class="tags">{{ story.categories | join(", ") }}</span>{% endif %}\
</p>
{% if story.summary_text %}
<p class="summary">{{ story.summary_text }}</p>
{% endif %}
<p class="outlets">{{ "Originally published" if story.representative_is_original \
else "Published" }} by {{ outlet_link(story.representative | outlet) }}\
{% if story.others %} · also carried by \
{% for other in story.others %}{{ outlet_link(other | outlet) }}{{ ", " if not loop.last }}\
{% endfor %}{% endif %}\
{% if story.credited_origin %} · credited to {{ story.credited_origin }}{% endif %}</p>
</article>
</li>
{% endfor %}
</ol>
{% else %}
<p class="empty">No stories yet.</p>
{% endif %}
{% endblock %}
"""

_TEMPLATES = {"base.html": _BASE.replace("@CSP@", CONTENT_SECURITY_POLICY),
              "macros.html": _SUBSCRIBE, "index.html": _INDEX, "output.html": _OUTPUT}
_ENV = _environment()
