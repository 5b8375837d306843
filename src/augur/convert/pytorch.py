"""PyTorch ``nn.Module`` to ONNX with a dynamic batch axis."""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np

from augur.errors import ExportFailed

TORCH_OPSET = 17


def is_torch_module(model: Any) -> bool:
    return any(c.__module__.startswith("torch.nn") and c.__name__ == "Module"
               for c in type(model).__mro__)


def convert_torch_model(model: Any, sample: Any, *, dynamic_axes: dict[str, dict[int, str]]
                        | None = None, input_names: list[str] | None = None,
                        output_names: list[str] | None = None) -> bytes:
    """Trace ``model`` on ``sample`` and export it with the batch axis dynamic.

    Args:
        model: an ``nn.Module`` (put in eval mode for the export).
        sample: a tensor or array, or a tuple of them for several inputs.
        dynamic_axes: extra dynamic axes (e.g. a sequence axis); the batch axis of
            every input and output is always dynamic.

    Raises:
        ExportFailed: tracing or export fails.
    """
    import torch

    samples = sample if isinstance(sample, tuple) else (sample,)
    tensors = tuple(s if isinstance(s, torch.Tensor) else torch.from_numpy(np.asarray(s))
                    for s in samples)
    in_names = input_names or (["input"] if len(tensors) == 1
                               else [f"input_{i}" for i in range(len(tensors))])
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(*tensors)
        outs = out if isinstance(out, tuple | list) else (out,)
        out_names = output_names or (["output"] if len(outs) == 1
                                     else [f"output_{i}" for i in range(len(outs))])
        axes: dict[str, dict[int, str]] = {n: {0: "batch"} for n in [*in_names, *out_names]}
        for name, extra in (dynamic_axes or {}).items():
            axes.setdefault(name, {}).update(extra)
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, tensors, buf,  # type: ignore[arg-type]
                              input_names=in_names, output_names=out_names,
                              dynamic_axes=axes, opset_version=TORCH_OPSET, dynamo=False)
    except Exception as exc:
        raise ExportFailed(f"PyTorch export of {type(model).__name__} failed: {exc}") from exc
    finally:
        model.train(was_training)
    return buf.getvalue()


def torch_outputs(model: Any, sample: Any) -> list[np.ndarray]:
    """Run the native module on ``sample`` and return its outputs as arrays."""
    import torch

    samples = sample if isinstance(sample, tuple) else (sample,)
    tensors = tuple(s if isinstance(s, torch.Tensor) else torch.from_numpy(np.asarray(s))
                    for s in samples)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(*tensors)
    finally:
        model.train(was_training)
    outs = out if isinstance(out, tuple | list) else (out,)
    return [o.detach().cpu().numpy() for o in outs]
