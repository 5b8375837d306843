"""Argument parsing and the one place where errors become exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from augur.errors import AugurError

# Each module exposes ``register(subparsers)``; verbs set ``func(args) -> int``.
VERB_MODULES = (
    "augur.cli.models",
    "augur.cli.predict",
    "augur.cli.demo",
    "augur.cli.serve",
    "augur.cli.batch",
    "augur.cli.features",
    "augur.cli.compress",
    "augur.cli.tune",
    "augur.cli.edge",
)

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"augur: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="augur",
        description="Deploy trained models: export to ONNX, version them, and serve "
                    "predictions online, in batch, on streams and in the browser.",
        epilog="State lives in $AUGUR_HOME (default ./.augur); set "
               "AUGUR_REGISTRY_URL=postgresql://... to keep the registry's metadata in "
               "PostgreSQL (artifacts stay under $AUGUR_HOME). "
               "Run 'augur VERB --help' for each verb.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for name in VERB_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that part is not built yet
                continue
            raise
        module.register(subs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``augur`` command line; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        code: int = args.func(args)
        return code
    except AugurError as exc:
        print(f"augur: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("augur: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    sys.exit(main())
