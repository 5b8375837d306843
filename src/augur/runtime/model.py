"""A loaded model version: an ONNX Runtime session plus its signature."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np

from augur.errors import InvalidArtifact, InvalidInput
from augur.registry import ModelVersion, Registry, TuningCache
from augur.runtime.inputs import to_feeds
from augur.runtime.options import RuntimeOptions, hardware_fingerprint, runtime_version
from augur.runtime.validation import FeedValidator
from augur.signature import Signature

log = logging.getLogger("augur.runtime")

_CONTRIB_DOMAIN = "ai.onnx.contrib"


def _uses_contrib_ops(data: bytes) -> bool:
    # onnxruntime-extensions ops (tokenizers etc.) live in this domain; the
    # library must be registered before the session is created.
    return _CONTRIB_DOMAIN.encode() in data


def create_session(data: bytes, options: RuntimeOptions | None = None) -> Any:
    """Create an ONNX Runtime ``InferenceSession`` from model bytes.

    Raises:
        InvalidArtifact: ONNX Runtime cannot load the model.
    """
    import onnxruntime as ort

    opts = options or RuntimeOptions()
    so = opts.session_options()
    if _uses_contrib_ops(data):
        try:
            from onnxruntime_extensions import get_library_path
        except ImportError as exc:
            raise InvalidArtifact("this model uses onnxruntime-extensions operators; "
                                  "install augur[text]") from exc
        so.register_custom_ops_library(get_library_path())
    try:
        return ort.InferenceSession(data, sess_options=so, providers=opts.available_providers())
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
        raise InvalidArtifact(f"ONNX Runtime cannot load the model: {exc}") from exc


class LoadedModel:
    """One version ready to predict.

    Attributes:
        name, version: which registered version this is (``None`` for bare bytes).
        signature: inputs and outputs the model takes and returns.
        options: the execution options the session was built with.
        load_seconds: how long creating the session took.
        size: artifact size in bytes.
    """

    def __init__(self, data: bytes, signature: Signature, *, options: RuntimeOptions,
                 name: str | None = None, version: int | None = None,
                 artifact: str | None = None) -> None:
        start = time.perf_counter()
        self.session = create_session(data, options)
        self.load_seconds = time.perf_counter() - start
        self.signature = signature
        self.options = options
        self.name = name
        self.version = version
        self.artifact = artifact
        self.size = len(data)
        self._output_names = [o.name for o in self.session.get_outputs()]
        #: the one input check of this version (batch jobs and the server use it)
        self.validator = FeedValidator(signature)
        self._lock = threading.Lock()

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}" if self.name else "<unregistered>"

    @property
    def output_names(self) -> list[str]:
        return list(self._output_names)

    def predict(self, data: Any, outputs: list[str] | None = None) -> dict[str, np.ndarray]:
        """Validate ``data`` against the signature and run the model.

        Args:
            data: a mapping of input name to array, a DataFrame, records, or an
                array for a single-input model.
            outputs: output names to compute (default: all).

        Returns:
            Output name -> numpy array, the batch axis first.

        Raises:
            InvalidInput: the data does not match the signature.
        """
        return self.run(to_feeds(self.signature, data), outputs)

    def validate(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Check a mapping of input name to tensor against the signature (see
        :class:`~augur.runtime.validation.FeedValidator`; losslessly convertible dtypes
        are converted)."""
        return self.validator.check(feeds)

    def run(self, feeds: dict[str, np.ndarray],
            outputs: list[str] | None = None) -> dict[str, np.ndarray]:
        """Run already-validated feeds through the session."""
        names = outputs or self._output_names
        unknown = [n for n in names if n not in self._output_names]
        if unknown:
            raise InvalidInput(f"unknown output(s) {unknown}; the model returns "
                               f"{self._output_names}")
        try:
            results = self.session.run(names, feeds)
        except Exception as exc:  # ORT: InvalidArgument, Fail, ...
            raise InvalidInput(f"the model rejected the input: {exc}") from exc
        return dict(zip(names, results, strict=True))


def tuned_options(registry: Registry, version: ModelVersion) -> RuntimeOptions | None:
    """The cached tuned options for ``version`` on this hardware, if any."""
    cache = TuningCache(registry.db)
    entry = cache.get(version.artifact, hardware_fingerprint(), runtime_version())
    if entry is not None:
        return RuntimeOptions.from_dict(entry["options"])
    if cache.for_artifact(version.artifact):
        log.info("tuned options for %s exist for other hardware or ONNX Runtime versions; "
                 "using defaults here", version.ref)
    return None


def load(ref: str | ModelVersion, registry: Registry | None = None,
         options: RuntimeOptions | None = None) -> LoadedModel:
    """Load a registered version for prediction.

    Args:
        ref: ``name``, ``name:3``, ``name@alias``, or a :class:`ModelVersion`.
        registry: where to look (default: ``$AUGUR_HOME``).
        options: execution options; by default the tuned options cached for this
            model and hardware, else ONNX Runtime's defaults.

    Raises:
        ModelNotFound: the reference matches nothing.
        InvalidArtifact: the artifact is missing, altered or cannot be loaded.

    Example:
        >>> model = augur.load("iris@production")          # doctest: +SKIP
        >>> model.predict([{"sepal_length": 5.1, ...}])    # doctest: +SKIP
    """
    reg = registry or Registry()
    version = ref if isinstance(ref, ModelVersion) else reg.resolve(ref)
    opts = options or tuned_options(reg, version) or RuntimeOptions()
    data = reg.read_artifact(version)
    return LoadedModel(data, version.signature, options=opts, name=version.name,
                       version=version.version, artifact=version.artifact)


def load_bytes(data: bytes, signature: Signature | None = None,
               options: RuntimeOptions | None = None) -> LoadedModel:
    """Load unregistered ONNX bytes (e.g. for a parity check before registering)."""
    import onnx

    sig = signature or Signature.from_onnx(onnx.load_model_from_string(data))
    return LoadedModel(data, sig, options=options or RuntimeOptions())
