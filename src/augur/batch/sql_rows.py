"""Reads shared by the SQL prediction stores (SQLite and PostgreSQL differ only in placeholders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from augur.batch.records import Prediction


def read_errors(conn: Any, table: str, ph: str, run_id: str) -> list[dict[str, Any]]:
    """The error rows recorded for a run, in source order."""
    rows = conn.execute(f"SELECT row, key, reason FROM {table}_errors"
                        f" WHERE run_id = {ph} ORDER BY row", (run_id,)).fetchall()
    return [{"row": r[0], "key": r[1], "reason": r[2]} for r in rows]


def read_prediction(conn: Any, table: str, ph: str, model: str, key: str,
                    decode: Callable[[Any], dict[str, Any]]) -> Prediction | None:
    """The stored prediction of ``key`` by ``model``, outputs decoded by ``decode``."""
    row = conn.execute(f"SELECT outputs, version, run_id, created_at FROM {table}"
                       f" WHERE key = {ph} AND model = {ph}", (key, model)).fetchone()
    if row is None:
        return None
    return Prediction(model=model, key=key, outputs=decode(row[0]), version=row[1],
                      run_id=row[2], created_at=row[3])
