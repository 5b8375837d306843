"""The models of the serving benchmark, trained and written into a temporary folder.

- iris: the 100-tree random forest of :mod:`augur.examples`, registered in a fresh
  registry for augur, exported to ONNX for the textbook ONNX Runtime endpoint, and
  saved with joblib for the textbook scikit-learn endpoint and MLServer only (the
  benchmark wrote the file itself; augur never loads pickles).
- heavy: a model of about a millisecond a row where batching pays: by default a
  torch MLP exported through augur; with ``--heavy minilm`` the MiniLM sentence
  encoder (tokenizer inside the graph) exported with ``augur.convert.text``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from serving_targets import IRIS_ROW

HEAVY_IN, HEAVY_HIDDEN, HEAVY_OUT = 256, 1536, 16


@dataclass
class Models:
    """Where the benchmark's models are and what to send them."""

    home: Path
    peer_dir: Path
    heavy_note: str
    heavy_body: bytes
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


SENTENCE = "Online serving batches requests so that one model run answers many callers."


def mlp_body() -> bytes:
    row = np.random.default_rng(0).standard_normal(HEAVY_IN).astype(np.float32)
    return json.dumps({"inputs": [{"name": "input", "shape": [1, HEAVY_IN], "datatype": "FP32",
                                   "data": [round(float(v), 4) for v in row]}]}).encode()


def minilm_body() -> bytes:
    return json.dumps({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES",
                                   "data": [SENTENCE]}]}).encode()


def _register_heavy(registry: Any, kind: str) -> tuple[bytes, str]:
    """Register the heavy model as ``heavy``; return its request body and a description."""
    from augur.runtime import RuntimeOptions, load

    if kind == "minilm":
        from augur.convert.text import export_sentence_encoder

        export_sentence_encoder("heavy", registry=registry)
        one = {"text": np.array([SENTENCE], dtype=object)}
        many = {"text": np.array([SENTENCE] * 16, dtype=object)}
        body, what = minilm_body(), "MiniLM-L6 sentence encoder (tokenizer in the graph)"
    else:
        from augur.convert import export

        sample = np.random.default_rng(1).standard_normal((8, HEAVY_IN)).astype(np.float32)
        export(_heavy_mlp(), "heavy", sample=sample, registry=registry)
        one, many = {"input": sample[:1]}, {"input": np.repeat(sample[:1], 16, axis=0)}
        body, what = mlp_body(), f"torch MLP {HEAVY_IN}-{HEAVY_HIDDEN}x3-{HEAVY_OUT} via augur"
    heavy = load("heavy", registry=registry, options=RuntimeOptions(intra_op_threads=1))
    costs = []
    for feeds in (one, many):
        heavy.run(feeds)
        start = time.perf_counter()
        for _ in range(10):
            heavy.run(feeds)
        costs.append((time.perf_counter() - start) / 10 * 1000)
    return body, (f"{what}: {costs[0]:.2f} ms for 1 row, {costs[1]:.2f} ms for 16 rows "
                  "on one thread")


def _heavy_mlp() -> Any:
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(HEAVY_IN, HEAVY_HIDDEN), torch.nn.ReLU(),
        torch.nn.Linear(HEAVY_HIDDEN, HEAVY_HIDDEN), torch.nn.ReLU(),
        torch.nn.Linear(HEAVY_HIDDEN, HEAVY_HIDDEN), torch.nn.ReLU(),
        torch.nn.Linear(HEAVY_HIDDEN, HEAVY_OUT)).eval()


def prepare_models(tmp: Path, heavy: str = "mlp") -> Models:
    """Train, export and register everything the benchmark serves."""
    import joblib

    from augur.convert import export
    from augur.examples import iris_forest
    from augur.registry import Registry

    home = tmp / "augur-home"
    registry = Registry(home)
    iris = iris_forest(100)
    version = export(iris.model, "iris", sample=iris.X, registry=registry)
    peer_dir = tmp / "peer"
    peer_dir.mkdir()
    (peer_dir / "iris.onnx").write_bytes(registry.read_artifact(version))
    joblib.dump(iris.model, peer_dir / "model.joblib")
    heavy_body, note = _register_heavy(registry, heavy)
    columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    textbook = json.dumps(dict(zip(columns, IRIS_ROW, strict=True))).encode()
    mlserver = json.dumps({"inputs": [{"name": "predict", "shape": [1, 4], "datatype": "FP64",
                                       "data": IRIS_ROW}]}).encode()
    return Models(home, peer_dir, note, heavy_body, textbook, mlserver)
