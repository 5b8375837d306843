"""The runtime: one loaded model version and its input validation.

Public surface: :func:`load`, :func:`load_bytes`, :class:`LoadedModel`,
:class:`RuntimeOptions`, :func:`to_feeds`, :func:`check_tensor`,
:func:`hardware_fingerprint`, :func:`hardware_description`, :func:`runtime_version`,
:func:`tuned_options`, :func:`usable_cores`. Plumbing other parts use
(``runtime.model.create_session``, ``runtime.validation.FeedValidator``) stays in its
modules, out of this surface.
"""

from __future__ import annotations

from augur.runtime.inputs import check_tensor, to_feeds
from augur.runtime.model import LoadedModel, load, load_bytes, tuned_options
from augur.runtime.options import (
    RuntimeOptions,
    hardware_description,
    hardware_fingerprint,
    runtime_version,
    usable_cores,
)

__all__ = [
    "LoadedModel",
    "RuntimeOptions",
    "check_tensor",
    "hardware_description",
    "hardware_fingerprint",
    "load",
    "load_bytes",
    "runtime_version",
    "to_feeds",
    "tuned_options",
    "usable_cores",
]
