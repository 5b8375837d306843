"""Calibration and validation data: read from files, turned into model feeds.

A data set is the caller's rows (a DataFrame, an array, or a list of strings
for a text model) plus, optionally, the true target. Files: ``.csv``,
``.parquet``, ``.jsonl`` (records), ``.npy`` (one input tensor), ``.txt`` (one
sentence per line, for text models).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from augur.errors import ConfigError, InvalidInput
from augur.runtime import to_feeds
from augur.signature import Signature

SUFFIXES = (".csv", ".parquet", ".jsonl", ".npy", ".txt")


@dataclass(frozen=True)
class Dataset:
    """Rows to run a model on, with the true target when known.

    Attributes:
        rows: what :func:`augur.runtime.to_feeds` accepts (DataFrame, array, records)
            or a list of strings for a model with one BYTES input.
        target: the true labels or values, one per row, or ``None``.
        source: where the rows came from (for reports).
    """

    rows: Any
    target: np.ndarray | None = None
    source: str = "in-memory"

    def __len__(self) -> int:
        return len(self.rows)

    def feeds(self, signature: Signature) -> dict[str, np.ndarray]:
        """The rows as validated feeds for ``signature``.

        Raises:
            InvalidInput: the rows do not match the signature.
        """
        rows = self.rows
        if isinstance(rows, list | tuple) and rows and all(isinstance(r, str) for r in rows):
            rows = np.array(list(rows), dtype=object)
        try:
            return to_feeds(signature, rows)
        except InvalidInput as exc:
            raise InvalidInput(f"{self.source}: {exc}") from exc


def as_dataset(data: Any, target: Any = None, source: str = "in-memory") -> Dataset:
    """Wrap caller data (or pass a :class:`Dataset` through)."""
    if isinstance(data, Dataset):
        return data
    if data is None or len(data) == 0:
        raise ConfigError(f"{source}: no rows")
    return Dataset(data, None if target is None else np.asarray(target), source)


def read_dataset(path: str | Path, *, target: str | None = None,
                 limit: int | None = None) -> Dataset:
    """Read a data file.

    Args:
        path: a ``.csv``, ``.parquet``, ``.jsonl``, ``.npy`` or ``.txt`` file.
        target: a column holding the true label/value (removed from the rows).
        limit: keep at most this many rows.

    Raises:
        ConfigError: the file is missing, empty, of an unknown kind, or lacks ``target``.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"data file {p} does not exist")
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(f"data file {p}: unknown kind {suffix!r}; use one of "
                          f"{', '.join(SUFFIXES)}")
    rows: Any
    try:
        if suffix == ".txt":
            rows = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        elif suffix == ".npy":
            rows = np.load(p, allow_pickle=False)
        else:
            import pandas as pd

            rows = (pd.read_csv(p) if suffix == ".csv" else pd.read_parquet(p)
                    if suffix == ".parquet" else pd.read_json(p, lines=True))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read data file {p}: {exc}") from exc
    if len(rows) == 0:
        raise ConfigError(f"data file {p} has no rows")
    truth = None
    if target is not None:
        if not hasattr(rows, "columns") or target not in rows.columns:
            raise ConfigError(f"data file {p} has no column {target!r} to use as the target")
        truth = rows[target].to_numpy()
        rows = rows.drop(columns=[target])
    if limit is not None:
        rows = rows[:limit]
        truth = None if truth is None else truth[:limit]
    return Dataset(rows, truth, str(p))
