"""LightGBM and XGBoost models to ONNX (onnxmltools)."""

from __future__ import annotations

import warnings
from typing import Any

from augur.convert.tabular import MATRIX_INPUT
from augur.errors import ExportFailed

# onnxmltools' tree converters support up to this opset.
BOOSTING_OPSET = 15


def framework_of(model: Any) -> str | None:
    """``lightgbm`` or ``xgboost`` if ``model`` is one of theirs, else ``None``."""
    module = type(model).__module__
    if module.startswith("lightgbm"):
        return "lightgbm"
    if module.startswith("xgboost"):
        return "xgboost"
    return None


def _anonymous_features(model: Any) -> Any:
    """A copy of an XGBoost model whose features are named f0, f1... as the converter needs."""
    import copy

    booster = getattr(model, "get_booster", lambda: None)()
    if booster is None or booster.feature_names is None:
        return model
    clone = copy.deepcopy(model)
    clone.get_booster().feature_names = None
    return clone


def convert_boosting_model(model: Any, n_features: int) -> bytes:
    """Convert a LightGBM or XGBoost model taking a ``[-1, n_features]`` float matrix.

    Raises:
        ExportFailed: the converter fails (the message says why).
    """
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    initial = [(MATRIX_INPUT, FloatTensorType([None, n_features]))]
    fw = framework_of(model)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fw == "lightgbm":
                onx = onnxmltools.convert_lightgbm(model, initial_types=initial, zipmap=False,
                                                   target_opset=BOOSTING_OPSET)
            elif fw == "xgboost":
                onx = onnxmltools.convert_xgboost(_anonymous_features(model),
                                                  initial_types=initial,
                                                  target_opset=BOOSTING_OPSET)
            else:
                raise ExportFailed(f"{type(model).__name__} is not a LightGBM or XGBoost model")
    except ExportFailed:
        raise
    except Exception as exc:
        raise ExportFailed(f"onnxmltools cannot convert {type(model).__name__}: {exc}") from exc
    return bytes(onx.SerializeToString())
