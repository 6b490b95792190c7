"""the near-duplicate index: compact band keys, fingerprints in a table of their own

item_band: the band keys were text ("12:<16 hex>" for whole-text band 12, "L3:<16 hex>"
for opening band 3), with a story id and a datetime per row. They become one signed
64-bit integer (56 bits of the same digest over the band's 7-bit number), the date epoch
seconds, no story id (candidates read it from their item), and no rowid on SQLite.

item_fingerprint: the fp_* columns of item move to a table of their own, so that both
parts of the index can be pruned once an item is older than the matching window.

Existing keys and fingerprints are converted, so stored items stay matchable.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_BATCH = 10_000


def _key(band: str) -> int:
    """A text band key as the integer stories/similarity.py now makes."""
    prefix, digest = band.split(":", 1)
    number = 127 - int(prefix[1:]) if prefix.startswith("L") else int(prefix)
    return (int(digest[:14], 16) << 7 | number) - (1 << 62)


def _epoch(value: datetime | str) -> int:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return int(value.replace(tzinfo=UTC).timestamp())


def upgrade() -> None:
    op.create_table('item_band_new',
    sa.Column('band', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.PrimaryKeyConstraint('band', 'item_id'),
    sqlite_with_rowid=False,
    )
    connection = op.get_bind()
    new = sa.table('item_band_new', sa.column('band', sa.BigInteger()),
                   sa.column('item_id', sa.Integer()), sa.column('seen', sa.Integer()))
    rows = connection.execute(sa.text("SELECT band, item_id, seen_at FROM item_band"))
    while batch := rows.fetchmany(_BATCH):
        connection.execute(new.insert(), [
            {"band": _key(band), "item_id": item_id, "seen": _epoch(seen)}
            for band, item_id, seen in batch])
    op.drop_table('item_band')
    op.rename_table('item_band_new', 'item_band')

    op.create_table('item_fingerprint',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('words', sa.Integer(), nullable=False),
    sa.Column('shingles', sa.Integer(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('slots', sa.Text(), nullable=False),
    sa.Column('skeleton', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.PrimaryKeyConstraint('item_id')
    )
    prints = sa.table('item_fingerprint', *(sa.column(name) for name in (
        'item_id', 'seen', 'words', 'shingles', 'signature', 'slots', 'skeleton')))
    rows = connection.execute(sa.text(
        "SELECT id, published_at, first_seen_at, fp_words, fp_shingles, fp_signature, "
        "fp_slots, fp_skeleton FROM item WHERE fp_signature IS NOT NULL"))
    while batch := rows.fetchmany(_BATCH):
        connection.execute(prints.insert(), [
            {"item_id": item_id, "seen": _epoch(published or first_seen), "words": words,
             "shingles": shingles, "signature": signature, "slots": slots or "",
             "skeleton": skeleton or ""}
            for item_id, published, first_seen, words, shingles, signature, slots, skeleton
            in batch])
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch rebuild of `item` would drop
    # the table other tables' foreign keys point at, which SQLite refuses here
    for name in ('fp_words', 'fp_shingles', 'fp_signature', 'fp_slots', 'fp_skeleton'):
        op.execute(f"ALTER TABLE item DROP COLUMN {name}")


def downgrade() -> None:
    raise NotImplementedError("the text band keys cannot be rebuilt from the integer ones; "
                              "restore the backup taken before upgrading")
