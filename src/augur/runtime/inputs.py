"""Turning caller data (arrays, DataFrames, records) into validated model feeds.

Every check names the field, what the signature expects and what came, so a
caller can fix the request without reading the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from augur.errors import InvalidInput
from augur.signature import ColumnSpec, Signature, TensorSpec

# numpy kinds that may be converted losslessly (or by float rounding) to a target kind.
_CASTABLE = {
    "f": {"f", "i", "u", "b"},
    "i": {"i", "u", "b"},
    "u": {"u", "b"},
    "b": {"b"},
    "O": {"O", "U", "S"},
}


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _cast(arr: np.ndarray, want: np.dtype[Any], field: str) -> np.ndarray:
    """Cast numbers to ``want``, refusing values the narrower type cannot hold."""
    if want.kind == "f" and arr.dtype.kind == "f" and arr.dtype.itemsize > want.itemsize:
        with np.errstate(over="ignore"):
            out = arr.astype(want)
        overflow = np.isinf(out) & ~np.isinf(arr)
        if overflow.any():
            row = int(np.argwhere(overflow)[0][0])
            raise InvalidInput(f"{field}: value {arr[np.argwhere(overflow)[0][0]]!r} at row {row} "
                               f"is beyond the range of {want}")
        return out
    if want.kind in "iu" and arr.dtype.kind in "iu":
        info = np.iinfo(want)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise InvalidInput(f"{field}: values out of the range of {want} "
                               f"[{info.min}, {info.max}]")
    return arr.astype(want)


def check_tensor(spec: TensorSpec, array: Any, *, allow_nan: bool = True) -> np.ndarray:
    """Validate one tensor against its spec and return it in the spec's dtype.

    Raises:
        InvalidInput: wrong rank, a fixed dimension that differs, a dtype that
            cannot be converted without loss, or NaN where none is allowed.
    """
    arr = array if isinstance(array, np.ndarray) else np.asarray(array)
    want = spec.numpy_dtype
    if arr.ndim != len(spec.shape):
        raise InvalidInput(f"input {spec.name!r}: expected {len(spec.shape)} dimensions "
                           f"(shape {list(spec.shape)}), got shape {list(arr.shape)}")
    for axis, (want_dim, got_dim) in enumerate(zip(spec.shape, arr.shape, strict=True)):
        if want_dim >= 0 and want_dim != got_dim:
            raise InvalidInput(f"input {spec.name!r}: dimension {axis} must be {want_dim}, "
                               f"got shape {list(arr.shape)}")
    if arr.dtype != want:
        if arr.dtype.kind not in _CASTABLE.get(want.kind, {want.kind}):
            raise InvalidInput(f"input {spec.name!r}: expected {spec.datatype}, "
                               f"got {arr.dtype} values that cannot be converted")
        arr = arr.astype(object) if want.kind == "O" else _cast(arr, want, spec.name)
    if not allow_nan and want.kind == "f" and arr.size and np.isnan(arr).any():
        row = int(np.argwhere(np.isnan(arr))[0][0])
        raise InvalidInput(f"input {spec.name!r}: NaN at row {row} is not allowed")
    return arr


_PLAIN_NUMBERS = {int, float}


def _column_values(col: ColumnSpec, values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Convert one column's values to the kind the signature declares."""
    if col.kind == "string" and not isinstance(values, np.ndarray) \
            and set(map(type, values)) <= {str}:
        return np.array(values, dtype=object)
    if col.kind != "string" and not isinstance(values, np.ndarray) \
            and set(map(type, values)) <= _PLAIN_NUMBERS:
        # Fast path for records of plain numbers: one C-level conversion, then the
        # same NaN / integrality checks as below (ints stay exact as int64).
        as_int = col.kind != "float" and set(map(type, values)) <= {int}
        try:
            values = np.array(values, dtype=np.int64 if as_int else np.float64)
        except OverflowError:
            values = np.asarray(values, dtype=object)
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if col.kind == "string":
        out = np.empty(len(arr), dtype=object)
        for i, v in enumerate(arr):
            if isinstance(v, str):
                out[i] = v
            elif v is None or (isinstance(v, float) and np.isnan(v)):
                if not col.nullable:
                    raise InvalidInput(f"column {col.name!r}: missing value at row {i} "
                                       "(expected a string)")
                out[i] = ""
            else:
                raise InvalidInput(f"column {col.name!r}: expected a string, got "
                                   f"{_describe(v)} ({type(v).__name__}) at row {i}")
        return out
    if arr.dtype.kind in "fiub":
        num = arr
    else:
        num = np.empty(len(arr), dtype=np.float64)
        for i, v in enumerate(arr):
            if v is None:
                num[i] = np.nan
            elif isinstance(v, bool | np.bool_):
                if col.kind != "bool":
                    raise InvalidInput(f"column {col.name!r}: expected {col.kind}, got "
                                       f"{_describe(v)} at row {i}")
                num[i] = float(v)
            elif isinstance(v, int | float | np.integer | np.floating):
                num[i] = float(v)
            else:
                raise InvalidInput(f"column {col.name!r}: expected {col.kind}, got "
                                   f"{_describe(v)} ({type(v).__name__}) at row {i}")
    if num.dtype.kind == "f":
        nan = np.isnan(num)
        if nan.any() and not col.nullable:
            raise InvalidInput(f"column {col.name!r}: missing value (NaN) at row "
                               f"{int(np.argmax(nan))}, and the column does not allow NaN")
        if col.kind in ("int", "bool"):
            ok = ~nan
            if (num[ok] != np.round(num[ok])).any():
                bad = int(np.argmax(ok & (num != np.round(num))))
                raise InvalidInput(f"column {col.name!r}: expected {col.kind}, got "
                                   f"{_describe(num[bad].item())} at row {bad}")
    return num


