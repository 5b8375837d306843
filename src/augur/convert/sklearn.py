"""scikit-learn estimators and Pipelines to ONNX (skl2onnx)."""

from __future__ import annotations

import warnings
from typing import Any

from augur.convert.tabular import MATRIX_INPUT, TabularLayout
from augur.errors import ExportFailed

ONNX_OPSET = 17
ML_OPSET = 3
_registered = False


def _register_boosting_converters() -> None:
    """Teach skl2onnx the LightGBM and XGBoost estimators, for use inside Pipelines."""
    global _registered
    if _registered:
        return
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    pairs: list[tuple[Any, str, Any, Any]] = []
    try:
        from lightgbm import LGBMClassifier, LGBMRegressor
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        pairs += [(LGBMClassifier, "LightGbmLGBMClassifier", convert_lightgbm, True),
                  (LGBMRegressor, "LightGbmLGBMRegressor", convert_lightgbm, False)]
    except ImportError:
        pass
    try:
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from xgboost import XGBClassifier, XGBRegressor

        pairs += [(XGBClassifier, "XGBoostXGBClassifier", convert_xgboost, True),
                  (XGBRegressor, "XGBoostXGBRegressor", convert_xgboost, False)]
    except ImportError:
        pass
    for cls, alias, converter, is_clf in pairs:
        if is_clf:
            update_registered_converter(
                cls, alias, calculate_linear_classifier_output_shapes, converter,
                options={"nocl": [True, False], "zipmap": [True, False, "columns"]})
        else:
            update_registered_converter(cls, alias, calculate_linear_regressor_output_shapes,
                                        converter)
    _registered = True


def _estimators(model: Any) -> list[Any]:
    """The model and every estimator nested in it (Pipelines, ColumnTransformers...)."""
    found = [model]
    for attr in ("steps", "transformers", "transformer_list", "estimators"):
        for item in getattr(model, attr, None) or []:
            est = item[1] if isinstance(item, tuple) else item
            if hasattr(est, "get_params"):
                found += _estimators(est)
    for attr in ("estimator", "base_estimator", "final_estimator"):
        sub = getattr(model, attr, None)
        if sub is not None and hasattr(sub, "get_params"):
            found += _estimators(sub)
    return found


def is_classifier(model: Any) -> bool:
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return hasattr(final, "classes_") and hasattr(final, "predict_proba")


def has_trees(model: Any) -> bool:
    names = " ".join(type(e).__name__ for e in _estimators(model))
    return any(k in names for k in ("Tree", "Forest", "Boost", "LGBM", "XGB"))


def convert_sklearn_model(model: Any, layout: TabularLayout, *, double: bool) -> bytes:
    """Convert a fitted scikit-learn model; ``double`` uses float64 numeric inputs.

    Raises:
        ExportFailed: skl2onnx cannot convert the model (e.g. an unsupported step).
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    _register_boosting_converters()
    num = DoubleTensorType if double else FloatTensorType
    if layout.per_column:
        types = {"string": StringTensorType, "int": Int64TensorType, "bool": BooleanTensorType,
                 "float": num}
        initial = [(c, types[k]([None, 1])) for c, k in zip(layout.columns, layout.kinds,
                                                            strict=True)]
    else:
        initial = [(MATRIX_INPUT, num([None, len(layout.columns)]))]
    options: dict[int, dict[str, Any]] = {}
    for est in _estimators(model):
        if hasattr(est, "classes_") and hasattr(est, "predict_proba"):
            options[id(est)] = {"zipmap": False}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            onx = convert_sklearn(model, initial_types=initial, options=options,
                                  target_opset={"": ONNX_OPSET, "ai.onnx.ml": ML_OPSET})
    except Exception as exc:
        raise ExportFailed(f"skl2onnx cannot convert {type(model).__name__}: {exc}") from exc
    return bytes(onx.SerializeToString())
