"""Input validation of named tensors against a signature, fast in the common case.

Decoded tensors usually already have the signature's dtype and rank, so the
check is a few comparisons. Anything else depends on who sent it: a caller that
declared its datatypes (an Open Inference Protocol request) is held to them, as
Triton does, and a mismatch names the input, the expected and the received type;
a caller that did not (Python arrays, a batch job) goes through
:func:`~augur.runtime.inputs.check_tensor`, which converts what it can without loss
and names the field when it cannot.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from augur.errors import InvalidInput
from augur.runtime.inputs import RecordPlan, check_tensor
from augur.signature import Signature, TensorSpec, v2_datatype


class FeedValidator:
    """Checks request tensors against one version's signature.

    Args:
        signature: the version's signature.
    """

    def __init__(self, signature: Signature) -> None:
        self.signature = signature
        self._specs: dict[str, TensorSpec] = {s.name: s for s in signature.inputs}
        self.names = frozenset(self._specs)
        self._plan: dict[str, tuple[np.dtype[Any], int, tuple[tuple[int, int], ...], bool]] = {}
        for spec in signature.inputs:
            nan_ok = all(c.nullable for c in signature.columns if c.tensor == spec.name)
            fixed = tuple((axis, dim) for axis, dim in enumerate(spec.shape) if dim >= 0)
            check_nan = spec.numpy_dtype.kind == "f" and not nan_ok
            self._plan[spec.name] = (spec.numpy_dtype, len(spec.shape), fixed, check_nan)
        self._nan_ok = {name: not plan[3] for name, plan in self._plan.items()}
        #: records of plain numbers as this signature's tensors, in one conversion
        self.records = RecordPlan(signature)

    def check(self, feeds: dict[str, np.ndarray], *,
              strict: bool = False) -> dict[str, np.ndarray]:
        """Return ``feeds`` in the signature's dtypes, or raise naming what is wrong.

        Args:
            feeds: input name -> array.
            strict: the arrays carry datatypes the caller declared; one that is not
                the signature's is refused instead of converted.

        Raises:
            InvalidInput: a missing or unknown input, wrong rank or dimension, a
                datatype that differs (``strict``) or cannot be converted, NaN where
                none is allowed, or inputs with different numbers of rows.
        """
        if feeds.keys() != self.names:
            self._explain_names(feeds)
        out: dict[str, np.ndarray] = {}
        rows = -1
        for name, arr in feeds.items():
            dtype, ndim, fixed, check_nan = self._plan[name]
            ok = arr.dtype == dtype and arr.ndim == ndim
            if ok:
                shape = arr.shape
                for axis, dim in fixed:
                    if shape[axis] != dim:
                        ok = False
                        break
            if not ok:
                spec = self._specs[name]
                if strict and arr.dtype != dtype and not (dtype.kind == "O"
                                                          and arr.dtype.kind in "OUS"):
                    raise InvalidInput(f"input {name!r}: expected {spec.datatype}, got "
                                       f"datatype {v2_datatype(arr.dtype)} (the declared "
                                       "datatype must be the model's)")
                arr = check_tensor(spec, arr, allow_nan=self._nan_ok[name])
            elif check_nan and arr.size:
                flat = arr.reshape(-1)
                # a sum of squares is NaN exactly when some value is (overflow gives inf)
                if math.isnan(flat.dot(flat)):
                    row = int(np.argwhere(np.isnan(arr))[0][0])
                    raise InvalidInput(f"input {name!r}: NaN at row {row} is not allowed")
            if arr.ndim:
                if rows >= 0 and arr.shape[0] != rows:
                    raise InvalidInput(f"inputs have different numbers of rows: input {name!r} "
                                       f"has {arr.shape[0]}, another has {rows}")
                rows = arr.shape[0]
            out[name] = arr
        return out

    def _explain_names(self, feeds: dict[str, np.ndarray]) -> None:
        missing = sorted(self.names - feeds.keys())
        extra = sorted(feeds.keys() - self.names)
        parts = []
        if missing:
            parts.append(f"missing input(s) {missing}")
        if extra:
            parts.append(f"unknown input(s) {extra}")
        raise InvalidInput("; ".join(parts) + f"; the model takes {sorted(self.names)}")


def warmup_feeds(signature: Signature, rows: int = 1) -> dict[str, np.ndarray]:
    """Feeds of ``rows`` rows of zeros (empty strings) shaped by the signature."""
    feeds: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        shape = [rows if i == 0 and d < 0 else (d if d >= 0 else 1)
                 for i, d in enumerate(spec.shape)]
        if spec.datatype == "BYTES":
            arr = np.empty(shape, dtype=object)
            arr.fill("")
        else:
            arr = np.zeros(shape, dtype=spec.numpy_dtype)
        feeds[spec.name] = arr
    return feeds
