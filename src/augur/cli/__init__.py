"""The ``augur`` command: thin verbs over the Python API.

Public surface: :func:`main`.
"""

from __future__ import annotations

from augur.cli.app import main

__all__ = ["main"]
