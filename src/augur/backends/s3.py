"""Objects in an S3-API bucket (AWS S3, MinIO, Ceph, GCS interop) for the registry's artifacts.

The URL names only the bucket and a key prefix (``s3://bucket/prefix``). The
endpoint comes from the caller (``AUGUR_S3_ENDPOINT_URL``) or, when it gives
none, from boto3's own ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``; the
credentials and region from the standard AWS chain (environment, shared files,
instance role). boto3 is the optional ``s3`` extra, imported on first use.
"""

from __future__ import annotations

from typing import Any

from augur.backends.errors import translate_errors
from augur.backends.urls import BackendURL
from augur.errors import ConfigError, StoreError

CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 60


class S3Bucket:
    """Whole objects under one bucket and key prefix.

    Args:
        url: an ``s3://bucket/prefix`` URL.
        endpoint_url: the S3 endpoint (``http://minio:9000``); ``None`` lets boto3 choose.
    """

    def __init__(self, url: BackendURL, endpoint_url: str | None = None) -> None:
        if url.scheme != "s3" or not url.database:
            raise ConfigError(f"{url.describe()} is not an s3://bucket/prefix URL")
        self.url = url
        self.bucket = url.database
        self.endpoint_url = endpoint_url
        self._client: Any = None
        self._secrets: tuple[str, ...] = ()

    def describe(self) -> str:
        """``s3://bucket/prefix`` and the endpoint when one is set."""
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"{self.url.describe()}{where}"

    def key(self, name: str) -> str:
        """The object key of ``name`` under the prefix."""
        return f"{self.url.key_prefix}/{name}" if self.url.key_prefix else name

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as exc:
                raise ConfigError("artifacts on S3 need boto3: pip install 'augur[s3]'") from exc
            session = boto3.session.Session()
            credentials = session.get_credentials()
            if credentials is not None:
                frozen = credentials.get_frozen_credentials()
                self._secrets = tuple(s for s in (frozen.secret_key, frozen.token) if s)
            config = Config(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
                            retries={"max_attempts": 2, "mode": "standard"})
            with translate_errors("creating the S3 client", self.url, secrets=self._secrets):
                self._client = session.client("s3", endpoint_url=self.endpoint_url,
                                              config=config)
        return self._client

    def _talking(self, what: str) -> Any:
        return translate_errors(f"{what} (endpoint {self.endpoint_url or 'default'})",
                                self.url, secrets=self._secrets)

    def check(self) -> None:
        """Check that the bucket exists and the credentials may use it.

        Raises:
            ServiceUnavailable: the endpoint cannot be reached.
            ConfigError: wrong credentials, or no such bucket.
        """
        client = self.client
        from botocore.exceptions import ClientError

        try:
            with self._talking("checking the bucket"):
                client.head_bucket(Bucket=self.bucket)
        except StoreError as exc:
            # HEAD has no body: a missing bucket is a bare 404.
            cause = exc.__cause__
            if isinstance(cause, ClientError) and \
                    str(cause.response.get("Error", {}).get("Code")) in ("404", "NoSuchBucket"):
                raise ConfigError(f"{self.describe()}: the bucket {self.bucket} does not "
                                  "exist") from cause
            raise

    def put(self, name: str, data: bytes, checksum_sha256: str | None = None) -> None:
        """Write the object ``name`` whole (S3 makes it visible only once complete).

        Args:
            name: the key under the prefix.
            data: the bytes.
            checksum_sha256: base64 SHA-256 of ``data`` for the store to verify.
        """
        client = self.client
        extra: dict[str, Any] = {}
        if checksum_sha256:
            extra["ChecksumSHA256"] = checksum_sha256
        with self._talking(f"uploading {name}"):
            client.put_object(Bucket=self.bucket, Key=self.key(name), Body=data, **extra)

    def get(self, name: str) -> bytes | None:
        """The bytes of object ``name``, or ``None`` if there is none."""
        client = self.client
        with self._talking(f"downloading {name}"):
            try:
                reply = client.get_object(Bucket=self.bucket, Key=self.key(name))
            except client.exceptions.NoSuchKey:
                return None
            body: bytes = reply["Body"].read()
            return body

    def delete(self, name: str) -> None:
        """Remove object ``name`` (nothing if it is missing)."""
        client = self.client
        with self._talking(f"deleting {name}"):
            client.delete_object(Bucket=self.bucket, Key=self.key(name))
