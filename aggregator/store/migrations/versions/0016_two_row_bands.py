"""the near-duplicate index keeps 32 band keys an item instead of 58

The LSH bands become 28 of 2 rows over the whole text and 4 of 8 rows over the opening,
instead of 42 of 3 and 16 of 8: 45% fewer band rows, and a higher clustering recall on
the labeled corpus (bench/dedupe/README.md). Every band key changes with them, so the
index is made again: the items that have band rows (those within the matching window)
are fingerprinted again from the title and the text of the content their rows hold, as a
stored candidate's fingerprint is (stories/fingerprints.py); their MinHash signatures
are unchanged, only the keys cut from them. Each item's rows take the latest date its
rows had (a changed item's rows could have two). An item whose text changed keeps the
keys of its present text only, not those of the text it was first found with. On
SQLite the band filter is built again. A downgrade makes the old keys the same way.

The settings other than the bands (permutations, shingles, the text's preparation) are
the running code's: a downgrade gives back 0015's keys as long as those did not change.

Stop every process before upgrading: one still running the old code would go on writing
keys of the old bands, which match nothing new. Measured on the bench's million-item
store (2.0 GB, 266,421 items within the window, 8.5 million rows made): 77 s, 148 MB at
the peak.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:20:00
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, cast

import sqlalchemy as sa
from alembic import op

from aggregator.packing import unpack_text
from aggregator.store import bandfilter
from aggregator.stories.similarity import DEFAULT, fingerprints
from aggregator.text import html_to_text

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

#: (whole-text bands, rows, opening bands, rows) of each revision's index
_NEW = (28, 2, 4, 8)
_OLD = (42, 3, 16, 8)
_ITEMS = 2_000  # items read a batch
_PRINTS = 8  # fingerprints made in one numpy pass (stories/fingerprints.BATCH)


def upgrade() -> None:
    _rebuild(_NEW)


def downgrade() -> None:
    _rebuild(_OLD)


def _rebuild(bands: tuple[int, int, int, int]) -> None:
    connection = op.get_bind()
    connection.execute(sa.text(
        "CREATE TEMPORARY TABLE band_item (item_id INTEGER PRIMARY KEY, seen BIGINT NOT NULL)"))
    connection.execute(sa.text(
        "INSERT INTO band_item (item_id, seen) SELECT item_id, MAX(seen) FROM ("
        "SELECT item_id, seen FROM item_band UNION ALL "
        "SELECT item_id, seen FROM item_band_recent) AS rows GROUP BY item_id"))
    if connection.dialect.name == "postgresql":  # no dead rows left behind
        connection.execute(sa.text("TRUNCATE item_band, item_band_recent, item_band_filter"))
    else:  # (SQLite keeps the freed pages for the new rows; VACUUM gives them back)
        for table in ("item_band", "item_band_recent", "item_band_filter"):
            connection.execute(sa.text(f"DELETE FROM {table}"))
    # the new rows in any order first, then into the index in its key order (each page of
    # it written once, as a merge writes: store/bands.py)
    connection.execute(sa.text(
        "CREATE TEMPORARY TABLE band_row (band BIGINT NOT NULL, item_id INTEGER NOT NULL, "
        "seen BIGINT NOT NULL)"))
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    for rows in _rows(connection, bands):
        if rows:  # the driver's own executemany: millions of rows in a big store
            connection.exec_driver_sql(
                f"INSERT INTO band_row (band, item_id, seen) VALUES ({mark}, {mark}, {mark})",
                rows)
    connection.execute(sa.text(
        "INSERT INTO item_band (band, item_id, seen) SELECT band, item_id, seen "
        "FROM band_row ORDER BY band, item_id"))
    for table in ("band_row", "band_item"):
        connection.execute(sa.text(f"DROP TABLE {table}"))
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("ANALYZE item_band"))
    if connection.dialect.name == "sqlite":
        driver = cast("sqlite3.Connection", connection.connection.driver_connection)
        bandfilter.rebuild(driver, "item_band")


def _rows(connection: Any, bands: tuple[int, int, int, int]
          ) -> Iterator[list[tuple[int, int, int]]]:
    """The band rows of the items in ``band_item``, a batch of items at a time."""
    whole, rows, opening, opening_rows = bands
    tuning = replace(DEFAULT, bands=whole, rows=rows, lead_bands=opening,
                     lead_rows=opening_rows)
    last = -1
    while batch := connection.execute(sa.text(
            "SELECT band_item.item_id, band_item.seen, item.title, item.content_html "
            "FROM band_item JOIN item ON item.id = band_item.item_id "
            "WHERE band_item.item_id > :last ORDER BY band_item.item_id LIMIT :size"),
            {"last": last, "size": _ITEMS}).all():
        last = batch[-1][0]
        texts = [(title, html_to_text(unpack_text(content)))
                 for _, _, title, content in batch]
        made = [fp for start in range(0, len(texts), _PRINTS)
                for fp in fingerprints(texts[start:start + _PRINTS], tuning)]
        yield [(band, item_id, seen)
               for (item_id, seen, _, _), fp in zip(batch, made, strict=True)
               if fp is not None for band in dict.fromkeys(fp.bands)]
