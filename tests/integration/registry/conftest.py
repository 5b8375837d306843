"""Registry tests run on both metadata backends, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from augur.registry import Registry


@pytest.fixture
def registry(registry_on_each_backend: Registry) -> Registry:
    return registry_on_each_backend
