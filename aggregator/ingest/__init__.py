"""Ingest: fetch a source, parse and normalize its feed, decide when to poll it next."""

import sys

# httpx imports its own command line (rich, pygments, click: 3.4 MB resident, ~30 ms)
# whenever those are installed, as typer installs them; no process of ours runs it
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
