"""``augur compress REF --method M``: a smaller or faster version, with its report."""

from __future__ import annotations

import argparse
from typing import Any

from augur.cli.output import emit, one_of, print_table
from augur.compression import METHODS, CompressionReport, compress, read_dataset
from augur.compression.data import SUFFIXES as DATA_SUFFIXES
from augur.errors import ConfigError

_COLUMNS = ["model", "size_mb", "params", "nonzero", "p50_ms", "p99_ms", "rows_s@64"]


def print_report(report: CompressionReport) -> None:
    """Print a compression report as a table and a few plain lines."""
    print_table(report.rows(), _COLUMNS)
    for note in report.notes():
        print(note)


def cmd_compress(args: argparse.Namespace) -> int:
    if args.max_quality_drop is not None and args.max_quality_drop < 0:
        raise ConfigError("--max-quality-drop must be >= 0")
    calibration = (read_dataset(args.calibration, limit=args.limit) if args.calibration
                   else None)
    validation = (read_dataset(args.validation, target=args.target, limit=args.limit)
                  if args.validation else None)
    if args.target and validation is None:
        raise ConfigError("--target needs --validation FILE (the column is read from it)")
    result = compress(args.ref, args.method, calibration=calibration, validation=validation,
                      max_quality_drop=args.max_quality_drop, name=args.name, rank=args.rank,
                      energy=args.energy, student=args.student)
    report = result.report
    if args.json:
        out: dict[str, Any] = {"version": result.version.ref, "report": report.to_dict()}
        emit(out, True)
        return 0
    print(f"registered {result.version.ref} ({args.method} of {report.parent})")
    print_report(report)
    return 0


def register(subs: Any) -> None:
    p = subs.add_parser(
        "compress", help="quantize, fp16, low-rank or distill a model into a new version",
        description="Compress a registered version into a new version of the same model, "
                    "with lineage and a report measured on this machine: size, parameters, "
                    "single-row latency p50/p99, throughput at batch 64 and quality against "
                    "the parent on the validation rows. prune (and module-level low-rank) "
                    "need the PyTorch module: use augur.compression.prune from Python.",
        epilog=f"Data files: {one_of(DATA_SUFFIXES)} (.txt: one sentence per line "
               "for text models). Quality drop units: accuracy points (classifiers), "
               "relative RMSE (regressors), 1 - cosine (embeddings).")
    p.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS of the parent")
    p.add_argument("--method", required=True,
                   choices=[m for m in METHODS if m != "prune"], help="compression method")
    p.add_argument("--calibration", metavar="FILE",
                   help="rows for static quantization ranges, or unlabeled rows to distill on")
    p.add_argument("--validation", metavar="FILE",
                   help="rows the report compares parent and child on (default: calibration)")
    p.add_argument("--target", metavar="COLUMN",
                   help="column of --validation holding the true label/value")
    p.add_argument("--max-quality-drop", type=float, metavar="X",
                   help="refuse to register when quality drops by more than X")
    p.add_argument("--rank", type=int, help="low-rank: the rank of every factorized layer")
    p.add_argument("--energy", type=float, default=0.95,
                   help="low-rank: share of singular-value energy to keep (default 0.95)")
    p.add_argument("--student", choices=["mlp", "gbm"], default="mlp",
                   help="distill: the student model (default mlp)")
    p.add_argument("--name", help="register under this model name (default: the parent's)")
    p.add_argument("--limit", type=int, help="use at most this many rows of each data file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_compress)
