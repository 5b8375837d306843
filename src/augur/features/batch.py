"""The batch engine: point-in-time-correct feature values from history, in DuckDB.

Given labels, a table of ``(entity key, timestamp[, anything else])``, it returns each
label row with every feature as it was at that timestamp, using only events at or
before it, with the semantics of :mod:`augur.features.definitions` written as SQL:
deduplication and the watermark are window functions over the arrival order,
sliding and tumbling windows are range joins, lifetime windows are running
aggregates found with ASOF joins, table features are ASOF joins. No Python loop
ever touches an event.

Where the events come from, per streaming view: the ``sources`` argument if it
names the view; else the stream worker's archive (:mod:`augur.features.archive`)
when it holds events of the view: the accepted ones, in the order the worker
applied them, so training sees exactly what serving saw; else the view's own
history. A history without arrival order, of a source that allows lateness, is
said once per source with an :class:`~augur.features.skew.ArrivalOrderWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from augur.errors import InvalidInput, StoreError
from augur.features.archive import DEFAULT_ARCHIVE, EventArchive
from augur.features.archive_rows import OUTCOME, SEQ
from augur.features.definitions import Aggregation, FeatureView, TableFeatureView, Window
from augur.features.exact import scale_of, sql_finish_mean, sql_finish_sum, sql_quantize
from augur.features.offline import columns_of, millis_expr, register_source
from augur.features.skew import ArrivalOrderWarning, arrival_message, likely_late
from augur.features.store_factory import open_archive
from augur.features.streaming import ACCEPTED


@dataclass(frozen=True)
class BatchStats:
    """What the batch engine did with a history: the streaming engine's counters."""

    accepted: int
    out_of_order: int
    duplicates: int
    late: int
    invalid: int


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class BatchEngine:
    """Computes point-in-time feature values with DuckDB.

    Args:
        threads: DuckDB worker threads (None: DuckDB's default, all cores).
        archive: the stream workers' archive, read instead of a view's history when it
            holds events of the view: an :class:`EventArchive`, a folder, or
            ``postgresql://...#table``; ``$AUGUR_HOME`` is expanded when first used.
            None reads histories only.

    Attributes:
        read_from: view name -> where its events were read ("archive ..." or
            "history ..."), for the views of the last calls.
    """

    def __init__(self, threads: int | None = None, *,
                 archive: EventArchive | str | Path | None = DEFAULT_ARCHIVE) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'").fetchall()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}").fetchall()
        self._n = 0
        self._archive_at = archive
        self._archive: EventArchive | None = None
        self._warned: set[str] = set()
        self.read_from: dict[str, str] = {}

    def archive(self) -> EventArchive | None:
        """The archive this engine reads (opened on first use), or None."""
        if self._archive is None and self._archive_at is not None:
            at = self._archive_at
            self._archive = at if not isinstance(at, str | Path) else open_archive(at)
        return self._archive

    def _events(self, view: FeatureView, given: Any, from_archive: bool) -> tuple[Any, bool]:
        """``(events, archived)`` of ``view``: given, else archived, else its history."""
        if given is not None:
            self.read_from[view.name] = "given events"
            return given, False
        archive = self.archive() if from_archive else None
        archived = None if archive is None else archive.history(view)
        if archived is not None and archive is not None:
            self.read_from[view.name] = f"archive {archive.describe()}"
            return archived, True
        self.read_from[view.name] = f"history {view.source.history}"
        return view.source.history, False

    def _accepted(self, view: FeatureView, events: Any, archived: bool = False) -> str:
        """Create the view of accepted events of ``view``'s source; return its name."""
        self._n += 1
        raw, name = f"raw_{self._n}", f"acc_{self._n}"
        register_source(self.con, raw, events if events is not None else view.source.history)
        src, cols = view.source, columns_of(self.con, raw)
        for col in (view.entity.key, src.time_column, src.id_column):
            if col not in cols:
                raise InvalidInput(f"event history of {src.name!r} has no column {col!r}")
        t = millis_expr(self.con, raw, src.time_column)
        arrival = _q(src.arrival_column) if src.arrival_column in cols else "__t"
        where = ""
        if archived:  # the worker's verdicts, in the order it applied the events
            arrival, where = _q(SEQ), f"WHERE {_q(OUTCOME)} = '{ACCEPTED}'"
        elif src.arrival_column not in cols and src.lateness_ms > 0 and \
                src.name not in self._warned:
            self._warned.add(src.name)
            late, total = likely_late(self.con, raw, key=_q(view.entity.key), time=t,
                                      event_id=_q(src.id_column), lateness_ms=src.lateness_ms)
            warnings.warn(ArrivalOrderWarning(arrival_message(src, late, total)), stacklevel=3)
        extra = ", ".join(f"{_q(c)}" for c in src.schema if c in cols)
        missing = [c for c in src.schema if c not in cols]
        nulls = ", ".join(f"NULL AS {_q(c)}" for c in missing)
        select = ", ".join(x for x in (extra, nulls) if x)
        self.con.execute(f"""
            CREATE OR REPLACE TEMP VIEW {name}_all AS
            SELECT CAST({_q(view.entity.key)} AS VARCHAR) AS __k, {t} AS __t,
                   CAST({_q(src.id_column)} AS VARCHAR) AS __id{', ' + select if select else ''},
                   {arrival} AS __arr
            FROM {raw} {where}""").fetchall()
        self.con.execute(f"""
            CREATE OR REPLACE TEMP VIEW {name}_dedup AS
            SELECT * FROM {name}_all
            WHERE __k IS NOT NULL AND __t IS NOT NULL AND __id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY __id ORDER BY __arr, __t) = 1""").fetchall()
        lateness = src.lateness_ms
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT * FROM (
                SELECT *, max(__t) OVER (ORDER BY __arr ROWS BETWEEN UNBOUNDED PRECEDING
                                         AND 1 PRECEDING) AS __m
                FROM {name}_dedup)
            WHERE __m IS NULL OR __t >= __m - {lateness}""").fetchall()
        return name

    def stats(self, view: FeatureView, events: Any = None) -> BatchStats:
        """Count accepted, duplicate, late and invalid events of a history."""
        name = self._accepted(view, events)
        total, valid, dedup, acc, ooo = self.con.execute(f"""
            SELECT (SELECT count(*) FROM {name}_all),
                   (SELECT count(*) FROM {name}_all WHERE __k IS NOT NULL AND __t IS NOT NULL
                                                      AND __id IS NOT NULL),
                   (SELECT count(*) FROM {name}_dedup), (SELECT count(*) FROM {name}),
                   (SELECT count(*) FROM {name} WHERE __t < __m)
            """).fetchall()[0]
        return BatchStats(accepted=acc, out_of_order=ooo, duplicates=valid - dedup,
                          late=dedup - acc, invalid=total - valid)

    def entities(self, view: FeatureView | TableFeatureView, source: Any = None,
                 ) -> tuple[list[str], int | None]:
        """Return the entity keys of a history (accepted events) or table, and its latest time."""
        if isinstance(view, FeatureView):
            name = self._accepted(view, source)
            rows = self.con.execute(f"SELECT DISTINCT __k FROM {name} ORDER BY 1").fetchall()
            latest = self.con.execute(f"SELECT max(__t) FROM {name}").fetchall()[0][0]
            return [r[0] for r in rows], latest
        self._n += 1
        raw = f"table_{self._n}"
        register_source(self.con, raw, source if source is not None else view.table)
        t = millis_expr(self.con, raw, view.time_column)
        key = _q(view.entity.key)
        rows = self.con.execute(f"SELECT DISTINCT CAST({key} AS VARCHAR) FROM {raw} "
                                f"WHERE {key} IS NOT NULL ORDER BY 1").fetchall()
        latest = self.con.execute(f"SELECT max({t}) FROM {raw}").fetchall()[0][0]
        return [r[0] for r in rows], latest

    def _labels(self, labels: Any, keys: Sequence[str], timestamp: str) -> tuple[str, list[str]]:
        self._n += 1
        raw, name = f"labels_raw_{self._n}", f"labels_{self._n}"
        register_source(self.con, raw, labels)
        cols = columns_of(self.con, raw)
        for col in (*keys, timestamp):
            if col not in cols:
                raise InvalidInput(f"labels have no column {col!r} (columns: {', '.join(cols)})")
        t = millis_expr(self.con, raw, timestamp)
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT row_number() OVER () AS __rid, {t} AS __qt, * FROM {raw}""").fetchall()
        nulls = self.con.execute(f"SELECT count(*) FROM {name} WHERE __qt IS NULL").fetchall()
        if nulls[0][0]:
            raise InvalidInput(f"labels: {nulls[0][0]} row(s) have no {timestamp!r}")
        return name, cols

    def _aggregate_sql(self, f: Aggregation, alias: str) -> str:
        c = _q(f.column) if f.column else ""
        scale = scale_of(f.precision)
        if f.function == "count":
            return f"count(e.__t) AS {alias}"
        if f.function == "sum":
            total = "sum(" + sql_quantize("e." + c, scale) + ")"
            return f"coalesce({sql_finish_sum(total, scale)}, 0.0) AS {alias}"
        if f.function == "mean":
            total = "sum(" + sql_quantize("e." + c, scale) + ")"
            return sql_finish_mean(total, f"count(e.{c})", scale) + f" AS {alias}"
        if f.function == "distinct_count":
            return f"count(DISTINCT e.{c}) AS {alias}"
        if f.function == "last":
            return f"last(e.{c} ORDER BY e.__t, e.__id) FILTER (WHERE e.{c} IS NOT NULL) AS {alias}"
        return f"{f.function}(e.{c}) AS {alias}"

    def _windowed(self, view_n: int, acc: str, labels: str, key: str, window: Window,
                  features: list[Aggregation]) -> str:
        """Range join for a sliding or tumbling window; returns the CTE's SQL."""
        res, size = window.resolution_ms, window.size_ms
        aggs = ", ".join(self._aggregate_sql(f, _q(f"{view_n}_{f.name}")) for f in features)
        return f"""SELECT l.__rid, {aggs}
            FROM {labels} l LEFT JOIN {acc} e
              ON e.__k = CAST(l.{_q(key)} AS VARCHAR) AND e.__t <= l.__qt
             AND e.__t >= (l.__qt // {res} + 1) * {res} - {size}
            GROUP BY l.__rid"""

    def _lifetime(self, view_n: int, acc: str, labels: str, key: str,
                  f: Aggregation) -> str:
        """Running aggregate per (entity, time) and an ASOF join for a lifetime feature."""
        c = _q(f.column) if f.column else None
        scale = scale_of(f.precision)
        alias = _q(f"{view_n}_{f.name}")
        if f.function in ("count", "sum", "mean"):
            v = sql_quantize(c, scale) if c else "0"
            per_t = (f"SELECT __k, __t, count(*) AS n, sum({v}) AS sq, "
                     f"count({c or '*'}) AS nn FROM {acc} GROUP BY __k, __t")
            run = ("SELECT __k, __t, sum(n) OVER w AS n, sum(sq) OVER w AS sq, sum(nn) OVER w AS nn "
                   f"FROM ({per_t}) WINDOW w AS (PARTITION BY __k ORDER BY __t "
                   "ROWS UNBOUNDED PRECEDING)")
            value = {"count": "CAST(coalesce(r.n, 0) AS BIGINT)",
                     "sum": f"coalesce({sql_finish_sum('r.sq', scale)}, 0.0)",
                     "mean": sql_finish_mean("r.sq", "r.nn", scale)}[f.function]
        elif f.function in ("min", "max"):
            run = (f"SELECT __k, __t, {f.function}({f.function}({c})) OVER (PARTITION BY __k "
                   f"ORDER BY __t ROWS UNBOUNDED PRECEDING) AS v FROM {acc} "
                   f"WHERE {c} IS NOT NULL GROUP BY __k, __t")
            value = "r.v"
        elif f.function == "last":
            run = (f"SELECT __k, __t, last({c} ORDER BY __id) AS v FROM {acc} "
                   f"WHERE {c} IS NOT NULL GROUP BY __k, __t")
            value = "r.v"
        else:
            first = (f"SELECT __k, __t FROM {acc} WHERE {c} IS NOT NULL "
                     f"QUALIFY row_number() OVER (PARTITION BY __k, {c} ORDER BY __t) = 1")
            run = (f"SELECT __k, __t, sum(count(*)) OVER (PARTITION BY __k ORDER BY __t "
                   f"ROWS UNBOUNDED PRECEDING) AS n FROM ({first}) GROUP BY __k, __t")
            value = "CAST(coalesce(r.n, 0) AS BIGINT)"
        return f"""SELECT l.__rid, {value} AS {alias}
            FROM {labels} l ASOF LEFT JOIN ({run}) r
              ON r.__k = CAST(l.{_q(key)} AS VARCHAR) AND l.__qt >= r.__t"""

    def _table(self, view_n: int, view: TableFeatureView, labels: str, table: Any) -> str:
        self._n += 1
        raw = f"table_{self._n}"
        register_source(self.con, raw, table if table is not None else view.table)
        cols = columns_of(self.con, raw)
        for col in (view.entity.key, view.time_column, *view.columns):
            if col not in cols:
                raise InvalidInput(f"table of {view.name!r} has no column {col!r}")
        t = millis_expr(self.con, raw, view.time_column)
        sel = ", ".join(f"r.{_q(c)} AS {_q(f'{view_n}_{c}')}" for c in view.columns)
        inner = ", ".join(_q(c) for c in view.columns)
        return f"""SELECT l.__rid, {sel} FROM {labels} l ASOF LEFT JOIN
            (SELECT CAST({_q(view.entity.key)} AS VARCHAR) AS __k, {t} AS __t, {inner}
             FROM {raw}) r
            ON r.__k = CAST(l.{_q(view.entity.key)} AS VARCHAR) AND l.__qt >= r.__t"""

    def training_set(self, labels: Any, views: Sequence[FeatureView | TableFeatureView], *,
                     timestamp: str = "event_time", sources: dict[str, Any] | None = None,
                     from_archive: bool = True) -> pd.DataFrame:
        """Return ``labels`` with every feature of ``views`` as of each row's timestamp.

        Args:
            labels: a DataFrame, Arrow table or Parquet path with the entity key
                column(s) of the views and ``timestamp``; other columns pass through.
            views: the feature views; their features become columns (a name used by two
                views is prefixed with the view name: ``view__feature``).
            timestamp: the labels' timestamp column (timestamp or epoch milliseconds).
            sources: view name -> history/table overriding the archive and the view's
                own location.
            from_archive: read a streaming view's events from the archive when it holds
                some (False: from its history).

        Returns:
            One row per label row, in the labels' order.

        Raises:
            InvalidInput: a column is missing or of the wrong type.
            StoreError: DuckDB or the archive failed.
            ServiceUnavailable: a PostgreSQL history or archive cannot be reached.

        Warns:
            ArrivalOrderWarning: once per source, when its history has no arrival order
                and the source allows lateness (how many events a stream would likely
                have dropped, and how to supply the order).
        """
        if not views:
            raise InvalidInput("training_set needs at least one feature view")
        sources = sources or {}
        keys = sorted({v.entity.key for v in views})
        lab, lab_cols = self._labels(labels, keys, timestamp)
        parts: list[str] = []
        outputs: list[tuple[str, str]] = []
        names = [n for v in views for n in v.feature_names]
        for i, view in enumerate(views):
            for n in view.feature_names:
                out = f"{view.name}__{n}" if names.count(n) > 1 or n in lab_cols else n
                outputs.append((_q(f"{i}_{n}"), out))
            if isinstance(view, TableFeatureView):
                parts.append(self._table(i, view, lab, sources.get(view.name)))
                continue
            acc = self._accepted(view, *self._events(view, sources.get(view.name),
                                                     from_archive))
            windows: dict[Window, list[Aggregation]] = {}
            for f in view.features:
                if f.window.kind == "lifetime":
                    parts.append(self._lifetime(i, acc, lab, view.entity.key, f))
                else:
                    windows.setdefault(f.window, []).append(f)
            for window, group in windows.items():
                parts.append(self._windowed(i, acc, lab, view.entity.key, window, group))
        ctes = ", ".join(f"p{j} AS ({sql})" for j, sql in enumerate(parts))
        joins = " ".join(f"LEFT JOIN p{j} USING (__rid)" for j in range(len(parts)))
        keep = ", ".join(f"l.{_q(c)}" for c in lab_cols)
        selected = ", ".join(f"{src} AS {_q(out)}" for src, out in outputs)
        sql = (f"WITH {ctes} SELECT {keep}, {selected} FROM {lab} l {joins} ORDER BY l.__rid")
        try:
            return self.con.execute(sql).df()
        except duckdb.Error as exc:
            raise StoreError(f"the batch engine failed: {exc}") from exc
