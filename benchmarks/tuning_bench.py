"""``augur tune`` against ONNX Runtime's defaults, side by side (issue 6).

For each model (the examples iris, diabetes and cancer, a PyTorch MLP, and
MiniLM with ``--minilm``): tune within the budget (objective: rows/s of the
server under load), then measure the kept configuration against ONNX Runtime's
defaults once more, independently of the tuner, in turns (A, B, A, B...) so load
from other processes hits both alike, at the same batch size: the defaults both
called one batch at a time and from as many threads as the tuned instances, the
better of the two being the baseline. Also shown: the single-row latency of the
kept session options against the defaults, the server batch size the tuner
chose and its gain over one row at a time, the node counts before/after graph
optimization, and that a second call is a cache hit. Target: >= 1.2x on at
least one example model within 60 s.

    python benchmarks/tuning_bench.py [--budget 60] [--minilm]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def _mlp(reg: Any) -> Any:
    import numpy as np
    import torch

    from augur.convert import export

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 10)).eval()
    sample = torch.from_numpy(np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32))
    return export(net, "mlp", sample=sample, registry=reg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per model")
    parser.add_argument("--minilm", action="store_true", help="also tune MiniLM (slow)")
    parser.add_argument("--models", default="iris,diabetes,cancer,mlp")
    args = parser.parse_args()

    from augur.examples import register_examples
    from augur.registry import Registry
    from augur.runtime import RuntimeOptions
    from augur.tuning import synthetic_feeds, tune
    from augur.tuning.probe import throughput_head_to_head

    with tempfile.TemporaryDirectory(prefix="augur-tune-") as tmp:
        reg = Registry(Path(tmp) / "home")
        register_examples(reg)
        wanted = args.models.split(",")
        refs = [m for m in wanted if m in ("iris", "diabetes", "cancer")]
        if "mlp" in wanted:
            refs.append(_mlp(reg).ref)
        if args.minilm:
            from augur.convert.text import export_sentence_encoder

            refs.append(export_sentence_encoder("minilm", registry=reg).ref)
        print(f"budget {args.budget:g} s per model; cores {os.cpu_count()}; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
        header = (f"{'model':<10}{'lat x':>7}{'batch':>6}{'inst':>5}{'default rows/s':>16}"
                  f"{'tuned rows/s':>14}{'tuned x':>8}{'recheck':>8}  {'kept options':<32}"
                  f"{'x 1-row':>8}{'nodes':>10}{'spent':>7}{'2nd call':>10}")
        print(header)
        for ref in refs:
            start = time.perf_counter()
            result = tune(ref, registry=reg, budget_s=args.budget, force=True)
            spent = time.perf_counter() - start
            rep = result.report
            version = result.version
            o = result.options
            inst = o.instances or 1
            feeds = synthetic_feeds(version.signature)
            kept = o.with_(batch_size=None, batch_delay_ms=None, instances=None)
            contenders = [(RuntimeOptions(), 1), (kept, inst)]
            if inst > 1:
                contenders.append((RuntimeOptions(), inst))
            rates = throughput_head_to_head(reg.read_artifact(version), version.signature,
                                            feeds, o.batch_size or 1, contenders, budget_s=6.0)
            recheck = rates[1] / max(r for i, r in enumerate(rates) if i != 1)
            start = time.perf_counter()
            second = tune(ref, registry=reg, budget_s=args.budget)
            hit = f"{'hit' if second.cached else 'MISS'} {time.perf_counter() - start:.2f}s"
            desc = (f"level={o.graph_optimization_level} intra={o.intra_op_threads or 'auto'} "
                    f"{o.execution_mode}"
                    + (" no-spin" if o.extra.get("session_config") else ""))
            fus = rep["fusions"]
            nodes = f"{fus['original']['nodes']}->{fus['levels']['all']['nodes']}"
            base = max(rep["default_rows_s"], rep.get("default_rows_s_threads") or 0)
            print(f"{version.ref:<10}{rep['latency_speedup']:>6.2f}x{o.batch_size:>6}{inst:>5}"
                  f"{base:>16,.0f}{rep['tuned_rows_s']:>14,.0f}{rep['speedup']:>7.2f}x"
                  f"{recheck:>7.2f}x  {desc:<32}{rep['batching_speedup']:>7.2f}x{nodes:>10}"
                  f"{spent:>6.0f}s{hit:>10}")
        print("\nlat x: single-row p50 of the kept session options vs defaults (the tuner's "
              "head-to-head);\ndefault rows/s: ORT defaults at the same batch, the better of "
              "one batch at a time\nand as many threads as the tuned instances; tuned x: the "
              "tuner's ratio; recheck: an\nindependent head-to-head after tuning; x 1-row: the "
              "chosen batch vs one row at a time.")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
