"""the near-duplicate index keeps only band keys: fingerprints are made from the text

item_fingerprint (a 1,536-byte MinHash signature, counts, slots and a skeleton hash per
item: a quarter of the database) is dropped. A candidate's fingerprint is made again from
its item's title and content, which the item row holds (stories.Fingerprints), so the
stored items stay matchable through their band keys, which are kept as they are.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-04 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('item_fingerprint')


def downgrade() -> None:
    # the table comes back empty: the store no longer reads it (an older version matches
    # fewer stored items until they leave the window)
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