def _from_columns(signature: Signature, table: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
    missing = [c.name for c in signature.columns if c.name not in table]
    if missing:
        expected = ", ".join(c.name for c in signature.columns)
        raise InvalidInput(f"missing column(s) {', '.join(map(repr, missing))}; "
                           f"the model expects: {expected}")
    feeds: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        cols = [c for c in signature.columns if c.tensor == spec.name]
        if not cols:
            raise InvalidInput(f"input {spec.name!r} is not fed by any column")
        dtype = spec.numpy_dtype
        if len(cols) == 1 and cols[0].index is None:
            values = _column_values(cols[0], table[cols[0].name])
            feeds[spec.name] = (values.reshape(n, 1) if dtype.kind == "O"
                                else _cast(values, dtype, f"column {cols[0].name!r}").reshape(n, 1))
            continue
        width = max(c.index or 0 for c in cols) + 1
        mat = np.empty((n, width), dtype=dtype)
        for c in cols:
            mat[:, c.index or 0] = _cast(_column_values(c, table[c.name]), dtype,
                                         f"column {c.name!r}")
        feeds[spec.name] = mat
    return feeds


class RecordPlan:
    """How records of plain numbers become one signature's float tensors in one conversion.

    Made once per signature (a version's :class:`~augur.runtime.FeedValidator` holds
    one): the common tabular case, every column a float or int feeding a float tensor
    at an index, then costs one ``np.array`` per request instead of one per column.

    Args:
        signature: the signature to plan for.
    """

    def __init__(self, signature: Signature) -> None:
        cols = signature.columns
        specs = {s.name: s for s in signature.inputs}
        self.usable = len(cols) >= 2 and all(
            c.kind in ("float", "int") and c.index is not None and c.tensor in specs
            and specs[c.tensor].numpy_dtype.kind == "f" for c in cols)
        self.getter = itemgetter(*(c.name for c in cols)) if self.usable else None
        self.ints = [i for i, c in enumerate(cols) if c.kind == "int"]
        self.no_nan = not all(c.nullable for c in cols)
        self.blocks: list[tuple[str, list[int] | None, np.dtype[Any]]] = []
        for spec in signature.inputs:
            placed = sorted((c.index or 0, i) for i, c in enumerate(cols) if c.tensor == spec.name)
            if [index for index, _ in placed] != list(range(len(placed))):
                self.usable = False  # gaps or repeats: not one block
            order = [i for _, i in placed]
            self.blocks.append((spec.name, None if order == list(range(len(cols))) else order,
                                spec.numpy_dtype))

    def feeds(self, records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray] | None:
        """The feeds of ``records``, or ``None`` whenever they are anything but plain numbers
        in range (missing fields, strings, nulls, booleans, fractions in an int column):
        the column-by-column path then says exactly what is wrong."""
        if not self.usable or self.getter is None:
            return None
        try:
            rows = list(map(self.getter, records))
        except (KeyError, TypeError):
            return None
        if not set(map(type, chain.from_iterable(rows))) <= _PLAIN_NUMBERS:
            return None
        try:
            mat = np.array(rows, dtype=np.float64)
        except OverflowError:
            return None
        if self.ints and (mat[:, self.ints] != np.round(mat[:, self.ints])).any():
            return None
        if self.no_nan and np.isnan(mat).any():  # float("nan") from Python callers
            return None
        feeds: dict[str, np.ndarray] = {}
        for name, order, want in self.blocks:
            block = mat if order is None else mat[:, order]
            if want.itemsize < 8 and block.size and np.abs(block).max() > np.finfo(want).max:
                return None  # the column-by-column path names the column
            feeds[name] = block.astype(want)
        return feeds


def to_feeds(signature: Signature, data: Any,
             plan: RecordPlan | None = None) -> dict[str, np.ndarray]:
    """Turn caller data into validated ONNX Runtime feeds.

    Accepts a mapping of input name to array, a pandas DataFrame, a list of
    records (dicts), one record, or an array / nested list for a model with one
    input.

    Raises:
        InvalidInput: the data does not match the signature; the message names
            the field, what was expected and what came.
    """
    nan_ok = {s.name: all(c.nullable for c in signature.columns if c.tensor == s.name)
              for s in signature.inputs}
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        if signature.columns:
            table = {str(c): data[c].to_numpy() for c in data.columns}
            return _from_columns(signature, table, len(data))
        data = data.to_numpy()
    if isinstance(data, Mapping):
        names = {s.name for s in signature.inputs}
        arrays = all(isinstance(v, np.ndarray | list | tuple) for v in data.values())
        if data and set(data) <= names and arrays and not (
                signature.columns and any(c.name in data for c in signature.columns)):
            missing = sorted(names - set(data))
            if missing:
                raise InvalidInput(f"missing input(s) {', '.join(map(repr, missing))}")
            return {s.name: check_tensor(s, data[s.name], allow_nan=nan_ok[s.name])
                    for s in signature.inputs}
        if not signature.columns:
            unknown = sorted(set(data) - names) or sorted(names)
            raise InvalidInput(f"unknown or missing input(s) {unknown}; the model takes: "
                               f"{', '.join(sorted(names))}")
        if data and arrays:  # columnar: {"age": [31, 40], "city": ["Paris", "Oslo"]}
            lengths = {len(v) for v in data.values()}
            if len(lengths) != 1:
                raise InvalidInput(f"columns have different lengths: {sorted(lengths)}")
            columnar: dict[str, Any] = {k: list(v) for k, v in data.items()}
            return _from_columns(signature, columnar, lengths.pop())
        return to_feeds(signature, [data])
    if isinstance(data, list | tuple) and data and all(isinstance(r, Mapping) for r in data):
        if not signature.columns:
            raise InvalidInput("this model takes tensors, not records: send an array for input "
                               f"{signature.inputs[0].name!r}")
        fast = (plan or RecordPlan(signature)).feeds(data)
        if fast is not None:
            return fast
        needed = {c.name for c in signature.columns}
        for i, r in enumerate(data):
            if not needed <= r.keys():
                missing = sorted(needed - r.keys())
                noun = "column" if len(missing) == 1 else "columns"
                raise InvalidInput(f"record {i} is missing {noun} "
                                   f"{', '.join(map(repr, missing))}")
        records: dict[str, Any] = {c.name: list(map(itemgetter(c.name), data))
                                   for c in signature.columns}
        return _from_columns(signature, records, len(data))
    if len(signature.inputs) != 1:
        raise InvalidInput(f"the model has {len(signature.inputs)} inputs "
                           f"({', '.join(s.name for s in signature.inputs)}): send a mapping "
                           "of input name to array, or records")
    spec = signature.inputs[0]
    try:
        arr = np.asarray(data, dtype=object if spec.datatype == "BYTES" else None)
    except ValueError as exc:
        raise InvalidInput(f"input {spec.name!r}: ragged or malformed array: {exc}") from exc
    return {spec.name: check_tensor(spec, arr, allow_nan=nan_ok[spec.name])}
