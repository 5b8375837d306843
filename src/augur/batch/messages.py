"""Turning a driver's exception text into the one line the CLI prints."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line (psycopg and pyarrow add hints on new lines)."""
    return " ".join(str(exc).split())
