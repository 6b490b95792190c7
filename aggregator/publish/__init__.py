"""Publish: pure rendering of stories into feeds, pages and OPML (no store, no config)."""
