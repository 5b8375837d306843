"""``augur demo``: train, export, register and query the example models."""

from __future__ import annotations

import argparse
from typing import Any

from augur.cli.output import print_table
from augur.cli.predict import rows_of
from augur.examples import register_examples
from augur.registry import Registry
from augur.runtime import load


def cmd_demo(args: argparse.Namespace) -> int:
    reg = Registry()
    print(f"augur demo: registry at {reg.home.resolve()}")
    for example, v in register_examples(reg):
        parity = v.parity or {}
        agree = parity.get("label_agreement")
        agree_txt = f", labels agree {agree:.0%}" if agree is not None else ""
        print(f"\n== {v.ref} ({v.framework}) -> {v.name}@production; parity on "
              f"{parity.get('rows')} rows: max rel diff {parity.get('max_rel_diff', 0):.2g}"
              f"{agree_txt}")
        model = load(v.ref, registry=reg)
        sample = example.X.head(3)
        print_table(rows_of(model, model.predict(sample)), model.output_names)
    print("\nTry: augur models list | augur models show iris | "
          "augur predict iris --input rows.json")
    serve = getattr(args, "serve", False)
    if serve:
        from augur.cli import serve as serve_cli  # type: ignore[attr-defined]

        return int(serve_cli.serve_after_demo(args))
    return 0


def register(subs: Any) -> None:
    p = subs.add_parser("demo", help="train, export, register and query example models",
                        description="Train small models on data sets that ship with "
                                    "scikit-learn, export them to ONNX with a parity check, "
                                    "register them as NAME@production and show predictions.")
    p.add_argument("--serve", action="store_true",
                   help="then serve them (when the server is installed)")
    p.set_defaults(func=cmd_demo)
