"""deploybot's benchmark harness: `bench/run` (see docs/performance.md)."""
