"""The Redis online store: one packed value per (view, entity), written in MULTI/EXEC.

Layout, under a namespace (default ``augur``):

* ``{ns}:{view}:{key}``: a string, the JSON array ``[event_time_ms, written_at_ms,
  {feature: value, ...}]``; written whole by ``SET`` (with ``PX`` set to the view's TTL
  when it has one), so a row is replaced, never merged, as in the other stores.
* ``{ns}:checkpoint:{name}``: a hash with ``position`` and ``state``, written in the
  same MULTI/EXEC transaction as the values it belongs to.

Reads are one ``GET`` (one row) or one ``MGET`` (many rows, across views): one
command and one bulk reply whatever the number of rows, each row parsed by a single
``orjson.loads``. A hash per row with a JSON value per field, read by a pipeline of
``HGETALL``, cost about four times as much for 3 views x 10 entities, nearly all
of it in reply parsing (benchmarks/features_bench.py).
``MGET`` needs all keys on one node: a Redis Cluster would need the rows of one
request under one hash tag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson

from augur.backends import BackendURL, parse_url, redis_client, translate_errors
from augur.errors import InvalidName, StoreError
from augur.features.online import SERVICE, Checkpoint, FeatureRow, now_ms

_NS = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


class RedisOnlineStore:
    """Feature rows in Redis, one packed value per (view, entity).

    Args:
        client: a ``redis.Redis`` client (bytes responses).
        namespace: key prefix separating deployments and tests.
        url: the URL the client was made from (names the store in messages).
    """

    def __init__(self, client: Any, namespace: str = "augur",
                 url: BackendURL | None = None) -> None:
        if not _NS.match(namespace):
            raise InvalidName(f"namespace {namespace!r}: use letters, digits and _.-")
        self._r: Any = client
        self.namespace = namespace
        self.url = url

    @classmethod
    def from_url(cls, url: BackendURL | str) -> RedisOnlineStore:
        """Build from ``redis://host:port/db?namespace=NAME`` (parsed or as text).

        Raises:
            ConfigError: not a Redis URL, or redis-py refuses it.
            InvalidName: the namespace has characters other than letters, digits, ``_.-``.
        """
        if isinstance(url, str):
            url = parse_url(url, schemes=("redis",), what="online store URL")
        return cls(redis_client(url), url.option("namespace", "augur"), url)

    def _talking(self, what: str) -> AbstractContextManager[None]:
        return translate_errors(what, self.url,
                                service=SERVICE if self.url is not None else f"Redis {SERVICE}")

    def _key(self, view: str, key: str) -> str:
        return f"{self.namespace}:{view}:{key}"

    def write(self, view: str, rows: Mapping[str, Mapping[str, Any]], event_time: int, *,
              ttl_s: float | None = None, checkpoint: Checkpoint | None = None) -> None:
        """SET every row (and HSET the checkpoint) in one MULTI/EXEC transaction."""
        written = now_ms()
        et = int(event_time)
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        dumps = orjson.dumps
        with self._talking("writing"), self._r.pipeline(transaction=True) as pipe:
            for key, values in rows.items():
                packed = dumps([et, written, values if type(values) is dict else dict(values)])
                pipe.set(self._key(view, str(key)), packed, px=px)
            if checkpoint is not None:
                pipe.hset(f"{self.namespace}:checkpoint:{checkpoint.name}",
                          mapping={"position": checkpoint.position or "",
                                   "state": checkpoint.state})
            pipe.execute()

    @staticmethod
    def _rows(rkeys: Sequence[str], raws: Sequence[bytes | None]) -> list[FeatureRow | None]:
        """Unpack ``[event_time, written_at, values]`` values; None stays None (missing)."""
        loads = orjson.loads
        out: list[FeatureRow | None] = []
        try:
            for raw in raws:
                if raw is None:
                    out.append(None)
                    continue
                et, wa, values = loads(raw)
                if type(values) is not dict or type(et) is not int or type(wa) is not int:
                    raise ValueError("not [event_time, written_at, {feature: value}]")
                out.append(FeatureRow(values, et, wa))
        except (ValueError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
            raise StoreError(f"Redis online store: corrupt value at {rkeys[len(out)]!r}: "
                             f"{exc}") from exc
        return out

    def _fetch(self, rkeys: list[str]) -> list[FeatureRow | None]:
        """GET one key or MGET many: one command either way."""
        with self._talking("reading"):
            if len(rkeys) == 1:
                raws = [self._r.get(rkeys[0])]
            else:
                raws = self._r.mget(rkeys) if rkeys else []
        return self._rows(rkeys, raws)

    def read(self, view: str, keys: Sequence[str]) -> list[FeatureRow | None]:
        """The rows of ``keys`` in one GET or MGET.

        Raises:
            ServiceUnavailable: Redis cannot be reached.
            StoreError: a stored value is not a packed row.
        """
        return self._fetch([self._key(view, str(key)) for key in keys])

    def read_many(self, requests: Sequence[tuple[str, Sequence[str]]],
                  ) -> list[list[FeatureRow | None]]:
        """The rows of every (view, keys) request in one MGET.

        Raises:
            ServiceUnavailable: Redis cannot be reached.
            StoreError: a stored value is not a packed row.
        """
        rows = iter(self._fetch([self._key(view, str(key))
                                 for view, keys in requests for key in keys]))
        return [[next(rows) for _ in keys] for _view, keys in requests]

    def load_checkpoint(self, name: str) -> Checkpoint | None:
        """The last checkpoint under ``name``."""
        with self._talking("reading a checkpoint"):
            raw = self._r.hgetall(f"{self.namespace}:checkpoint:{name}")
        if not raw:
            return None
        position = raw.get(b"position", b"").decode() or None
        return Checkpoint(name, position, raw.get(b"state", b""))

    def drop_namespace(self) -> int:
        """Delete every key of the namespace (tests and tear-down); return how many."""
        keys = list(self._r.scan_iter(match=f"{self.namespace}:*", count=1000))
        for i in range(0, len(keys), 500):
            self._r.delete(*keys[i:i + 500])
        return len(keys)

    def close(self) -> None:
        """Close the connection pool."""
        self._r.close()
