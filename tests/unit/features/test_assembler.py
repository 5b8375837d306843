"""Assembling a real model's input from the online store and the request."""

from __future__ import annotations

import numpy as np
import pytest

from augur.errors import ConfigError, FeatureUnavailable, InvalidInput
from augur.features import (
    Aggregation,
    Deployment,
    Entity,
    EventSource,
    FeatureView,
    MemoryOnlineStore,
    OnlineFeatureService,
    RequestFeature,
    TableFeatureView,
    Window,
)
from augur.registry import Registry
from augur.runtime import load

FLOWER = Entity("flower", "flower_id")
SRC = EventSource("measurements", {"sepal": "float", "petal": "float"})
SEPALS = FeatureView("sepals", FLOWER, SRC, (
    Aggregation("sepal_length", "last", Window.lifetime(), column="sepal"),
    Aggregation("petal_length", "last", Window.lifetime(), column="petal"),
))
WIDTHS = TableFeatureView("widths", FLOWER, "widths.parquet", {"sepal_width": "float"})


def _deployment(**kw: object) -> Deployment:
    args: dict[str, object] = {
        "model": "iris@production", "views": (SEPALS, WIDTHS),
        "request_features": (RequestFeature("petal_width", "float"),),
    }
    args.update(kw)
    return Deployment(**args)  # type: ignore[arg-type]


@pytest.fixture
def store() -> MemoryOnlineStore:
    s = MemoryOnlineStore()
    s.write("sepals", {"f1": {"sepal_length": 5.1, "petal_length": 1.4},
                       "f2": {"sepal_length": 6.7, "petal_length": None}}, 100)
    s.write("widths", {"f1": {"sepal_width": 3.5}}, 100)
    return s


def test_features_become_the_models_input(examples_registry: Registry,
                                          store: MemoryOnlineStore) -> None:
    model = load("iris@production", registry=examples_registry)
    assembler = OnlineFeatureService(store).assembler(_deployment(), model.signature)
    request = {"flower_id": "f1", "petal_width": 0.2}
    assert assembler.records([request]) == [{"sepal_length": 5.1, "sepal_width": 3.5,
                                             "petal_length": 1.4, "petal_width": 0.2}]
    direct = model.predict([{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4,
                             "petal_width": 0.2}])
    via = model.run(assembler.feeds([request]))
    for name in direct:
        np.testing.assert_array_equal(direct[name], via[name])


def test_missing_features_use_defaults_or_fail_by_name(examples_registry: Registry,
                                                       store: MemoryOnlineStore) -> None:
    model = load("iris@production", registry=examples_registry)
    strict = OnlineFeatureService(store).assembler(_deployment(), model.signature)
    with pytest.raises(FeatureUnavailable, match=r"widths\.sepal_width for flower_id='f2'"):
        strict.records([{"flower_id": "f2", "petal_width": 1.0}])
    store.write("widths", {"f2": {"sepal_width": 3.0}}, 100)
    with pytest.raises(FeatureUnavailable, match=r"sepals\.petal_length for flower_id='f2'"):
        strict.records([{"flower_id": "f2", "petal_width": 1.0}])
    with pytest.raises(FeatureUnavailable, match="request feature 'petal_width'"):
        strict.records([{"flower_id": "f1"}])
    with pytest.raises(InvalidInput, match="entity key 'flower_id'"):
        strict.records([{"petal_width": 1.0}])
    lenient = OnlineFeatureService(store).assembler(
        _deployment(defaults={"petal_length": 4.0, "sepal_width": 3.0}), model.signature)
    rows = lenient.records([{"flower_id": "f2", "petal_width": 1.0},
                            {"flower_id": b"f1", "petal_width": 1.0}])
    assert rows[0]["petal_length"] == 4.0 and rows[0]["sepal_width"] == 3.0
    assert rows[1]["sepal_width"] == 3.5


def test_unbound_columns_are_a_configuration_error(examples_registry: Registry,
                                                   store: MemoryOnlineStore) -> None:
    model = load("iris@production", registry=examples_registry)
    with pytest.raises(ConfigError, match="'petal_width' matches no feature"):
        OnlineFeatureService(store).assembler(_deployment(request_features=()), model.signature)
    with pytest.raises(ConfigError, match=r"bound to 'sepals\.nope'"):
        OnlineFeatureService(store).assembler(
            _deployment(bindings={"sepal_length": "sepals.nope"}), model.signature)
    computed = _deployment(request_features=(
        RequestFeature("petal_width", compute=lambda r: r["petal_mm"] / 10),))
    assembler = OnlineFeatureService(store).assembler(computed, model.signature)
    assert assembler.records([{"flower_id": "f1", "petal_mm": 2}])[0]["petal_width"] == 0.2
