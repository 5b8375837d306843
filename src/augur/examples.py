"""Small example models trained on data sets that ship inside scikit-learn.

The demo, the tests and the benchmarks use them; nothing is downloaded.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from augur.convert import export
from augur.registry import ModelVersion, Registry


@dataclass(frozen=True)
class Example:
    """A trained example: the native model, its training frame and target."""

    name: str
    model: Any
    X: Any
    y: Any
    description: str


def iris_frame() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True)
    X = data.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    return X, data.target


def diabetes_frame() -> tuple[Any, Any]:
    """The diabetes data with ``sex`` as a string column, to exercise mixed types."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame["sex"] = np.where(frame["sex"] > 0, "male", "female")
    return frame.drop(columns=["target"]), frame["target"]


def breast_cancer_frame() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    X = data.data.rename(columns=lambda c: c.replace(" ", "_"))
    return X, data.target


def iris_forest(n_estimators: int = 100) -> Example:
    from sklearn.ensemble import RandomForestClassifier

    X, y = iris_frame()
    model = RandomForestClassifier(n_estimators=n_estimators, max_depth=8, random_state=0)
    return Example("iris", model.fit(X, y), X, y,
                   f"{n_estimators}-tree random forest on the iris flowers")


def diabetes_pipeline() -> Example:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = diabetes_frame()
    numeric = [c for c in X.columns if c != "sex"]
    pipe = Pipeline([
        ("columns", ColumnTransformer([
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["sex"]),
        ])),
        ("model", GradientBoostingRegressor(n_estimators=100, random_state=0)),
    ])
    return Example("diabetes", pipe.fit(X, y), X, y,
                   "scaler + one-hot + gradient boosting on the diabetes progression data")


def breast_cancer_lightgbm() -> Example:
    from lightgbm import LGBMClassifier

    X, y = breast_cancer_frame()
    model = LGBMClassifier(n_estimators=100, num_leaves=15, verbose=-1, random_state=0)
    return Example("cancer", model.fit(X, y), X, y,
                   "LightGBM classifier on the breast cancer diagnostic data")


def train_examples() -> list[Example]:
    """Train every example model (about a second on a laptop)."""
    examples = [iris_forest(), diabetes_pipeline()]
    with contextlib.suppress(ImportError):  # the boosting extra is not installed
        examples.append(breast_cancer_lightgbm())
    return examples


def register_examples(registry: Registry,
                      alias: str = "production") -> list[tuple[Example, ModelVersion]]:
    """Export and register every example, pointing ``alias`` at the new versions."""
    registered = []
    for ex in train_examples():
        v = export(ex.model, ex.name, sample=ex.X, registry=registry, description=ex.description)
        registry.set_alias(v.name, alias, v.version)
        registered.append((ex, v))
    return registered
