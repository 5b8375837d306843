"""Backfilling the online store from history with the batch engine.

``materialize`` computes, for every entity of each view, its point-in-time values
at one instant (default: the latest event or row time of the history) and writes
them to the online store, so serving has values before (or without) a streaming
worker. It writes values only; a streaming worker keeps its own checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from augur.features.batch import BatchEngine
from augur.features.definitions import FeatureView, TableFeatureView
from augur.features.online import OnlineStore

_CHUNK = 5000


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    return value


def materialize(views: Sequence[FeatureView | TableFeatureView], store: OnlineStore, *,
                at: int | None = None, sources: Mapping[str, Any] | None = None,
                engine: BatchEngine | None = None) -> dict[str, int]:
    """Write every entity's values of ``views`` at time ``at`` to ``store``.

    Args:
        views: the views to backfill.
        store: the online store.
        at: the instant (epoch ms); default: each history's latest time.
        sources: view name -> history/table overriding the view's own location.
        engine: the batch engine to use (default: a new one).

    Returns:
        View name -> number of entities written.

    Raises:
        InvalidInput: a history or table lacks a column.
        StoreError: the store or DuckDB failed.
    """
    engine = engine or BatchEngine()
    sources = sources or {}
    written: dict[str, int] = {}
    for view in views:
        keys, latest = engine.entities(view, sources.get(view.name))
        t = at if at is not None else latest
        if t is None or not keys:
            written[view.name] = 0
            continue
        key_col = view.entity.key
        labels = pd.DataFrame({key_col: keys, "__at": np.full(len(keys), t, dtype=np.int64)})
        table = engine.training_set(labels, [view], timestamp="__at",
                                    sources={view.name: sources[view.name]}
                                    if view.name in sources else None, from_archive=False)
        names = view.feature_names
        out_cols = [n if n in table.columns and n != key_col else f"{view.name}__{n}"
                    for n in names]
        ttl = None if view.ttl is None else view.ttl.total_seconds()
        records = table[[key_col, *out_cols]].itertuples(index=False, name=None)
        chunk: dict[str, dict[str, Any]] = {}
        for rec in records:
            chunk[str(rec[0])] = {n: _plain(v) for n, v in zip(names, rec[1:], strict=True)}
            if len(chunk) >= _CHUNK:
                store.write(view.name, chunk, int(t), ttl_s=ttl)
                chunk = {}
        if chunk:
            store.write(view.name, chunk, int(t), ttl_s=ttl)
        written[view.name] = len(keys)
    return written
