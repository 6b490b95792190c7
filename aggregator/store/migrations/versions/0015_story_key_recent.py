"""story_key_recent: new story keys go to a small table, merged into story_key in key order

A story key is story_key's row id, a random 64-bit value, so once the table outgrew
SQLite's page cache each commit rewrote most of its leaf pages. New keys now go to
story_key_recent (the same shape) and move into story_key in key order with the band
index's recent rows (aggregator/store/story_keys.py). Existing keys stay in story_key.
A version before this revision would not see the recent keys: it refuses to open the
store from now on.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as models.KeyHash


def upgrade() -> None:
    op.create_table('story_key_recent',
    sa.Column('key_hash', _KEY, nullable=False, autoincrement=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['story_id'], ['story.id']),
    sa.PrimaryKeyConstraint('key_hash'),
    )
    op.create_index('ix_story_key_recent_story_id', 'story_key_recent', ['story_id'])


def downgrade() -> None:
    op.execute("INSERT INTO story_key (key_hash, story_id) "
               "SELECT key_hash, story_id FROM story_key_recent")
    op.drop_index('ix_story_key_recent_story_id', table_name='story_key_recent')
    op.drop_table('story_key_recent')
