"""``augur models ...`` and ``augur alias ...``: the registry from the shell."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from augur.cli.output import emit, render
from augur.errors import ConfigError
from augur.registry import (
    Registry,
    parse_reference,
    parse_version,
    register_onnx_file,
    validate_name,
)
from augur.signature import Signature


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def cmd_list(args: argparse.Namespace) -> int:
    models = Registry().list_models()
    rows = [m.to_dict() | {"created": _when(m.created_at)} for m in models]
    emit([m.to_dict() for m in models], args.json, rows,
         ["name", "latest", "versions", "aliases", "created"])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    reg = Registry()
    ref = parse_reference(args.ref)
    if ref.version is None and ref.alias is None:
        versions = reg.versions(ref.name)
        aliases = reg.aliases(ref.name)
        rows: list[dict[str, Any]] = [
            {"version": v.version, "framework": v.framework, "size": v.size,
             "aliases": ",".join(a for a, n in aliases.items() if n == v.version) or None,
             "parent": str(v.parent) if v.parent else None, "created": _when(v.created_at)}
            for v in versions]
        emit({"name": ref.name, "aliases": aliases, "versions": [v.to_dict() for v in versions]},
             args.json, rows, ["version", "framework", "size", "aliases", "parent", "created"])
        return 0
    v = reg.resolve(ref)
    if args.json:
        emit(v.to_dict(), True)
        return 0
    print(f"{v.ref}  ({v.framework}, {v.size} bytes, created {_when(v.created_at)})")
    if v.parent:
        print(f"parent: {v.parent}  derivation: {v.derivation}")
    print("inputs:")
    for s in v.signature.inputs:
        print(f"  {s.name}: {s.datatype} {list(s.shape)}")
    print("outputs:")
    for s in v.signature.outputs:
        print(f"  {s.name}: {s.datatype} {list(s.shape)}")
    if v.signature.columns:
        print("columns: " + ", ".join(f"{c.name}:{c.kind}" for c in v.signature.columns))
    if v.parity:
        print("parity: " + ", ".join(f"{k}={render(v.parity[k])}" for k in
                                     ("rows", "max_abs_diff", "max_rel_diff", "label_agreement",
                                      "passed") if k in v.parity))
    if v.tags or v.metrics:
        print(f"tags: {render(v.tags)}  metrics: {render(v.metrics)}")
    return 0


def _donor_signature(reg: Registry, source: str) -> Signature:
    """The signature named by ``--signature-from``: a version reference or a JSON file."""
    if source.endswith(".json"):
        import json

        try:
            doc = json.loads(Path(source).read_text(encoding="utf-8"))
            return Signature.from_dict(doc.get("signature", doc))
        except OSError as exc:
            raise ConfigError(f"cannot read --signature-from {source}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"--signature-from {source} is not a signature "
                              f"(augur models show REF --json writes one): {exc}") from None
    return reg.resolve(source).signature


def cmd_register(args: argparse.Namespace) -> int:
    validate_name(args.name)
    reg = Registry()
    donor = _donor_signature(reg, args.signature_from) if args.signature_from else None
    v = register_onnx_file(reg, args.name, Path(args.file), description=args.description,
                           signature_from=donor)
    emit(v.to_dict(), args.json) if args.json else print(f"registered {v.ref}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    ref = parse_reference(args.ref)
    if ref.alias is not None:
        print("augur: error: delete takes NAME or NAME:VERSION, not an alias")
        return 2
    n = Registry().delete(ref.name, ref.version)
    print(f"deleted {n} version(s) of {ref.name}")
    return 0


def cmd_alias_set(args: argparse.Namespace) -> int:
    version = parse_version(args.version)
    previous = Registry().set_alias(args.name, args.alias, version, force=args.force)
    was = f" (was {previous})" if previous is not None else ""
    print(f"{args.name}@{args.alias} -> {version}{was}")
    return 0


def cmd_alias_rollback(args: argparse.Namespace) -> int:
    reg = Registry()
    before = reg.aliases(args.name).get(args.alias)
    v = reg.rollback(args.name, args.alias)
    print(f"{args.name}@{args.alias} -> {v.version} (rolled back from {before}; "
          "run it again to go further back)")
    return 0


def cmd_alias_list(args: argparse.Namespace) -> int:
    reg = Registry()
    aliases = reg.aliases(args.name)
    rows = [{"alias": a, "version": n} for a, n in aliases.items()]
    emit(aliases, args.json, rows, ["alias", "version"])
    return 0


def register(subs: Any) -> None:
    models = subs.add_parser("models", help="list, show, register and delete models",
                             description="Inspect and change the model registry.")
    msub = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = msub.add_parser("list", help="every model with its latest version and aliases")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)
    p = msub.add_parser("show", help="versions of a model, or one version in detail")
    p.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_show)
    p = msub.add_parser("register", help="register an .onnx file as a new version")
    p.add_argument("name")
    p.add_argument("file", help="path to an .onnx file")
    p.add_argument("--description", default="")
    p.add_argument("--signature-from", metavar="REF|FILE.json",
                   help="take the columns, task and classes from another version (e.g. "
                        "fraud@production) or a signature JSON file, so record clients keep "
                        "working; the file's tensors must match it")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_register)
    p = msub.add_parser("delete", help="delete a model or one version")
    p.add_argument("ref", help="NAME (all versions) or NAME:VERSION")
    p.set_defaults(func=cmd_delete)

    alias = subs.add_parser("alias", help="move, list and roll back aliases",
                            description="Aliases (production, staging, ...) point at versions "
                                        "and move atomically.")
    asub = alias.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = asub.add_parser("set", help="point NAME@ALIAS at VERSION",
                        description="Point NAME@ALIAS at VERSION atomically. A version whose "
                                    "signature would break the alias's clients (columns or "
                                    "inputs gone or retyped, outputs gone) is refused unless "
                                    "--force.")
    p.add_argument("name")
    p.add_argument("alias")
    p.add_argument("version")
    p.add_argument("--force", action="store_true",
                   help="move even if the new version's signature is incompatible")
    p.set_defaults(func=cmd_alias_set)
    p = asub.add_parser("rollback", help="move NAME@ALIAS one step back through its history "
                                         "(again to go further back)")
    p.add_argument("name")
    p.add_argument("alias")
    p.set_defaults(func=cmd_alias_rollback)
    p = asub.add_parser("list", help="aliases of a model")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_alias_list)
