"""Benchmarks for aggregator. ``python -m bench`` runs the ingest and publishing suite
(bench/ingest); see bench/README.md."""
