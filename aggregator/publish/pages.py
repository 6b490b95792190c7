"""Pure HTML pages: the site index (every output and how to subscribe) and one page per output.

Jinja2 with autoescaping on: every string from a source (titles, summaries,
outlet names, URLs) is untrusted and is escaped; a URL becomes a link only when
it is http(s), so a ``javascript:`` link in a feed stays inert text. Stories
show ``summary_text``, never ``content_html``. Pages are self-contained: inline
CSS (system fonts, responsive, dark mode through ``prefers-color-scheme``), no
JavaScript, no external assets, and a Content-Security-Policy that allows
nothing else: a story's picture is a link to it, unless ``SiteInfo.remote_images``
lets the page load pictures from https hosts (:func:`content_security_policy`).
Deterministic: dates are printed in UTC from the data, no clock.

A story's page lists every outlet that carried it (when each dated it, when we first
saw it, who is credited as the original and who credits it) and how each copy differs
from the representative, as a word diff of their plain texts (diff.py): the text is
``html_to_text`` of the sanitized content, escaped by the template like any other
string, so no outlet's markup reaches the page.

Where things live, relative to ``SiteInfo.base_url`` (see formats.py)::

    /                     index          render_index
    /feeds/<name>.html    output page    render_output_page
    /stories/<id>.html    story page     render_story_page
    /404.html             not found      render_not_found
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
from urllib.parse import unquote, urlsplit

from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup

from aggregator.publish.diff import Kind, Sentence, TextDiff, Words, diff_text, diff_words
from aggregator.publish.formats import FORMATS, OPML_PATH, feed_path, site_url
from aggregator.text import fold, html_to_text, http_url
from aggregator.types import Copy, Outlet, StoryView
from aggregator.version import __version__

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """The site as a whole: its title and the URL every link is made absolute against."""

    title: str
    base_url: str
    remote_images: bool = False  # show pictures from the outlets' hosts (settings)
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


def _file_name(href: str) -> str:
    """The last segment of a URL's path, decoded, for a link's text; else its host."""
    parts = urlsplit(href)
    return (unquote(parts.path.rstrip("/").rpartition("/")[2]) or parts.hostname or href)[:80]


@dataclass(frozen=True, slots=True)
class _Picture:
    href: str
    inline: bool  # an <img>; else a link to the picture
    name: str


def _picture(story: StoryView, remote_images: bool) -> _Picture | None:
    """The story's picture: shown only when the site allows remote images and it is on
    https (the policy allows no other scheme), else a link to it."""
    href = http_url(story.image_url)
    if href is None:
        return None
    return _Picture(href, remote_images and href.lower().startswith("https:"),
                    _file_name(href))


_KINDS = {"audio": "Audio", "video": "Video", "image": "Image"}


@dataclass(frozen=True, slots=True)
class _Attachment:
    kind: str  # "Audio", "Video", "Image", "File"
    href: str
    name: str  # the file's name, from its URL
    details: str  # "audio/mpeg · 48.8 MB · 50:47"


def _size(length: int) -> str:
    """Bytes in decimal units, as podcast apps show them: ``48.8 MB``."""
    value = float(length)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{length} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _clock(seconds: int) -> str:
    """``3047`` -> ``50:47``; ``3723`` -> ``1:02:03``."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else \
        f"{rest // 60}:{rest % 60:02d}"


def _attachments(story: StoryView) -> list[_Attachment]:
    """The story's enclosures as the page lists them (http(s) ones only)."""
    found = []
    for enclosure in story.enclosures:
        href = http_url(enclosure.url)
        if href is None:
            continue
        kind = _KINDS.get((enclosure.media_type or "").partition("/")[0], "File")
        details = [enclosure.media_type or "", _size(enclosure.length) if enclosure.length
                   else "", _clock(enclosure.duration) if enclosure.duration else ""]
        found.append(_Attachment(kind, href, _file_name(href),
                                 " · ".join(d for d in details if d)))
    return found


def _printable(value: object) -> object:
    """Drop control characters (HTML forbids them) from every string a page prints."""
    if isinstance(value, Markup):  # already escaped: a macro's output
        return value
    return _CONTROL.sub("", value) if isinstance(value, str) else value


def _policy(remote_images: bool) -> Markup:
    """The policy for the <meta> tag: ours, so not escaped (its quotes stay quotes)."""
    return Markup(content_security_policy(remote_images))


def _environment() -> Environment:
    environment = Environment(loader=DictLoader(_TEMPLATES), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, finalize=_printable)
    environment.filters.update(human_date=_human_date, iso_date=_iso_date, stories=_stories,
                               http_url=http_url, outlet=_outlet, csp=_policy,
                               picture=_picture, attachments=_attachments,
                               diff_summary=_summary, sentences=_sentences)
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


@dataclass(frozen=True, slots=True)
class _Unchanged:
    """A run of sentences a copy shares with the representative, shown as a count."""

    count: int


@dataclass(frozen=True, slots=True)
class _Compared:
    """One copy on a story's page: its outlet, its role, and its diff (None: the
    representative itself)."""

    copy: Copy
    link: _Link
    roles: tuple[str, ...]
    title: tuple[Words, ...] | None  # its title against the representative's, if another
    diff: TextDiff | None
    blocks: tuple[Sentence | _Unchanged, ...]


def _blocks(diff: TextDiff) -> tuple[Sentence | _Unchanged, ...]:
    """The diff as a page shows it: changed sentences, and runs of unchanged ones counted."""
    blocks: list[Sentence | _Unchanged] = []
    for sentence in diff.sentences:
        if sentence.kind is not Kind.SAME:
            blocks.append(sentence)
        elif not "".join(w.text for w in sentence.words).strip():
            continue  # white space between sentences
        elif blocks and isinstance(blocks[-1], _Unchanged):
            blocks[-1] = _Unchanged(blocks[-1].count + 1)
        else:
            blocks.append(_Unchanged(1))
    return tuple(blocks)


def _roles(story: StoryView, copy: Copy, representative: Copy) -> tuple[str, ...]:
    roles = []
    if copy.is_representative:
        roles.append("credited original" if story.representative_is_original
                     else "shown in the feeds")
    if copy.cites:
        roles.append("credits " + ", ".join(copy.cites))
    relay, outlet = fold(copy.relayed_by or ""), fold(copy.outlet.source_title)
    if relay and not (relay.startswith(outlet) or outlet.startswith(relay)):
        roles.append("relayed by " + (copy.relayed_by or ""))  # a credit line copied whole
    if copy is not representative and copy.outlet.source_name == representative.outlet.source_name:
        roles.append("another item of the same outlet")
    return tuple(roles)


def _compared(story: StoryView) -> list[_Compared]:
    """Every copy of the story, the representative first, the others as first carried."""
    representative = next((c for c in story.copies if c.is_representative), None)
    if representative is None:
        return []
    text = html_to_text(representative.content_html)
    result = []
    for copy in (representative, *(c for c in story.copies if c is not representative)):
        diff = None if copy is representative else diff_text(text,
                                                             html_to_text(copy.content_html))
        result.append(_Compared(
            copy=copy, link=_outlet(copy.outlet), roles=_roles(story, copy, representative),
            title=(diff_words(representative.title, copy.title)
                   if copy.title.split() != representative.title.split() else None),
            diff=diff, blocks=_blocks(diff) if diff else ()))
    return result


def _sentences(count: int) -> str:
    return f"{count} sentence" if count == 1 else f"{count} sentences"


def _summary(diff: TextDiff) -> str:
    """``"2 sentences added, 1 removed, 3 changed"``; ``"the same text"``."""
    counts = [(diff.count(kind), kind.value) for kind in (Kind.ADDED, Kind.REMOVED,
                                                           Kind.CHANGED)]
    parts = [f"{n} {name}" for n, name in counts if n]
    if not parts:
        return "the same text"
    first, _, rest = parts[0].partition(" ")
    return ", ".join([f"{_sentences(int(first))} {rest}", *parts[1:]])


def render_story_page(site: SiteInfo, story: StoryView) -> str:
    """One story's page: every outlet that carried it, and how each copy differs."""
    compared = _compared(story)
    return _ENV.get_template("story.html").render(
        site=site, story=story, compared=compared, alternates=(),
        home=site_url(site.base_url), opml=site_url(site.base_url, OPML_PATH),
        version=__version__, kind=Kind)


def render_not_found(site: SiteInfo) -> str:
    """The page answered for a path the site does not have (an unknown story, say)."""
    return _ENV.get_template("404.html").render(
        site=site, alternates=(), home=site_url(site.base_url),
        opml=site_url(site.base_url, OPML_PATH), version=__version__)


_CSS = """
:root {
  color-scheme: light dark;
  --bg: #fbfbfa; --fg: #1d1d1f; --muted: #5c5f66; --rule: #e3e3e0; --card: #ffffff;
  --link: #0b57d0; --visited: #6b3fa0; --chip: #eef2fb; --chip-fg: #0b3d91;
  --ins: #d7f5dd; --del: #fde2e1; --del-line: #b3261e;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #121316; --fg: #e6e6e9; --muted: #a2a5ad; --rule: #2c2e33; --card: #1a1b1f;
    --link: #8ab4f8; --visited: #c5a3f5; --chip: #23293a; --chip-fg: #c2d4fb;
    --ins: #1f4d2b; --del: #5c2323; --del-line: #f2b8b5;
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
.story .picture { display: block; max-width: 100%; height: auto; max-height: 24rem;
  border-radius: 8px; margin: 0.25rem 0 0.75rem; }
.media { list-style: none; margin: 0 0 0.6rem; padding: 0; font-size: 0.9rem; }
.media a { overflow-wrap: anywhere; }
.media .details { color: var(--muted); font-variant-numeric: tabular-nums; }
.outlets { font-size: 0.9rem; color: var(--muted); margin: 0; }
.outlets a { font-weight: 600; }
.tags { display: inline; }
.empty { color: var(--muted); font-style: italic; }
.compare { font-size: 0.9rem; margin: 0.35rem 0 0; }
h2.section { margin: 2rem 0 0.75rem; }
.copies { list-style: none; margin: 0; padding: 0; }
.copy { background: var(--card); border: 1px solid var(--rule); border-radius: 12px;
  padding: 0.9rem 1.25rem; margin: 0 0 0.75rem; }
.copy > :last-child { margin-bottom: 0; }
.copy h3 { font-size: 1.05rem; margin: 0 0 0.25rem; }
.copy h3 a { font-weight: 600; }
.roles { margin: 0 0 0.3rem; }
.role { display: inline-block; font-size: 0.8rem; font-weight: 600; padding: 0.05rem 0.6rem;
  border-radius: 999px; background: var(--chip); color: var(--chip-fg); margin: 0 0.3rem 0 0; }
header.site h1 a { color: inherit; text-decoration: none; }
header.site h1 a:hover { text-decoration: underline; }
.credit { color: var(--muted); font-size: 0.9rem; font-style: italic; margin: 0 0 0.4rem; }
.difference { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0 0; }
.diff { margin: 0.6rem 0 0; padding: 0 0 0 0.9rem; border-left: 3px solid var(--rule); }
.diff p { margin: 0 0 0.5rem; }
.diff .unchanged { color: var(--muted); font-size: 0.85rem; font-style: italic; }
del { background: var(--del); color: inherit; text-decoration: line-through;
  text-decoration-color: var(--del-line); border-radius: 3px; }
ins { background: var(--ins); color: inherit; text-decoration: none; border-radius: 3px; }
.legend { color: var(--muted); font-size: 0.9rem; }
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

def content_security_policy(remote_images: bool = False) -> str:
    """What the pages may load: their own inline style and data: images, nothing else
    (no script at all); with ``remote_images``, images from any https host too. The
    pages carry it in a <meta> tag; web.py sends it as a header too, with what only a
    header can say."""
    images = "data: https:" if remote_images else "data:"
    return (f"default-src 'none'; style-src 'unsafe-inline'; img-src {images}; "
            "base-uri 'none'; form-action 'none'")


#: the pages' policy by default (settings.remote_images: false)
CONTENT_SECURITY_POLICY = content_security_policy()

_BASE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="{{ site.remote_images | csp }}">
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
{% macro words(runs) %}\
{% for run in runs %}{% if run.kind.value == "added" %}<ins>{{ run.text }}</ins>\
{% elif run.kind.value == "removed" %}<del>{{ run.text }}</del>{% else %}{{ run.text }}{% endif %}\
{% endfor %}\
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
{% set picture = story | picture(site.remote_images) %}
{% if picture and picture.inline %}
<img class="picture" src="{{ picture.href }}" alt="" loading="lazy" decoding="async" \
referrerpolicy="no-referrer">
{% endif %}
{% if story.summary_text %}
<p class="summary">{{ story.summary_text }}</p>
{% endif %}
{% set attached = story | attachments %}
{% set link_picture = picture and not picture.inline and \
picture.href not in attached | map(attribute="href") | list %}
{% if attached or link_picture %}
<ul class="media">
{% if link_picture %}
<li>Picture: <a href="{{ picture.href }}" title="{{ picture.href }}">{{ picture.name }}</a></li>
{% endif %}
{% for each in attached %}
<li>{{ each.kind }}: <a href="{{ each.href }}" title="{{ each.href }}">{{ each.name }}</a>\
{% if each.details %} <span class="details">({{ each.details }})</span>{% endif %}</li>
{% endfor %}
</ul>
{% endif %}
<p class="outlets">{{ "Originally published" if story.representative_is_original \
else "Published" }} by {{ outlet_link(story.representative | outlet) }}\
{% if story.others %} · also carried by \
{% for other in story.others %}{{ outlet_link(other | outlet) }}{{ ", " if not loop.last }}\
{% endfor %}{% endif %}\
{% if story.credited_origin %} · credited to {{ story.credited_origin }}{% endif %}</p>
{% if story.page_url | http_url %}
<p class="compare"><a href="{{ story.page_url | http_url }}">{{ "Compare the %d copies" \
% (story.others | length + 1) if story.others else "When it was carried" }}</a></p>
{% endif %}
</article>
</li>
{% endfor %}
</ol>
{% else %}
<p class="empty">No stories yet.</p>
{% endif %}
{% endblock %}
"""

_STORY = """{% extends "base.html" %}
{% from "macros.html" import outlet_link, words %}
{% block title %}{{ story.title }} · {{ site.title }}{% endblock %}
{% block header %}
{% set href = story.url | http_url %}
<p class="crumb"><a href="{{ home }}">← {{ site.title }}</a></p>
<h1{% if story.language %} lang="{{ story.language }}"{% endif %}>\
{% if href %}<a href="{{ href }}">{{ story.title }}</a>{% else %}{{ story.title }}{% endif %}</h1>
<p class="meta"><time datetime="{{ story.published_at | iso_date }}">\
{{ story.published_at | human_date }}</time>\
<span>{{ "Originally published" if story.representative_is_original else "Published" }} by \
{{ outlet_link(story.representative | outlet) }}</span>\
<span>{{ (story.others | length + 1) }} {{ "outlet" if not story.others else "outlets" }}</span>\
</p>
{% if story.summary_text %}
<p class="lead"{% if story.language %} lang="{{ story.language }}"{% endif %}>\
{{ story.summary_text }}</p>
{% endif %}
{% if story.credited_origin %}
<p class="meta">Its outlets credit {{ story.credited_origin }}, which none of the sources \
carries.</p>
{% endif %}
{% endblock %}
{% block main %}
<h2 class="section">Every outlet that carried it</h2>
{% if compared %}
<p class="legend">First the outlet shown in the feeds, then the others in the order they \
were first carried. Each copy is compared with the first: <del>struck out</del> is only in \
the first, <ins>highlighted</ins> only in that copy.</p>
<ol class="copies">
{% for each in compared %}
{% set copy = each.copy %}
<li class="copy" id="copy-{{ loop.index }}">
<h3>{{ outlet_link(each.link) }}</h3>
{% if each.roles %}
<p class="roles">{% for role in each.roles %}<span class="role">{{ role }}</span>{% endfor %}</p>
{% endif %}
<p class="meta">{% if copy.published_at %}<span>dated \
<time datetime="{{ copy.published_at | iso_date }}">\
{{ copy.published_at | human_date }}</time></span>{% else %}<span>undated</span>{% endif %}\
<span>first carried <time datetime="{{ copy.first_seen_at | iso_date }}">\
{{ copy.first_seen_at | human_date }}</time></span></p>
{% if copy.credit_line %}
<p class="credit">“{{ copy.credit_line }}”</p>
{% endif %}
{% if each.title %}
<p class="difference">Title: {{ words(each.title) }}</p>
{% endif %}
{% if each.diff is not none %}
<p class="difference">Compared with {{ compared[0].link.text }}: \
{{ each.diff | diff_summary }}.</p>
{% if not each.diff.is_empty %}
<div class="diff"{% if story.language %} lang="{{ story.language }}"{% endif %}>
{% for block in each.blocks %}
{% if block.count is defined %}
<p class="unchanged">{{ block.count | sentences }} unchanged</p>
{% else %}
<p class="{{ block.kind.value }}">{{ words(block.words) }}</p>
{% endif %}
{% endfor %}
</div>
{% endif %}
{% endif %}
</li>
{% endfor %}
</ol>
{% else %}
<p class="outlets">{{ outlet_link(story.representative | outlet) }}\
{% for other in story.others %}, {{ outlet_link(other | outlet) }}{% endfor %}</p>
{% endif %}
{% endblock %}
"""

_NOT_FOUND = """{% extends "base.html" %}
{% block title %}Not found · {{ site.title }}{% endblock %}
{% block header %}
<p class="crumb"><a href="{{ home }}">← {{ site.title }}</a></p>
<h1>Not found</h1>
{% endblock %}
{% block main %}
<p>There is nothing at this address. A story’s page is published while the story is in \
one of the feeds; the <a href="{{ home }}">front page</a> lists them.</p>
{% endblock %}
"""

_TEMPLATES = {"base.html": _BASE,
              "macros.html": _SUBSCRIBE, "index.html": _INDEX, "output.html": _OUTPUT,
              "story.html": _STORY, "404.html": _NOT_FOUND}
_ENV = _environment()
