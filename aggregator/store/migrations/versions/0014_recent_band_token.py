"""item_band_filter row 2: a token drawn again by every write of item_band_recent

A process that writes item_band_recent keeps a Bloom filter of its keys in memory
(store/bandfilter.py, RecentFilter) and knows it is current while this row holds the
token it drew last. Every writer must draw one: a version that does not (before this
revision) refuses to open the store from now on. No rows are changed; the row is made
by the first write.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 22:30:00
"""

from __future__ import annotations

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the revision itself keeps older versions out."""


def downgrade() -> None:
    """Nothing to undo (an older version ignores the row)."""
