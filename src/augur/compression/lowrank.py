"""Low-rank factorization: one weight matrix ``W`` becomes two thin ones ``A @ B``.

``W`` (``in x out``) is split by SVD into ``A = U_r S_r`` (``in x r``) and
``B = V_r^T`` (``r x out``); a layer is only rewritten when ``r (in + out) <
in * out``, that is when the two products really cost less. The rank is given,
or the smallest that keeps ``energy`` of the squared singular values.

Two levels: :func:`factorize_onnx` rewrites ``MatMul``/``Gemm`` nodes whose
weight is an initializer (so it works from a registered artifact alone, e.g.
``augur compress REF --method low-rank``); :func:`factorize_torch` replaces
``nn.Linear`` layers of a PyTorch module before export.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from augur.errors import CompressionFailed

MIN_DIM = 8


def choose_rank(singular: np.ndarray, *, rank: int | None, energy: float) -> int:
    """The rank to keep: ``rank`` if given, else the smallest keeping ``energy`` of S^2."""
    if rank is not None:
        if rank < 1:
            raise CompressionFailed(f"rank must be >= 1, got {rank}")
        return min(rank, len(singular))
    if not 0.0 < energy <= 1.0:
        raise CompressionFailed(f"energy must be in (0, 1], got {energy}")
    power = singular.astype(np.float64) ** 2
    share = np.cumsum(power) / max(power.sum(), 1e-30)
    found = int(np.searchsorted(share, energy - 1e-12)) + 1
    return min(found, len(singular))


def _factor(w: np.ndarray, rank: int | None, energy: float) -> tuple[np.ndarray, np.ndarray] | None:
    n_in, n_out = w.shape
    if min(n_in, n_out) < MIN_DIM:
        return None
    u, s, vt = np.linalg.svd(w.astype(np.float64), full_matrices=False)
    r = choose_rank(s, rank=rank, energy=energy)
    if r * (n_in + n_out) >= n_in * n_out:
        return None
    a = (u[:, :r] * s[:r]).astype(w.dtype)
    b = vt[:r].astype(w.dtype)
    return a, b


def factorize_onnx(model: Any, *, rank: int | None = None,
                   energy: float = 0.95) -> tuple[Any, dict[str, Any]]:
    """Factorize the weight initializers of ``MatMul`` and ``Gemm`` nodes.

    Args:
        model: an ``onnx.ModelProto``.
        rank: the rank of every factorized layer (capped at the layer's size).
        energy: share of squared singular values to keep when ``rank`` is None.

    Returns:
        The rewritten model and ``{"rank": ..., "energy": ..., "layers": [...]}``.

    Raises:
        CompressionFailed: no layer can be factorized with a saving.
    """
    from onnx import helper, numpy_helper

    out = copy.deepcopy(model)
    graph = out.graph
    inits = {i.name: i for i in graph.initializer}
    users: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    new_nodes = []
    layers = []
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        wname = node.input[1] if len(node.input) > 1 else ""
        ok = (node.op_type in ("MatMul", "Gemm") and wname in inits and users[wname] == 1
              and not attrs.get("transA", 0))
        w = numpy_helper.to_array(inits[wname]) if ok else None
        if w is None or w.ndim != 2 or w.dtype.kind != "f":
            new_nodes.append(node)
            continue
        if node.op_type == "Gemm" and attrs.get("transB", 0):
            w = w.T
        factors = _factor(w, rank, energy)
        if factors is None:
            new_nodes.append(node)
            continue
        a, b = factors
        base = node.name or wname
        graph.initializer.remove(inits[wname])
        graph.initializer.extend([numpy_helper.from_array(a, f"{wname}_lr_a"),
                                  numpy_helper.from_array(b, f"{wname}_lr_b")])
        mid = f"{base}_lr_mid"
        new_nodes.append(helper.make_node("MatMul", [node.input[0], f"{wname}_lr_a"], [mid],
                                          name=f"{base}_lr_1"))
        if node.op_type == "MatMul":
            new_nodes.append(helper.make_node("MatMul", [mid, f"{wname}_lr_b"],
                                              list(node.output), name=f"{base}_lr_2"))
        else:
            gemm_attrs = {k: v for k, v in attrs.items() if k in ("alpha", "beta")}
            new_nodes.append(helper.make_node("Gemm", [mid, f"{wname}_lr_b", *node.input[2:]],
                                              list(node.output), name=f"{base}_lr_2",
                                              **gemm_attrs))
        layers.append({"weight": wname, "shape": list(w.shape), "rank": int(a.shape[1])})
    if not layers:
        raise CompressionFailed("low-rank: no MatMul/Gemm weight can be factorized with a "
                                "saving (layers too small, or the rank too high)")
    del graph.node[:]
    graph.node.extend(new_nodes)
    return out, {"rank": rank, "energy": energy if rank is None else None, "layers": layers}


def factorize_torch(module: Any, *, rank: int | None = None,
                    energy: float = 0.95) -> tuple[Any, dict[str, Any]]:
    """Replace each ``nn.Linear`` with two smaller ones (a copy; the input is unchanged).

    Raises:
        CompressionFailed: no layer can be factorized with a saving.
    """
    import torch

    model = copy.deepcopy(module).eval()
    layers = []

    def visit(parent: Any, prefix: str) -> None:
        for name, child in list(parent.named_children()):
            path = f"{prefix}{name}"
            if isinstance(child, torch.nn.Linear):
                w = child.weight.detach().cpu().numpy().T  # in x out
                factors = _factor(w, rank, energy)
                if factors is None:
                    continue
                a, b = factors
                first = torch.nn.Linear(a.shape[0], a.shape[1], bias=False)
                second = torch.nn.Linear(b.shape[0], b.shape[1], bias=child.bias is not None)
                with torch.no_grad():
                    first.weight.copy_(torch.from_numpy(a.T.copy()))
                    second.weight.copy_(torch.from_numpy(b.T.copy()))
                    if child.bias is not None:
                        second.bias.copy_(child.bias)
                setattr(parent, name, torch.nn.Sequential(first, second))
                layers.append({"layer": path, "shape": list(w.shape), "rank": int(a.shape[1])})
            else:
                visit(child, f"{path}.")

    visit(model, "")
    if not layers:
        raise CompressionFailed("low-rank: no nn.Linear layer can be factorized with a saving")
    return model, {"rank": rank, "energy": energy if rank is None else None, "layers": layers}
