"""Content-addressed artifact files and the checks that guard them.

Artifacts are stored once per content hash under ``artifacts/sha256/ab/<hash>.onnx``,
written to a temporary file and renamed into place, then made read-only: a
registered version's bytes never change. Storing bytes whose file already exists
checks that file's hash first and rewrites it when it was altered, so registering
good bytes again repairs a damaged artifact.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from augur.errors import InvalidArtifact

# Pickle streams start with PROTO (0x80) and a protocol number 2..5; protocol 0/1
# streams commonly start with '(' or ']' / '}' followed by more opcodes.
_PICKLE_PREFIXES = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_ZIP_PREFIX = b"PK\x03\x04"  # torch.save files, joblib archives


def sniff_refused_format(data: bytes) -> str | None:
    """Name the format of ``data`` if it is one augur refuses to load (pickle, zip)."""
    head = data[:4]
    if head.startswith(_PICKLE_PREFIXES):
        return "a Python pickle"
    if head.startswith(_ZIP_PREFIX):
        return "a zip archive (torch.save / joblib?)"
    if data[:1] in (b"(", b"]", b"}") and data.rstrip().endswith(b"."):
        return "a Python pickle (protocol 0/1)"
    return None


def check_onnx_bytes(data: bytes, source: str = "artifact") -> None:
    """Check that ``data`` is a well-formed ONNX model.

    Raises:
        InvalidArtifact: the bytes are empty, a pickle or zip archive, do not
            parse as ONNX, or fail the ONNX checker. The message names the source.
    """
    import onnx

    if not data:
        raise InvalidArtifact(f"{source} is empty")
    refused = sniff_refused_format(data)
    if refused:
        raise InvalidArtifact(
            f"{source} is {refused}; augur never loads pickled objects. "
            "Export the model with augur.export() or hand in an .onnx file")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf DecodeError and friends
        raise InvalidArtifact(f"{source} is not a valid ONNX file (corrupt or truncated): {exc}") from exc
    if not model.graph.node and not model.graph.output:
        raise InvalidArtifact(f"{source} is not a valid ONNX file: it has an empty graph")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise InvalidArtifact(f"{source} fails the ONNX checker: {exc}") from exc


def _sha256_of_file(path: Path) -> str | None:
    """The SHA-256 of a file's bytes, or ``None`` if it cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


class ArtifactStore:
    """Immutable files addressed by their SHA-256.

    Args:
        root: the folder holding ``sha256/``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        """Where the artifacts live."""
        return str(self.root)

    def path_for(self, digest: str) -> Path:
        """Where the artifact with ``digest`` lives (it may not exist)."""
        return self.root / "sha256" / digest[:2] / f"{digest}.onnx"

    def put(self, data: bytes, digest: str | None = None) -> str:
        """Store ``data`` (once per content) and return its SHA-256 hex digest.

        An existing file is kept only if its bytes still hash to the digest; an
        altered one is replaced atomically (readers see the old file or the new one).

        Args:
            data: the artifact's bytes.
            digest: their SHA-256 if the caller computed it already.
        """
        digest = digest or hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if path.exists() and _sha256_of_file(path) == digest:
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def has(self, digest: str) -> bool:
        """Whether the artifact's file exists (its bytes are checked on read)."""
        return self.path_for(digest).exists()

    def read(self, digest: str) -> bytes:
        """Return the bytes of an artifact, checking they still hash to ``digest``.

        Raises:
            InvalidArtifact: the file is missing or was altered on disk.
        """
        path = self.path_for(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InvalidArtifact(f"artifact {digest[:12]} is missing from {path.parent}") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise InvalidArtifact(f"artifact {digest[:12]} at {path} was altered on disk")
        return data

    def delete(self, digest: str) -> None:
        """Remove an artifact file (the caller checks nothing references it)."""
        self.path_for(digest).unlink(missing_ok=True)
