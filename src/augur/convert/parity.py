"""Parity between a native model and its ONNX export."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """How far the export may drift from the native model.

    An output element passes when ``|onnx - native| <= atol + rtol * |native|``;
    labels must agree on at least ``min_label_agreement`` of the rows.
    """

    rtol: float = 1e-4
    atol: float = 1e-5
    min_label_agreement: float = 1.0


@dataclass(frozen=True)
class ParityReport:
    """Measured differences on the sample rows, stored with the version."""

    rows: int
    max_abs_diff: float
    max_rel_diff: float
    label_agreement: float | None
    passed: bool
    tolerance: Tolerance
    precision: str = "float32"
    outputs: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        parts = [f"{self.rows} rows", f"max abs diff {self.max_abs_diff:.3g}",
                 f"max rel diff {self.max_rel_diff:.3g}"]
        if self.label_agreement is not None:
            parts.append(f"label agreement {self.label_agreement:.2%}")
        return ", ".join(parts)


def compare(native: dict[str, np.ndarray], exported: dict[str, np.ndarray], *,
            label_output: str | None, tolerance: Tolerance, precision: str) -> ParityReport:
    """Compare outputs output by output (same names in both mappings)."""
    rows = 0
    max_abs = 0.0
    max_rel = 0.0
    agreement: float | None = None
    passed = True
    per_output: dict[str, dict[str, float]] = {}
    for name, want in native.items():
        got = exported[name]
        want_arr = np.asarray(want)
        got_arr = np.asarray(got)
        rows = max(rows, len(want_arr))
        if name == label_output:
            same = want_arr.reshape(len(want_arr), -1) == got_arr.reshape(len(got_arr), -1)
            agreement = float(np.mean(np.all(same, axis=1))) if len(same) else 1.0
            per_output[name] = {"label_agreement": agreement}
            passed &= agreement >= tolerance.min_label_agreement
            continue
        w = want_arr.astype(np.float64).reshape(len(want_arr), -1)
        g = got_arr.astype(np.float64).reshape(len(got_arr), -1)
        if w.shape != g.shape:
            per_output[name] = {"shape_mismatch": 1.0}
            passed = False
            continue
        diff = np.abs(g - w)
        scale = np.abs(w)
        big = scale > tolerance.atol
        abs_d = float(diff.max()) if diff.size else 0.0
        rel_d = float((diff[big] / scale[big]).max()) if big.any() else 0.0
        per_output[name] = {"max_abs_diff": abs_d, "max_rel_diff": rel_d}
        max_abs, max_rel = max(max_abs, abs_d), max(max_rel, rel_d)
        passed &= bool(np.all(diff <= tolerance.atol + tolerance.rtol * scale))
    return ParityReport(rows=rows, max_abs_diff=max_abs, max_rel_diff=max_rel,
                        label_agreement=agreement, passed=bool(passed), tolerance=tolerance,
                        precision=precision, outputs=per_output)
