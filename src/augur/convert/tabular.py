"""What a tabular sample says about a model's inputs: columns, kinds, tensor types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from augur.errors import ExportFailed
from augur.signature import ColumnSpec

MATRIX_INPUT = "input"


@dataclass(frozen=True)
class TabularLayout:
    """How a sample maps onto ONNX inputs.

    ``per_column`` layouts give each column its own ``[-1, 1]`` tensor (needed by
    ColumnTransformer pipelines and mixed string/number tables); otherwise all
    columns share one ``[-1, n]`` float matrix called ``input``.
    """

    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    per_column: bool

    def column_specs(self, tensor_names: list[str], nullable: bool) -> tuple[ColumnSpec, ...]:
        if self.per_column:
            return tuple(ColumnSpec(c, k, t, None, nullable or k == "float")
                         for c, k, t in zip(self.columns, self.kinds, tensor_names, strict=True))
        return tuple(ColumnSpec(c, k, tensor_names[0], i, nullable)
                     for i, (c, k) in enumerate(zip(self.columns, self.kinds, strict=True)))


def _kind(dtype: np.dtype[Any]) -> str:
    if dtype.kind == "b":
        return "bool"
    if dtype.kind in "iu":
        return "int"
    if dtype.kind == "f":
        return "float"
    return "string"


def is_dataframe(sample: Any) -> bool:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return False
    return isinstance(sample, pd.DataFrame)


def layout_for(sample: Any, *, per_column: bool | None = None) -> TabularLayout:
    """Describe ``sample`` (a DataFrame or a 2-D array) as a tabular layout.

    Raises:
        ExportFailed: the sample is empty or not two-dimensional.
    """
    if is_dataframe(sample):
        if len(sample) == 0:
            raise ExportFailed("the sample DataFrame is empty; pass some representative rows")
        names = tuple(str(c) for c in sample.columns)
        kinds = tuple(_kind(sample[c].dtype) if sample[c].dtype != object else "string"
                      for c in sample.columns)
        needs = any(k == "string" for k in kinds)
        return TabularLayout(names, kinds, needs if per_column is None else per_column)
    arr = np.asarray(sample)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ExportFailed(f"the sample must be a non-empty 2-D array or a DataFrame, "
                           f"got shape {arr.shape}")
    names = tuple(f"f{i}" for i in range(arr.shape[1]))
    return TabularLayout(names, ("float",) * arr.shape[1], False)


def matrix_of(sample: Any, dtype: type = np.float32) -> np.ndarray:
    """The sample as one numeric matrix."""
    if is_dataframe(sample):
        return np.asarray(sample.to_numpy(dtype=dtype))
    return np.asarray(sample, dtype=dtype)


def column_feeds(sample: Any, layout: TabularLayout, tensor_names: list[str],
                 float_dtype: type = np.float32) -> dict[str, np.ndarray]:
    """Feeds for a per-column model, one ``[n, 1]`` tensor per column."""
    feeds = {}
    for col, kind, tname in zip(layout.columns, layout.kinds, tensor_names, strict=True):
        values = sample[col].to_numpy()
        if kind == "string":
            feeds[tname] = values.astype(str).astype(object).reshape(-1, 1)
        elif kind == "int":
            feeds[tname] = values.astype(np.int64).reshape(-1, 1)
        elif kind == "bool":
            feeds[tname] = values.astype(np.bool_).reshape(-1, 1)
        else:
            feeds[tname] = values.astype(float_dtype).reshape(-1, 1)
    return feeds
