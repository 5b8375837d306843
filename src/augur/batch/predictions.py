"""The values that flow between the parts of a batch job: chunks, progress, predictions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RowError:
    """One input row that could not be predicted, and why.

    Attributes:
        row: the row's position in the source (0-based, across all chunks).
        key: the row's key, or ``None`` when the key itself was missing.
        reason: what was wrong, naming the column.
    """

    row: int
    key: str | None
    reason: str


@dataclass(frozen=True)
class RowFailure:
    """The latest failure recorded for a key: why a batch run stored no prediction for it.

    Attributes:
        model: model name.
        key: the row's key.
        run_id: the batch run whose row failed.
        row: the row's position in that run's source.
        reason: what was wrong, naming the column.
        created_at: when it was recorded (Unix seconds).
    """

    model: str
    key: str
    run_id: str
    row: int
    reason: str
    created_at: float

    def describe(self) -> str:
        """One line: which run's row failed, and why."""
        return f"row {self.row} of batch run {self.run_id} failed: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "key": self.key, "run_id": self.run_id, "row": self.row,
                "reason": self.reason, "created_at": self.created_at}


@dataclass
class PredictionChunk:
    """The predictions of one source chunk, ready for a sink.

    Attributes:
        index: the chunk's number in the source (0-based).
        rows_in: rows read from the source in this chunk.
        keys: the key of each predicted row.
        outputs: one JSON object per predicted row (output name -> value).
        errors: the rows that failed, with the reason.
    """

    index: int
    rows_in: int
    keys: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class Progress:
    """How far a run got: committed atomically with the chunk that advanced it.

    Attributes:
        chunks: chunks committed (the next chunk to write is ``chunks``).
        rows_in, rows_out, rows_failed: totals over the committed chunks.
    """

    chunks: int = 0
    rows_in: int = 0
    rows_out: int = 0
    rows_failed: int = 0

    def advance(self, chunk: PredictionChunk) -> Progress:
        """The progress after committing ``chunk``."""
        return Progress(self.chunks + 1, self.rows_in + chunk.rows_in,
                        self.rows_out + len(chunk.keys), self.rows_failed + len(chunk.errors))

    def to_dict(self) -> dict[str, int]:
        return {"chunks": self.chunks, "rows_in": self.rows_in, "rows_out": self.rows_out,
                "rows_failed": self.rows_failed}


@dataclass(frozen=True)
class Prediction:
    """One stored prediction, as a lookup returns it.

    Attributes:
        model: model name.
        key: entity key.
        outputs: output name -> value (JSON types).
        version: the model version that computed it.
        run_id: the batch run (or ``"online"``) that wrote it.
        created_at: when it was written (Unix seconds).
    """

    model: str
    key: str
    outputs: dict[str, Any]
    version: int
    run_id: str
    created_at: float

    def age(self, now: float | None = None) -> float:
        """Seconds since the prediction was written."""
        return max(0.0, (time.time() if now is None else now) - self.created_at)

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        return {"model": self.model, "key": self.key, "outputs": self.outputs,
                "version": self.version, "run_id": self.run_id,
                "created_at": self.created_at, "age_seconds": self.age(now)}
