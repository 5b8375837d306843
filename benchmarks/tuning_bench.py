"""``augur tune`` against ONNX Runtime's defaults, side by side (issue 6).

For each model (the examples iris, diabetes and cancer, a PyTorch MLP, and
MiniLM with ``--minilm``): tune within the budget, then measure the kept
options against the defaults once more, independently of the tuner, in turns
(A, B, A, B...) so load from other processes hits both alike. Also shown: the
server batch size the tuner chose and its throughput gain over one row at a
time, the node counts before/after graph optimization, and that a second call
is a cache hit. Target: >= 1.2x on at least one example model within 60 s.

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
    from augur.tuning.probe import head_to_head

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
        header = (f"{'model':<11}{'default p50':>12}{'tuned p50':>11}{'speedup':>9}"
                  f"{'recheck':>9}  {'kept options':<40}{'batch':>6}{'x rows/s':>9}"
                  f"{'nodes':>11}{'spent':>7}{'2nd call':>10}")
        print(header)
        for ref in refs:
            start = time.perf_counter()
            result = tune(ref, registry=reg, budget_s=args.budget, force=True)
            spent = time.perf_counter() - start
            rep = result.report
            version = result.version
            feeds = synthetic_feeds(version.signature)
            kept = result.options.with_(batch_size=None, batch_delay_ms=None)
            a, b = head_to_head(reg.read_artifact(version), version.signature, feeds,
                                RuntimeOptions(), kept, budget_s=5.0, rounds=5000)
            start = time.perf_counter()
            second = tune(ref, registry=reg, budget_s=args.budget)
            hit = f"{'hit' if second.cached else 'MISS'} {time.perf_counter() - start:.2f}s"
            o = result.options
            desc = (f"level={o.graph_optimization_level} intra={o.intra_op_threads or 'auto'} "
                    f"{o.execution_mode}"
                    + (" no-spin" if o.extra.get("session_config") else ""))
            fus = rep["fusions"]
            nodes = f"{fus['original']['nodes']}->{fus['levels']['all']['nodes']}"
            print(f"{version.ref:<11}{rep['default_p50_ms']:>12.4f}{rep['tuned_p50_ms']:>11.4f}"
                  f"{rep['speedup']:>8.2f}x{a / b:>8.2f}x  {desc:<40}{o.batch_size:>6}"
                  f"{rep['batching_speedup']:>8.2f}x{nodes:>11}{spent:>6.0f}s{hit:>10}")
        print("\nspeedup: the tuner's own head-to-head of kept options vs defaults (single-row "
              "p50);\nrecheck: a second, independent head-to-head after tuning; x rows/s: "
              "throughput at the chosen server batch vs one row at a time.")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
