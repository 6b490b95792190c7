"""a smaller store: fingerprints made from the text, item texts deflated

item_fingerprint (a 1,536-byte MinHash signature, counts, slots and a skeleton hash per
item: a quarter of the database) is dropped. A candidate's fingerprint is made again from
its item's title and content, which the item row holds (stories.Fingerprints), so the
stored items stay matchable through their band keys, which are kept as they are.

item.content_html and item.summary_text become deflated binary (models.CompressedText:
a marker byte, then raw deflate or the UTF-8 as it is). Every stored row is converted;
on SQLite the declared type stays TEXT (a column type cannot change in place there, and
SQLite keeps a blob in it as it is).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 23:20:00
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_BATCH = 2_000
_COLUMNS = ('content_html', 'summary_text')


def _pack(value: str | bytes) -> bytes:
    """packing.pack_text, frozen here: the format this revision writes."""
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    deflated = zlib.compress(data, 6, wbits=-15)
    return b"\x01" + deflated if len(deflated) < len(data) else b"\x00" + data


def upgrade() -> None:
    op.drop_table('item_fingerprint')
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':
        for name in _COLUMNS:  # the UTF-8 bytes of the text, packed below
            op.alter_column('item', name, type_=sa.LargeBinary(), existing_nullable=False,
                            postgresql_using=f"convert_to({name}, 'UTF8')")
    item = sa.table('item', sa.column('id', sa.Integer()),
                    *(sa.column(name, sa.LargeBinary()) for name in _COLUMNS))
    last = 0
    while batch := connection.execute(sa.text(
            "SELECT id, content_html, summary_text FROM item WHERE id > :last ORDER BY id "
            "LIMIT :size"), {"last": last, "size": _BATCH}).all():
        connection.execute(item.update().where(item.c.id == sa.bindparam('item_id')), [
            {"item_id": item_id, "content_html": _pack(content), "summary_text": _pack(summary)}
            for item_id, content, summary in batch])
        last = batch[-1][0]


def downgrade() -> None:
    raise NotImplementedError("the fingerprints are not stored any more; restore the "
                              "backup taken before upgrading")
