"""Canary and shadow traffic of one model.

A canary receives an exact share of the model's requests (a running sum, not a
coin flip, so 10 % means every tenth request). A shadow receives a copy of every
request; its answers are compared with the primary's, counted as agreeing or
not, and discarded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from augur.errors import ConfigError
from augur.registry import parse_reference

#: Float outputs agree when within these tolerances.
RTOL = 1e-4
ATOL = 1e-5


@dataclass(frozen=True)
class TrafficPolicy:
    """Where a model's traffic goes besides its primary version.

    Attributes:
        canary: reference of the canary version (``fraud:4``), or ``None``.
        canary_percent: share of requests the canary answers (0-100).
        shadow: reference of the shadow version, or ``None``.
    """

    canary: str | None = None
    canary_percent: float = 0.0
    shadow: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.canary_percent <= 100:
            raise ConfigError(f"canary percent must be within 0-100, got {self.canary_percent}")
        for ref in (self.canary, self.shadow):
            if ref is not None:
                parse_reference(ref)

    @property
    def active(self) -> bool:
        return bool((self.canary and self.canary_percent > 0) or self.shadow)

    def to_dict(self) -> dict[str, Any]:
        return {"canary": self.canary, "canary_percent": self.canary_percent,
                "shadow": self.shadow}


@dataclass
class ShadowStats:
    """Counts of shadow comparisons of one model."""

    agree: int = 0
    disagree: int = 0
    errors: int = 0
    dropped: int = 0

    @property
    def agreement(self) -> float | None:
        compared = self.agree + self.disagree
        return self.agree / compared if compared else None

    def to_dict(self) -> dict[str, Any]:
        return {"agree": self.agree, "disagree": self.disagree, "errors": self.errors,
                "dropped": self.dropped, "agreement": self.agreement}


@dataclass
class TrafficState:
    """A policy plus the running state of its split and comparisons."""

    policy: TrafficPolicy
    shadow_stats: ShadowStats = field(default_factory=ShadowStats)
    canary_requests: int = 0
    total_requests: int = 0
    _credit: float = 0.0

    def pick_canary(self) -> bool:
        """Whether this request goes to the canary (an exact running share)."""
        self.total_requests += 1
        percent = self.policy.canary_percent
        if not self.policy.canary or percent <= 0:
            return False
        self._credit += percent
        if self._credit >= 100.0:
            self._credit -= 100.0
            self.canary_requests += 1
            return True
        return False

    def to_dict(self) -> dict[str, Any]:
        return {**self.policy.to_dict(), "requests": self.total_requests,
                "canary_requests": self.canary_requests,
                "shadow_comparisons": self.shadow_stats.to_dict()}


def outputs_agree(primary: dict[str, np.ndarray], shadow: dict[str, np.ndarray]) -> bool:
    """Whether two answers agree: same outputs and shapes, floats within tolerance."""
    if primary.keys() != shadow.keys():
        return False
    for name, a in primary.items():
        b = shadow[name]
        if a.shape != b.shape:
            return False
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            if not np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True):
                return False
        elif not np.array_equal(a, b):
            return False
    return True
