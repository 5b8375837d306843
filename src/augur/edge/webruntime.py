"""Where onnxruntime-web lives on this machine, and which of its files each backend needs.

onnxruntime-web is installed from the npm registry at set-up time
(``scripts/setup.d/30-npm-packages.sh`` runs ``npm ci`` next to
``package.json``) and served by augur itself, so a page never reaches a CDN.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from augur.errors import ConfigError

ENV_VAR = "AUGUR_ONNXRUNTIME_WEB"

#: Files each backend loads: the ES module entry, then the Emscripten glue and its WASM.
BACKEND_FILES: dict[str, tuple[str, ...]] = {
    "wasm": ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"),
    "webgpu": ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
               "ort-wasm-simd-threaded.asyncify.wasm"),
}

CONTENT_TYPES = {".mjs": "text/javascript; charset=utf-8", ".wasm": "application/wasm"}

SETUP_HINT = ("run scripts/setup.sh (or 'npm ci' next to package.json), or point "
              f"{ENV_VAR} at an onnxruntime-web dist/ folder")


@dataclass(frozen=True)
class WebRuntime:
    """An installed onnxruntime-web distribution.

    Attributes:
        dist: the package's ``dist/`` folder.
        version: the package version from its ``package.json``.
    """

    dist: Path
    version: str

    def backends(self) -> list[str]:
        """The backends whose files are all present, ``wasm`` first."""
        return [b for b, files in BACKEND_FILES.items()
                if all((self.dist / f).is_file() for f in files)]

    def files(self, backends: tuple[str, ...] = ("wasm",)) -> list[Path]:
        """The files the given backends need.

        Raises:
            ConfigError: an unknown backend, or one whose files are missing.
        """
        out: list[Path] = []
        for backend in backends:
            if backend not in BACKEND_FILES:
                raise ConfigError(f"unknown onnxruntime-web backend {backend!r}; "
                                  f"expected one of {sorted(BACKEND_FILES)}")
            for name in BACKEND_FILES[backend]:
                path = self.dist / name
                if not path.is_file():
                    raise ConfigError(f"onnxruntime-web in {self.dist} lacks {name}; "
                                      f"{SETUP_HINT}")
                out.append(path)
        return out

    def servable(self, name: str) -> Path | None:
        """The path of ``name`` if it is one of the files augur serves, else ``None``.

        Only the known runtime files are served, never an arbitrary path.
        """
        allowed = {f for files in BACKEND_FILES.values() for f in files}
        if name not in allowed:
            return None
        path = self.dist / name
        return path if path.is_file() else None


def _candidates(environ: Mapping[str, str]) -> list[Path]:
    found: list[Path] = []
    override = environ.get(ENV_VAR)
    if override:
        return [Path(override).expanduser()]
    here = Path(__file__).resolve()
    cwd = Path.cwd().resolve()
    for base in (*here.parents, cwd, *cwd.parents):
        candidate = base / "node_modules" / "onnxruntime-web" / "dist"
        if candidate not in found:
            found.append(candidate)
    return found


def find_web_runtime(environ: Mapping[str, str] | None = None) -> WebRuntime:
    """Locate the installed onnxruntime-web.

    Looks at ``$AUGUR_ONNXRUNTIME_WEB`` if set, else for ``node_modules/onnxruntime-web``
    next to the augur checkout or the current directory.

    Raises:
        ConfigError: onnxruntime-web is not installed (the message says how to install it).
    """
    env = os.environ if environ is None else environ
    for dist in _candidates(env):
        if (dist / BACKEND_FILES["wasm"][0]).is_file():
            version = "unknown"
            package = dist.parent / "package.json"
            if package.is_file():
                version = str(json.loads(package.read_text(encoding="utf-8")).get("version"))
            return WebRuntime(dist=dist, version=version)
    where = env.get(ENV_VAR) or "node_modules/onnxruntime-web"
    raise ConfigError(f"onnxruntime-web is not installed (looked for {where}); {SETUP_HINT}")
