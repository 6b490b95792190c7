"""item_band_filter: a Bloom filter of item_band's keys, so lookups skip absent keys

One row: the filter's bits and a token that changes with them (store/bandfilter.py).
It is built from item_band at the store's next merge of item_band_recent; until then
every key is probed, as before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 12:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('item_band_filter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.BigInteger(), nullable=False),
    sa.Column('keys', sa.BigInteger(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('bits', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('item_band_filter')
