"""Fixtures shared by the batch unit and integration tests (imported by their conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from augur.registry import Registry

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def iris_rows(n: int, seed: int = 0, start: int = 0) -> pd.DataFrame:
    """``n`` iris-like rows with an integer ``id`` key column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal([5.8, 3.0, 3.7, 1.2], [0.8, 0.4, 1.7, 0.7],
                                    size=(n, 4)).astype(np.float32), columns=FEATURES)
    frame.insert(0, "id", np.arange(start, start + n, dtype=np.int64))
    return frame


@pytest.fixture(scope="session")
def batch_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A registry with ``iris`` version 1 (a 10-tree forest); run records may be added."""
    from augur.convert import export
    from augur.examples import iris_forest

    reg = Registry(tmp_path_factory.mktemp("batch") / "augur-home")
    ex = iris_forest(10)
    export(ex.model, "iris", sample=ex.X, registry=reg)
    return reg


@pytest.fixture
def parquet_input(tmp_path: Path) -> Path:
    path = tmp_path / "input.parquet"
    iris_rows(1000).to_parquet(path, row_group_size=300)
    return path


@pytest.fixture
def rows() -> object:
    """The :func:`iris_rows` maker, for tests that build their own input."""
    return iris_rows


def predict_directly(reg: Registry, frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    """What the model predicts for each key, computed in one call without the batch code."""
    import orjson

    from augur.runtime import load

    model = load("iris", registry=reg)
    out = model.predict(frame[FEATURES])
    return {str(k): orjson.loads(orjson.dumps({"label": int(out["label"][i]),
                                               "probabilities": out["probabilities"][i].tolist()}))
            for i, k in enumerate(frame["id"].tolist())}


@pytest.fixture
def expected() -> object:
    """The :func:`predict_directly` helper."""
    return predict_directly


def check_close(got: dict[str, dict[str, object]], want: dict[str, dict[str, object]]) -> None:
    """Same keys, same labels, probabilities equal up to float32 rounding.

    ONNX Runtime's tree ensembles may sum in another order for another batch size,
    so the last float32 bit can differ between chunkings.
    """
    assert got.keys() == want.keys()
    for k, w in want.items():
        g = got[k]
        assert g["label"] == w["label"], k
        np.testing.assert_allclose(g["probabilities"], w["probabilities"], atol=1e-6)


@pytest.fixture
def close() -> object:
    """The :func:`check_close` assertion."""
    return check_close
