"""MiniLM fp32 vs int8, side by side (issue 6).

Exports the bundled MiniLM (tokenizer inside the graph), compresses it with
``quantize-dynamic`` and ``quantize-static`` through the same code as
``augur compress``, and prints, against the fp32 parent:

- single-sentence latency p50/p99 (target: int8 >= 2x lower),
- artifact size (target: >= 3.5x smaller),
- throughput at batch 64,
- mean / min cosine similarity of the embeddings on a few hundred sentences of
  varied generated text (target: >= 0.99).

Parent and child run in turns, so load from other processes hits both alike;
the machine's load and whether the CPU has VNNI (fast int8 dot products) are
printed with the figures.

    python benchmarks/compression_bench.py [--sentences 300] [--measure 4]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import tempfile
import time
from pathlib import Path

SUBJECTS = ["The committee", "My neighbour's dog", "A small startup in Lagos", "The new telescope",
            "Her grandmother", "The central bank", "This recipe", "Our football team",
            "The quantum computer", "A lonely lighthouse keeper", "The city council",
            "Your package"]
VERBS = ["announced", "refused", "discovered", "quietly ignored", "celebrated", "postponed",
         "could not explain", "has been measuring", "will probably revisit", "accidentally broke"]
OBJECTS = ["the budget for 2025", "a strange signal from deep space", "the last train to Oslo",
           "three kilograms of fresh basil", "an outdated privacy policy",
           "interest rates by 0.25 percentage points", "the championship final",
           "its error rate of 4.7%", "a very old wooden bridge", "the password reset flow"]
TAILS = ["", " yesterday.", " after a long debate.", "!", " — nobody knows why.",
         " (again).", ", according to sources.", "?", " in spite of the rain.", "..."]
EXTRA = ["¿Dónde está la biblioteca?", "Das Wetter ist heute wunderbar.", "C'est la vie, mon ami.",
         "東京は大きな都市です。", "ERROR 500: upstream timed out after 30000 ms",
         "def add(a, b): return a + b", "lol that was sooo funny 😂😂",
         "SELECT name FROM users WHERE age > 30;", "https://example.org/path?q=1&r=2",
         "Mix 200 g flour, 2 eggs and 1 cup of milk; bake at 180°C for 25 min."]


def varied_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` different sentences: templated news-like text, other languages, code, URLs."""
    rng = random.Random(seed)
    combos = list(itertools.product(SUBJECTS, VERBS, OBJECTS, TAILS))
    rng.shuffle(combos)
    out = [f"{s} {v} {o}{t}" for s, v, o, t in combos[: max(0, n - len(EXTRA))]]
    return (out + EXTRA)[:n]


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--measure", type=float, default=4.0,
                        help="seconds per speed measurement per model")
    args = parser.parse_args()

    from augur.compression import compress
    from augur.compression.quantize import cpu_has_vnni
    from augur.convert.text import export_sentence_encoder
    from augur.registry import Registry

    sentences = varied_sentences(args.sentences)
    with tempfile.TemporaryDirectory(prefix="augur-bench-") as tmp:
        reg = Registry(Path(tmp) / "home")
        start = time.perf_counter()
        parent = export_sentence_encoder("minilm", registry=reg)
        print(f"exported {parent.ref} ({parent.size / 1e6:.1f} MB) in "
              f"{time.perf_counter() - start:.1f} s; load average {_load_average()}")
        rows = []
        for method in ("quantize-dynamic", "quantize-static"):
            start = time.perf_counter()
            result = compress(parent.ref, method, registry=reg, validation=sentences,
                              calibration=sentences[:64] if method == "quantize-static"
                              else None, measure_s=args.measure)
            r = result.report
            o, c = r.original, r.compressed
            rows.append((method, r, time.perf_counter() - start))
            if len(rows) == 1:
                print(f"\n{'model':<18}{'size MB':>9}{'p50 ms':>9}{'p99 ms':>9}"
                      f"{'rows/s@64':>11}{'cosine':>9}{'min cos':>9}")
                print(f"{'fp32 (parent)':<18}{o.size_bytes / 1e6:>9.1f}{o.latency_p50_ms:>9.2f}"
                      f"{o.latency_p99_ms:>9.2f}{o.throughput_rows_s:>11.1f}{1.0:>9.4f}"
                      f"{1.0:>9.4f}")
            print(f"{method:<18}{c.size_bytes / 1e6:>9.1f}{c.latency_p50_ms:>9.2f}"
                  f"{c.latency_p99_ms:>9.2f}{c.throughput_rows_s:>11.1f}"
                  f"{r.quality['cosine']:>9.4f}{r.quality['min_cosine']:>9.4f}")
        print(f"\n{'ratio vs its fp32 run':<24}{'size':>7}{'p50':>7}{'p99':>7}{'rows/s':>8}"
              f"  targets: size >= 3.5x, p50 >= 2x, cosine >= 0.99")
        for method, r, spent in rows:
            o, c = r.original, r.compressed
            print(f"{method:<24}{o.size_bytes / c.size_bytes:>6.2f}x"
                  f"{o.latency_p50_ms / c.latency_p50_ms:>6.2f}x"
                  f"{o.latency_p99_ms / c.latency_p99_ms:>6.2f}x"
                  f"{c.throughput_rows_s / o.throughput_rows_s:>7.2f}x  ({spent:.0f} s)")
        vnni = cpu_has_vnni()
        print(f"\n{len(sentences)} sentences; CPU VNNI: {'yes' if vnni else 'NO'}; "
              f"cores: {os.cpu_count()}; load average {_load_average()}")
        for method, r, _ in rows:
            if r.compressed.latency_p50_ms > r.original.latency_p50_ms:
                why = "" if vnni else " (no VNNI: int8 dot products are emulated)"
                print(f"note: {method} is SLOWER per sentence than fp32 here{why}")


if __name__ == "__main__":
    main()
