"""Training/serving skew from a history without arrival order, counted and said once.

A stream worker drops an event that arrives more than the allowed lateness behind
the largest event time it has accepted. A history without the arrival order
(:attr:`~augur.features.EventSource.arrival_column`) cannot say which events those
were, so the batch engine takes event-time order and keeps them all: training
counts events serving never saw. :func:`likely_late` estimates how many, and the
batch engine warns with :class:`ArrivalOrderWarning` once per source.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from augur.features.definitions import EventSource


class ArrivalOrderWarning(UserWarning):
    """A training set was built from a history that has no arrival order."""


def likely_late(con: duckdb.DuckDBPyConnection, relation: str, *, key: str, time: str,
                event_id: str, lateness_ms: int) -> tuple[int, int]:
    """Count the events a stream reading ``relation`` in its row order would drop.

    Events are taken in the order the history lists them (the order an export
    usually keeps), repeated ids after their first occurrence are left out, and an
    event counts when its time is more than ``lateness_ms`` behind the running
    maximum of the event times before it: the streaming engine's rule.

    Args:
        con: the DuckDB connection holding ``relation``.
        relation: the history.
        key: SQL of the entity key; time: SQL of the event time in ms; event_id: SQL of the id.
        lateness_ms: the source's allowed lateness.

    Returns:
        ``(likely late, valid events)``.
    """
    table: pa.Table = con.sql(
        f"SELECT {time} AS t, CAST({event_id} AS VARCHAR) AS i FROM {relation} "
        f"WHERE {key} IS NOT NULL AND {time} IS NOT NULL AND {event_id} IS NOT NULL",
    ).to_arrow_table()
    if table.num_rows < 2:
        return 0, table.num_rows
    times = table.column("t").to_numpy()
    ids = pc.dictionary_encode(table.column("i").combine_chunks()).indices.to_numpy()
    _, first = np.unique(ids, return_index=True)
    first.sort()
    t = times[first]
    running = np.maximum.accumulate(t)[:-1]
    return int(np.count_nonzero(t[1:] < running - lateness_ms)), len(t)


def arrival_message(source: EventSource, late: int, total: int) -> str:
    """The one-paragraph warning for ``source``'s history without arrival order."""
    lateness = source.lateness_ms
    return (f"the event history of {source.name!r} has no arrival order (no "
            f"{source.arrival_column!r} column) and the source allows {lateness} ms of "
            f"lateness, so training keeps events a stream would have dropped as too late: "
            f"{late:,} of {total:,} events sit more than {lateness} ms behind the running "
            f"maximum event time in the order the history lists them. Supply the order as "
            f"an {source.arrival_column!r} column (an ingestion time or stream offset), or "
            "train from the stream worker's archive.")
