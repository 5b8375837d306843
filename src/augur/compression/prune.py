"""Magnitude pruning of PyTorch modules before export.

Structured pruning removes whole hidden units: in an ``nn.Sequential`` stack
``Linear -> element-wise activation -> Linear``, the output units of the first
layer with the smallest L2 norm are dropped together with the matching input
columns of the next layer, so both matrices really shrink and the exported
graph is smaller and faster. Unstructured pruning zeroes the smallest weights
of every ``nn.Linear`` (fewer non-zero parameters, same dense size: it needs a
sparse kernel to be faster, which ONNX Runtime's CPU provider does not use).
"""

from __future__ import annotations

import copy
from typing import Any

from augur.errors import CompressionFailed

# Modules that act element-wise, so hidden unit i stays unit i across them.
_ELEMENTWISE = ("ReLU", "GELU", "Tanh", "Sigmoid", "SiLU", "LeakyReLU", "ELU", "Dropout",
                "Identity", "Softplus", "Mish", "Hardswish")


def _check_amount(amount: float) -> None:
    if not 0.0 < amount < 1.0:
        raise CompressionFailed(f"prune amount must be between 0 and 1 (exclusive), got {amount}")


def _sequential_pairs(model: Any) -> list[tuple[Any, int, int]]:
    """(sequential, i, j): Linear at i feeds Linear at j through element-wise modules."""
    import torch

    pairs = []
    for seq in model.modules():
        if not isinstance(seq, torch.nn.Sequential):
            continue
        children = list(seq.children())
        for i, first in enumerate(children):
            if not isinstance(first, torch.nn.Linear):
                continue
            j = i + 1
            while j < len(children) and type(children[j]).__name__ in _ELEMENTWISE:
                j += 1
            if j < len(children) and isinstance(children[j], torch.nn.Linear):
                pairs.append((seq, i, j))
    return pairs


def prune_structured(module: Any, amount: float) -> tuple[Any, dict[str, Any]]:
    """Drop ``amount`` of the hidden units between consecutive Linear layers (a copy).

    Raises:
        CompressionFailed: no ``Linear -> activation -> Linear`` stack to shrink.
    """
    import torch

    _check_amount(amount)
    model = copy.deepcopy(module).eval()
    pairs = _sequential_pairs(model)
    if not pairs:
        raise CompressionFailed("structured pruning needs nn.Sequential stacks of nn.Linear "
                                "layers joined by element-wise activations; use "
                                "structured=False for other modules")
    layers = []
    for seq, i, j in pairs:
        first, second = seq[i], seq[j]
        units = first.out_features
        keep_n = max(1, round(units * (1.0 - amount)))
        norms = first.weight.detach().norm(dim=1)
        keep = torch.sort(torch.topk(norms, keep_n).indices).values
        new_first = torch.nn.Linear(first.in_features, keep_n, bias=first.bias is not None)
        new_second = torch.nn.Linear(keep_n, second.out_features, bias=second.bias is not None)
        with torch.no_grad():
            new_first.weight.copy_(first.weight[keep])
            if first.bias is not None:
                new_first.bias.copy_(first.bias[keep])
            new_second.weight.copy_(second.weight[:, keep])
            if second.bias is not None:
                new_second.bias.copy_(second.bias)
        seq[i], seq[j] = new_first, new_second
        layers.append({"units": units, "kept": keep_n})
    return model, {"amount": amount, "structured": True, "layers": layers}


def prune_unstructured(module: Any, amount: float) -> tuple[Any, dict[str, Any]]:
    """Zero the ``amount`` smallest-magnitude weights of every ``nn.Linear`` (a copy).

    Raises:
        CompressionFailed: the module has no ``nn.Linear`` layer.
    """
    import torch
    from torch.nn.utils import prune as torch_prune

    _check_amount(amount)
    model = copy.deepcopy(module).eval()
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise CompressionFailed("unstructured pruning found no nn.Linear layer")
    for layer in linears:
        torch_prune.l1_unstructured(layer, name="weight", amount=amount)
        torch_prune.remove(layer, "weight")
    return model, {"amount": amount, "structured": False, "layers": len(linears)}
