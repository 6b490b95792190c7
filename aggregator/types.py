"""Frozen data passed between the stages of the pipeline (stdlib only).

Stage names follow the data flow::

    SourceToFetch -> Fetched | NotModified | FetchError     (ingest/fetch.py)
    Fetched       -> ParsedFeed(ParsedEntry...)             (ingest/parse.py)
    ParsedEntry   -> ItemData, Fingerprint, Credit          (ingest/normalize.py, stories/)
    ItemData...   -> SourceUpdate                           (update.plan)
    SourceUpdate + article pages -> FullText -> SourceUpdate (ingest/fulltext.py)
    SourceUpdate  -> UpdateResult                           (store)
    StoryView(Outlet, Copy...) -> bytes                     (publish/render.py, pages.py)
    bytes         -> SiteFile                               (site.py; kept by the store)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any, TypeVar

_T = TypeVar("_T")


def _pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickle a frozen slots dataclass as its class and its fields' values, rebuilt by a
    call of the class: what crosses from a parse worker every feed (PreparedFeed and
    what it holds). The default (slots dataclasses' ``__getstate__``/``__setstate__``)
    rebuilds each object field by field in Python: unpickling, the writer's share,
    took 12.1 us an item, 9.2 us this way."""
    values = attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]

    def __reduce__(self: _T) -> tuple[Callable[..., _T], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    return cls


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the store keeps of an item to find its near-duplicates.

    ``bands`` go to an index (one row per key); the other fields to the item's print
    (``item_print``: the signature of the whole text, the lead's hashes instead of the
    lead's and the opening's signatures), and :func:`compare` needs only those (a
    fingerprint read back has ``bands=()`` and ``lead=None``).
    """

    words: int  # words in the fingerprinted text (title and body)
    shingles: int  # distinct shingles in it
    signature: bytes  # MinHash of the whole text, its lead, its opening: NUM_PERM uint32
    # little-endian each (12 * NUM_PERM bytes = 1,536)
    bands: tuple[int, ...]  # LSH band keys (whole text, then opening), signed 64-bit
    numbers: tuple[str, ...]  # the slots a template fills, sorted: numbers ("89.5"), dates
    # ("jul", "mon", "jul3"), those only the title has ("t:27"), names of the body
    # ("@медеуском": capitalised words inside sentences); no entry contains white space
    skeleton_hash: str  # 16 hex digits: the text with numbers, dates and names masked
    # the lead's shingle hashes (uint32 little-endian each, at most LEAD_WORDS - SHINGLE
    # + 1 of them), the opening's first: what the store keeps (item_print, 512 bytes of
    # the 1,536 of the signature fewer) to make the lead's and the opening's signatures
    # again; None: not kept (a fingerprint made again, or read back)
    lead: bytes | None = None


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Credit:
    """Who relayed a text and whom it credits as the origin."""

    relayed_by: str | None  # "Turantimes.kz" in "передает Turantimes.kz со ссылкой на ..."
    cites: tuple[str, ...]  # outlets credited as the origin, cleaned: ("Известия",)
    line: str  # the matched text, for `aggregator explain`


@dataclass(frozen=True, slots=True)
class SourceToFetch:
    """A source claimed for one update, with the validators from its last fetch."""

    id: int
    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    wire_hash: str | None = None  # the same response's compressed bytes, hashed
    error_count: int = 0
    poll_interval_seconds: int = 1800
    fixed_interval: bool = False  # the source set its own poll_interval: no adaptation
    weekly_entries: float | None = None  # the feed's rhythm, from its last parse
    feed_ttl_seconds: int | None = None  # RSS <ttl> / sy:updatePeriod, from its last parse
    pushed_until: datetime | None = None  # a WebSub hub pushes it until then: poll daily
    due_at: datetime | None = None  # its next_fetch_at when claimed (how late it is fetched)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A 200 response with its whole (capped) body."""

    url: str  # the URL finally answered, after redirects
    status: int
    headers: Mapping[str, str]
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # set when every hop was 301/308
    digest: str = ""  # SHA-256 of the body, hex, computed once where it was read
    # SHA-256 of the compressed bytes and their encoding, hex; "" for an uncompressed body
    wire_digest: str = ""


@dataclass(frozen=True, slots=True)
class NotModified:
    """A 304: the validators we sent still hold. Or a 200 whose compressed bytes are
    the very bytes of the last body (``status`` 200): a server that ignores validators,
    answered without inflating anything."""

    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None
    status: int = 304


@dataclass(frozen=True, slots=True)
class ParsedEnclosure:
    """A media file an entry links to, as the feed wrote it (unchecked strings): an RSS
    ``<enclosure>``, an Atom ``link rel="enclosure"`` or a ``media:content``."""


    url: str
    media_type: str | None = None  # type="audio/mpeg"
    length: str | None = None  # length= / fileSize=, in bytes
    duration: str | None = None  # media:content duration=, in seconds
    medium: str | None = None  # media:content medium= ("image", "audio", "video", ...)
    width: str | None = None  # media:content width=


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One entry as feedparser read it, before any cleaning."""

    id: str | None
    link: str | None
    title: str | None
    summary_html: str | None
    content_html: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    categories: tuple[str, ...] = ()
    enclosures: tuple[ParsedEnclosure, ...] = ()  # <enclosure>, link rel="enclosure"
    media_content: tuple[ParsedEnclosure, ...] = ()  # media:content
    thumbnails: tuple[str, ...] = ()  # media:thumbnail URLs
    itunes_image: str | None = None  # itunes:image href
    duration: str | None = None  # itunes:duration ("50:47", "3723", "1:02:03")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document as feedparser read it."""

    title: str | None
    site_url: str | None
    feed_id: str | None
    updated: datetime | None
    language: str | None
    entries: tuple[ParsedEntry, ...]
    skipped: int = 0  # entries that could not be used
    ttl: str | None = None  # RSS <ttl>, in minutes
    update_period: str | None = None  # sy:updatePeriod
    update_frequency: str | None = None  # sy:updateFrequency
    hub: str | None = None  # <link rel="hub">, as written (maybe relative)
    self_url: str | None = None  # <link rel="self">, as written


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Enclosure:
    """A media file an item carries (a podcast episode's audio, a video, a picture),
    checked: an absolute http(s) URL, a ``type/subtype`` or None, sane numbers."""

    url: str
    media_type: str | None = None  # "audio/mpeg", lowercase, no parameters; None: unknown
    length: int | None = None  # bytes, > 0; None: unknown
    duration: int | None = None  # seconds, > 0; None: unknown

    @property
    def is_playable(self) -> bool:
        """Audio or video: what a podcast client downloads."""
        return (self.media_type or "").startswith(("audio/", "video/"))

    @property
    def is_image(self) -> bool:
        return (self.media_type or "").startswith("image/")


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class ItemData:
    """One normalized item, ready to be stored: sanitized, UTC, canonical URL, stable guid."""

    guid: str
    url: str | None
    canonical_url: str | None
    title: str
    author: str | None
    content_html: str
    summary_text: str
    published_at: datetime | None
    updated_at: datetime | None
    content_hash: str
    categories: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    image_url: str | None = None  # the item's picture: absolute http(s)


class Outcome(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"
    GONE = "gone"  # HTTP 410: polling stops until the source's URL changes


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one source's update failed, as a value (``str()`` is the message)."""

    message: str
    kind: str = "error"  # "network", "timeout", "http", "gone", "url", "not_a_feed", ...
    status: int | None = None  # the HTTP status, when there was one
    retry_after: datetime | None = None  # when the server asked us to come back

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What one source's update did. Errors are values: one bad source never stops others."""

    source: str
    outcome: Outcome
    new: int = 0
    updated: int = 0
    error: Failure | None = None
    moved_to: str | None = None  # every redirect was permanent: the feed lives here now
    seconds: float | None = None  # how long its fetch took (request and body)


@dataclass(frozen=True, slots=True)
class Outlet:
    """One source that carried a story, as rendered in an output feed."""

    source_name: str
    source_title: str
    feed_url: str
    site_url: str | None
    feed_id: str
    feed_updated: datetime
    item_url: str | None


@dataclass(frozen=True, slots=True)
class Copy:
    """One outlet's item of a story, as the story's page shows and compares it."""

    outlet: Outlet
    title: str
    content_html: str  # sanitized when it was stored
    published_at: datetime | None  # as the outlet dated it
    first_seen_at: datetime  # when we first fetched it
    relayed_by: str | None = None  # its credit line: who relayed it
    cites: tuple[str, ...] = ()  # and whom it credits as the origin
    credit_line: str | None = None
    is_representative: bool = False


@dataclass(frozen=True, slots=True)
class StoryView:
    """A story as an output publishes it: one entry, every outlet attributed."""

    uid: str  # stable forever: the Atom entry id
    title: str
    url: str | None
    content_html: str
    summary_text: str
    author: str | None
    published_at: datetime
    updated_at: datetime
    representative: Outlet
    others: tuple[Outlet, ...] = ()
    categories: tuple[str, ...] = ()
    language: str | None = None  # of the representative's source
    representative_is_original: bool = False  # another outlet credits it as the origin
    credited_origin: str | None = None  # the origin its outlets credit, when not ours
    enclosures: tuple[Enclosure, ...] = ()  # the representative item's
    image_url: str | None = None  # the representative item's picture
    copies: tuple[Copy, ...] = ()  # every item, the first carried first: the story's page
    page_url: str | None = None  # the story's page, absolute (set when a site is rendered)


@dataclass(frozen=True, slots=True)
class OutputFeed:
    """The feed-level data an output is rendered with (one page of it)."""

    name: str
    title: str
    description: str | None
    feed_id: str
    self_url: str
    site_url: str
    updated: datetime
    author: str
    hub_url: str | None = None  # WebSub
    first_url: str | None = None  # RFC 5005 paging: set when the output has several pages
    next_url: str | None = None  # older stories
    previous_url: str | None = None  # newer stories
    language: str | None = None
    page_url: str | None = None  # the output's HTML page: the RSS channel's <link>


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class FeedMeta:
    """What a feed says of itself, kept on its source for atom:source."""

    title: str | None
    site_url: str | None
    feed_id: str | None
    updated: datetime | None
    language: str | None = None
    hub: str | None = None  # the WebSub hub it announces (feed link or Link header)
    topic: str | None = None  # the topic to subscribe to at that hub (rel="self")


class SubscriptionState(StrEnum):
    """Where a WebSub subscription stands (``subscription.state``)."""

    REQUESTED = "requested"  # asked the hub; waiting for it to verify our intent
    ACTIVE = "active"  # verified: the hub pushes until lease_until
    DENIED = "denied"  # the hub said no (hub.mode=denied)
    FAILED = "failed"  # the hub could not be reached or refused the request
    LAPSED = "lapsed"  # the lease ended without a renewal
    UNSUBSCRIBING = "unsubscribing"  # the source left feeds.yaml: asked the hub to stop


@dataclass(frozen=True, slots=True)
class Subscription:
    """One source's WebSub subscription: where pushes come from and how they are signed.

    ``token`` names the callback (``<websub_callback>websub/<token>``); ``secret`` keys
    the HMAC of every pushed body and is never shown (not even in ``repr``)."""

    source_id: int
    source: str  # the source's name
    hub: str
    topic: str
    callback: str
    token: str
    secret: str = field(repr=False)
    state: SubscriptionState = SubscriptionState.REQUESTED
    requested_at: datetime | None = None
    verified_at: datetime | None = None
    lease_until: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HubSource:
    """An active source whose feed announces a WebSub hub."""

    source_id: int
    name: str
    hub: str
    topic: str


@dataclass(frozen=True, slots=True)
class SourceUpdate:
    """Everything one update decided for one source, applied in one transaction."""

    outcome: Outcome
    now: datetime
    next_fetch_at: datetime | None  # None: stop polling (410 Gone)
    http_status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    wire_hash: str | None = None  # recorded with body_hash (None: it has none)
    moved_to: str | None = None
    feed: FeedMeta | None = None
    weekly_entries: float | None = None
    feed_ttl_seconds: int | None = None
    new_items: tuple[ItemData, ...] = ()
    changed_items: tuple[ItemData, ...] = ()
    story_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # by guid
    fingerprints: Mapping[str, Fingerprint | None] = field(default_factory=dict)  # by guid
    credits: Mapping[str, Credit | None] = field(default_factory=dict)  # by guid
    # a full_text source's items: "extracted from <url>", or why the teaser was kept
    full_text: Mapping[str, str] = field(default_factory=dict)  # by guid
    # texts already packed (PreparedFeed.packed), by text: a text not found (a full
    # text read later) is packed when written
    packed: Mapping[str, bytes] = field(default_factory=dict)
    candidates: CandidateRead | None = None  # PreparedFeed.candidates


@dataclass(frozen=True, slots=True)
class FullText:
    """An item of a ``full_text`` source read from its article page (ingest/fulltext.py):
    the extracted text that replaces the teaser, with the fingerprint and credit made of
    it, or only why the teaser stays."""

    guid: str
    status: str  # "extracted from <url>", or why not ("HTTP 404 Not Found", "too short")
    content_html: str | None = None  # sanitized; None: the teaser stays
    fingerprint: Fingerprint | None = None
    credit: Credit | None = None


@dataclass(frozen=True, slots=True)
class SiteFile:
    """One file of the site: the bytes, gzipped once, and the validators to serve it."""

    path: str  # relative to the site root, e.g. "feeds/all.atom", "index.html"
    body: bytes
    gzip_body: bytes
    etag: str  # strong, quoted; the gzip variant adds "-gz" inside the quotes
    last_modified: datetime
    media_type: str
    content_security_policy: str | None = None  # an HTML page's, as its <meta> tag says

    @staticmethod
    def of(path: str, body: bytes, updated: datetime, media_type: str,
           content_security_policy: str | None = None) -> SiteFile:
        import gzip  # here: the parse worker imports this module and needs neither
        import hashlib  # (hashlib loads OpenSSL, 3.5 MB)

        return SiteFile(
            path=path, body=body, gzip_body=gzip.compress(body, mtime=0),
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            last_modified=updated.replace(microsecond=0), media_type=media_type,
            content_security_policy=content_security_policy)

    @property
    def is_feed(self) -> bool:
        return SiteFile.is_feed_path(self.path)

    @staticmethod
    def is_feed_path(path: str) -> bool:
        return path.startswith("feeds/") and not path.endswith(".html")


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class CandidateRead:
    """The near-duplicate candidates of a feed's new items as a parse worker read them
    from a SQLite store, ahead of the write (store/lookahead.py): the band hits of the
    items it found not stored, within a range of dates, and the hit items'
    fingerprints (made from their stored text), all as of one snapshot. The writer
    adds what was written after it (items numbered above ``snapshot``)."""

    snapshot: int  # the largest item id the read saw (0: none)
    low: int  # the range of ``seen`` read, epoch seconds, both ends included
    high: int
    guids: frozenset[str]  # the items whose bands were looked up
    hits: tuple[tuple[int, int, int], ...]  # (band, item_id, seen), in that order
    prints: Mapping[int, Fingerprint | None]  # the hit items' fingerprints, no bands


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class PreparedFeed:
    """A fetched feed made ready for the store (ingest/prepare.py), crossing from a parse
    worker back to the process that writes: defined here, so that unpickling it loads no
    parsing library in that process."""

    feed: FeedMeta
    items: tuple[ItemData, ...]
    story_keys: Mapping[str, tuple[str, ...]]  # by guid
    fingerprints: Mapping[str, Fingerprint | None]  # by guid
    credits: Mapping[str, Credit | None]  # by guid
    weekly_entries: float | None
    ttl: timedelta | None
    # packing.pack_text of the items' contents and summaries, by text: packed here, in
    # the worker, and written as they are
    packed: Mapping[str, bytes] = field(default_factory=dict)
    # the near-duplicate candidates the worker read from the store (SQLite), if it did
    candidates: CandidateRead | None = None
    # the guids it found stored (prepare_feed's ``stored``): a fingerprint made only for
    # those whose text changed
    skipped: frozenset[str] = frozenset()
    # the plain texts of the new and changed items, by guid, when their fingerprints and
    # credits were left to the writer (prepare_feed's ``defer``; stories/marks.finish)
    deferred: Mapping[str, str] = field(default_factory=dict)
