"""Making the near-duplicate index's keys again from the stored items' texts: what
migrations 0016 (other bands) and 0018 (another derivation of a band's key) do.

The items that have band rows (those within the matching window) are fingerprinted again
from the title and the text of the content their rows hold, as a stored candidate's
fingerprint is (stories/fingerprints.py); their MinHash signatures are the running
code's, only the keys cut from them are chosen here (``minhash.keys_of_signatures``).
Each item's rows take the latest date its rows had (a changed item's rows could have
two). An item whose text changed keeps the keys of its present text only. On SQLite the
band filter is built again; on PostgreSQL the tables are truncated and analyzed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any, Final, cast

import sqlalchemy as sa
from alembic import op

from aggregator.packing import unpack_text
from aggregator.store import bandfilter
from aggregator.stories import minhash
from aggregator.stories.similarity import DEFAULT, fingerprints
from aggregator.text import html_to_text

#: (whole-text bands, rows, opening bands, rows) of an index
Bands = tuple[int, int, int, int]
_ITEMS: Final = 2_000  # items read a batch
_PRINTS: Final = 8  # fingerprints made in one numpy pass (stories/fingerprints.BATCH)


def rebuild(bands: Bands, *, blake2b: bool) -> None:
    """Make every band row again with ``bands``, each key a BLAKE2b digest of its band
    (``blake2b``: the keys of revisions 0003-0017) or the numpy mix of 0018 on."""
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
    for rows in _rows(connection, bands, blake2b=blake2b):
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


def _rows(connection: Any, bands: Bands, *, blake2b: bool
          ) -> Iterator[list[tuple[int, int, int]]]:
    """The band rows of the items in ``band_item``, a batch of items at a time."""
    whole, rows, opening, opening_rows = bands
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
                for fp in fingerprints(texts[start:start + _PRINTS], DEFAULT, with_bands=False)]
        found = [(item_id, seen, fp.signature)
                 for (item_id, seen, _, _), fp in zip(batch, made, strict=True) if fp is not None]
        keys = minhash.keys_of_signatures([signature for *_, signature in found],
                                          bands=whole, rows=rows, lead_bands=opening,
                                          lead_rows=opening_rows, blake2b=blake2b)
        yield [(band, item_id, seen) for (item_id, seen, _), item_keys in zip(
            found, keys, strict=True) for band in dict.fromkeys(item_keys)]
