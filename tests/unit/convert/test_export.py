"""Parity of every supported framework on bundled data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import augur
from augur.convert import Tolerance
from augur.errors import ExportFailed, InvalidArtifact, ParityError
from augur.examples import breast_cancer_frame, diabetes_frame, diabetes_pipeline, iris_frame
from augur.registry import Registry


def _check_classifier(model: Any, X: Any, registry: Registry, name: str) -> None:
    v = augur.export(model, name, sample=X, registry=registry)
    assert v.parity is not None and v.parity["passed"]
    assert v.parity["label_agreement"] == 1.0
    loaded = augur.load(v.ref, registry=registry)
    out = loaded.predict(X)
    np.testing.assert_array_equal(out[loaded.signature.label_output or ""], model.predict(X))
    np.testing.assert_allclose(out[loaded.signature.probability_output or ""],
                               model.predict_proba(X), atol=1e-5)
    assert loaded.signature.task == "classification"
    assert list(loaded.signature.classes) == list(model.classes_)


def _check_regressor(model: Any, X: Any, registry: Registry, name: str) -> None:
    v = augur.export(model, name, sample=X, registry=registry)
    assert v.parity is not None and v.parity["passed"]
    assert v.parity["max_rel_diff"] <= 1e-4
    got = augur.load(v.ref, registry=registry).predict(X)["variable"].ravel()
    want = model.predict(X)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_sklearn_random_forest_classifier(registry: Registry) -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = iris_frame()
    _check_classifier(RandomForestClassifier(50, random_state=0).fit(X, y), X, registry, "rf")


def test_sklearn_logistic_regression_on_numpy(registry: Registry) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = breast_cancer_frame()
    Xn = X.to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(Xn, y)
    _check_classifier(model, Xn, registry, "logreg")
    v = registry.resolve("logreg")
    assert [c.name for c in v.signature.columns][:2] == ["f0", "f1"]


def test_sklearn_column_transformer_pipeline_with_strings(registry: Registry) -> None:
    ex = diabetes_pipeline()
    _check_regressor(ex.model, ex.X, registry, "diabetes")
    v = registry.resolve("diabetes")
    kinds = {c.name: c.kind for c in v.signature.columns}
    assert kinds["sex"] == "string" and kinds["bmi"] == "float"
    records = ex.X.head(2).to_dict(orient="records")
    got = augur.load("diabetes", registry=registry).predict(records)["variable"].ravel()
    np.testing.assert_allclose(got, ex.model.predict(ex.X.head(2)), rtol=1e-4)


def test_sklearn_classifier_pipeline_with_categoricals(registry: Registry) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, _ = diabetes_frame()
    y = (X["bmi"] > X["bmi"].median()).astype(int)
    X = X.drop(columns=["bmi"])
    numeric = [c for c in X.columns if c != "sex"]
    model = Pipeline([("ct", ColumnTransformer([("n", StandardScaler(), numeric),
                                                ("c", OneHotEncoder(), ["sex"])])),
                      ("m", GradientBoostingClassifier(random_state=0))]).fit(X, y)
    _check_classifier(model, X, registry, "bmi-high")


def test_lightgbm_classifier_and_regressor(registry: Registry) -> None:
    import lightgbm as lgb

    X, y = breast_cancer_frame()
    clf = lgb.LGBMClassifier(n_estimators=60, verbose=-1, random_state=0).fit(X, y)
    _check_classifier(clf, X, registry, "lgb-clf")
    Xd, yd = diabetes_frame()
    Xd = Xd.drop(columns=["sex"])
    reg = lgb.LGBMRegressor(n_estimators=60, verbose=-1, random_state=0).fit(Xd, yd)
    _check_regressor(reg, Xd, registry, "lgb-reg")


def test_xgboost_classifier_and_regressor(registry: Registry) -> None:
    import xgboost as xgb

    X, y = iris_frame()
    clf = xgb.XGBClassifier(n_estimators=40, max_depth=3).fit(X, y)
    _check_classifier(clf, X, registry, "xgb-clf")
    Xd, yd = diabetes_frame()
    Xd = Xd.drop(columns=["sex"])
    reg = xgb.XGBRegressor(n_estimators=40, max_depth=4).fit(Xd, yd)
    _check_regressor(reg, Xd, registry, "xgb-reg")


def test_pytorch_module_with_dynamic_batch(registry: Registry) -> None:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(9, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    X, _ = diabetes_frame()
    sample = torch.tensor(X.drop(columns=["sex"]).to_numpy(), dtype=torch.float32)
    v = augur.export(net, "torch-reg", sample=sample[:16], registry=registry, task="regression")
    assert v.signature.inputs[0].shape == (-1, 9)
    assert v.parity is not None and v.parity["passed"]
    got = augur.load(v.ref, registry=registry).predict(sample.numpy())["output"]
    with torch.no_grad():
        want = net(sample).numpy()
    assert got.shape == (len(sample), 1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_onnx_file_round_trip(registry: Registry, tmp_path: Path) -> None:
    from augur.convert import convert
    from augur.examples import iris_forest

    ex = iris_forest(20)
    path = tmp_path / "iris.onnx"
    path.write_bytes(convert(ex.model, ex.X).onnx)
    v = augur.export(str(path), "from-file", registry=registry)
    assert v.framework == "onnx" and v.parity is None
    out = augur.load("from-file", registry=registry).predict(
        {"input": ex.X.to_numpy(dtype=np.float32)})
    np.testing.assert_array_equal(out["label"], ex.model.predict(ex.X))


def test_parity_failure_refuses_to_register(registry: Registry) -> None:
    import lightgbm as lgb

    X, y = breast_cancer_frame()
    clf = lgb.LGBMClassifier(n_estimators=30, verbose=-1).fit(X, y)
    strict = Tolerance(rtol=0.0, atol=0.0)
    with pytest.raises(ParityError, match="beyond the tolerance"):
        augur.export(clf, "strict", sample=X, registry=registry, tolerance=strict)
    assert registry.list_models() == []
    v = augur.export(clf, "strict", sample=X, registry=registry, tolerance=strict,
                     allow_mismatch=True)
    assert v.parity is not None and not v.parity["passed"]


def test_unsupported_and_bad_inputs(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(ExportFailed, match="cannot export"):
        augur.export(object(), "x", sample=[[1.0]], registry=registry)
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[1.0], [2.0]], [1.0, 2.0])
    with pytest.raises(ExportFailed, match="sample"):
        augur.export(model, "x", registry=registry)
    with pytest.raises(ExportFailed, match="empty"):
        augur.export(model, "x", sample=pd.DataFrame({"a": []}), registry=registry)
    with pytest.raises(InvalidArtifact, match="cannot read"):
        augur.export(str(tmp_path / "missing.onnx"), "x", registry=registry)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x80\x05pickled")
    with pytest.raises(InvalidArtifact, match="pickle"):
        augur.export(str(bad), "x", registry=registry)
    assert registry.list_models() == []
