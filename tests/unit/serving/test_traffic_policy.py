"""Canary shares are exact; shadow answers agree within the conversion tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from augur.errors import ConfigError, InvalidReference
from augur.serving.traffic import TrafficPolicy, TrafficState, outputs_agree


@pytest.mark.parametrize(("percent", "expected"), [(0, 0), (10, 10), (25, 25), (33.5, 33),
                                                   (100, 100)])
def test_canary_share_is_exact(percent: float, expected: int) -> None:
    state = TrafficState(TrafficPolicy(canary="m:2", canary_percent=percent))
    picks = sum(state.pick_canary() for _ in range(100))
    assert picks == expected == state.canary_requests
    assert state.total_requests == 100


def test_policy_is_validated() -> None:
    with pytest.raises(ConfigError, match="0-100"):
        TrafficPolicy(canary="m:2", canary_percent=-1)
    with pytest.raises(InvalidReference):
        TrafficPolicy(shadow="m:x")
    assert not TrafficPolicy().active and TrafficPolicy(shadow="m:3").active


def test_outputs_agree_within_tolerance_only() -> None:
    probs = np.array([[0.2, 0.8]], dtype=np.float32)
    labels = np.array([1])
    base = {"p": probs, "label": labels}
    assert outputs_agree(base, {"p": probs + 1e-7, "label": labels.copy()})
    assert not outputs_agree(base, {"p": probs + 1e-2, "label": labels})
    assert not outputs_agree(base, {"p": probs, "label": np.array([0])})
    assert not outputs_agree(base, {"p": probs})
    assert not outputs_agree(base, {"p": probs.T, "label": labels})
