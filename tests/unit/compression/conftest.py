"""Fixtures: a small trained PyTorch MLP registered as a parent version, and MiniLM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from augur.registry import ModelVersion, Registry
from minilm_fixtures import cached_minilm


@dataclass
class Mlp:
    module: Any
    X: np.ndarray
    y: np.ndarray


@pytest.fixture(scope="session")
def mlp() -> Mlp:
    """A 32 -> 128 -> 128 -> 2 classifier trained on a simple rule (logits out)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 32)).astype(np.float32)
    y = (X[:, :4].sum(1) > 0).astype(np.int64)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(32, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 2))
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(y))
        loss.backward()
        opt.step()
    return Mlp(net.eval(), X, y)


@pytest.fixture
def mlp_parent(registry: Registry, mlp: Mlp) -> ModelVersion:
    import torch

    from augur.convert import export

    return export(mlp.module, "mlp", sample=torch.from_numpy(mlp.X[:64]), registry=registry)


@pytest.fixture(scope="session")
def minilm_converted(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """MiniLM exported once per test session (see ``tests/minilm_fixtures.py``)."""
    return cached_minilm(tmp_path_factory)
