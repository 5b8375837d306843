"""The model registry: models, immutable numbered versions, movable aliases."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augur.config import Settings
from augur.errors import AugurError, IncompatibleSignature, InvalidArtifact, ModelNotFound
from augur.registry.artifacts import check_onnx_bytes
from augur.registry.compat import incompatibilities
from augur.registry.db import Connection, Database, Row
from augur.registry.object_artifacts import Artifacts, open_artifacts
from augur.registry.refs import (
    DEFAULT_ALIAS,
    MAX_VERSION,
    Reference,
    parse_reference,
    validate_name,
)
from augur.signature import Signature


@dataclass(frozen=True)
class ModelVersion:
    """One immutable registered version of a model."""

    name: str
    version: int
    artifact: str
    size: int
    framework: str
    signature: Signature
    created_at: float
    parity: dict[str, Any] | None = None
    parent: Reference | None = None
    derivation: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """The exact reference of this version, ``name:version``."""
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "artifact": self.artifact,
            "size": self.size, "framework": self.framework, "created_at": self.created_at,
            "signature": self.signature.to_dict(), "parity": self.parity,
            "parent": str(self.parent) if self.parent else None,
            "derivation": self.derivation, "tags": self.tags, "metrics": self.metrics,
        }


@dataclass(frozen=True)
class ModelInfo:
    """A model with its latest version number and aliases."""

    name: str
    latest: int | None
    versions: int
    aliases: dict[str, int]
    description: str
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "latest": self.latest, "versions": self.versions,
                "aliases": self.aliases, "description": self.description,
                "created_at": self.created_at}


def _version_from_row(row: Row) -> ModelVersion:
    parent = None
    if row["parent_model"] is not None:
        parent = Reference(row["parent_model"], version=row["parent_version"])
    return ModelVersion(
        name=row["model"], version=row["version"], artifact=row["artifact"],
        size=row["size"], framework=row["framework"],
        signature=Signature.from_dict(json.loads(row["signature"])),
        created_at=row["created_at"],
        parity=json.loads(row["parity"]) if row["parity"] else None,
        parent=parent,
        derivation=json.loads(row["derivation"]) if row["derivation"] else None,
        tags=json.loads(row["tags"]), metrics=json.loads(row["metrics"]),
    )


class Registry:
    """Versioned models under one ``AUGUR_HOME``.

    Metadata (models, versions, aliases and their history, lineage, tags, metrics,
    run records, the tuning cache) lives in SQLite at ``home/registry.db``, or in
    PostgreSQL when a URL is given; artifacts are content-addressed files under
    ``home/artifacts``, or objects in an S3-API bucket cached there. Both metadata
    backends give the same guarantees: versions 1..N without gaps or duplicates
    under concurrent writers, immutable versions, atomic alias moves with history.

    Args:
        home: folder holding ``registry.db`` and ``artifacts/``; defaults to
            ``$AUGUR_HOME`` or ``./.augur``.
        url: ``postgresql://user@host:5432/database`` for the metadata.
        artifacts_url: ``s3://bucket/prefix`` for the artifacts.
        s3_endpoint_url: the S3 endpoint (MinIO, Ceph...); default boto3's choice.
            When ``home`` is ``None``, each of these left ``None`` comes from its
            environment variable (``AUGUR_REGISTRY_URL``, ``AUGUR_ARTIFACTS_URL``,
            ``AUGUR_S3_ENDPOINT_URL``).

    Raises:
        ConfigError: ``url`` is not a PostgreSQL URL, or ``artifacts_url`` not an
            ``s3://`` one.

    Example:
        >>> reg = Registry("/tmp/augur-home")            # doctest: +SKIP
        >>> v = reg.register("iris", onnx_bytes, sig)    # doctest: +SKIP
        >>> reg.set_alias("iris", "production", v.version)  # doctest: +SKIP
        >>> reg.resolve("iris").version                  # doctest: +SKIP
        1
    """

    def __init__(self, home: str | Path | None = None, *, url: str | None = None,
                 artifacts_url: str | None = None,
                 s3_endpoint_url: str | None = None) -> None:
        names = ("registry URL", "artifacts URL")
        if home is None:
            settings = Settings.from_env()
            names = ("AUGUR_REGISTRY_URL", "AUGUR_ARTIFACTS_URL")
            home, url = settings.home, url or settings.registry_url
            artifacts_url = artifacts_url or settings.artifacts_url
            s3_endpoint_url = s3_endpoint_url or settings.s3_endpoint_url
        self.home = Path(home)
        self.db = Database(self.home / "registry.db", url, what=names[0])
        self.artifacts: Artifacts = open_artifacts(self.home, artifacts_url, s3_endpoint_url,
                                                   names[1])

    def close(self) -> None:
        """Release pooled database connections (they reopen on next use)."""
        self.db.close()

    # -- versions ---------------------------------------------------------------

    def register(
        self,
        name: str,
        artifact: bytes,
        signature: Signature,
        *,
        framework: str = "onnx",
        parity: dict[str, Any] | None = None,
        parent: str | Reference | None = None,
        derivation: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None,
        description: str = "",
    ) -> ModelVersion:
        """Store an ONNX artifact as the next version of ``name`` (created if new).

        Raises:
            InvalidName: the name is not allowed.
            InvalidArtifact: the bytes are not a valid ONNX model (nothing is stored).
            ModelNotFound: ``parent`` does not exist.
        """
        validate_name(name)
        check_onnx_bytes(artifact, f"artifact for {name!r}")
        parent_v = self.resolve(parent) if parent is not None else None
        digest = self.artifacts.put(artifact)
        now = time.time()
        with self.db.write() as conn:
            conn.execute("INSERT INTO models(name, description, created_at) VALUES (?, ?, ?)"
                         " ON CONFLICT(name) DO NOTHING", (name, description, now))
            row = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE model = ?",
                               (name,)).fetchone()
            version = int(row[0])
            conn.execute(
                "INSERT INTO versions(model, version, artifact, size, framework, signature, parity,"
                " parent_model, parent_version, derivation, tags, metrics, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, version, digest, len(artifact), framework,
                 json.dumps(signature.to_dict()), json.dumps(parity) if parity else None,
                 parent_v.name if parent_v else None, parent_v.version if parent_v else None,
                 json.dumps(derivation) if derivation else None,
                 json.dumps(tags or {}), json.dumps(metrics or {}), now))
        return self.get(name, version)

    def get(self, name: str, version: int) -> ModelVersion:
        """Return one version.

        Raises:
            ModelNotFound: no such model or version.
        """
        if isinstance(version, bool) or not isinstance(version, int) \
                or not 1 <= version <= MAX_VERSION:
            raise ModelNotFound(f"model {name!r} has no version {version!r} (versions are "
                                f"integers from 1 to {MAX_VERSION})")
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM versions WHERE model = ? AND version = ?",
                               (name, version)).fetchone()
            if row is None:
                exists = conn.execute("SELECT 1 FROM models WHERE name = ?", (name,)).fetchone()
        if row is None:
            if not exists:
                raise ModelNotFound(f"no model named {name!r}")
            raise ModelNotFound(f"model {name!r} has no version {version}")
        return _version_from_row(row)

    def resolve(self, ref: str | Reference) -> ModelVersion:
        """Resolve ``name``, ``name:3`` or ``name@alias`` to a version.

        A bare name means its ``production`` alias if set, else the latest version.

        Raises:
            InvalidReference, InvalidName: the reference is malformed.
            ModelNotFound: nothing matches.
        """
        r = parse_reference(ref) if isinstance(ref, str) else ref
        if r.version is not None:
            return self.get(r.name, r.version)
        with self.db.read() as conn:
            if r.alias is not None:
                row = conn.execute("SELECT version FROM aliases WHERE model = ? AND alias = ?",
                                   (r.name, r.alias)).fetchone()
                if row is None:
                    exists = conn.execute("SELECT 1 FROM models WHERE name = ?",
                                          (r.name,)).fetchone()
                    if not exists:
                        raise ModelNotFound(f"no model named {r.name!r}")
                    raise ModelNotFound(f"model {r.name!r} has no alias {r.alias!r}")
                version = int(row[0])
            else:
                row = conn.execute("SELECT version FROM aliases WHERE model = ? AND alias = ?",
                                   (r.name, DEFAULT_ALIAS)).fetchone()
                if row is None:
                    row = conn.execute("SELECT MAX(version) FROM versions WHERE model = ?",
                                       (r.name,)).fetchone()
                if row is None or row[0] is None:
                    raise ModelNotFound(f"no model named {r.name!r}")
                version = int(row[0])
        return self.get(r.name, version)

    def versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, oldest first.

        Raises:
            ModelNotFound: no such model.
        """
        validate_name(name)
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM versions WHERE model = ? ORDER BY version",
                                (name,)).fetchall()
            exists = conn.execute("SELECT 1 FROM models WHERE name = ?", (name,)).fetchone()
        if not exists:
            raise ModelNotFound(f"no model named {name!r}")
        return [_version_from_row(r) for r in rows]

    def list_models(self) -> list[ModelInfo]:
        """Every model, by name."""
        with self.db.read() as conn:
            models = conn.execute(
                "SELECT m.name, m.description, m.created_at, MAX(v.version) AS latest,"
                " COUNT(v.version) AS n FROM models m LEFT JOIN versions v ON v.model = m.name"
                " GROUP BY m.name ORDER BY m.name").fetchall()
            aliases: dict[str, dict[str, int]] = {}
            for row in conn.execute("SELECT model, alias, version FROM aliases ORDER BY alias"):
                aliases.setdefault(row["model"], {})[row["alias"]] = row["version"]
        return [ModelInfo(name=m["name"], latest=m["latest"], versions=m["n"],
                          aliases=aliases.get(m["name"], {}), description=m["description"],
                          created_at=m["created_at"]) for m in models]

    def read_artifact(self, version: ModelVersion) -> bytes:
        """The ONNX bytes of a version, verified against its hash."""
        return self.artifacts.read(version.artifact)

    def artifact_path(self, version: ModelVersion) -> Path:
        """The read-only local file holding a version's ONNX bytes (downloaded and
        cached first when artifacts live in object storage)."""
        return self.artifacts.path_for(version.artifact)

    def update_metadata(self, name: str, version: int, *, tags: dict[str, str] | None = None,
                        metrics: dict[str, float] | None = None) -> ModelVersion:
        """Merge tags and metrics into a version (its artifact and signature never change).

        Raises:
            ModelNotFound: no such model or version.
        """
        self.get(name, version)
        with self.db.write() as conn:
            # Read inside the write lock so concurrent merges do not lose each other's keys.
            row = conn.execute("SELECT * FROM versions WHERE model = ? AND version = ?",
                               (name, version)).fetchone()
            if row is None:
                raise ModelNotFound(f"model {name!r} has no version {version}")
            current = _version_from_row(row)
            new_tags = {**current.tags, **(tags or {})}
            new_metrics = {**current.metrics, **(metrics or {})}
            conn.execute("UPDATE versions SET tags = ?, metrics = ? WHERE model = ? AND version = ?",
                         (json.dumps(new_tags), json.dumps(new_metrics), name, version))
        return self.get(name, version)

    def delete(self, name: str, version: int | None = None) -> int:
        """Delete a model (all versions) or one version; return how many versions went.

        A version that an alias points to is not deleted: move the alias first.
        Deleting a model's last version deletes the model.

        Raises:
            ModelNotFound: no such model or version.
            AugurError: the version is the target of an alias.
        """
        validate_name(name)
        with self.db.write() as conn:
            if not conn.execute("SELECT 1 FROM models WHERE name = ?", (name,)).fetchone():
                raise ModelNotFound(f"no model named {name!r}")
            if version is None:
                digests = [r[0] for r in conn.execute(
                    "SELECT artifact FROM versions WHERE model = ?", (name,))]
                conn.execute("DELETE FROM versions WHERE model = ?", (name,))
                conn.execute("DELETE FROM aliases WHERE model = ?", (name,))
                conn.execute("DELETE FROM models WHERE name = ?", (name,))
            else:
                row = conn.execute("SELECT artifact FROM versions WHERE model = ? AND version = ?",
                                   (name, version)).fetchone()
                if row is None:
                    raise ModelNotFound(f"model {name!r} has no version {version}")
                held = [r[0] for r in conn.execute(
                    "SELECT alias FROM aliases WHERE model = ? AND version = ?", (name, version))]
                if held:
                    raise AugurError(f"{name}:{version} is the target of alias(es) "
                                     f"{', '.join(held)}; move them before deleting it")
                digests = [row[0]]
                conn.execute("DELETE FROM versions WHERE model = ? AND version = ?",
                             (name, version))
                if not conn.execute("SELECT 1 FROM versions WHERE model = ?",
                                    (name,)).fetchone():
                    # its last version: a model with no versions is not a model
                    conn.execute("DELETE FROM aliases WHERE model = ?", (name,))
                    conn.execute("DELETE FROM models WHERE name = ?", (name,))
            orphans = [d for d in digests if not conn.execute(
                "SELECT 1 FROM versions WHERE artifact = ?", (d,)).fetchone()]
        for digest in orphans:
            self.artifacts.delete(digest)
        return len(digests)

    # -- aliases ----------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, *, force: bool = False) -> int | None:
        """Point ``name@alias`` at ``version`` atomically; return the previous version.

        A move to a version whose signature its clients cannot call the same way
        (see :func:`~augur.registry.compat.incompatibilities`: columns or inputs gone
        or retyped, outputs gone) is refused unless ``force``.

        Raises:
            ModelNotFound: the model or version does not exist.
            IncompatibleSignature: the move would break the alias's clients.
        """
        validate_name(alias, "alias")
        target = self.get(name, version)
        with self.db.write() as conn:
            return self._move(conn, target, alias, "set", force=force)

    def _move(self, conn: Connection, target: ModelVersion, alias: str, action: str, *,
              force: bool) -> int | None:
        name, version = target.name, target.version
        if not conn.execute("SELECT 1 FROM versions WHERE model = ? AND version = ?",
                            (name, version)).fetchone():
            raise ModelNotFound(f"model {name!r} has no version {version}")
        row = conn.execute("SELECT version FROM aliases WHERE model = ? AND alias = ?",
                           (name, alias)).fetchone()
        previous = int(row[0]) if row else None
        if previous is not None and previous != version and not force:
            old = conn.execute("SELECT signature FROM versions WHERE model = ? AND version = ?",
                               (name, previous)).fetchone()
            if old is not None:
                problems = incompatibilities(Signature.from_dict(json.loads(old[0])),
                                             target.signature)
                if problems:
                    raise IncompatibleSignature(
                        f"{name}@{alias} stays on {previous}: clients of {name}:{previous} "
                        f"cannot call {name}:{version} the same way ({'; '.join(problems)}); "
                        "move it anyway with force (augur alias set --force), or register a "
                        "version with a compatible signature")
        now = time.time()
        conn.execute("INSERT INTO aliases(model, alias, version, updated_at) VALUES (?,?,?,?)"
                     " ON CONFLICT(model, alias) DO UPDATE SET version = excluded.version,"
                     " updated_at = excluded.updated_at", (name, alias, version, now))
        conn.execute("INSERT INTO alias_history(model, alias, version, previous, moved_at,"
                     " action) VALUES (?,?,?,?,?,?)", (name, alias, version, previous, now,
                                                       action))
        return previous

    def remove_alias(self, name: str, alias: str) -> None:
        """Remove an alias (its history is kept).

        Raises:
            ModelNotFound: the alias is not set.
        """
        now = time.time()
        with self.db.write() as conn:
            row = conn.execute("SELECT version FROM aliases WHERE model = ? AND alias = ?",
                               (name, alias)).fetchone()
            if row is None:
                raise ModelNotFound(f"model {name!r} has no alias {alias!r}")
            conn.execute("DELETE FROM aliases WHERE model = ? AND alias = ?", (name, alias))
            conn.execute("INSERT INTO alias_history(model, alias, version, previous, moved_at,"
                         " action) VALUES (?,?,NULL,?,?,'remove')", (name, alias, row[0], now))

    def rollback(self, name: str, alias: str) -> ModelVersion:
        """Move ``name@alias`` one step back through its history.

        Each move pushes a version and each rollback pops one, so repeated
        rollbacks walk back (3 -> 2 -> 1) instead of toggling between the last two;
        versions deleted since are skipped. A rollback is never refused for its
        signature: it returns clients to what they called before.

        Raises:
            ModelNotFound: the alias has no earlier version that still exists.
        """
        validate_name(alias, "alias")
        with self.db.write() as conn:
            target = self.get(name, self._rollback_target(conn, name, alias))
            self._move(conn, target, alias, "rollback", force=True)
        return target

    def rollback_target(self, name: str, alias: str) -> int:
        """The version :meth:`rollback` would move ``name@alias`` to now.

        Raises:
            ModelNotFound: the alias has no earlier version that still exists.
        """
        validate_name(alias, "alias")
        with self.db.read() as conn:
            return self._rollback_target(conn, name, alias)

    @staticmethod
    def _rollback_target(conn: Connection, name: str, alias: str) -> int:
        rows = conn.execute("SELECT version, action FROM alias_history WHERE model = ?"
                            " AND alias = ? ORDER BY id", (name, alias)).fetchall()
        stack: list[int] = []
        for row in rows:
            if row["action"] == "rollback":
                if stack:
                    stack.pop()
            elif row["action"] == "remove" or row["version"] is None:
                stack.clear()
            elif not stack or stack[-1] != row["version"]:
                stack.append(int(row["version"]))
        stack = stack[:-1]  # the version it points at now
        while stack and conn.execute("SELECT 1 FROM versions WHERE model = ? AND version = ?",
                                     (name, stack[-1])).fetchone() is None:
            stack.pop()  # deleted since
        if not stack:
            raise ModelNotFound(f"alias {name}@{alias} has no earlier version to roll back to")
        return stack[-1]

    def aliases(self, name: str) -> dict[str, int]:
        """The aliases of ``name`` and the versions they point at."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT alias, version FROM aliases WHERE model = ?"
                                " ORDER BY alias", (name,)).fetchall()
        return {r["alias"]: r["version"] for r in rows}

    def alias_history(self, name: str, alias: str) -> list[dict[str, Any]]:
        """Every move of ``name@alias``, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT version, previous, moved_at, action FROM alias_history"
                                " WHERE model = ? AND alias = ? ORDER BY id", (name, alias))
            return [dict(r) for r in rows]

    def alias_epoch(self) -> int:
        """A number that grows whenever any alias moves (cheap to poll)."""
        with self.db.read() as conn:
            row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM alias_history").fetchone()
        return int(row[0])


