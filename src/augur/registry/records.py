"""Run records (batch jobs, compressions, tuning) and the tuned-options cache."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from augur.errors import ModelNotFound
from augur.registry.db import Database

RUN_STATUSES = ("running", "succeeded", "failed", "killed")


@dataclass(frozen=True)
class RunRecord:
    """One run of a job: what ran, on which version, how far it got."""

    id: str
    kind: str
    model: str | None
    version: int | None
    status: str
    params: dict[str, Any]
    stats: dict[str, Any]
    error: str | None
    started_at: float
    updated_at: float
    finished_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RunStore:
    """Run records in the registry database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, kind: str, *, model: str | None = None, version: int | None = None,
               params: dict[str, Any] | None = None, run_id: str | None = None) -> RunRecord:
        """Record a new run in status ``running``."""
        rid = run_id or uuid.uuid4().hex[:12]
        now = time.time()
        with self.db.write() as conn:
            conn.execute("INSERT INTO runs(id, kind, model, version, status, params, stats,"
                         " started_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                         (rid, kind, model, version, "running", json.dumps(params or {}), "{}",
                          now, now))
        return self.get(rid)

    def update(self, run_id: str, *, status: str | None = None,
               stats: dict[str, Any] | None = None, error: str | None = None) -> RunRecord:
        """Merge ``stats`` into a run and optionally set its status (final ones stamp the end)."""
        with self.db.write() as conn:
            # Read and merge under the write lock, so two updates never lose each other's stats.
            row = conn.execute("SELECT status, stats FROM runs WHERE id = ?",
                               (run_id,)).fetchone()
            if row is None:
                raise ModelNotFound(f"no run with id {run_id!r}")
            now = time.time()
            new_stats = {**json.loads(row["stats"]), **(stats or {})}
            new_status = status or row["status"]
            finished = now if new_status in ("succeeded", "failed", "killed") else None
            conn.execute("UPDATE runs SET status = ?, stats = ?, error = COALESCE(?, error),"
                         " updated_at = ?, finished_at = ? WHERE id = ?",
                         (new_status, json.dumps(new_stats), error, now, finished, run_id))
        return self.get(run_id)

    def get(self, run_id: str) -> RunRecord:
        """Return one run.

        Raises:
            ModelNotFound: no run has that id.
        """
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise ModelNotFound(f"no run with id {run_id!r}")
        return RunRecord(id=row["id"], kind=row["kind"], model=row["model"],
                         version=row["version"], status=row["status"],
                         params=json.loads(row["params"]), stats=json.loads(row["stats"]),
                         error=row["error"], started_at=row["started_at"],
                         updated_at=row["updated_at"], finished_at=row["finished_at"])

    def list(self, kind: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The most recent runs, newest first."""
        with self.db.read() as conn:
            if kind:
                rows = conn.execute("SELECT id FROM runs WHERE kind = ? ORDER BY started_at DESC"
                                    " LIMIT ?", (kind, limit)).fetchall()
            else:
                rows = conn.execute("SELECT id FROM runs ORDER BY started_at DESC LIMIT ?",
                                    (limit,)).fetchall()
        return [self.get(r[0]) for r in rows]


class TuningCache:
    """Best execution options per (artifact, hardware, runtime version)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def key(artifact: str, hardware: str, runtime_version: str) -> str:
        return f"{artifact}|{hardware}|{runtime_version}"

    def get(self, artifact: str, hardware: str, runtime_version: str) -> dict[str, Any] | None:
        """The cached entry ``{"options": ..., "report": ...}`` or ``None``."""
        with self.db.read() as conn:
            row = conn.execute("SELECT options, report, created_at FROM tuning WHERE key = ?",
                               (self.key(artifact, hardware, runtime_version),)).fetchone()
        if row is None:
            return None
        return {"options": json.loads(row["options"]), "report": json.loads(row["report"]),
                "created_at": row["created_at"]}

    def for_artifact(self, artifact: str) -> list[dict[str, Any]]:
        """Every cached entry for an artifact, on any hardware."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT hardware, runtime_version, options FROM tuning"
                                " WHERE artifact = ?", (artifact,)).fetchall()
        return [{"hardware": r["hardware"], "runtime_version": r["runtime_version"],
                 "options": json.loads(r["options"])} for r in rows]

    def put(self, artifact: str, hardware: str, runtime_version: str,
            options: dict[str, Any], report: dict[str, Any] | None = None) -> None:
        """Store (or replace) the best options for this key."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO tuning(key, artifact, hardware, runtime_version, options,"
                         " report, created_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE"
                         " SET options = excluded.options, report = excluded.report,"
                         " created_at = excluded.created_at",
                         (self.key(artifact, hardware, runtime_version), artifact, hardware,
                          runtime_version, json.dumps(options), json.dumps(report or {}),
                          time.time()))
