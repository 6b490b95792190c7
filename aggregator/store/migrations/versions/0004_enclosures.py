"""enclosures and pictures: item_enclosure, item.image_url

An item's media files (RSS <enclosure>, Atom link rel="enclosure", media:content) go to a
table of their own, one row each in the feed's order; its picture (media:thumbnail,
media:content image, itunes:image, an image enclosure) to a column. Items stored before
have neither: their content hash does not cover media, so the next fetch of a feed whose
items carry some finds them changed and stores the media then.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('item_enclosure',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('media_type', sa.String(length=255), nullable=True),
    sa.Column('length', sa.BigInteger(), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.PrimaryKeyConstraint('item_id', 'position')
    )
    op.add_column('item', sa.Column('image_url', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('item', 'image_url')
    op.drop_table('item_enclosure')
