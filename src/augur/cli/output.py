"""Printing records and tables, as text or JSON (``--json``).

Text output is for people: a float that came from a float32 tensor is printed at
float32 precision (``0.99999934``, not ``0.9999993443489075``, as the server's JSON
does), measured figures at four significant digits, and large figures with thousands
separators instead of exponents. ``--json`` keeps every value as it is.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=_default)
    sys.stdout.write("\n")


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print rows as an aligned text table with the given columns."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def one_of(suffixes: Sequence[str]) -> str:
    """``(".json", ".csv", ".parquet")`` -> ``".json, .csv or .parquet"`` (for help texts,
    which list what the reader accepts from the reader's own constant)."""
    return ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 \
        else "".join(suffixes)


def format_number(value: float | np.floating[Any]) -> str:
    """A float as a person reads it (see the module docstring)."""
    x = float(value)
    if not math.isfinite(x):
        return str(x)
    is_float32 = isinstance(value, np.float32 | np.float16) or float(np.float32(x)) == x
    if is_float32:
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}" if abs(x) >= 1e4 else str(int(x))
        if 1e-4 <= abs(x) < 1e7:
            text = np.format_float_positional(np.float32(x), unique=True, trim="-")
            whole, _, frac = text.partition(".")
            if abs(x) >= 1e4:
                whole = f"{int(whole):,}"
            return f"{whole}.{frac}" if frac else whole
        return np.format_float_scientific(np.float32(x), unique=True, trim="-")
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def render(value: Any) -> str:
    """A value as text: numbers per :func:`format_number`, lists and dicts inline."""
    if value is None:
        return "-"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        return format_number(value)
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, np.ndarray):
        return render(value.tolist())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={render(v)}" for k, v in value.items()) or "-"
    return render(value)


def emit(obj: Any, as_json: bool, rows: Sequence[dict[str, Any]] | None = None,
         columns: Sequence[str] | None = None) -> None:
    """Print ``obj`` as JSON, or ``rows`` as a table (or ``obj`` as key: value lines)."""
    if as_json:
        print_json(obj)
    elif rows is not None and columns is not None:
        print_table(rows, columns)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            print(f"{k}: {render(v)}")
    else:
        print(obj)
