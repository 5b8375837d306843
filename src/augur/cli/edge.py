"""``augur export-edge`` and ``augur edge parity|serve|verify``: the browser and devices."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from augur.cli.output import emit, one_of
from augur.cli.predict import INPUT_SUFFIXES, read_input
from augur.errors import ConfigError
from augur.registry import Registry


def _backends(text: str) -> tuple[str, ...] | None:
    if text == "auto":
        return None
    if text == "none":
        return ()
    return tuple(b.strip() for b in text.split(",") if b.strip())


def cmd_export(args: argparse.Namespace) -> int:
    from augur.edge import export_bundle

    if (args.validation or args.max_quality_drop is not None) and not args.quantize:
        raise ConfigError("--validation and --max-quality-drop go with --quantize")
    validation = read_input(Path(args.validation)) if args.validation else None
    bundle = export_bundle(args.ref, target=args.target, out=args.out, quantize=args.quantize,
                           backends=_backends(args.runtime), validation=validation,
                           max_quality_drop=args.max_quality_drop)
    m = bundle.manifest
    summary: dict[str, Any] = {
        "bundle": str(bundle.path), "target": bundle.target, "model": m["model"]["ref"],
        "model_file": m["model_file"], "bytes": bundle.size,
        "files": sorted(str(p.relative_to(bundle.path)) for p in bundle.path.rglob("*")
                        if p.is_file()),
    }
    if m["quantization"]:
        summary["quantization"] = m["quantization"]
    emit(summary, args.json)
    return 0


def cmd_parity(args: argparse.Namespace) -> int:
    from augur.edge.parity import check_parity

    if args.rows is not None and args.rows < 1:
        raise ConfigError(f"--rows must be at least 1, got {args.rows}")
    data = read_input(Path(args.data))
    if args.rows is not None:
        data = data.head(args.rows) if hasattr(data, "head") else data[: args.rows]
    report = check_parity(args.ref, data, target=args.target, registry=Registry(),
                          tolerance=args.tolerance, quantize=args.quantize)
    if args.json:
        emit(report.to_dict(), True)
    else:
        c = report.comparison
        label = "-" if c.label_agreement is None else f"{c.label_agreement:.2%}"
        print(f"{report.ref} on {report.target}: {report.rows} rows, "
              f"max abs diff {c.max_abs_diff:.3g}, max diff {c.max_diff:.3g} "
              f"(tolerance {report.tolerance:g}), label agreement {label}: "
              f"{'PASS' if report.passed else 'FAIL'}")
        for name, figures in c.outputs.items():
            print(f"  {name}: " + ", ".join(f"{k} {v:.3g}" for k, v in figures.items()))
    return 0 if report.passed else 1


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from starlette.applications import Starlette

    from augur.edge import routes

    app = Starlette(routes=routes(Registry()))
    print(f"edge pages on http://{args.host}:{args.port}/edge")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from augur.edge import verify_bundle

    manifest = verify_bundle(args.bundle)
    emit({"bundle": args.bundle, "model": manifest["model"]["ref"], "target": manifest["target"],
          "files_checked": len(manifest["checksums"]), "ok": True}, args.json)
    return 0


def register(subs: Any) -> None:
    p = subs.add_parser("export-edge", help="export a version as a browser or device bundle",
                        description="Write a self-contained bundle: the model (ORT format for "
                                    "devices), manifest.json and a JS module (web) or "
                                    "predict.py (device).")
    p.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    p.add_argument("--target", choices=("web", "device"), required=True)
    p.add_argument("--out", required=True, help="bundle folder (new, empty, or an old bundle)")
    p.add_argument("--quantize", action="store_true",
                   help="int8 dynamic quantization first (augur compress's quantize-dynamic): "
                        "the int8 model is registered as a child version with its quality "
                        "report (made once), so the server can serve what the bundle runs")
    p.add_argument("--validation", metavar="FILE",
                   help="with --quantize: rows the child's quality report is measured on, a "
                        f"{one_of(INPUT_SUFFIXES)} file; needed the first time")
    p.add_argument("--max-quality-drop", type=float, metavar="X",
                   help="with --quantize: refuse a child that loses more quality than X")
    p.add_argument("--runtime", default="auto", metavar="BACKENDS",
                   help="onnxruntime-web backends to copy into a web bundle: wasm, "
                        "wasm,webgpu, none, or auto (default: wasm, plus webgpu for models "
                        "with dense linear algebra)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_export)

    e = subs.add_parser("edge", help="check and serve edge bundles",
                        description="Parity of browser/device predictions, the edge page.")
    verbs = e.add_subparsers(dest="edge_verb", metavar="ACTION", required=True,
                             parser_class=type(e))
    par = verbs.add_parser("parity", help="compare browser or device predictions with the "
                                          "server's")
    par.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    par.add_argument("--data", required=True, help=f"records: a {one_of(INPUT_SUFFIXES)} file")
    par.add_argument("--target", choices=("web", "device"), default="web")
    par.add_argument("--rows", type=int, help="use only the first N rows")
    par.add_argument("--tolerance", type=float, default=1e-5)
    par.add_argument("--quantize", action="store_true",
                     help="check the int8 child version that export-edge --quantize makes: "
                          "the bundle's predictions against the server's for that child")
    par.add_argument("--json", action="store_true", help="print JSON")
    par.set_defaults(func=cmd_parity)

    srv = verbs.add_parser("serve", help="serve only the edge pages (/edge/REF)")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8080)
    srv.set_defaults(func=cmd_serve)

    ver = verbs.add_parser("verify", help="check a bundle's files against its manifest")
    ver.add_argument("bundle", help="bundle folder")
    ver.add_argument("--json", action="store_true", help="print JSON")
    ver.set_defaults(func=cmd_verify)
