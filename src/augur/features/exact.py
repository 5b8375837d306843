"""The arithmetic both feature engines share, written once for Python and once for SQL.

Floating-point addition is not associative, so a sum taken in arrival order (the
streaming engine) and one taken in DuckDB's order (the batch engine) can differ in
the last bit. ``sum`` and ``mean`` therefore add *fixed-point integers*: every
value is first quantized to ``precision`` decimal places,
``q = floor(x * 10**precision + 0.5)`` (one IEEE multiply, one add, one floor,
the same in both engines), the integers are added exactly, and the result is turned
back into a float by the same one or two IEEE divisions. Both engines therefore
return bit-identical values whatever the order of the events.

``min``, ``max``, ``last`` and ``distinct_count`` need no such care: they compare
values, they do not combine them.
"""

from __future__ import annotations

import math


def scale_of(precision: int) -> float:
    """Return ``10.0 ** precision`` as the float both engines multiply by."""
    return float(10**precision)


def quantize(value: float, scale: float) -> int:
    """Return ``floor(value * scale + 0.5)`` as an exact integer."""
    return math.floor(float(value) * scale + 0.5)


def finish_sum(sum_q: int, scale: float) -> float:
    """Return the float sum of quantized values."""
    return float(sum_q) / scale


def finish_mean(sum_q: int, n: int, scale: float) -> float:
    """Return the float mean of ``n`` quantized values summing to ``sum_q``."""
    return (float(sum_q) / float(n)) / scale


def finish_sums(sums_q: list[int], scale: float) -> list[float]:
    """Return :func:`finish_sum` of each of many sums (the same division, per item)."""
    return [float(q) / scale for q in sums_q]


def finish_means(sums_q: list[int], counts: list[int], scale: float) -> list[float | None]:
    """Return :func:`finish_mean` of each (sum, count) pair; None where the count is 0."""
    return [(float(q) / float(n)) / scale if n else None
            for q, n in zip(sums_q, counts, strict=True)]


def sql_quantize(column: str, scale: float) -> str:
    """SQL for :func:`quantize` of ``column`` (a HUGEINT)."""
    return f"CAST(floor(CAST({column} AS DOUBLE) * {scale!r} + 0.5) AS HUGEINT)"


def sql_finish_sum(sum_q: str, scale: float) -> str:
    """SQL for :func:`finish_sum`."""
    return f"(CAST({sum_q} AS DOUBLE) / {scale!r})"


def sql_finish_mean(sum_q: str, n: str, scale: float) -> str:
    """SQL for :func:`finish_mean` (NULL when ``n`` is 0)."""
    return (f"CASE WHEN {n} > 0 THEN (CAST({sum_q} AS DOUBLE) / CAST({n} AS DOUBLE)) "
            f"/ {scale!r} END")
