"""item_band_recent: new band rows go to a small table, merged into item_band in key order

The band index's key is random, so once item_band outgrew SQLite's page cache each
commit rewrote most of its leaf pages. New rows now go to item_band_recent (the same
shape), which stays small, and move into item_band in key order when it grows
(aggregator/store/bands.py). Existing rows stay where they are.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('item_band_recent',
    sa.Column('band', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.PrimaryKeyConstraint('band', 'item_id'),
    sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.execute("INSERT INTO item_band (band, item_id, seen) "
               "SELECT band, item_id, seen FROM item_band_recent")
    op.drop_table('item_band_recent')
