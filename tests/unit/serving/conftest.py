"""The serving fixtures (shared with tests/integration/serving)."""

from serving_fixtures import iris_onnx, iris_registry

__all__ = ["iris_onnx", "iris_registry"]
