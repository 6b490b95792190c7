"""several processes on one database: the host of each source, the rendered site

source.host: the host name a source is fetched from (its permanent redirect's, else its
URL's), so a claim can cap the sources of one host leased by every worker together.

site_file: the rendered site, one row per path (bytes, gzip, ETag, Last-Modified, media
type, an HTML page's Content-Security-Policy) with the version that last changed it; site_version: one row, the version of the
newest publish that changed the site (it only grows). Workers write what changed, web
servers poll the version and load only what they do not have.

output.stories, output.updated_at: what the index page shows of an output (its number of
stories and newest date), so an index can be rendered without rendering every output;
output.rendered_at: when the output was last rendered.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 12:00:00
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _host(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "")[:255]
    except ValueError:
        return ""


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.String(length=255), nullable=False,
                                      server_default=''))
        batch_op.create_index('ix_source_host', ['host'], unique=False)
    connection = op.get_bind()
    source = sa.table('source', sa.column('id', sa.Integer()), sa.column('url', sa.Text()),
                      sa.column('moved_to', sa.Text()), sa.column('host', sa.String()))
    rows = connection.execute(sa.select(source.c.id, source.c.url, source.c.moved_to)).all()
    for source_id, url, moved_to in rows:
        connection.execute(source.update().where(source.c.id == source_id)
                           .values(host=_host(moved_to or url)))
    with op.batch_alter_table('output', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stories', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('rendered_at', sa.DateTime(), nullable=True))
    op.create_table('site_file',
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('etag', sa.String(length=64), nullable=False),
    sa.Column('last_modified', sa.DateTime(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('gzip_body', sa.LargeBinary(), nullable=False),
    sa.Column('content_security_policy', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('path')
    )
    op.create_index('ix_site_file_version', 'site_file', ['version'], unique=False)
    op.create_table('site_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('site_version')
    op.drop_index('ix_site_file_version', table_name='site_file')
    op.drop_table('site_file')
    with op.batch_alter_table('output', schema=None) as batch_op:
        batch_op.drop_column('rendered_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('stories')
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_index('ix_source_host')
        batch_op.drop_column('host')
