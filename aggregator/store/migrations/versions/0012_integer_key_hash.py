"""story_key and tombstone: keys as 8-byte integers, not 64 hex digits

A stored key was its SHA-256 in hex: 64 bytes in the table and again in its primary
key's index. It is now the first 8 bytes of that hash as a signed 64-bit integer
(store/keys.key_hash); on SQLite the tables' INTEGER primary key is the row id itself,
so a key is stored once, in 8 bytes, with no index beside the table. Existing rows are
converted (the prefix of each stored hash), so every key still matches.

A downgrade keeps the rows as the 16 hex digits of their prefix: the keys they were
made from cannot be recovered, so they match nothing under the old scheme (stories
are then still found by their near-duplicate index; a pruned item may come back).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 02:50:00
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

#: each table: its other column, and that column's type
_TABLES: dict[str, tuple[str, sa.types.TypeEngine[Any]]] = {
    'story_key': ('story_id', sa.Integer()),
    'tombstone': ('seen_at', sa.DateTime()),
}
_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as models.KeyHash


def _hex_to_int(hexdigest: str) -> int:
    return int.from_bytes(bytes.fromhex(hexdigest[:16]), "big", signed=True)


def _int_to_hex(value: int) -> str:
    return (value & (2**64 - 1)).to_bytes(8, "big").hex()


def _sqlite_copy(table: str, key_type: sa.types.TypeEngine[Any], convert: str) -> None:
    """``table`` again with its key of ``key_type``, each key through SQL ``convert``."""
    other, other_type = _TABLES[table]
    constraints: list[sa.Constraint] = [sa.PrimaryKeyConstraint('key_hash')]
    if table == 'story_key':
        constraints.append(sa.ForeignKeyConstraint(['story_id'], ['story.id']))
        op.drop_index('ix_story_key_story_id', table_name='story_key')
    op.create_table(f'{table}_new', sa.Column('key_hash', key_type, nullable=False,
                                              autoincrement=False),
                    sa.Column(other, other_type, nullable=False), *constraints)
    op.execute(f"INSERT OR IGNORE INTO {table}_new (key_hash, {other}) "
               f"SELECT {convert}(key_hash), {other} FROM {table} ORDER BY 1")
    op.drop_table(table)
    op.rename_table(f'{table}_new', table)
    if table == 'story_key':
        op.create_index('ix_story_key_story_id', 'story_key', ['story_id'])


def _sqlite_function(name: str, function: Callable[[Any], Any]) -> None:
    raw = op.get_bind().connection.driver_connection
    assert raw is not None
    raw.create_function(name, 1, function, deterministic=True)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_function("aggregator_key_int", _hex_to_int)
        for table in _TABLES:
            _sqlite_copy(table, _KEY, "aggregator_key_int")
        return
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN key_hash TYPE BIGINT "
                   f"USING ('x' || substr(key_hash, 1, 16))::bit(64)::bigint")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_function("aggregator_key_hex", _int_to_hex)
        for table in _TABLES:
            _sqlite_copy(table, sa.String(length=64), "aggregator_key_hex")
        return
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN key_hash TYPE VARCHAR(64) "
                   f"USING lpad(to_hex(key_hash), 16, '0')")
