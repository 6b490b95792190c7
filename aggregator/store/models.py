"""SQLModel tables. Only declarations: the queries live in store.py and stories.py.

Datetimes are stored as naive UTC (SQLite keeps no zone) and come back aware.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from aggregator.packing import pack_text, unpack_text


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


class TextList(TypeDecorator[tuple[str, ...]]):
    """A tuple of strings in one text column, joined by ``separator``.

    Stored as ``separator.join(value)`` (NULL stays None); read back without empty
    entries, so () and ("",) both come back as ().
    """

    impl = Text
    cache_ok = True

    def __init__(self, separator: str = "\n") -> None:
        super().__init__()
        self.separator = separator

    def process_bind_param(self, value: Sequence[str] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            raise TypeError("a TextList column takes a sequence of strings, not a string")
        return self.separator.join(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...] | None:
        if value is None:
            return None
        return tuple(s for s in str(value).split(self.separator) if s)


class CompressedText(TypeDecorator[str]):
    """Text kept deflated in a binary column (``pack_text``): an item's HTML content is
    about half its row, and deflate takes it to less than half (1,538 -> 698 bytes on
    the bench corpus). Read and written whole, never searched by the database. A value
    given as bytes is a text already packed (by a parse worker) and is written as is."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | bytes | None,
                           dialect: Dialect) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        return pack_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else unpack_text(value)


class SourceRow(SQLModel, table=True):
    """A feed we poll, as declared in feeds.yaml, and what we know of its server."""

    __tablename__ = "source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    url: str = Field(sa_type=Text)
    title: str | None = Field(default=None, sa_type=Text)  # from feeds.yaml
    tags: tuple[str, ...] = Field(default=(), sa_type=TextList(","))
    poll_interval_seconds: int = 1800
    fixed_interval: bool = False  # poll_interval set on the source itself
    active: bool = True  # still in feeds.yaml
    stopped: bool = False  # 410 Gone: not polled until its URL changes
    # what the feed says of itself
    feed_title: str | None = Field(default=None, sa_type=Text)
    site_url: str | None = Field(default=None, sa_type=Text)
    feed_id: str | None = Field(default=None, sa_type=Text)
    feed_updated: datetime | None = Field(default=None, sa_type=UTCDateTime)
    language: str | None = Field(default=None, max_length=35)  # feeds.yaml, else the feed's
    feed_language: str | None = Field(default=None, max_length=35)
    weekly_entries: float | None = None  # the feed's rhythm, for adaptive polling
    feed_ttl_seconds: int | None = None  # RSS <ttl> / sy:updatePeriod
    websub_hub: str | None = Field(default=None, sa_type=Text)  # the hub it announces
    websub_topic: str | None = Field(default=None, sa_type=Text)  # its topic there
    # conditional GET
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = Field(default=None, sa_type=Text)
    body_hash: str | None = Field(default=None, max_length=64)
    # SHA-256 of the compressed bytes as received (with their Content-Encoding), kept
    # with the body_hash of the same response: the same bytes again need no inflating
    wire_hash: str | None = Field(default=None, max_length=64)
    # state of polling
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_fetched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_outcome: str | None = Field(default=None, max_length=16)
    last_http_status: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    error_count: int = 0
    moved_to: str | None = Field(default=None, sa_type=Text)
    next_fetch_at: datetime = Field(sa_type=UTCDateTime, index=True)
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # feed_url's host name: a claim caps the sources of one host leased by all workers
    host: str = Field(default="", max_length=255, index=True,
                      sa_column_kwargs={"server_default": ""})

    @property
    def feed_url(self) -> str:
        """Where the feed lives now: its permanent redirect's target, else its URL."""
        return self.moved_to or self.url


class SubscriptionRow(SQLModel, table=True):
    """A source's WebSub subscription at its hub (types.Subscription). ``token`` names
    the callback; ``secret`` keys the HMAC of pushed bodies."""

    __tablename__ = "subscription"

    source_id: int = Field(foreign_key="source.id", primary_key=True)
    token: str = Field(max_length=64, unique=True)
    secret: str = Field(max_length=128)
    hub: str = Field(sa_type=Text)
    topic: str = Field(sa_type=Text)
    callback: str = Field(sa_type=Text)
    state: str = Field(max_length=16)
    requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # last asked
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_type=Text)


