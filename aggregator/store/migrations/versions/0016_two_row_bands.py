"""the near-duplicate index keeps 32 band keys an item instead of 58

The LSH bands become 28 of 2 rows over the whole text and 4 of 8 rows over the opening,
instead of 42 of 3 and 16 of 8: 45% fewer band rows, and a higher clustering recall on
the labeled corpus (bench/dedupe/README.md). Every band key changes with them, so the
index is made again: the items that have band rows (those within the matching window)
are fingerprinted again from the title and the text of the content their rows hold, as a
stored candidate's fingerprint is (stories/fingerprints.py); their MinHash signatures
are unchanged, only the keys cut from them. Each item's rows take the latest date its
rows had (a changed item's rows could have two). An item whose text changed keeps the
keys of its present text only, not those of the text it was first found with. On
SQLite the band filter is built again. A downgrade makes the old keys the same way.

The settings other than the bands (permutations, shingles, the text's preparation) are
the running code's: a downgrade gives back 0015's keys as long as those did not change.
The keys are each band's BLAKE2b digest, as they were until 0018 (the work is
migrations/rekey.py's, shared with 0018).

Stop every process before upgrading: one still running the old code would go on writing
keys of the old bands, which match nothing new. Measured on the bench's million-item
store (2.0 GB, 266,421 items within the window, 8.5 million rows made): 77 s, 148 MB at
the peak.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:20:00
"""

from __future__ import annotations

from aggregator.store.migrations.rekey import rebuild

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

#: (whole-text bands, rows, opening bands, rows) of each revision's index
_NEW = (28, 2, 4, 8)
_OLD = (42, 3, 16, 8)


def upgrade() -> None:
    rebuild(_NEW, blake2b=True)  # (each band's BLAKE2b digest, as keys were until 0018)


def downgrade() -> None:
    rebuild(_OLD, blake2b=True)
