"""item_print: a compact fingerprint of each item within the window

A candidate found by its band keys was compared by a fingerprint made again from its
item's text (migration 0009 dropped the stored fingerprint columns): a fifth of the
writer's time in a cold ingest. ``item_print`` keeps, for each item within the matching
window, what that fingerprint needs back in about 0.8 KB (stories/fingerprints.py):
the whole text's signature, the lead's shingle hashes, the counts, slots and skeleton,
and a stamp of the item's content_hash. No backfill: an item without a print is
fingerprinted from its text, as before, and the window's items get theirs as they are
written. A downgrade drops the table.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('item_print',
    sa.Column('item_id', sa.Integer(), nullable=False, autoincrement=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('item_id'),
    )


def downgrade() -> None:
    op.drop_table('item_print')
