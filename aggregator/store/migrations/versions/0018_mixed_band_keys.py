"""a band's key is a numpy mix of its rows instead of a BLAKE2b digest

The near-duplicate index keeps the same bands (28 of 2 rows over the whole text, 4 of 8
over the opening) and the same layout of a key (56 bits over the band's 7-bit number),
but its 56 bits are now a 64-bit mix of the band's rows (MurmurHash3's finalizer
steps, ``minhash.band_keys_of_many``), computed for a whole feed in numpy: a sixth of
the parse worker's time for the keys, +5% to +7.5% items/s in the bench's cold ingest.
Every stored key changes with it, so the index is made again from the stored items'
texts, as 0016 made it (migrations/rekey.py); a downgrade makes the BLAKE2b keys again.

Stop every process before upgrading: one still running the old code would go on writing
keys that match nothing new. Measured on the bench's million-item store (2.2 GB, 266,421
items within the window, 8.5 million rows made): 71 s, 149 MB at the peak.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 13:10:00
"""

from __future__ import annotations

from aggregator.store.migrations.rekey import rebuild

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_BANDS = (28, 2, 4, 8)  # (whole-text bands, rows, opening bands, rows), as since 0016


def upgrade() -> None:
    rebuild(_BANDS, blake2b=False)


def downgrade() -> None:
    rebuild(_BANDS, blake2b=True)