class StoryRow(SQLModel, table=True):
    """What readers see once: one or more items that are the same article."""

    __tablename__ = "story"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=64, unique=True)  # the Atom entry id; never changes
    representative_item_id: int | None = None
    representative_is_original: bool = False  # another outlet credits it as the origin
    credited_origin: str | None = Field(default=None, sa_type=Text)  # named, not ours
    published_at: datetime = Field(sa_type=UTCDateTime, index=True)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ItemRow(SQLModel, table=True):
    """One entry as one source published it."""

    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("source_id", "guid", name="uq_item_source_guid"),
        Index("ix_item_story", "story_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    story_id: int = Field(foreign_key="story.id")
    guid: str = Field(max_length=1024)
    url: str | None = Field(default=None, sa_type=Text)
    canonical_url: str | None = Field(default=None, sa_type=Text)
    title: str = Field(sa_type=Text)
    author: str | None = Field(default=None, sa_type=Text)
    content_html: str = Field(sa_type=CompressedText)
    summary_text: str = Field(sa_type=CompressedText)
    categories: tuple[str, ...] = Field(default=(), sa_type=TextList())
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    last_changed_at: datetime = Field(sa_type=UTCDateTime)
    content_hash: str = Field(max_length=64)
    # syndication credits found in its text
    relayed_by: str | None = Field(default=None, sa_type=Text)
    cites: tuple[str, ...] = Field(default=(), sa_type=TextList())  # outlet names
    credit_line: str | None = Field(default=None, sa_type=Text)
    join_reason: str = Field(default="", sa_type=Text)  # why it joined its story
    # a full_text source's item: "extracted from <url>", or why the teaser was kept
    full_text_status: str | None = Field(default=None, sa_type=Text)
    image_url: str | None = Field(default=None, sa_type=Text)  # its picture, http(s)


class ItemEnclosureRow(SQLModel, table=True):
    """A media file an item carries (types.Enclosure), in the feed's order: rewritten
    with its item when the item changes."""

    __tablename__ = "item_enclosure"

    item_id: int = Field(foreign_key="item.id", primary_key=True)
    position: int = Field(primary_key=True)  # 0 for the first enclosure
    url: str = Field(sa_type=Text)
    media_type: str | None = Field(default=None, max_length=255)
    length: int | None = Field(default=None, sa_type=BigInteger)  # bytes
    duration: int | None = None  # seconds


class ItemBandRow(SQLModel, table=True):
    """An LSH band key of an item's fingerprint: items sharing a key are candidates.

    The whole near-duplicate index: the rest of a candidate's fingerprint is made again
    from its item's title and content (``stories.Fingerprints``). Kept in the store so a
    restarted process or another worker finds the same candidates. Compact, as it is
    the biggest thing ingest writes: the key as a 64-bit integer, ``seen`` (the item's
    date, epoch seconds) bounding the lookup to the time window, and on SQLite no rowid
    (the primary key, band first, is the table). Rows older than the window are pruned
    (``Store.prune_index``). New rows reach it through ``item_band_recent``.

    ``item_id`` is no foreign key (migration 0011): the rows are derived data, deleted
    before their items (retention), and on SQLite a foreign key made every row a lookup
    in ``item`` (a merge of a million rows: 4.7 s of CPU against 1.2) and every deleted
    item a scan of the index.
    """

    __tablename__ = "item_band"
    __table_args__ = {"sqlite_with_rowid": False}

    band: int = Field(sa_type=BigInteger, primary_key=True)
    item_id: int = Field(primary_key=True)  # no foreign key: see the docstring
    seen: int  # the item's published_at, else first_seen_at, in seconds since the epoch


class ItemBandRecentRow(SQLModel, table=True):
    """Band rows not yet merged into ``item_band``, the same shape: new rows go here, a
    table small enough to stay in SQLite's page cache, and move into ``item_band`` in
    key order once it holds enough (``store/bands.py``). Lookups read both."""

    __tablename__ = "item_band_recent"
    __table_args__ = {"sqlite_with_rowid": False}

    band: int = Field(sa_type=BigInteger, primary_key=True)
    item_id: int = Field(primary_key=True)
    seen: int


class ItemBandFilterRow(SQLModel, table=True):
    """A Bloom filter of the band keys in ``item_band`` (SQLite; one row, ``id`` 1):
    lookups probe the index only for the keys it does not rule out. Changed only where
    rows enter ``item_band`` (a merge), each time with a new random ``token``, so a
    process knows whether its copy is current (``store/bandfilter.py``). ``keys``: the
    keys counted in since it was built; ``size``: its bits. Empty on PostgreSQL."""

    __tablename__ = "item_band_filter"

    id: int = Field(primary_key=True)
    token: int = Field(sa_type=BigInteger)
    keys: int = Field(sa_type=BigInteger)
    size: int = Field(sa_type=BigInteger)
    bits: bytes = Field(sa_type=LargeBinary)


class ItemPrintRow(SQLModel, table=True):
    """An item's fingerprint as the near-duplicate index needs it back, compact
    (``stories.fingerprints.pack``: about 0.8 KB): a candidate found by its band keys is
    compared by it, not by a fingerprint made again from its text (which took a fifth
    of the writer's time in a cold ingest). Written with the item, replaced when its
    text changes, pruned with its band rows (``seen``, as theirs), deleted with it.
    ``data`` carries a stamp of the item's ``content_hash``: a print that no longer
    matches its item is not used, and an item without one (written before migration
    0017) is fingerprinted from its text, as before.

    ``item_id`` is no foreign key, as in ``item_band``: derived data, deleted before its
    item (retention)."""

    __tablename__ = "item_print"

    item_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seen: int  # as the item's band rows: pruned with them
    data: bytes = Field(sa_type=LargeBinary)


#: a stored key (store/keys.key_hash): on SQLite an INTEGER primary key, the row id itself
KeyHash = BigInteger().with_variant(Integer(), "sqlite")


class StoryKeyRow(SQLModel, table=True):
    """An exact key (canonical URL, global guid) -> the story it belongs to.

    The key is stored hashed (``keys.key_hash``, 8 bytes) so long URLs index on every
    database; the primary key makes two workers racing on one key agree on one story.
    On SQLite new keys reach it through ``story_key_recent`` (``store/story_keys.py``).
    """

    __tablename__ = "story_key"

    key_hash: int = Field(sa_type=KeyHash, primary_key=True,
                          sa_column_kwargs={"autoincrement": False})
    story_id: int = Field(foreign_key="story.id", index=True)


class StoryKeyRecentRow(SQLModel, table=True):
    """Story keys not yet merged into ``story_key``, the same shape: on SQLite new keys
    go here, a table small enough to stay in the page cache, and move into
    ``story_key`` in key order with the band index's recent rows (``store/story_keys.py``).
    A key is in one of the two tables, never both; lookups read both."""

    __tablename__ = "story_key_recent"

    key_hash: int = Field(sa_type=KeyHash, primary_key=True,
                          sa_column_kwargs={"autoincrement": False})
    story_id: int = Field(foreign_key="story.id", index=True)


class OutputRow(SQLModel, table=True):
    """An output as published: when it was first published, its date until it has
    stories (stable across renders, never the epoch)."""

    __tablename__ = "output"

    name: str = Field(max_length=64, primary_key=True)
    first_published_at: datetime = Field(sa_type=UTCDateTime)
    # what the index page shows of it, so the index renders without rendering every output
    stories: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rendered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SiteFileRow(SQLModel, table=True):
    """One file of the rendered site, as the web servers serve it, with the version of
    the publish that last changed it (versions only grow: a web server polls the newest)."""

    __tablename__ = "site_file"

    path: str = Field(max_length=255, primary_key=True)
    version: int = Field(sa_type=BigInteger, index=True)
    etag: str = Field(max_length=64)
    last_modified: datetime = Field(sa_type=UTCDateTime)
    media_type: str = Field(max_length=100)
    body: bytes = Field(sa_type=LargeBinary)
    gzip_body: bytes = Field(sa_type=LargeBinary)
    content_security_policy: str | None = Field(default=None, sa_type=Text)  # HTML pages


class SiteVersionRow(SQLModel, table=True):
    """One row: the version of the newest publish that changed the site. It only grows,
    so a web server that polls it never misses a change (files removed included)."""

    __tablename__ = "site_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(sa_type=BigInteger)


class TombstoneRow(SQLModel, table=True):
    """A key of a story pruned by retention (``Store.prune_stories``): an item's identity
    (``item:<source id>:<guid>``) or an exact story key, hashed (``keys.key_hash``). A
    feed that still lists a pruned item finds its tombstone and the item is not stored
    again. ``seen_at``
    moves forward (at most daily) while a feed still lists it; a tombstone no feed has
    listed for a retention period is dropped."""

    __tablename__ = "tombstone"

    key_hash: int = Field(sa_type=KeyHash, primary_key=True,
                          sa_column_kwargs={"autoincrement": False})
    seen_at: datetime = Field(sa_type=UTCDateTime)
