"""The runtime: one loaded model version and its input validation.

Public surface: :func:`load`, :func:`load_bytes`, :class:`LoadedModel`,
:class:`RuntimeOptions`, :func:`to_feeds`, :func:`check_tensor`,
:func:`hardware_fingerprint`, :func:`hardware_description`, :func:`runtime_version`,
:func:`tuned_options`, :func:`create_session`, :func:`usable_cores`,
:class:`FeedValidator` (the one input check of named tensors) and
:func:`warmup_feeds`.
"""

from __future__ import annotations

from augur.runtime.inputs import check_tensor, to_feeds
from augur.runtime.model import LoadedModel, create_session, load, load_bytes, tuned_options
from augur.runtime.options import (
    RuntimeOptions,
    hardware_description,
    hardware_fingerprint,
    runtime_version,
    usable_cores,
)
from augur.runtime.validation import FeedValidator, warmup_feeds

__all__ = [
    "FeedValidator",
    "LoadedModel",
    "RuntimeOptions",
    "check_tensor",
    "create_session",
    "hardware_description",
    "hardware_fingerprint",
    "load",
    "load_bytes",
    "runtime_version",
    "to_feeds",
    "tuned_options",
    "usable_cores",
    "warmup_feeds",
]
