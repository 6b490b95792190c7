"""Alembic migrations of the store's schema (env.py, versions/)."""

#: the newest revision: a store already at it opens without loading alembic
#: (tests/test_migrations.py checks it is alembic's head)
HEAD = "0018"
#: every revision this version knows, oldest first: a database at any other is newer than
#: the code (a rollback), which the store refuses to open
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010",
             "0011", "0012", "0013", "0014", "0015", "0016", "0017", "0018")
