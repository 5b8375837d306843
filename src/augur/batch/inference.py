"""Vectorized prediction of one chunk, isolating the rows that fail validation.

The whole chunk is validated and run in one call. Only when that fails is the
chunk bisected, so a clean chunk costs one ONNX Runtime call and a chunk with
``b`` bad rows out of ``n`` costs about ``b * log2(n)`` calls.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import orjson

from augur.batch.predictions import PredictionChunk, RowError
from augur.errors import ConfigError, InvalidInput
from augur.runtime import LoadedModel, to_feeds

_NUMERIC_KINDS = ("float", "int", "bool")
# A one-row frame always fails "at row 0"; the error record carries the real row.
_ROW_ZERO = re.compile(r" at row 0\b")


class BadRows(InvalidInput):
    """Raised under ``fail_fast`` when a chunk holds a row that cannot be predicted."""


def _row_texts(arr: np.ndarray) -> list[str] | None:
    """Each row of a numeric 1-D or 2-D array as JSON text, from one orjson call.

    Serializing the whole array in C and splitting the text is several times
    faster than one ``dumps`` per row, and writes float32 in its shortest form.
    Returns ``None`` for arrays this does not cover (strings, 3-D, empty rows).
    """
    if arr.dtype.kind not in "biuf" or arr.dtype.itemsize > 8 or arr.dtype == np.float16 \
            or arr.ndim not in (1, 2) or len(arr) == 0 or (arr.ndim == 2 and arr.shape[1] == 0):
        return None
    text = orjson.dumps(np.ascontiguousarray(arr), option=orjson.OPT_SERIALIZE_NUMPY).decode()
    if arr.ndim == 1:
        return text[1:-1].split(",")
    return text[2:-2].split("],[")


def _encode_with_arrow(outputs: dict[str, np.ndarray]) -> list[str] | None:
    """Build each row's JSON with Arrow compute kernels, which release the GIL.

    The writer thread needs the GIL to bind each row; text built here in C++
    leaves it free, so encoding overlaps writing. ``None`` when an output is not
    a finite numeric 1-D or 2-D array (Arrow would print ``nan``, not JSON).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    parts: list[Any] = []
    for i, (name, arr) in enumerate(outputs.items()):
        if arr.dtype.kind not in "biuf" or arr.dtype == np.float16 or arr.ndim not in (1, 2) \
                or len(arr) == 0 or (arr.ndim == 2 and arr.shape[1] == 0):
            return None
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            return None
        prefix = ("{" if i == 0 else ",") + orjson.dumps(name).decode() + ":"
        if arr.ndim == 1:
            parts += [prefix, pc.cast(pa.array(arr), pa.string())]
            continue
        parts.append(prefix + "[")
        for j in range(arr.shape[1]):
            if j:
                parts.append(",")
            parts.append(pc.cast(pa.array(np.ascontiguousarray(arr[:, j])), pa.string()))
        parts.append("]")
    parts.append("}")
    texts: list[str] = pc.binary_join_element_wise(*parts, "").to_pylist()
    return texts


def encode_outputs(outputs: dict[str, np.ndarray]) -> list[str]:
    """One JSON object per row: ``{"label":1,"probabilities":[0.1,0.9,0.0]}``."""
    texts = _encode_with_arrow(outputs)
    if texts is not None:
        return texts
    names = list(outputs)
    columns = [_row_texts(arr) for arr in outputs.values()]
    if all(c is not None for c in columns):
        fmt = "{" + ",".join(
            orjson.dumps(name).decode().replace("%", "%%") + (":[%s]" if arr.ndim == 2 else ":%s")
            for name, arr in outputs.items()) + "}"
        # map() over a C method: no Python bytecode per row, so the GIL is held briefly.
        if len(columns) == 1:
            return list(map(fmt.__mod__, columns[0] or ()))
        return list(map(fmt.__mod__, zip(*columns, strict=True)))  # type: ignore[arg-type]
    lists = [arr.tolist() for arr in outputs.values()]
    dumps = orjson.dumps
    return [dumps(dict(zip(names, vals, strict=True))).decode()
            for vals in zip(*lists, strict=True)]


def _keys_of(series: Any) -> tuple[list[str], np.ndarray]:
    """Keys as strings, and a mask of rows whose key is missing."""
    missing = series.isna().to_numpy()
    values = series.to_numpy()
    if values.dtype.kind == "f" and not missing.any() and (values == np.round(values)).all():
        values = values.astype(np.int64)  # 3.0 -> "3": a float column of whole numbers
    if values.dtype.kind in "iu" and len(values):
        # One orjson call for the whole column: several times faster than str() per key.
        text = orjson.dumps(np.ascontiguousarray(values), option=orjson.OPT_SERIALIZE_NUMPY)
        return text.decode()[1:-1].split(","), missing
    keys: list[str] = list(map(str, values.tolist()))
    return keys, missing


