"""WebSub subscriber: the hub each source announces, and one subscription per source

source gains websub_hub and websub_topic (what its feed announces). Its body_hash is
cleared, so the next poll parses every feed once more and finds the hubs of feeds that
have not changed since (their items are compared as usual: nothing is stored twice).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source') as batch:
        batch.add_column(sa.Column('websub_hub', sa.Text(), nullable=True))
        batch.add_column(sa.Column('websub_topic', sa.Text(), nullable=True))
    op.execute("UPDATE source SET body_hash = NULL")
    op.create_table('subscription',
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('hub', sa.Text(), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('callback', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=True),
    sa.Column('verified_at', sa.DateTime(), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], ),
    sa.PrimaryKeyConstraint('source_id'),
    sa.UniqueConstraint('token')
    )


def downgrade() -> None:
    op.drop_table('subscription')
    with op.batch_alter_table('source') as batch:
        batch.drop_column('websub_topic')
        batch.drop_column('websub_hub')
