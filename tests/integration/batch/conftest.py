"""The batch fixtures (shared with tests/integration/batch)."""

from batch_fixtures import batch_registry, close, expected, parquet_input, rows

__all__ = ["batch_registry", "close", "expected", "parquet_input", "rows"]
