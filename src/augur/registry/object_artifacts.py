"""Artifacts in S3-API object storage, read through a verified local cache.

With ``AUGUR_ARTIFACTS_URL=s3://bucket/prefix`` the artifacts of every version
live in the bucket under content-addressed keys, ``PREFIX/sha256/ab/<hash>.onnx``,
and each machine keeps a read-through cache of the ones it used under
``$AUGUR_HOME/artifacts`` (the same layout as the embedded file store). Together
with the PostgreSQL registry, replicas on different machines share nothing else.

- Registering uploads the bytes *before* the version row is written, so a version
  is visible only once its artifact is complete in the bucket (an S3 object
  appears whole or not at all); a failed upload registers nothing.
- Every read checks the bytes' SHA-256, in the cache and after a download; an
  object altered in the store is refused (:class:`~augur.errors.InvalidArtifact`)
  and never cached.
- An unreachable endpoint, refused credentials or a missing bucket raise one
  clear error each (:mod:`augur.backends.errors`), with no secret in it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

from augur.backends import S3Bucket, parse_url
from augur.errors import InvalidArtifact
from augur.registry.artifacts import ArtifactStore


class Artifacts(Protocol):
    """Where artifact bytes live: files under ``$AUGUR_HOME`` or an S3-API bucket."""

    def describe(self) -> str: ...

    def put(self, data: bytes, digest: str | None = None) -> str: ...

    def read(self, digest: str) -> bytes: ...

    def path_for(self, digest: str) -> Path: ...

    def delete(self, digest: str) -> None: ...


def open_artifacts(home: Path, url: str | None, endpoint_url: str | None,
                   what: str = "artifacts URL") -> Artifacts:
    """The artifact store: files under ``home/artifacts``, or a bucket cached there.

    Raises:
        ConfigError: ``url`` is not an ``s3://bucket/prefix`` URL.
    """
    files = ArtifactStore(home / "artifacts")
    if not url:
        return files
    bucket = S3Bucket(parse_url(url, schemes=("s3",), what=what), endpoint_url)
    return ObjectArtifactStore(bucket, files)


def artifact_key(digest: str) -> str:
    """The object key of an artifact under the bucket's prefix."""
    return f"sha256/{digest[:2]}/{digest}.onnx"


class ObjectArtifactStore:
    """Content-addressed artifacts in a bucket, with a verified local cache.

    Args:
        bucket: the bucket and key prefix.
        cache: the local file store used as a read-through cache.
    """

    def __init__(self, bucket: S3Bucket, cache: ArtifactStore) -> None:
        self.bucket = bucket
        self.cache = cache

    def describe(self) -> str:
        """The bucket (and endpoint) the artifacts live in."""
        return self.bucket.describe()

    def put(self, data: bytes, digest: str | None = None) -> str:
        """Upload ``data`` under its hash (then cache it) and return the hex digest.

        Raises:
            ServiceUnavailable: the endpoint cannot be reached.
            ConfigError: the credentials are refused or the bucket does not exist.
            StoreError: the store refused the upload.
        """
        import base64

        raw = hashlib.sha256(data).digest()
        digest = digest or raw.hex()
        self.bucket.put(artifact_key(digest), data,
                        checksum_sha256=base64.b64encode(raw).decode())
        self.cache.put(data, digest)
        return digest

    def _fetch(self, digest: str) -> bytes:
        data = self.bucket.get(artifact_key(digest))
        if data is None:
            raise InvalidArtifact(f"artifact {digest[:12]} is missing from "
                                  f"{self.bucket.describe()}")
        if hashlib.sha256(data).hexdigest() != digest:
            raise InvalidArtifact(f"artifact {digest[:12]} in {self.bucket.describe()} was "
                                  "altered in the object store; register the model again")
        self.cache.put(data, digest)
        return data

    def has(self, digest: str) -> bool:
        """Whether the artifact is in the local cache."""
        return self.cache.has(digest)

    def read(self, digest: str) -> bytes:
        """The artifact's bytes, from the cache when it holds them intact, else the bucket.

        Raises:
            InvalidArtifact: the object is missing or was altered in the store.
            ServiceUnavailable, ConfigError: the store cannot be used (see :meth:`put`).
        """
        if self.cache.has(digest):
            try:
                return self.cache.read(digest)
            except InvalidArtifact:
                pass  # altered on disk: the bucket's copy replaces it
        return self._fetch(digest)

    def path_for(self, digest: str) -> Path:
        """The local cache file of an artifact, downloaded first if needed."""
        if not self.cache.has(digest):
            self._fetch(digest)
        return self.cache.path_for(digest)

    def delete(self, digest: str) -> None:
        """Remove the artifact from the bucket and the local cache."""
        self.bucket.delete(artifact_key(digest))
        self.cache.delete(digest)
