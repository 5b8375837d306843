"""``augur tune REF``: find the fastest execution options on this machine and cache them."""

from __future__ import annotations

import argparse
import re
from typing import Any

from augur.cli.output import emit, format_number, one_of, print_table
from augur.compression.data import SUFFIXES as DATA_SUFFIXES
from augur.errors import ConfigError
from augur.tuning import tune
from augur.tuning.fusions import describe


def parse_duration(text: str) -> float:
    """``60``, ``60s``, ``1.5m`` -> seconds.

    Raises:
        ConfigError: not a positive duration.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", text)
    if not m:
        raise ConfigError(f"--budget: {text!r} is not a duration (e.g. 60s, 2m)")
    value = float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m.group(2)]
    if value <= 0:
        raise ConfigError("--budget must be positive")
    return value


def _option_text(opts: dict[str, Any]) -> str:
    parts = [f"level={opts['graph_optimization_level']}",
             f"intra={opts['intra_op_threads'] or 'auto'}"]
    if opts["execution_mode"] == "parallel":
        parts.append(f"parallel inter={opts['inter_op_threads']}")
    if opts.get("session_config"):
        parts.append("no-spin")
    providers = [p.replace("ExecutionProvider", "") for p in opts["providers"]]
    if providers != ["CPU"]:
        parts.append("+".join(providers))
    return " ".join(parts)


def cmd_tune(args: argparse.Namespace) -> int:
    data = None
    if args.data:
        from augur.compression import read_dataset

        data = read_dataset(args.data, limit=256).rows
    result = tune(args.ref, budget_s=parse_duration(args.budget), data=data, force=args.force,
                  objective=args.objective)
    rep = result.report
    if args.json:
        emit({"model": result.version.ref, "cached": result.cached,
              "options": result.options.to_dict(), "report": rep}, True)
        return 0
    if result.cached:
        print(f"cache hit: {result.version.ref} was tuned on this hardware before "
              f"(fingerprint {rep['hardware']['fingerprint']}, onnxruntime "
              f"{rep['hardware']['onnxruntime']}); use --force to measure again")
    else:
        print(f"tuned {result.version.ref} in {rep['spent_s']:.1f} s "
              f"(budget {rep['budget_s']:g} s, load {rep['load']:.2f})")
        rows = [{"stage": t["stage"], "options": _option_text(t["options"]),
                 "p50_ms": t["p50_ms"], "p99_ms": t["p99_ms"], "samples": t["samples"]}
                for t in rep["trials"]]
        print_table(rows, ["stage", "options", "p50_ms", "p99_ms", "samples"])
        print("\nbatch size search: one batch at a time, rows/s by batch size")
        print_table([{"batch_size": b["batch_size"], "rows/s": b["rows_s"],
                      "batch_ms": b["batch_ms"]} for b in rep["batching"]],
                    ["batch_size", "rows/s", "batch_ms"])
        if rep.get("concurrency"):
            print(f"\ninstances search at batch {rep['batch_size']}: each candidate alone, "
                  "briefly; rows/s (the head-to-head below decides)")
            rows = [{"instances": t["instances"], "options": _option_text(t["options"]),
                     "rows/s": t["rows_s"], "batch_p50_ms": t["p50_ms"],
                     "batch_p99_ms": t["p99_ms"]} for t in rep["concurrency"]]
            print_table(rows, ["instances", "options", "rows/s", "batch_p50_ms",
                               "batch_p99_ms"])
    if rep.get("head_to_head"):
        print(f"\nhead to head at batch {rep['batch_size']}: the finalists in turns, "
              "rows/s (what is kept and its speedup come from here)")
        print_table([{"contender": h["contender"], "instances": h["instances"],
                      "options": _option_text(h["options"]), "rows/s": h["rows_s"],
                      "kept": "kept" if h["kept"] else ""} for h in rep["head_to_head"]],
                    ["contender", "instances", "options", "rows/s", "kept"])
    print()
    print("graph fusions (nodes before -> after):")
    for line in describe(rep["fusions"]):
        print(f"  {line}")
    o = result.options
    objective = rep.get("objective", "latency")
    print(f"objective: {objective}")
    print(f"single-row latency (latency search): defaults p50 {rep['default_p50_ms']:.4g} ms, "
          f"best p50 {rep['tuned_p50_ms']:.4g} ms "
          f"({rep.get('latency_speedup', rep['speedup']):.2f}x)")
    if objective == "throughput":
        if rep.get("head_to_head"):
            kept = next(h for h in rep["head_to_head"] if h["kept"])
            base = max(h["rows_s"] for h in rep["head_to_head"] if h["contender"] != "tuned")
            print(f"served throughput at batch {rep['batch_size']} (head to head): kept "
                  f"{kept['contender']!r} at {format_number(rep['tuned_rows_s'])} rows/s, "
                  f"{rep['throughput_speedup']:.2f}x the better default "
                  f"({format_number(base)} rows/s)")
        else:  # a report cached by an older augur
            print(f"served throughput at batch {rep['batch_size']}: tuned "
                  f"{format_number(rep['tuned_rows_s'])} rows/s "
                  f"({rep['throughput_speedup']:.2f}x the better default)")
    if rep["kept_defaults"]:
        print("ONNX Runtime's defaults were kept (nothing measured faster)")
    print(f"batch size search: batch {o.batch_size} moves {rep['batching_speedup']:.2f}x the "
          "rows/s of one row at a time")
    print(f"kept: {_option_text(o.to_dict() | {'session_config': o.extra.get('session_config')})}"
          f", server batch size {o.batch_size}, batching delay {o.batch_delay_ms} ms, "
          f"instances {o.instances or 1}")
    return 0


def register(subs: Any) -> None:
    p = subs.add_parser(
        "tune", help="measure execution options on this machine and cache the fastest",
        description="Measure ONNX Runtime graph optimization levels, intra/inter-op threads, "
                    "thread spinning, execution mode, execution providers (CUDA when present), "
                    "the server's batch size and batching delay, and how many batches run "
                    "side by side (instances), within a time budget. "
                    "The best is cached per artifact, hardware and ONNX Runtime version; "
                    "servers and batch jobs load it automatically.")
    p.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    p.add_argument("--budget", default="60s", help="time to spend measuring (default 60s)")
    p.add_argument("--data", metavar="FILE",
                   help=f"inputs to time with, a {one_of(DATA_SUFFIXES)} file (default: made "
                        "up from the signature)")
    p.add_argument("--force", action="store_true", help="measure again despite a cached result")
    p.add_argument("--objective", choices=("throughput", "latency"), default="throughput",
                   help="throughput: rows/s of the server under load, with batches run "
                        "side by side (default); latency: one row at a time")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_tune)
