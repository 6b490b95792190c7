"""``python -m bench``: the whole ingest and publishing suite (``--help`` for options)."""

import sys

from bench.ingest.suite import main

sys.exit(main())
