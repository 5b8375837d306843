"""Predictions as Parquet part files, staged per run and swapped in at the end.

Layout under the root folder:

- ``{model}/part-00000.parquet`` ...: the predictions of the last finished run
  (columns ``key``, ``outputs`` (JSON text), ``model``, ``version``, ``run_id``,
  ``created_at``);
- ``_errors/{model}/part-00000.parquet``: its bad rows (``row``, ``key``, ``reason``);
- ``_staging/{run_id}/``: a run in progress. Each chunk is written to a temporary
  file and renamed into place, then ``progress.json`` is replaced the same way,
  so a resumed run rewrites at most the one chunk it was writing.

When the run finishes, its staged folder replaces the model's folder, so a
rerun replaces the previous predictions rather than adding to them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from augur.batch.predictions import PredictionChunk, Progress
from augur.errors import StoreError


def _replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)


class ParquetSink:
    """Part files under ``root`` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"parquet://{self.root}"

    def errors_location(self) -> str:
        return f"{self.root}/_errors/MODEL/"

    def open(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the output folder {self.root}: {exc}") from exc

    def _staging(self, run_id: str) -> Path:
        return self.root / "_staging" / run_id

    def committed(self, run_id: str) -> Progress:
        path = self._staging(run_id) / "progress.json"
        if not path.exists():
            return Progress()
        return Progress(**json.loads(path.read_text()))

    def write(self, run_id: str, model: str, version: int, chunk: PredictionChunk,
              progress: Progress) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        stage = self._staging(run_id)
        n = len(chunk.keys)
        now = time.time()
        table = pa.table({
            "key": pa.array(chunk.keys, pa.string()),
            "outputs": pa.array(chunk.outputs, pa.string()),
            "model": pa.array([model] * n, pa.string()),
            "version": pa.array([version] * n, pa.int64()),
            "run_id": pa.array([run_id] * n, pa.string()),
            "created_at": pa.array([now] * n, pa.float64()),
        })
        try:
            for sub in ("predictions", "errors"):
                (stage / sub).mkdir(parents=True, exist_ok=True)
            name = f"part-{chunk.index:05d}.parquet"
            tmp = stage / "predictions" / f".{name}.tmp"
            pq.write_table(table, tmp)
            _replace(tmp, stage / "predictions" / name)
            if chunk.errors:
                errors = pa.table({"row": [e.row for e in chunk.errors],
                                   "key": pa.array([e.key for e in chunk.errors], pa.string()),
                                   "reason": [e.reason for e in chunk.errors]})
                tmp = stage / "errors" / f".{name}.tmp"
                pq.write_table(errors, tmp)
                _replace(tmp, stage / "errors" / name)
            tmp = stage / ".progress.json.tmp"
            tmp.write_text(json.dumps(progress.to_dict()))
            _replace(tmp, stage / "progress.json")
        except OSError as exc:
            raise StoreError(f"writing Parquet parts to {stage} failed: {exc}") from exc

    def finish(self, run_id: str, model: str) -> None:
        stage = self._staging(run_id)
        self.open()
        for sub, final in (("predictions", self.root / model),
                           ("errors", self.root / "_errors" / model)):
            src = stage / sub
            final.parent.mkdir(parents=True, exist_ok=True)
            old = final.with_name(f".{final.name}.old-{run_id}")
            if final.exists():
                os.replace(final, old)
            if src.exists():
                os.replace(src, final)
            else:
                final.mkdir()
            if sub == "errors":  # which run they are (a dotfile: Parquet readers skip it)
                (final / ".run_id").write_text(run_id)
            shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)

    def errors(self, run_id: str) -> list[dict[str, Any]]:
        """The failed rows of ``run_id``: staged (a run in progress) or the last finished
        run of a model.

        Raises:
            StoreError: a later run of the model replaced them.
        """
        import pyarrow.parquet as pq

        folders = [self._staging(run_id) / "errors"]
        folders += [d for d in (self.root / "_errors").glob("*")
                    if (d / ".run_id").is_file() and (d / ".run_id").read_text() == run_id]
        for folder in folders:
            if folder.is_dir():
                rows = [r for part in sorted(folder.glob("part-*.parquet"))
                        for r in pq.read_table(part).to_pylist()]
                return sorted(({"row": r["row"], "key": r["key"], "reason": r["reason"]}
                               for r in rows), key=lambda r: int(r["row"]))
        if (self._staging(run_id)).exists():
            return []
        raise StoreError(f"{self.root} no longer holds the errors of run {run_id}: a later "
                         "run of the model replaced them")

    def close(self) -> None:
        """Nothing to release."""
