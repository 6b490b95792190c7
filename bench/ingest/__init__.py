"""The ingest and publishing benchmarks of issue 6: corpus, feed server, jobs, suite."""
