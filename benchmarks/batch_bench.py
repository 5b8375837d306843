"""Batch prediction throughput and memory, side by side (issue 4).

On N rows of Parquet (generated with a fixed seed), one subprocess per case so
that each peak RSS is clean:

- ``augur -> SQLite`` / ``augur -> PostgreSQL``: ``run_batch`` end to end
  (read, validate, infer, encode, upsert, run record);
- ``inference alone``: ONNX Runtime on the whole input array, no I/O;
- ``SQLite alone`` / ``PostgreSQL alone``: the sink bulk-writing N prediction
  rows prepared beforehand (keys and output JSON), no model;
- ``row by row``: a naive loop (predict one record, insert one row, commit),
  timed on a sample and extrapolated.

The limit for a sink is the slower of inference alone and writing alone: a
pipeline that overlaps them cannot beat it. Targets: >= 80 % of the limit,
>= 20x the row-by-row loop, and flat peak memory from 1 M to 10 M rows
(``--memory-rows 10000000`` runs augur -> SQLite once more at that size).

    python benchmarks/batch_bench.py                       # 1 M rows
    python benchmarks/batch_bench.py --memory-rows 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

N_FEATURES = 8
FEATURES = [f"f{i}" for i in range(N_FEATURES)]
PIECE = 1_000_000


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec()
    from the parent, so a child would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_model(home: Path) -> None:
    """A 3-class logistic regression on 8 float columns, registered as ``bench``."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from augur.convert import export
    from augur.registry import Registry

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(2000, N_FEATURES)).astype(np.float32), columns=FEATURES)
    y = (X["f0"] + X["f1"] > 0).astype(int) + (X["f2"] > 1).astype(int)
    export(LogisticRegression(max_iter=500).fit(X, y), "bench", sample=X,
           registry=Registry(home))


