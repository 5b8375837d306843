"""Distillation: a small student trained on the teacher's outputs over unlabeled rows.

The teacher is the parent artifact itself (run with ONNX Runtime), so any
registered model can be distilled. Students:

- tabular models (a signature with columns): a scikit-learn pipeline (scaling /
  one-hot encoding, then ``mlp`` or ``gbm``: a small gradient-boosted ensemble)
  fitted on the teacher's labels (classifiers) or predictions (regressors);
- tensor models: a one-hidden-layer PyTorch MLP regressed on the teacher's
  first output, exported with the teacher's input and output names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from augur.errors import CompressionFailed
from augur.signature import Signature

STUDENTS = ("mlp", "gbm")


def _tabular_student(signature: Signature, kind: str, hidden: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    strings = [c.name for c in signature.columns if c.kind == "string"]
    numbers = [c.name for c in signature.columns if c.kind != "string"]
    parts: list[tuple[str, Any, list[str]]] = [("num", StandardScaler(), numbers)]
    if strings:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore"), strings))
    classifier = signature.task == "classification"
    if kind == "mlp":
        est: Any = (MLPClassifier if classifier else MLPRegressor)(
            hidden_layer_sizes=(hidden,), max_iter=500, random_state=0)
    else:
        est = (GradientBoostingClassifier if classifier else GradientBoostingRegressor)(
            n_estimators=30, max_depth=3, random_state=0)
    # An all-numeric table is exported as one matrix, so no named column selection then.
    first: Any = ColumnTransformer(parts) if strings else StandardScaler()
    return Pipeline([("columns", first), ("model", est)])


def distill_tabular(signature: Signature, rows: Any, teacher: dict[str, np.ndarray], *,
                    student: str = "mlp", hidden: int = 32) -> tuple[Any, dict[str, Any]]:
    """Fit a scikit-learn student on the teacher's outputs; return it (unexported)."""
    import warnings

    if student not in STUDENTS:
        raise CompressionFailed(f"student must be one of {STUDENTS}, got {student!r}")
    if signature.task == "classification":
        target = np.asarray(teacher[signature.label_output or next(iter(teacher))]).reshape(-1)
        if len(np.unique(target)) < 2:
            raise CompressionFailed("distillation: the teacher predicts one class only on "
                                    "these rows; give more varied unlabeled data")
    else:
        target = np.asarray(next(iter(teacher.values())), dtype=np.float64).reshape(len(rows))
    model = _tabular_student(signature, student, hidden)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on small data are expected
        model.fit(rows, target)
    return model, {"student": student, "hidden": hidden if student == "mlp" else None,
                   "rows": len(rows)}


def distill_tensor(feeds: dict[str, np.ndarray], teacher: np.ndarray, *, hidden: int = 32,
                   epochs: int = 300) -> tuple[Any, dict[str, Any]]:
    """Fit a small PyTorch MLP on one input tensor to the teacher's first output."""
    import torch

    if len(feeds) != 1:
        raise CompressionFailed("tensor distillation handles models with one input")
    x = torch.from_numpy(np.asarray(next(iter(feeds.values())), dtype=np.float32))
    y = torch.from_numpy(np.asarray(teacher, dtype=np.float32).reshape(len(x), -1))
    if x.ndim != 2:
        raise CompressionFailed(f"tensor distillation needs a 2-D input, got shape {list(x.shape)}")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, y.shape[1]))
    mean, std = x.mean(0), x.std(0).clamp(min=1e-6)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model((x - mean) / std), y)
        loss.backward()
        opt.step()

    class _Normalized(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)
            self.body = model

        def forward(self, inp: Any) -> Any:
            return self.body((inp - self.mean) / self.std)

    return _Normalized().eval(), {"student": "mlp", "hidden": hidden, "epochs": epochs,
                                  "rows": len(x), "train_mse": float(loss.item())}


def rename_io(data: bytes, inputs: list[str], outputs: list[str]) -> bytes:
    """Rename a graph's inputs and outputs (in order) to the teacher's names."""
    import onnx

    model = onnx.load_model_from_string(data)
    mapping = dict(zip([i.name for i in model.graph.input], inputs, strict=False))
    mapping.update(zip([o.name for o in model.graph.output], outputs, strict=False))
    for vi in [*model.graph.input, *model.graph.output]:
        vi.name = mapping.get(vi.name, vi.name)
    for node in model.graph.node:
        for seq in (node.input, node.output):
            for k, name in enumerate(seq):
                if name in mapping:
                    seq[k] = mapping[name]
    return bytes(model.SerializeToString())
