"""The Redis online store: one hash per (view, entity), written in MULTI/EXEC pipelines.

Layout, under a namespace (default ``augur``):

* ``{ns}:{view}:{key}``: a hash, feature name -> JSON value, plus ``__et`` (event time,
  ms) and ``__wa`` (written at, ms); ``EXPIRE`` set to the view's TTL on every write.
* ``{ns}:checkpoint:{name}``: a hash with ``position`` and ``state``, written in the
  same MULTI/EXEC transaction as the values it belongs to.

Reads are one ``HGETALL`` (one entity) or one pipeline of them (many).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlparse, urlunparse

import orjson
import redis
from redis.exceptions import RedisError

from augur.errors import InvalidName, ServiceUnavailable, StoreError
from augur.features.online import Checkpoint, FeatureRow, now_ms

_NS = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_ET, _WA = b"__et", b"__wa"


class RedisOnlineStore:
    """Feature rows in Redis hashes.

    Args:
        client: a ``redis.Redis`` client (bytes responses).
        namespace: key prefix separating deployments and tests.
    """

    def __init__(self, client: Any, namespace: str = "augur") -> None:
        if not _NS.match(namespace):
            raise InvalidName(f"namespace {namespace!r}: use letters, digits and _.-")
        self._r: Any = client
        self.namespace = namespace

    @classmethod
    def from_url(cls, url: str) -> RedisOnlineStore:
        """Build from ``redis://host:port/db?namespace=NAME``."""
        parsed = urlparse(url)
        ns = parse_qs(parsed.query).get("namespace", ["augur"])[0]
        return cls(redis.Redis.from_url(urlunparse(parsed._replace(query=""))), ns)

    def _key(self, view: str, key: str) -> str:
        return f"{self.namespace}:{view}:{key}"

    def write(self, view: str, rows: Mapping[str, Mapping[str, Any]], event_time: int, *,
              ttl_s: float | None = None, checkpoint: Checkpoint | None = None) -> None:
        """HSET every row (and the checkpoint) in one MULTI/EXEC transaction."""
        written = str(now_ms())
        et = str(event_time)
        try:
            with self._r.pipeline(transaction=True) as pipe:
                for key, values in rows.items():
                    rkey = self._key(view, str(key))
                    mapping: dict[str, Any] = {k: orjson.dumps(v) for k, v in values.items()}
                    mapping["__et"], mapping["__wa"] = et, written
                    pipe.hset(rkey, mapping=mapping)
                    if ttl_s is not None:
                        pipe.pexpire(rkey, max(1, int(ttl_s * 1000)))
                if checkpoint is not None:
                    pipe.hset(f"{self.namespace}:checkpoint:{checkpoint.name}",
                              mapping={"position": checkpoint.position or "",
                                       "state": checkpoint.state})
                pipe.execute()
        except (RedisError, OSError) as exc:
            raise ServiceUnavailable(f"Redis online store: write failed: {exc}") from exc

    @staticmethod
    def _row(raw: Any) -> FeatureRow | None:
        if not raw:
            return None
        values: dict[str, Any] = {}
        et = wa = 0
        for field, value in raw.items():
            if field == _ET:
                et = int(value)
            elif field == _WA:
                wa = int(value)
            else:
                values[field.decode()] = orjson.loads(value)
        return FeatureRow(values, et, wa)

    def read(self, view: str, keys: Sequence[str]) -> list[FeatureRow | None]:
        """HGETALL each key (one round trip for one key, one pipeline for more)."""
        try:
            if len(keys) == 1:
                return [self._row(self._r.hgetall(self._key(view, str(keys[0]))))]
            with self._r.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(self._key(view, str(key)))
                raws = pipe.execute()
            return [self._row(raw) for raw in raws]
        except (RedisError, OSError) as exc:
            raise ServiceUnavailable(f"Redis online store: read failed: {exc}") from exc
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise StoreError(f"Redis online store: corrupt value: {exc}") from exc

    def read_many(self, requests: Sequence[tuple[str, Sequence[str]]],
                  ) -> list[list[FeatureRow | None]]:
        """HGETALL every (view, key) in one pipeline."""
        try:
            with self._r.pipeline(transaction=False) as pipe:
                for view, keys in requests:
                    for key in keys:
                        pipe.hgetall(self._key(view, str(key)))
                raws = iter(pipe.execute())
            return [[self._row(next(raws)) for _ in keys] for _view, keys in requests]
        except (RedisError, OSError) as exc:
            raise ServiceUnavailable(f"Redis online store: read failed: {exc}") from exc
        except orjson.JSONDecodeError as exc:
            raise StoreError(f"Redis online store: corrupt value: {exc}") from exc

    def load_checkpoint(self, name: str) -> Checkpoint | None:
        """The last checkpoint under ``name``."""
        try:
            raw = self._r.hgetall(f"{self.namespace}:checkpoint:{name}")
        except (RedisError, OSError) as exc:
            raise ServiceUnavailable(f"Redis online store: read failed: {exc}") from exc
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
