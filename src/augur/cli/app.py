"""Argument parsing and the one place where errors become exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
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
    "augur.cli.ui",
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
    """Run the ``augur`` command line; return its exit code.

    Output piped into a reader that stops early (``head``, ``less``, ``grep -q``) ends
    the command quietly, with the status it had (0 when it had printed everything it
    meant to; the reader has what it wanted).
    """
    code = 0
    try:
        try:
            code = _run_verb(argv)
        finally:
            # Flushing here, not at interpreter exit, keeps a closed pipe catchable.
            sys.stdout.flush()
    except BrokenPipeError:
        _discard_output()
    return code


def _run_verb(argv: Sequence[str] | None) -> int:
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
        _complain(f"augur: error: {exc}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _complain("augur: interrupted")
        return 130


def _complain(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except BrokenPipeError:  # stderr is a closed pipe too: the exit status still tells
        _discard_output()


def _discard_output() -> None:
    """Point stdout and stderr at /dev/null: what is still buffered for a closed pipe
    must not fail again when Python flushes it at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(devnull, stream.fileno())
            except (OSError, ValueError, AttributeError):
                continue  # not a real file (a test's buffer): nothing is flushed at exit
    finally:
        os.close(devnull)


def run() -> None:
    sys.exit(main())
