"""Reads shared by the prediction stores: the SQL ones differ only in placeholders, and
all of them report a corrupt stored value the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from augur.batch.predictions import Prediction, RowFailure
from augur.errors import StoreError

#: The ``WHERE`` condition matching some keys and its parameters (``key IN (?, ...)``
#: in SQLite, ``key = ANY(%s)`` in PostgreSQL).
KeysMatch = Callable[[list[str]], tuple[str, list[Any]]]


def read_errors(conn: Any, table: str, ph: str, run_id: str) -> list[dict[str, Any]]:
    """The error rows recorded for a run, in source order."""
    rows = conn.execute(f"SELECT row, key, reason FROM {table}_errors"
                        f" WHERE run_id = {ph} ORDER BY row", (run_id,)).fetchall()
    return [{"row": r[0], "key": r[1], "reason": r[2]} for r in rows]


def errors_index(table: str) -> str:
    """The index that finds a key's failures without scanning every run's errors."""
    return (f"CREATE INDEX IF NOT EXISTS {table.rsplit('.', 1)[-1]}_errors_by_key"
            f" ON {table}_errors (model, key)")


def read_failure(conn: Any, table: str, ph: str, model: str, key: str) -> RowFailure | None:
    """The latest failure recorded for ``(model, key)``, or ``None``."""
    row = conn.execute(f"SELECT run_id, row, reason, created_at FROM {table}_errors"
                       f" WHERE model = {ph} AND key = {ph} ORDER BY created_at DESC LIMIT 1",
                       (model, key)).fetchone()
    return None if row is None else RowFailure(model, key, row[0], int(row[1]), row[2],
                                               float(row[3]))


def key_equals(ph: str) -> KeysMatch:
    """The condition for one key: cheaper to plan than a one-element list or array."""
    condition = f"key = {ph}"
    return lambda keys: (condition, keys)


def read_predictions(conn: Any, table: str, ph: str, match: KeysMatch, chunk: int,
                     model: str, keys: list[str], decode: Callable[[Any], Any],
                     where: Callable[[], str]) -> list[Prediction | None]:
    """The stored predictions of ``keys`` by ``model``, one ``SELECT`` per ``chunk`` keys.

    Args:
        conn: an open DB-API connection.
        table: the predictions table.
        ph: the driver's placeholder (``?`` or ``%s``).
        match: builds the key condition for one chunk of distinct keys.
        chunk: at most this many keys per statement (SQLite limits bound variables).
        model: model name.
        keys: entity keys, duplicates allowed.
        decode: turns a stored ``outputs`` value into a dict.
        where: names the store in errors (called only then).

    Returns:
        One entry per key, in the order of ``keys``: the prediction or ``None``.

    Raises:
        StoreError: a stored value is not a JSON object.
    """
    distinct = list(dict.fromkeys(keys))
    found: dict[str, Prediction] = {}
    for start in range(0, len(distinct), chunk):
        condition, params = match(distinct[start:start + chunk])
        rows = conn.execute(f"SELECT key, outputs, version, run_id, created_at FROM {table}"
                            f" WHERE model = {ph} AND {condition}", [model, *params]).fetchall()
        for key, outputs, version, run_id, created_at in rows:
            found[key] = Prediction(model=model, key=key,
                                    outputs=decoded(decode, outputs, model, key, where),
                                    version=version, run_id=run_id, created_at=created_at)
    return [found.get(k) for k in keys]


def decoded(decode: Callable[[Any], Any], raw: Any, model: str, key: str,
            where: Callable[[], str]) -> dict[str, Any]:
    """``decode(raw)``, checked to be a JSON object.

    Raises:
        StoreError: ``raw`` does not decode, or not to an object; names model, key and store.
    """
    try:
        outputs = decode(raw)
    except (ValueError, TypeError) as exc:
        raise corrupt(model, key, where, f"outputs are not JSON ({exc})") from exc
    if not isinstance(outputs, dict):
        raise corrupt(model, key, where, f"outputs are a {type(outputs).__name__}, "
                                         "not a JSON object")
    return outputs


def corrupt(model: str, key: str, where: Callable[[], str], why: str) -> StoreError:
    """The error for an unreadable stored prediction."""
    return StoreError(f"the stored prediction of {model!r} for key {key!r} in {where()} "
                      f"is corrupt: {why}")