def make_input(path: Path, rows: int) -> None:
    """``rows`` rows (``id`` + 8 float32 columns), written 1 M at a time, fixed seed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    writer = None
    for start in range(0, rows, PIECE):
        n = min(PIECE, rows - start)
        cols = {"id": pa.array(np.arange(start, start + n, dtype=np.int64))}
        data = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
        cols.update({f: pa.array(data[:, i]) for i, f in enumerate(FEATURES)})
        table = pa.table(cols)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=100_000)
    if writer is not None:
        writer.close()


# -- cases, each run in its own process ------------------------------------------------


def case_infer(a: argparse.Namespace) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from augur.registry import Registry
    from augur.runtime import load

    table = pq.read_table(a.input, columns=FEATURES)
    X = np.column_stack([table.column(f).to_numpy() for f in FEATURES])
    model = load("bench", registry=Registry(a.home))
    t, cpu = time.perf_counter(), time.process_time()
    model.run({model.signature.inputs[0].name: X})
    return {"seconds": time.perf_counter() - t, "rows": len(X), "cpu_s": time.process_time() - cpu,
            "note": "one session.run on the whole array"}


def _fake_chunks(rows: int, chunk: int) -> list[Any]:
    from augur.batch.inference import encode_outputs
    from augur.batch.predictions import PredictionChunk

    rng = np.random.default_rng(2)
    chunks = []
    for i, start in enumerate(range(0, rows, chunk)):
        n = min(chunk, rows - start)
        probs = rng.dirichlet(np.ones(3), size=n).astype(np.float32)
        c = PredictionChunk(index=i, rows_in=n, keys=[str(k) for k in range(start, start + n)],
                            outputs=encode_outputs({"label": probs.argmax(1),
                                                    "probabilities": probs}))
        chunks.append(c)
    return chunks


def case_write(a: argparse.Namespace) -> dict[str, Any]:
    from augur.batch.predictions import Progress
    from augur.batch.sink import open_sink

    chunks = _fake_chunks(a.rows, a.chunk_size)
    sink = open_sink(a.output, Path(a.home))
    sink.open()
    progress = Progress()
    t, cpu = time.perf_counter(), time.process_time()
    for c in chunks:
        progress = progress.advance(c)
        sink.write("bench-write", "bench", 1, c, progress)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    sink.close()
    return {"seconds": seconds, "rows": a.rows, "cpu_s": cpu,
            "note": "prepared rows; RSS includes them"}


def case_augur(a: argparse.Namespace) -> dict[str, Any]:
    import onnxruntime  # noqa: F401  (imports are not part of the run: the cases
    import pandas  # noqa: F401          that write alone or infer alone exclude them too)
    import psycopg  # noqa: F401
    import pyarrow.dataset  # noqa: F401

    from augur.batch import BatchJob, run_batch
    from augur.registry import Registry

    t, cpu = time.perf_counter(), time.process_time()
    rec = run_batch(BatchJob("bench", a.input, "id", output=a.output, chunk_size=a.chunk_size,
                             workers=a.workers), Registry(a.home), quiet=True)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    if rec.stats["rows_out"] != a.rows:
        raise SystemExit(f"expected {a.rows} predictions, got {rec.stats}")
    return {"seconds": seconds, "rows": a.rows, "cpu_s": cpu,
            "note": f"run {rec.id}, incl. model load"}


def case_naive(a: argparse.Namespace) -> dict[str, Any]:
    """Predict one record, insert one row; one commit at the end (generous to the loop)."""
    import pyarrow.parquet as pq

    from augur.registry import Registry
    from augur.runtime import load

    frame = pq.ParquetFile(a.input).read_row_group(0).to_pandas().head(a.sample)
    model = load("bench", registry=Registry(a.home))
    if a.output.startswith("postgresql"):
        import psycopg

        conn: Any = psycopg.connect(a.output.split("?")[0])
        table = a.output.split("table=")[1]
        conn.execute(f"CREATE TABLE {table} (key TEXT PRIMARY KEY, outputs JSONB)")
        sql = (f"INSERT INTO {table} VALUES (%s, %s) ON CONFLICT (key) DO UPDATE"
               " SET outputs = excluded.outputs")
    else:
        import sqlite3

        conn = sqlite3.connect(Path(a.home) / "naive.db")
        conn.execute("CREATE TABLE IF NOT EXISTS p (key TEXT PRIMARY KEY, outputs TEXT)")
        sql = "INSERT OR REPLACE INTO p VALUES (?, ?)"
    t, cpu = time.perf_counter(), time.process_time()
    for rec in frame.to_dict("records"):
        out = model.predict({f: rec[f] for f in FEATURES})
        conn.execute(sql, (str(rec["id"]), json.dumps({k: v.tolist() for k, v in out.items()})))
    conn.commit()
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    conn.close()
    return {"seconds": seconds * a.rows / len(frame), "rows": a.rows,
            "cpu_s": cpu * a.rows / len(frame),
            "note": f"extrapolated from {len(frame):,} rows (predict + insert each)"}


CASES = {"infer": case_infer, "write": case_write, "augur": case_augur, "naive": case_naive}


def run_case(case: str, a: argparse.Namespace, rows: int, inp: Path, output: str = "") -> dict[
        str, Any]:
    argv = [sys.executable, __file__, "--case", case, "--home", str(a.home), "--input", str(inp),
            "--rows", str(rows), "--output", output, "--chunk-size", str(a.chunk_size),
            "--workers", str(a.workers), "--sample", str(a.sample)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"case {case} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _drop_pg(url: str, table: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for suffix in ("", "_errors", "_progress"):
            conn.execute(f"DROP TABLE IF EXISTS {table}{suffix}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--memory-rows", type=int, default=0,
                   help="also run augur -> SQLite on this many rows for the memory check")
    p.add_argument("--postgres", default=os.environ.get(
        "AUGUR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"))
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--chunk-size", type=int, default=50_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--sample", type=int, default=2000, help="rows timed by the naive loop")
    p.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    p.add_argument("--home", help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--output", default="", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.case:
        result = CASES[a.case](a)
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="augur-batch-bench-") as tmp:
        a.home = Path(tmp) / "home"
        make_model(a.home)
        inp = Path(tmp) / "input.parquet"
        t = time.perf_counter()
        make_input(inp, a.rows)
        print(f"# {a.rows:,} rows of Parquet in {time.perf_counter() - t:.1f}s; "
              f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
              f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs", flush=True)
        table = f"bench_{uuid.uuid4().hex[:8]}"
        pg = f"{a.postgres}?table={table}"
        results: dict[str, dict[str, Any]] = {}
        plan = [("inference alone", "infer", ""),
                ("SQLite alone", "write", f"sqlite:///{Path(tmp) / 'w.db'}"),
                ("augur -> SQLite", "augur", f"sqlite:///{Path(tmp) / 'a.db'}")]
        plan.append(("row by row -> SQLite", "naive", ""))
        if not a.no_postgres:
            plan += [("PostgreSQL alone", "write", pg.replace(table, table + "_w")),
                     ("augur -> PostgreSQL", "augur", pg),
                     ("row by row -> PG", "naive", pg.replace(table, table + "_n"))]
        try:
            for label, case, output in plan:
                results[label] = run_case(case, a, a.rows, inp, output)
                print(f"# {label}: {results[label]['seconds']:.2f}s", flush=True)
        finally:
            if not a.no_postgres:
                _drop_pg(a.postgres, table)
                _drop_pg(a.postgres, table + "_w")
                _drop_pg(a.postgres, table + "_n")
        memory = None
        if a.memory_rows:
            big = Path(tmp) / "big.parquet"
            make_input(big, a.memory_rows)
            inp.unlink()
            memory = run_case("augur", a, a.memory_rows, big, f"sqlite:///{Path(tmp) / 'm.db'}")
        report(a, results, memory)


def report(a: argparse.Namespace, results: dict[str, dict[str, Any]],
           memory: dict[str, Any] | None) -> None:
    rate = {k: v["rows"] / v["seconds"] for k, v in results.items()}
    limits = {"augur -> SQLite": min(rate["inference alone"], rate["SQLite alone"])}
    if "PostgreSQL alone" in rate:
        limits["augur -> PostgreSQL"] = min(rate["inference alone"], rate["PostgreSQL alone"])
    naive = {"augur -> SQLite": rate["row by row -> SQLite"]}
    if "row by row -> PG" in rate:
        naive["augur -> PostgreSQL"] = rate["row by row -> PG"]
    print(f"\n{'case':<22}{'rows/s':>14}{'peak RSS MB':>13}{'CPU s':>8}{'vs limit':>10}"
          f"{'vs naive':>10}  note")
    for label, r in results.items():
        vs_limit = f"{rate[label] / limits[label]:.0%}" if label in limits else ""
        vs_naive = f"{rate[label] / naive[label]:.0f}x" if label in naive else ""
        print(f"{label:<22}{rate[label]:>14,.0f}{r['peak_rss_mb']:>13,.0f}{r['cpu_s']:>8.1f}"
              f"{vs_limit:>10}{vs_naive:>10}  {r['note']}")
    for label, limit in limits.items():
        print(f"limit for {label}: {limit:,.0f} rows/s (slower of inference alone and "
              "writing alone)")
    if memory is not None:
        base = results["augur -> SQLite"]["peak_rss_mb"]
        print(f"peak RSS of augur -> SQLite: {base:,.0f} MB at {a.rows:,} rows, "
              f"{memory['peak_rss_mb']:,.0f} MB at {a.memory_rows:,} rows "
              f"({memory['rows'] / memory['seconds']:,.0f} rows/s)")
    print("CPU s: CPU seconds of the timed part (all threads of the case's process; not of "
          "the database server), a figure the machine's load inflates less than wall time")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
