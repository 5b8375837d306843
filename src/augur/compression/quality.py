"""Quality of a compressed model against its parent, by task.

Every metric compares the two models on the same validation rows. With the
true target the report also scores each model against it. ``drop`` is the one
number the quality gate reads:

- classifiers: accuracy lost against the truth, else ``1 - label agreement``;
- regressors: relative RMSE increase against the truth, else the RMSE between
  the two models divided by the spread (std) of the parent's predictions;
- embeddings: ``1 - mean cosine similarity`` to the parent's vectors;
- anything else: the relative RMSE between the two models' first outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from augur.signature import Signature


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a2 = a.reshape(len(a), -1).astype(np.float64)
    b2 = b.reshape(len(b), -1).astype(np.float64)
    denom = np.linalg.norm(a2, axis=1) * np.linalg.norm(b2, axis=1)
    out: np.ndarray = np.sum(a2 * b2, axis=1) / np.where(denom == 0, 1.0, denom)
    return out


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def _auc(truth: np.ndarray, proba: np.ndarray, classes: tuple[Any, ...]) -> float | None:
    from sklearn.metrics import roc_auc_score

    try:
        if proba.shape[1] == 2:
            positive = classes[1] if classes else 1
            return float(roc_auc_score(truth == positive, proba[:, 1]))
        return float(roc_auc_score(truth, proba, multi_class="ovr",
                                   labels=list(classes) if classes else None))
    except ValueError:  # one class only in the validation rows
        return None


def _classification(sig: Signature, parent: dict[str, np.ndarray], child: dict[str, np.ndarray],
                    truth: np.ndarray | None) -> dict[str, Any]:
    label = sig.label_output or next(iter(parent))
    p_lab = np.asarray(parent[label]).reshape(-1)
    c_lab = np.asarray(child[label]).reshape(-1)
    out: dict[str, Any] = {"metric": "accuracy" if truth is not None else "label_agreement",
                           "label_agreement": float(np.mean(p_lab == c_lab))}
    proba = sig.probability_output
    if proba and proba in parent:
        out["probability_rmse"] = _rmse(np.asarray(parent[proba]), np.asarray(child[proba]))
    if truth is None:
        out["drop"] = 1.0 - out["label_agreement"]
        return out
    t = truth.reshape(-1).astype(p_lab.dtype) if p_lab.dtype.kind != "O" else truth.reshape(-1)
    out["parent_accuracy"] = float(np.mean(p_lab == t))
    out["accuracy"] = float(np.mean(c_lab == t))
    if proba and proba in parent:
        out["parent_auc"] = _auc(t, np.asarray(parent[proba]), sig.classes)
        out["auc"] = _auc(t, np.asarray(child[proba]), sig.classes)
    out["drop"] = out["parent_accuracy"] - out["accuracy"]
    return out


def _regression(name: str, parent: dict[str, np.ndarray], child: dict[str, np.ndarray],
                truth: np.ndarray | None) -> dict[str, Any]:
    p = np.asarray(parent[name], dtype=np.float64).reshape(len(parent[name]), -1)
    c = np.asarray(child[name], dtype=np.float64).reshape(len(child[name]), -1)
    spread = float(np.std(p)) or 1.0
    out: dict[str, Any] = {"metric": "rmse", "rmse_vs_parent": _rmse(p, c)}
    if p.shape[1] > 1:  # the cosine of one-number "vectors" only says whether signs agree
        out["cosine"] = float(np.mean(_cosine(p, c)))
    if truth is None:
        out["drop"] = out["rmse_vs_parent"] / spread
        return out
    t = np.asarray(truth, dtype=np.float64).reshape(len(truth), -1)
    out["parent_rmse"] = _rmse(p, t)
    out["rmse"] = _rmse(c, t)
    out["drop"] = (out["rmse"] - out["parent_rmse"]) / (out["parent_rmse"] or 1.0)
    return out


def compare_quality(signature: Signature, parent: dict[str, np.ndarray],
                    child: dict[str, np.ndarray], truth: np.ndarray | None = None) -> dict[str, Any]:
    """Score ``child``'s outputs against ``parent``'s (and the truth) on the same rows.

    Returns:
        A dict with ``task``, ``metric``, ``drop`` (what the gate reads), ``rows``
        and the task's measures (accuracy, AUC, RMSE, cosine, label agreement).
    """
    rows = len(next(iter(parent.values())))
    task = signature.task or "generic"
    first = signature.outputs[0].name if signature.outputs else next(iter(parent))
    if task == "classification":
        out = _classification(signature, parent, child, truth)
    elif task == "embedding":
        cos = _cosine(np.asarray(parent[first]), np.asarray(child[first]))
        out = {"metric": "cosine", "cosine": float(np.mean(cos)), "min_cosine": float(cos.min()),
               "drop": 1.0 - float(np.mean(cos))}
    else:
        out = _regression(first, parent, child, truth if task == "regression" else None)
        if task != "regression":
            out["metric"] = "relative_rmse"
    if task not in ("classification", "embedding", "regression"):
        p = np.asarray(parent[first])
        if p.ndim == 2 and p.shape[1] > 1:  # logits: label agreement (and accuracy) by argmax
            c = np.asarray(child[first])
            out["label_agreement"] = float(np.mean(p.argmax(1) == c.argmax(1)))
            if truth is not None:
                out["parent_accuracy"] = float(np.mean(p.argmax(1) == truth.reshape(-1)))
                out["accuracy"] = float(np.mean(c.argmax(1) == truth.reshape(-1)))
    return {"task": task, "rows": rows, **out}
