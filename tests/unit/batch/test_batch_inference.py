from __future__ import annotations

import numpy as np
import orjson
import pytest

from augur.batch import BadRows, ChunkPredictor
from augur.batch.inference import encode_outputs
from augur.errors import ConfigError
from augur.registry import Registry
from augur.runtime import load


@pytest.fixture(scope="module")
def model(batch_registry: Registry):
    return load("iris", registry=batch_registry)


def test_clean_chunk_is_one_call(model, rows, expected, close, batch_registry) -> None:
    frame = rows(50)
    chunk = ChunkPredictor(model, "id").predict_chunk(3, frame, 150)
    assert chunk.index == 3 and chunk.rows_in == 50 and not chunk.errors
    want = expected(batch_registry, frame)
    close({k: orjson.loads(o) for k, o in zip(chunk.keys, chunk.outputs, strict=True)}, want)


def test_bad_rows_are_isolated_with_reasons(model, rows, expected, close,
                                            batch_registry) -> None:
    frame = rows(64)
    frame["sepal_width"] = frame["sepal_width"].astype(object)
    frame.loc[5, "sepal_width"] = "wide"
    frame.loc[40, "petal_length"] = np.nan
    frame["id"] = frame["id"].astype(object)
    frame.loc[63, "id"] = None
    chunk = ChunkPredictor(model, "id").predict_chunk(0, frame, 1000)
    assert [(e.row, e.key) for e in chunk.errors] == [(1005, "5"), (1040, "40"), (1063, None)]
    assert "sepal_width" in chunk.errors[0].reason and "'wide'" in chunk.errors[0].reason
    assert "petal_length" in chunk.errors[1].reason and "NaN" in chunk.errors[1].reason
    assert "key column 'id'" in chunk.errors[2].reason
    good = frame.drop(index=[5, 40, 63])
    good["sepal_width"] = good["sepal_width"].astype(np.float32)
    assert len(chunk.keys) == 61
    got = {k: orjson.loads(o) for k, o in zip(chunk.keys, chunk.outputs, strict=True)}
    close(got, expected(batch_registry, good))


def test_fail_fast_raises_naming_the_row(model, rows) -> None:
    frame = rows(10)
    frame.loc[7, "petal_width"] = np.nan
    with pytest.raises(BadRows, match=r"row 107 \(key '7'\).*petal_width"):
        ChunkPredictor(model, "id", fail_fast=True).predict_chunk(0, frame, 100)


def test_missing_key_column(model, rows) -> None:
    with pytest.raises(ConfigError, match="key column 'user' is not in the input"):
        ChunkPredictor(model, "user").predict_chunk(0, rows(3), 0)


def test_encode_outputs_one_json_object_per_row() -> None:
    out = encode_outputs({"label": np.array([1, 2]),
                          "p": np.array([[0.5, 0.5], [0.25, 0.75]], dtype=np.float32)})
    assert [orjson.loads(o) for o in out] == [{"label": 1, "p": [0.5, 0.5]},
                                              {"label": 2, "p": [0.25, 0.75]}]