def register_onnx_file(registry: Registry, name: str, path: Path, *,
                       signature_from: Signature | None = None, **kwargs: Any) -> ModelVersion:
    """Check and register an ``.onnx`` file from disk as a new version.

    Args:
        signature_from: a signature to take the columns, task and classes from (for
            example another version's), so that record clients keep working; the
            file's own input and output tensors must match it.

    Raises:
        InvalidArtifact: the file cannot be read, is not ONNX, or its tensors do not
            match ``signature_from``.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidArtifact(f"cannot read {path}: {exc.strerror}") from exc
    import onnx

    check_onnx_bytes(data, str(path))
    signature = Signature.from_onnx(onnx.load_model_from_string(data))
    if signature_from is not None:
        signature = adopt_signature(signature, signature_from)
    return registry.register(name, data, signature, **kwargs)


def adopt_signature(own: Signature, donor: Signature) -> Signature:
    """``donor``'s columns, task and classes over ``own``'s tensors.

    Raises:
        InvalidArtifact: the tensors differ (names, datatypes or shapes), so the
            donor's columns would feed the wrong inputs.
    """
    problems = incompatibilities(Signature(own.inputs, own.outputs),
                                 Signature(donor.inputs, donor.outputs))
    problems += incompatibilities(Signature(donor.inputs, donor.outputs),
                                  Signature(own.inputs, own.outputs))
    if problems:
        raise InvalidArtifact("the model's tensors do not match the signature it should take "
                              f"its columns from: {'; '.join(sorted(set(problems)))}")
    return Signature(own.inputs, own.outputs, donor.columns, donor.task, donor.classes,
                     donor.label_output, donor.probability_output, dict(donor.extra))
