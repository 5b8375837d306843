"""``augur demo``: train, export, register and query the example models.

Besides the registry, the demo writes the example input files its suggested commands
use (``$AUGUR_HOME/examples/``) and prints those commands so that each works as
printed: with the ``augur`` that is running (``.venv/bin/augur`` when the venv is not
activated) and the paths of the files it wrote.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from augur.cli.output import print_table
from augur.cli.predict import rows_of
from augur.examples import Example, register_examples
from augur.registry import Registry
from augur.runtime import load

#: Rows of each example file the demo writes.
EXAMPLE_ROWS = 20


def shell_path(path: Path) -> str:
    """``path`` as a user types it: relative to the working folder when under it, quoted."""
    resolved = path.resolve()
    try:
        text = str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        text = str(resolved)
    return shlex.quote(text)


def augur_command() -> str:
    """How to run the ``augur`` that is running now, from the user's shell."""
    script = Path(sys.argv[0])
    if script.name == "augur":  # the console script
        found = shutil.which("augur")
        if found is not None and Path(found).resolve() == script.resolve():
            return "augur"
        return shell_path(script)
    if os.path.isabs(sys.executable):  # python -m augur (or augur.cli.main from Python)
        return f"{shell_path(Path(sys.executable))} -m augur"
    return "augur"


def write_example_inputs(home: Path, iris: Example) -> dict[str, Path]:
    """Write the iris rows the suggested commands (and the README's) read: .json,
    .jsonl, .csv and .parquet, each with an ``id`` key column for batch runs.

    Returns:
        The file of each format, by suffix.
    """
    folder = home / "examples"
    folder.mkdir(parents=True, exist_ok=True)
    rows = iris.X.head(EXAMPLE_ROWS).copy()
    rows.insert(0, "id", range(1, len(rows) + 1))
    files = {s: folder / f"iris{s}" for s in (".json", ".jsonl", ".csv", ".parquet")}
    rows.to_json(files[".json"], orient="records", indent=1)
    rows.to_json(files[".jsonl"], orient="records", lines=True)
    rows.to_csv(files[".csv"], index=False)
    rows.to_parquet(files[".parquet"], index=False)
    return files


def suggested_commands(files: dict[str, Path]) -> list[str]:
    """Commands to try next; each works as printed (an end-to-end test runs them)."""
    augur = augur_command()
    return [f"{augur} models list",
            f"{augur} models show iris",
            f"{augur} predict iris --input {shell_path(files['.json'])}",
            f"{augur} batch run iris --input {shell_path(files['.parquet'])} --key id",
            f"{augur} batch get iris 7"]


def cmd_demo(args: argparse.Namespace) -> int:
    reg = Registry()
    print(f"augur demo: registry at {reg.home.resolve()}")
    iris: Example | None = None
    iris_version: Any = None
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
        if example.name == "iris":
            iris, iris_version = example, v
    if iris is not None:
        files = write_example_inputs(reg.home, iris)
        # an .onnx file to register by hand (`augur models register NAME FILE`)
        (files[".json"].parent / "iris.onnx").write_bytes(reg.read_artifact(iris_version))
        print(f"\nExample inputs in {shell_path(files['.json'].parent)}. Try:")
        for command in suggested_commands(files):
            print(f"  {command}")
    serve = getattr(args, "serve", False)
    if serve:
        from augur.cli import serve as serve_cli  # type: ignore[attr-defined]

        return int(serve_cli.serve_after_demo(args))
    return 0


def register(subs: Any) -> None:
    p = subs.add_parser("demo", help="train, export, register and query example models",
                        description="Train small models on data sets that ship with "
                                    "scikit-learn, export them to ONNX with a parity check, "
                                    "register them as NAME@production, show predictions, "
                                    "and write example inputs to $AUGUR_HOME/examples for "
                                    "the commands it suggests.")
    p.add_argument("--serve", action="store_true",
                   help="then serve them (when the server is installed)")
    p.set_defaults(func=cmd_demo)
