"""Alembic migrations of the store's schema (env.py, versions/)."""

#: the newest revision: a store already at it opens without loading alembic
#: (tests/test_migrations.py checks it is alembic's head)
HEAD = "0011"