class ChunkPredictor:
    """Turns source chunks (pandas DataFrames) into :class:`PredictionChunk`.

    Args:
        model: the loaded version.
        key: the column holding each row's entity key.
        fail_fast: raise :class:`BadRows` on the first bad row instead of recording it.
    """

    def __init__(self, model: LoadedModel, key: str, *, fail_fast: bool = False) -> None:
        self.model = model
        self.key = key
        self.fail_fast = fail_fast
        self._numeric = [c.name for c in model.signature.columns if c.kind in _NUMERIC_KINDS]

    def check_columns(self, columns: list[str]) -> None:
        """Fail early when the key column is absent.

        Raises:
            ConfigError: ``columns`` lacks the key column.
        """
        if self.key not in columns:
            shown = ", ".join(columns[:20]) + (" ..." if len(columns) > 20 else "")
            raise ConfigError(f"key column {self.key!r} is not in the input (columns: {shown})")

    def predict_chunk(self, index: int, frame: Any, row_offset: int) -> PredictionChunk:
        """Predict every row of ``frame``; bad rows become :class:`RowError`.

        Args:
            index: the chunk's number in the source.
            frame: the chunk as a pandas DataFrame (with the key column).
            row_offset: position of the chunk's first row in the source.

        Raises:
            ConfigError: the key column is missing.
            BadRows: a row failed and ``fail_fast`` is set.
        """
        self.check_columns([str(c) for c in frame.columns])
        n = len(frame)
        chunk = PredictionChunk(index=index, rows_in=n)
        if n == 0:
            return chunk
        keys, bad = _keys_of(frame[self.key])
        reasons: dict[int, str] = {int(i): f"key column {self.key!r} is missing"
                                   for i in np.flatnonzero(bad)}
        features = frame if self.model.signature.columns else frame.drop(columns=[self.key])
        features = self._coerce_numeric(features, reasons)
        good = np.ones(n, dtype=bool)
        good[list(reasons)] = False
        positions = np.flatnonzero(good)
        if len(positions) < n:
            features = features.iloc[positions]
        parts: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        self._isolate(features, positions, parts, reasons)
        if reasons and self.fail_fast:
            first = min(reasons)
            raise BadRows(f"row {row_offset + first} (key {keys[first]!r}): {reasons[first]}")
        for pos, outputs in parts:
            chunk.keys.extend(keys[i] for i in pos.tolist())
            chunk.outputs.extend(encode_outputs(outputs))
        chunk.errors = [RowError(row=row_offset + i, key=None if bad[i] else keys[i],
                                 reason=reasons[i]) for i in sorted(reasons)]
        return chunk

    def _coerce_numeric(self, frame: Any, reasons: dict[int, str]) -> Any:
        """Turn text in numeric columns (CSV, SQL) into numbers; unparsable cells are bad rows."""
        import pandas as pd

        object_cols = [c for c in self._numeric if c in frame.columns
                       and frame[c].dtype.kind == "O"]
        if not object_cols:
            return frame
        frame = frame.copy()
        for col in object_cols:
            raw = frame[col]
            num = pd.to_numeric(raw, errors="coerce")
            wrong = (num.isna() & raw.notna()).to_numpy()
            for i in np.flatnonzero(wrong).tolist():
                reasons.setdefault(i, f"column {col!r}: expected a number, got "
                                      f"{str(raw.iloc[i])[:40]!r}")
            frame[col] = num.astype(np.float64)
        return frame

    def _isolate(self, frame: Any, positions: np.ndarray,
                 parts: list[tuple[np.ndarray, dict[str, np.ndarray]]],
                 reasons: dict[int, str]) -> None:
        """Predict ``frame``; on failure bisect down to the rows that fail."""
        if len(positions) == 0:
            return
        try:
            feeds = to_feeds(self.model.signature, frame)
            outputs = self.model.run(self.model.validate(feeds))
        except InvalidInput as exc:
            if len(positions) == 1:
                reasons[int(positions[0])] = _ROW_ZERO.sub("", str(exc))
                return
            half = len(positions) // 2
            self._isolate(frame.iloc[:half], positions[:half], parts, reasons)
            self._isolate(frame.iloc[half:], positions[half:], parts, reasons)
            return
        parts.append((positions, outputs))
