"""Tuning: measure execution options on this machine and cache the best per model.

Public surface: :func:`tune`, :class:`TuningResult`, :func:`fusion_report`,
:func:`synthetic_feeds`.
"""

from __future__ import annotations

from augur.tuning.fusions import fusion_report
from augur.tuning.probe import synthetic_feeds
from augur.tuning.tuner import TuningResult, tune

__all__ = ["TuningResult", "fusion_report", "synthetic_feeds", "tune"]
