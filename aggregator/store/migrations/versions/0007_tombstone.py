"""retention: tombstones of the keys of pruned stories

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tombstone',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key_hash'),
    )


def downgrade() -> None:
    op.drop_table('tombstone')
