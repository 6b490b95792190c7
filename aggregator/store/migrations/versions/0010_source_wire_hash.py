"""source.wire_hash: the hash of a compressed body as it came over the wire

A server that ignores validators sends the same compressed bytes again: their hash,
compared before anything is decompressed, says the feed did not change. Existing
sources have none until their next full body (nothing to convert: their body_hash
still works as before, and the next 200 records both).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source') as batch:
        batch.add_column(sa.Column('wire_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('source') as batch:
        batch.drop_column('wire_hash')
