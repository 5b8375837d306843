"""Looking up the stored predictions of one hybrid request's keys: one key at a time
(``get`` in a loop, as the hybrid mode read before) against ``get_many`` (one round trip).

Each store (SQLite, PostgreSQL, Redis) gets ``--stored`` predictions; a lookup asks for
``--keys`` of them (a quarter missing). The median of ``--repeat`` lookups is reported.
``--before SRC`` also times the plain ``get`` loop with another checkout's ``src`` (one
subprocess), so the ratio compares the old code with the new.

    taskset -c 1 python benchmarks/lookup_bench.py --before /tmp/augur-before/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MODEL = "bench"


@contextmanager
def opened(kind: str, a: argparse.Namespace, tmp: Path) -> Iterator[Any]:
    """A store of ``kind`` holding ``--stored`` predictions, removed afterwards."""
    from augur.batch import open_store
    from augur.batch.predictions import PredictionChunk, Progress

    tag = f"lookup_{uuid.uuid4().hex[:8]}"
    url = {"sqlite": f"sqlite:///{tmp / 'p.db'}?table={tag}",
           "postgresql": f"{a.postgres}?table={tag}",
           "redis": f"{a.redis}?prefix=bench:{tag}"}[kind]
    store = open_store(url, tmp)
    keys = [f"k{i}" for i in range(a.stored)]
    outputs = [json.dumps({"label": i % 3, "probabilities": [0.2, 0.3, 0.5]})
               for i in range(a.stored)]
    store.write("bench-run", MODEL, 1, PredictionChunk(0, a.stored, keys, outputs),
                Progress(1, a.stored, a.stored, 0))
    try:
        yield store
    finally:
        _drop(kind, store, tag, a)
        store.close()


def _drop(kind: str, store: Any, tag: str, a: argparse.Namespace) -> None:
    if kind == "postgresql":
        for suffix in ("", "_errors", "_progress"):
            store.conn.execute(f"DROP TABLE IF EXISTS {tag}{suffix}")
    elif kind == "redis":
        keys = list(store.client.scan_iter(f"bench:{tag}:*", count=10_000))
        for start in range(0, len(keys), 1000):
            store.client.delete(*keys[start:start + 1000])


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm: statement cache, connection
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def measure(a: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Per store: ``loop`` (get per key), ``one`` (a single get), ``many`` (get_many)."""
    wanted = [f"k{i * 7 % a.stored}" for i in range(a.keys * 3 // 4)] + \
        [f"missing{i}" for i in range(a.keys - a.keys * 3 // 4)]
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in a.stores:
            with opened(kind, a, Path(tmp)) as store:
                row = {"loop": median_ms(lambda s=store: [s.get(MODEL, k) for k in wanted],
                                         a.repeat),
                       "one": median_ms(lambda s=store: s.get(MODEL, "k1"), a.repeat)}
                if hasattr(store, "get_many"):
                    if store.get_many(MODEL, wanted) != [store.get(MODEL, k) for k in wanted]:
                        raise SystemExit(f"{kind}: get_many disagrees with get")
                    row["many"] = median_ms(lambda s=store: s.get_many(MODEL, wanted),
                                            a.repeat)
                out[kind] = row
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keys", type=int, default=64)
    p.add_argument("--stored", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=200)
    p.add_argument("--stores", nargs="+", default=["sqlite", "postgresql", "redis"])
    p.add_argument("--postgres", default=os.environ.get(
        "AUGUR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"))
    p.add_argument("--redis", default=os.environ.get("AUGUR_TEST_REDIS",
                                                     "redis://127.0.0.1:6379/0"))
    p.add_argument("--before", help="a src folder to time the old get loop with")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    now = measure(a)
    if a.json:
        print(json.dumps(now))
        return
    before: dict[str, dict[str, float]] = {}
    if a.before:
        args = ["--json", "--keys", str(a.keys), "--stored", str(a.stored), "--repeat",
                str(a.repeat), "--postgres", a.postgres, "--redis", a.redis, "--stores",
                *a.stores]
        before = json.loads(subprocess.run(
            [sys.executable, __file__, *args], env={**os.environ, "PYTHONPATH": a.before},
            check=True, capture_output=True, text=True).stdout)
    print(f"lookup of {a.keys} keys ({a.keys - a.keys * 3 // 4} missing) among {a.stored}"
          f" stored, median of {a.repeat}, ms")
    print(f"{'store':<11} {'old loop':>9} {'loop':>9} {'get_many':>9} {'old/many':>9}"
          f" {'old get':>8} {'get':>8}")
    for kind, row in now.items():
        old = before.get(kind, {})
        old_loop, old_one = old.get("loop", float("nan")), old.get("one", float("nan"))
        print(f"{kind:<11} {old_loop:9.3f} {row['loop']:9.3f} {row['many']:9.3f}"
              f" {old_loop / row['many']:8.1f}x {old_one:8.3f} {row['one']:8.3f}")


if __name__ == "__main__":
    main()
