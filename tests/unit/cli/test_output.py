"""Text output of the CLI: tables and key/value lines read as a person expects."""

from __future__ import annotations

import json

import numpy as np
import pytest

from augur.cli.output import emit, print_table
from cli_text import NOISE


def _float32_values() -> list[float]:
    """Values as a float32 model output turns into Python floats (``.tolist()``)."""
    return np.array([0.9999993443489075, 0.01, 200.87336730957031, 1e-7, 3.0, 12345.678,
                     0.1, 2.5e-5], dtype=np.float32).tolist()


@pytest.mark.parametrize("shape", ["scalar", "list", "dict", "numpy"])
def test_float32_outputs_print_at_float32_precision(
        shape: str, capsys: pytest.CaptureFixture[str]) -> None:
    values = _float32_values()
    if shape == "scalar":
        rows = [{"value": v} for v in values]
    elif shape == "list":
        rows = [{"value": values}]
    elif shape == "dict":
        rows = [{"value": {str(i): v for i, v in enumerate(values)}}]
    else:
        rows = [{"value": np.float32(v)} for v in values]
    print_table(rows, ["value"])
    out = capsys.readouterr().out
    assert not NOISE.search(out), out
    for text in ("0.99999934", "0.01", "200.87337", "1e-07", "12,345.678", "0.1"):
        assert text in out
    if shape in ("scalar", "numpy"):  # each figure reads back as the float32 it was
        shown = [float(line.replace(",", "")) for line in out.splitlines()[1:]]
        assert [float(np.float32(v)) for v in shown] == values


def test_key_value_lines_use_the_same_precision(capsys: pytest.CaptureFixture[str]) -> None:
    emit({"outputs": {"label": 1, "probabilities": _float32_values()[:2]}, "version": 3},
         as_json=False)
    out = capsys.readouterr().out
    assert "0.99999934" in out and not NOISE.search(out), out


def test_json_keeps_full_values(capsys: pytest.CaptureFixture[str]) -> None:
    values = _float32_values()
    emit({"values": values}, as_json=True)
    assert json.loads(capsys.readouterr().out)["values"] == values


def test_measured_figures_read_without_exponents(capsys: pytest.CaptureFixture[str]) -> None:
    print_table([{"rows_s": 266_412.37, "p50_ms": 0.0123456, "batch_ms": 12.3456,
                  "runs": 12, "ratio": float("nan")}],
                ["rows_s", "p50_ms", "batch_ms", "runs", "ratio"])
    out = capsys.readouterr().out
    assert "266,412" in out and "0.01235" in out and "12.35" in out and "nan" in out
    assert "e+" not in out
