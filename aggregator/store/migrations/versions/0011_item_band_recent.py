"""item_band_recent: new band rows go to a small table, merged into item_band in key order

The band index's key is random, so once item_band outgrew SQLite's page cache each
commit rewrote most of its leaf pages. New rows now go to item_band_recent (the same
shape), which stays small, and move into item_band in key order when it grows
(aggregator/store/bands.py). Existing rows stay in item_band.

Neither table has a foreign key to item any more: on SQLite it made each row a lookup
in item (most of a merge's cost) and each deleted item a scan of the index. SQLite
cannot drop a constraint, so item_band is copied into a new table, in key order.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def _band_table(name: str, *constraints: sa.Constraint) -> None:
    op.create_table(name,
    sa.Column('band', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    *constraints,
    sa.PrimaryKeyConstraint('band', 'item_id'),
    sqlite_with_rowid=False,
    )


def _copy_band_table(*constraints: sa.Constraint) -> None:
    """item_band again, with ``constraints`` (a foreign key or none), rows kept."""
    _band_table('item_band_new', *constraints)
    op.execute("INSERT INTO item_band_new (band, item_id, seen) "
               "SELECT band, item_id, seen FROM item_band ORDER BY band, item_id")
    op.drop_table('item_band')
    op.rename_table('item_band_new', 'item_band')


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _copy_band_table()
    else:
        for key in sa.inspect(op.get_bind()).get_foreign_keys('item_band'):
            op.drop_constraint(str(key['name']), 'item_band', type_='foreignkey')
    _band_table('item_band_recent')


def downgrade() -> None:
    op.execute("INSERT INTO item_band (band, item_id, seen) "
               "SELECT band, item_id, seen FROM item_band_recent")
    op.drop_table('item_band_recent')
    op.execute("DELETE FROM item_band WHERE item_id NOT IN (SELECT id FROM item)")
    if op.get_bind().dialect.name == "sqlite":
        _copy_band_table(sa.ForeignKeyConstraint(['item_id'], ['item.id']))
    else:
        op.create_foreign_key(None, 'item_band', 'item', ['item_id'], ['id'])
