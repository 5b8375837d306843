"""Predictions in Redis: one hash per (model, key), written in MULTI/EXEC pipelines.

Key schema (``P`` is the prefix, default ``augur:pred``):

- ``P:{model}:{key}``: hash with ``outputs`` (JSON), ``version``, ``run_id``, ``created_at``;
- ``P:_errors:{run_id}``: hash of source row -> JSON ``{"key", "reason"}``;
- ``P:_failed:{model}:{key}``: the key's latest failure (``run_id``, ``row``, ``reason``,
  ``created_at``), for lookups that find no prediction;
- ``P:_progress:{run_id}``: hash with ``chunks``, ``rows_in``, ``rows_out``, ``rows_failed``.

A chunk's hashes, its errors and the progress go in one ``MULTI``/``EXEC``
transaction: Redis applies all of it or, if the writer dies first, none.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Any

import orjson

from augur.backends import BackendURL, parse_url, redis_client, translate_errors
from augur.batch.predictions import Prediction, PredictionChunk, Progress, RowFailure
from augur.batch.sql_rows import corrupt, decoded

SERVICE = "prediction store"

_FIELDS = (b"outputs", b"version", b"run_id", b"created_at")


class RedisPredictionStore:
    """Predictions as Redis hashes ``{prefix}:{model}:{key}``.

    Args:
        url: ``redis://host:6379/0``, ``rediss://...`` or ``unix:///path.sock``
            (parsed or as text).
        prefix: key namespace.

    Raises:
        ConfigError: ``url`` is not a Redis URL.
    """

    def __init__(self, url: BackendURL | str, prefix: str = "augur:pred") -> None:
        self.url = url if isinstance(url, BackendURL) else parse_url(
            url, schemes=("redis",), what="prediction store URL")
        self.prefix = prefix
        self._client: Any = None

    def describe(self) -> str:
        return f"{self.url.describe()} (prefix {self.prefix})"

    def errors_location(self) -> str:
        return f"Redis hash {self.prefix}:_errors:RUN_ID"

    def key_of(self, model: str, key: str) -> str:
        """The Redis key holding one prediction."""
        return f"{self.prefix}:{model}:{key}"

    def open(self) -> None:
        if self._client is not None:
            return
        client = redis_client(self.url)
        with self._talking("connecting"):
            client.ping()
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self.open()
        return self._client

    def committed(self, run_id: str) -> Progress:
        with self._talking("reading the progress"):
            raw = self.client.hgetall(f"{self.prefix}:_progress:{run_id}")
        if not raw:
            return Progress()
        return Progress(**{k.decode(): int(v) for k, v in raw.items()})

    def write(self, run_id: str, model: str, version: int, chunk: PredictionChunk,
              progress: Progress) -> None:
        now = repr(time.time())
        pipe = self.client.pipeline(transaction=True)
        prefix = f"{self.prefix}:{model}:"
        for key, outputs in zip(chunk.keys, chunk.outputs, strict=True):
            pipe.hset(prefix + key, mapping={"outputs": outputs, "version": version,
                                             "run_id": run_id, "created_at": now})
        if chunk.errors:
            pipe.hset(f"{self.prefix}:_errors:{run_id}", mapping={
                str(e.row): orjson.dumps({"key": e.key, "reason": e.reason, "model": model})
                for e in chunk.errors})
            for e in chunk.errors:
                if e.key is not None:
                    pipe.hset(f"{self.prefix}:_failed:{model}:{e.key}", mapping={
                        "run_id": run_id, "row": e.row, "reason": e.reason, "created_at": now})
        pipe.hset(f"{self.prefix}:_progress:{run_id}", mapping=progress.to_dict())
        with self._talking("writing predictions"):
            pipe.execute()

    def finish(self, run_id: str, model: str) -> None:
        """Nothing to do: every chunk is already committed."""

    def errors(self, run_id: str) -> list[dict[str, Any]]:
        """The error rows recorded for a run, in source order."""
        with self._talking("reading errors"):
            raw = self.client.hgetall(f"{self.prefix}:_errors:{run_id}")
        rows = [{"row": int(k), **orjson.loads(v)} for k, v in raw.items()]
        return [{"row": r["row"], "key": r["key"], "reason": r["reason"]}
                for r in sorted(rows, key=lambda r: r["row"])]

    def _talking(self, what: str) -> AbstractContextManager[None]:
        """Redis's errors as augur's, at the one boundary."""
        return translate_errors(what, self.url, service=SERVICE)

    def failure(self, model: str, key: str) -> RowFailure | None:
        """The latest failure recorded for ``(model, key)``, or ``None``."""
        with self._talking("reading a failure"):
            raw = self.client.hgetall(f"{self.prefix}:_failed:{model}:{key}")
        if not raw:
            return None
        try:
            return RowFailure(model, key, raw[b"run_id"].decode(), int(raw[b"row"]),
                              raw[b"reason"].decode(), float(raw[b"created_at"]))
        except (KeyError, ValueError) as exc:
            raise corrupt(model, key, self.describe, f"bad failure record ({exc})") from exc

    def get(self, model: str, key: str) -> Prediction | None:
        with self._talking("reading a prediction"):
            raw = self.client.hgetall(self.key_of(model, key))
        return self._prediction(model, key, raw) if raw else None

    def get_many(self, model: str, keys: list[str]) -> list[Prediction | None]:
        # one round trip; no MULTI: each hash is written whole, so reads need no isolation
        distinct = list(dict.fromkeys(keys))
        with self._talking("reading predictions"):
            pipe = self.client.pipeline(transaction=False)
            for key in distinct:
                pipe.hgetall(self.key_of(model, key))
            raws = pipe.execute()
        found = {key: self._prediction(model, key, raw)
                 for key, raw in zip(distinct, raws, strict=True) if raw}
        return [found.get(k) for k in keys]

    def _prediction(self, model: str, key: str, raw: dict[bytes, bytes]) -> Prediction:
        where = self.describe
        missing = [f.decode() for f in _FIELDS if f not in raw]
        if missing:
            raise corrupt(model, key, where, f"missing field {', '.join(missing)}")
        try:
            version, created_at = int(raw[b"version"]), float(raw[b"created_at"])
            run_id = raw[b"run_id"].decode()
        except ValueError as exc:
            raise corrupt(model, key, where, f"bad version or created_at ({exc})") from exc
        return Prediction(model=model, key=key,
                          outputs=decoded(orjson.loads, raw[b"outputs"], model, key, where),
                          version=version, run_id=run_id, created_at=created_at)

    def put(self, model: str, version: int, key: str, outputs: dict[str, Any],
            run_id: str = "online") -> None:
        with self._talking("storing a prediction"):
            self.client.hset(self.key_of(model, key), mapping={
                "outputs": orjson.dumps(outputs), "version": version, "run_id": run_id,
                "created_at": repr(time.time())})

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
