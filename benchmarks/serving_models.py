"""The models of the serving benchmark, trained and written into a temporary folder.

- iris: the 100-tree random forest of :mod:`augur.examples`, registered in a fresh
  registry for augur, exported to ONNX for the textbook ONNX Runtime endpoint, and
  saved with joblib for the textbook scikit-learn endpoint and MLServer only (the
  benchmark wrote the file itself; augur never loads pickles).
- heavy: a torch MLP exported through augur, sized to cost about a millisecond
  a row on one core, where batching pays (it stands in for MiniLM, whose
  per-sentence tokenizer loop would measure the tokenizer more than batching).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from serving_targets import IRIS_ROW

HEAVY_IN, HEAVY_HIDDEN, HEAVY_OUT = 256, 1536, 16


@dataclass
class Models:
    """Where the benchmark's models are and what to send them."""

    home: Path
    peer_dir: Path
    heavy_note: str
    textbook_body: bytes
    mlserver_body: bytes

    def config(self, batching: bool) -> Path:
        """An ``augur serve`` settings file with adaptive batching on or off for every model."""
        path = self.home.parent / f"serve-batching-{'on' if batching else 'off'}.toml"
        size = 64 if batching else 1
        path.write_text(f"[defaults]\nmax_batch_size = {size}\nmax_queue_size = 4096\n"
                        f"[models.heavy]\nmax_batch_size = {32 if batching else 1}\n"
                        'executor = "thread"\n')
        return path


def heavy_body() -> bytes:
    row = np.random.default_rng(0).standard_normal(HEAVY_IN).astype(np.float32)
    return json.dumps({"inputs": [{"name": "input", "shape": [1, HEAVY_IN], "datatype": "FP32",
                                   "data": [round(float(v), 4) for v in row]}]}).encode()


def _heavy_mlp() -> object:
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(HEAVY_IN, HEAVY_HIDDEN), torch.nn.ReLU(),
        torch.nn.Linear(HEAVY_HIDDEN, HEAVY_HIDDEN), torch.nn.ReLU(),
        torch.nn.Linear(HEAVY_HIDDEN, HEAVY_HIDDEN), torch.nn.ReLU(),
        torch.nn.Linear(HEAVY_HIDDEN, HEAVY_OUT)).eval()


def prepare_models(tmp: Path) -> Models:
    """Train, export and register everything the benchmark serves."""
    import joblib

    from augur.convert import export
    from augur.examples import iris_forest
    from augur.registry import Registry
    from augur.runtime import RuntimeOptions, load

    home = tmp / "augur-home"
    registry = Registry(home)
    iris = iris_forest(100)
    version = export(iris.model, "iris", sample=iris.X, registry=registry)
    peer_dir = tmp / "peer"
    peer_dir.mkdir()
    (peer_dir / "iris.onnx").write_bytes(registry.read_artifact(version))
    joblib.dump(iris.model, peer_dir / "model.joblib")

    sample = np.random.default_rng(1).standard_normal((8, HEAVY_IN)).astype(np.float32)
    export(_heavy_mlp(), "heavy", sample=sample, registry=registry)
    heavy = load("heavy", registry=registry, options=RuntimeOptions(intra_op_threads=1))
    one, batch = sample[:1], np.repeat(sample[:1], 16, axis=0)
    name = heavy.signature.inputs[0].name
    costs = {}
    for rows, x in (("1 row", one), ("16 rows", batch)):
        heavy.run({name: x})
        start = time.perf_counter()
        for _ in range(20):
            heavy.run({name: x})
        costs[rows] = (time.perf_counter() - start) / 20 * 1000
    note = (f"torch MLP {HEAVY_IN}-{HEAVY_HIDDEN}x3-{HEAVY_OUT} via augur.export, "
            f"{costs['1 row']:.2f} ms for 1 row, {costs['16 rows']:.2f} ms for 16 rows on one "
            "thread")
    columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    textbook = json.dumps(dict(zip(columns, IRIS_ROW, strict=True))).encode()
    mlserver = json.dumps({"inputs": [{"name": "predict", "shape": [1, 4], "datatype": "FP64",
                                       "data": IRIS_ROW}]}).encode()
    return Models(home, peer_dir, note, textbook, mlserver)
