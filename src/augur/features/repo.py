"""Loading feature definitions from a Python file (the CLI's ``--definitions``).

The file is the user's own code, run like a script; every :class:`FeatureView`,
:class:`TableFeatureView` and :class:`Deployment` it defines at module level is
collected by name.
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass, field
from pathlib import Path

from augur.errors import ConfigError
from augur.features.assembler import Deployment
from augur.features.definitions import FeatureView, TableFeatureView


@dataclass
class Definitions:
    """The views and deployments of a definitions file."""

    views: dict[str, FeatureView | TableFeatureView] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)

    def view(self, name: str) -> FeatureView | TableFeatureView:
        """The view called ``name``.

        Raises:
            ConfigError: no such view.
        """
        if name not in self.views:
            known = ", ".join(sorted(self.views)) or "none"
            raise ConfigError(f"no feature view {name!r} in the definitions (known: {known})")
        return self.views[name]

    def stream_view(self, name: str) -> FeatureView:
        """The streaming view called ``name``.

        Raises:
            ConfigError: no such view, or it is a table view.
        """
        view = self.view(name)
        if not isinstance(view, FeatureView):
            raise ConfigError(f"feature view {name!r} is a table view, not a streaming view")
        return view


def load_definitions(path: str | Path) -> Definitions:
    """Run a definitions file and collect what it defines.

    Raises:
        ConfigError: the file is missing or fails to run.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"definitions file {path} does not exist")
    try:
        namespace = runpy.run_path(str(path), run_name="augur_definitions")
    except Exception as exc:  # the user's code: any failure is a configuration error
        raise ConfigError(f"definitions file {path} failed: {type(exc).__name__}: {exc}") from exc
    defs = Definitions()
    for value in namespace.values():
        if isinstance(value, FeatureView | TableFeatureView):
            defs.views[value.name] = value
        elif isinstance(value, Deployment):
            defs.deployments[value.model] = value
    return defs
