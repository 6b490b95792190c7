"""Ingest: fetch a source, parse and normalize its feed, decide when to poll it next."""
