"""The console's third-party browser files, installed from npm at set-up time.

``package.json`` pins them and ``scripts/setup.d/30-npm-packages.sh`` runs
``npm ci`` next to it; augur serves the files itself, so a page never reaches a
CDN. Only the files named here are served, never an arbitrary path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from augur.errors import ConfigError

ENV_VAR = "AUGUR_NODE_MODULES"

#: URL name -> (npm package, file inside it, content type).
VENDOR_FILES: dict[str, tuple[str, str, str]] = {
    "uPlot.esm.js": ("uplot", "dist/uPlot.esm.js", "text/javascript; charset=utf-8"),
    "uPlot.min.css": ("uplot", "dist/uPlot.min.css", "text/css; charset=utf-8"),
}

SETUP_HINT = (f"run scripts/setup.sh (or 'npm ci' next to package.json), or point {ENV_VAR} "
              "at a node_modules folder")


@dataclass(frozen=True)
class VendorFile:
    """One served npm file: where it is and its content type."""

    path: Path
    content_type: str


def _roots(environ: Mapping[str, str]) -> list[Path]:
    override = environ.get(ENV_VAR)
    if override:
        return [Path(override).expanduser()]
    here = Path(__file__).resolve()
    cwd = Path.cwd().resolve()
    roots: list[Path] = []
    for base in (*here.parents, cwd, *cwd.parents):
        candidate = base / "node_modules"
        if candidate not in roots:
            roots.append(candidate)
    return roots


class Vendor:
    """Finds the vendored files once per process and serves them by name.

    Args:
        environ: where ``AUGUR_NODE_MODULES`` is read (default: the process environment,
            read when the first file is asked for).
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._found: dict[str, VendorFile] = {}

    def file(self, name: str) -> VendorFile | None:
        """The file served as ``name``, or ``None`` if ``name`` is not a vendored file.

        Raises:
            ConfigError: a known file whose npm package is not installed.
        """
        spec = VENDOR_FILES.get(name)
        if spec is None:
            return None
        found = self._found.get(name)
        if found is not None:
            return found
        package, inner, content_type = spec
        env = os.environ if self._environ is None else self._environ
        for root in _roots(env):
            path = root / package / inner
            if path.is_file():
                found = VendorFile(path, content_type)
                self._found[name] = found
                return found
        raise ConfigError(f"the npm package {package!r} is not installed; {SETUP_HINT}")
