"""item.full_text_status: what became of a full_text source's article page

"extracted from <url>" when the item's content is the page's main text, else why the
feed's teaser was kept (an HTTP error, no article text, too short, over the limit).
NULL for the items of other sources and for items stored before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('item') as batch:
        batch.add_column(sa.Column('full_text_status', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('item') as batch:
        batch.drop_column('full_text_status')
