"""Fixtures for the edge tests: example records shaped like the examples' training data."""

from __future__ import annotations

from typing import Any

import pytest

from augur.examples import diabetes_frame, iris_frame


@pytest.fixture(scope="session")
def iris_records() -> list[dict[str, Any]]:
    X, _ = iris_frame()
    return X.to_dict(orient="records")


@pytest.fixture(scope="session")
def diabetes_records() -> list[dict[str, Any]]:
    X, _ = diabetes_frame()
    return X.to_dict(orient="records")
